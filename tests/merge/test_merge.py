"""`lvsdctl merge` end to end: the synthetic cohort exported as three sites (three folders, three echo
tables), three ingests, merge, preprocess, split by the study's design; and what merge refuses."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from lvsdctl.hdf5 import PSEUDONYM_KEYS_ATTR, provenance, read_json_attr, read_records
from lvsdctl.ingest import ingest
from lvsdctl.ingest.pseudonym import Secret
from lvsdctl.merge import merge
from lvsdctl.signal import preprocess


def export_by_site(cohort: Path, out: Path) -> dict[str, Path]:
    """The cohort as three hospitals would export it: each site's ECGs in its own folder, and its own echo
    table (the echoes of the patients it saw). The same recipe is in docs/merge.md."""
    truth = list(csv.DictReader(open(cohort / "generator_truth.csv", newline="")))
    echoes = list(csv.DictReader(open(cohort / "echo.csv", newline="")))
    folders = {}
    for site in sorted({r["site"] for r in truth}):
        folder = out / f"site{site}"
        (folder / "ecg").mkdir(parents=True)
        rows = [r for r in truth if r["site"] == site]
        for r in rows:
            shutil.copy(cohort / r["file"], folder / "ecg")
        patients = {r["patient_id"] for r in rows}
        with open(folder / "echo.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["patient_id", "echo_date", "lvef"])
            w.writeheader()
            w.writerows(e for e in echoes if e["patient_id"] in patients)
        folders[site] = folder
    return folders


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    from lvsdctl.synth import synthesise

    work = tmp_path_factory.mktemp("sites")
    synthesise(work / "cohort", n_ecgs=240, n_patients=100, seed=0, digitised_share=0.25)
    raws = {}
    for site, folder in export_by_site(work / "cohort", work).items():
        raws[site] = work / f"{site}.h5"
        s = ingest([folder / "ecg"], raws[site], echo=folder / "echo.csv", site=site, demo_secret=True)
        assert s.accepted == len(list((folder / "ecg").iterdir()))
    return work, raws


def test_three_sites_ingested_apart_merge_preprocess_and_split(sites):
    from lvsdctl.cli.main import app

    work, raws = sites
    merged = work / "all.h5"
    res = CliRunner().invoke(app, ["merge", str(raws["A"]), str(raws["B"]), str(raws["C"]), "-o", str(merged),
                                   "-q", "--json"])
    assert res.exit_code == 0, res.output
    with h5py.File(merged) as f:
        df = read_records(f)
        keys = read_json_attr(f, PSEUDONYM_KEYS_ATTR)
        entries = provenance(f)
        n_segments = len(f["raw/segments/record"])
    counts = [len(read_records(h5py.File(raws[s]))) for s in "ABC"]
    assert len(df) == sum(counts) == 240
    assert list(df["site"]) == ["A"] * counts[0] + ["B"] * counts[1] + ["C"] * counts[2]
    assert len(keys) == 1  # the demo key, recorded by each ingest
    assert [e["kind"] for e in entries].count("ecg-raw") == 4  # three ingests and the merge
    assert entries[-1]["parameters"]["counts"]["patients_in_several_inputs"] == 1  # the synthetic A+B patient
    shared = df.groupby("patient")["site"].nunique()
    assert (shared > 1).sum() == 1
    assert n_segments == sum(len(h5py.File(raws[s])["raw/segments/record"]) for s in "ABC")
    from lvsdctl.hdf5.raw import iter_raw_records

    with h5py.File(raws["B"]) as b, h5py.File(merged) as m:  # B's ECGs, sample for sample, after A's
        ours = iter_raw_records(m, chunk=16, start=counts[0], stop=counts[0] + counts[1])
        for (_, want), (_, got) in zip(iter_raw_records(b, chunk=16), ours):
            assert [(x.lead, x.kind, x.fs, x.t0) for x in want] == [(x.lead, x.kind, x.fs, x.t0) for x in got]
            for x, y in zip(want, got):
                np.testing.assert_array_equal(x.signal, y.signal)

    pre = work / "all-pre.h5"
    s = preprocess(str(merged), str(pre))
    assert s.inputs == 240 and s.kept + s.dropped == 240

    from lvsdctl.data import split

    out = work / "all-split.h5"
    report = split(str(pre), str(out), design="study")
    with h5py.File(out) as f:
        rec = read_records(f)
    placed = rec[rec["split"] != ""]
    assert set(placed["split"]) >= {"train", "tune", "internal", "external1", "external2"}
    assert (placed.groupby("patient")["split"].nunique() <= 1).all()  # no patient in two sets
    patient = shared[shared > 1].index[0]
    assert rec.loc[rec["patient"] == patient, "split"].nunique() == 1  # the two-site patient: one set
    assert report.patients_in_two_sets == 0


def test_the_same_exports_twice_are_kept_once(sites, tmp_path):
    _, raws = sites
    copy = tmp_path / "A-again.h5"
    shutil.copy(raws["A"], copy)
    s = merge([raws["A"], copy, raws["B"]], tmp_path / "m.h5")
    n_a = s.files[0]["records"]
    assert (s.duplicates, s.files[1]["written"], s.written) == (n_a, 0, n_a + s.files[2]["records"])
    assert s.inputs == s.written + s.duplicates


def test_pseudonyms_of_different_secrets_are_refused_unless_allowed(sites, tmp_path):
    from lvsdctl.cli.main import app

    work, raws = sites
    other = tmp_path / "B-other.h5"
    ingest([work / "siteB" / "ecg"], other, echo=work / "siteB" / "echo.csv", site="B",
           secret=Secret(b"another site secret, 32 bytes long", "file"), synthetic=True)
    res = CliRunner().invoke(app, ["merge", str(raws["A"]), str(other), "-o", str(tmp_path / "x.h5"), "-q"])
    assert res.exit_code == 3 and "different site secrets" in res.output
    assert not (tmp_path / "x.h5").exists()
    s = merge([raws["A"], other], tmp_path / "y.h5", allow_different_keys=True)
    assert len(s.key_ids) == 2 and any("different secrets" in n for n in s.notes)
    assert s.patients_in_several_inputs == 0  # the shared patient has two pseudonyms: not linked


def test_preprocessed_files_merge_like_their_raw_files(sites, tmp_path):
    _, raws = sites
    pres = []
    for site in "AB":
        pres.append(tmp_path / f"{site}-pre.h5")
        preprocess(str(raws[site]), str(pres[-1]))
    s = merge(pres, tmp_path / "pre-merged.h5")
    assert s.kind == "ecg" and s.duplicates == 0
    merge([raws["A"], raws["B"]], tmp_path / "raw-merged.h5")
    preprocess(str(tmp_path / "raw-merged.h5"), str(tmp_path / "merged-pre.h5"))
    with h5py.File(tmp_path / "pre-merged.h5") as a, h5py.File(tmp_path / "merged-pre.h5") as b:
        np.testing.assert_array_equal(a["signals"][()], b["signals"][()])
        assert dict(a["signals"].attrs).keys() == dict(b["signals"].attrs).keys()
        assert a.attrs["preprocessing"] == b.attrs["preprocessing"]
        assert list(read_records(a)["record_id"]) == list(read_records(b)["record_id"])


def test_incompatible_inputs_are_refused(sites, tmp_path):
    from lvsdctl.errors import InputError

    _, raws = sites
    pre_nk, pre_notch = tmp_path / "nk.h5", tmp_path / "notch.h5"
    preprocess(str(raws["C"]), str(pre_nk))
    preprocess(str(raws["C"]), str(pre_notch), filter="notch60")
    with pytest.raises(InputError, match="preprocessed differently"):
        merge([pre_nk, pre_notch], tmp_path / "x.h5")
    with pytest.raises(InputError, match="one kind"):
        merge([raws["C"], pre_nk], tmp_path / "x.h5")
    old = tmp_path / "v1.h5"
    shutil.copy(raws["B"], old)
    with h5py.File(old, "r+") as f:
        f.attrs["lvsdctl_format_version"] = 1
    with pytest.raises(InputError, match="format version"):
        merge([raws["C"], old], tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()
