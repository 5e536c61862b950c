"""The real catalog: right repositories and file names, the Hub's published values, nothing invented."""

from __future__ import annotations

from lvsdctl.weights import CATALOG, PRETRAINED, SEQUENTIAL, list_weights, lookup
from lvsdctl.weights.catalog import check_catalog

PREPRINT_REV = "8fb94b0b7fe0b929f8eb469a92e52ae676850a6f"


def test_catalog_is_consistent_and_every_known_file_is_in_it():
    check_catalog(CATALOG)
    files = {(e.repo, e.filename) for e in CATALOG}
    assert files == {
        ("wanglab/ecg-fm-preprint", "mimic_iv_ecg_physionet_pretrained.pt"),
        ("wanglab/ecg-fm-preprint", "physionet_finetuned.pt"),
        ("wanglab/ecg-fm", "mimic_iv_ecg_finetuned.pt"),
        ("PKUDigitalHealth/ECGFounder", "12_lead_ECGFounder.pth"),
        ("PKUDigitalHealth/ECGFounder", "1_lead_ECGFounder.pth"),
    }
    assert all(e.licence == "MIT" and e.purpose for e in CATALOG)


def test_the_study_files_are_pinned_to_the_hubs_published_hashes():
    pre, seq = lookup(PRETRAINED), lookup(SEQUENTIAL)
    assert pre.filename == "mimic_iv_ecg_physionet_pretrained.pt" and pre.repo == "wanglab/ecg-fm-preprint"
    assert pre.revision == PREPRINT_REV and pre.size == 1_090_825_421 and pre.pinned
    assert pre.sha256 == "4d0142bcb485eb9f0c7845e0c19ff3463f6ae9d0e458eab69136efe90ceb9b7e"
    # physionet_finetuned.pt lives in the preprint repository, not in wanglab/ecg-fm.
    assert seq.filename == "physionet_finetuned.pt" and seq.repo == "wanglab/ecg-fm-preprint" and seq.pinned
    assert seq.identify("668c86ddc6a38ba138bd374c5bab388d839f5c36c807e28e97674de6dafae412") == "current"
    first = seq.identify("96ecf96d044e735f6477a022d36d5a00f714693ee5e563faf19e47e9d319f28e")
    assert first and "first upload" in first and "abf3d8c" in first
    assert seq.identify("0" * 64) is None
    assert lookup("physionet_finetuned.pt") is seq  # the official file name works as a name


def test_entries_without_published_values_say_so():
    for name in ("ecgfm-mimic-finetuned", "ecgfounder-12lead", "ecgfounder-1lead"):
        entry = lookup(name)
        assert entry.sha256 is None and not entry.pinned and "not available" in entry.note
    mimic = lookup("ecgfm-mimic-finetuned")  # its commit is known (the file's latest), its hash is not
    assert mimic.revision == "584219ea492cdeef2e19ffbdf9c6ecc874ba427e" and not mimic.commit_hint


def test_list_reports_every_entry_and_its_local_state(tmp_path):
    (tmp_path / "physionet_finetuned.pt").write_bytes(b"x")
    listing = list_weights(weights_dir=tmp_path).to_dict()
    rows = {r["name"]: r for r in listing["weights"]}
    assert set(rows) == {e.name for e in CATALOG} and listing["weights_dir"] == str(tmp_path)
    assert rows[SEQUENTIAL]["state"] == "present, not verified" and rows[PRETRAINED]["state"] == "missing"
    assert rows[PRETRAINED]["page"].startswith("https://huggingface.co/wanglab/ecg-fm-preprint/blob/8fb94b0")
