"""`resolve` (never downloads; the way out when a file is missing) and `verify` on files copied by hand."""

from __future__ import annotations

import shutil

import pytest

from lvsdctl.errors import InputError, MissingResourceError
from lvsdctl.weights import resolve, verify, weights_dir
from lvsdctl.weights.local import describe, read_record, sha256_file, write_record


def test_resolve_a_missing_catalog_file_gives_the_fetch_line_and_the_offline_route(tmp_path, monkeypatch):
    monkeypatch.setenv("LVSDCTL_WEIGHTS_DIR", str(tmp_path / "w"))
    with pytest.raises(MissingResourceError) as exc:
        resolve("ecgfm-physionet-finetuned")
    msg = str(exc.value)
    assert exc.value.exit_code == 6
    assert "lvsdctl weights fetch ecgfm-physionet-finetuned" in msg
    assert "copy physionet_finetuned.pt (wanglab/ecg-fm-preprint" in msg and str(tmp_path / "w") in msg
    assert "--weights PATH" in msg and "$LVSDCTL_WEIGHTS_DIR" in msg
    with pytest.raises(MissingResourceError, match="lvsdctl weights fetch ecgfm-mimic-finetuned"):
        resolve("mimic_iv_ecg_finetuned.pt", weights_dir=tmp_path)
    with pytest.raises(MissingResourceError, match="nowhere.pt: weights file not found"):
        resolve(str(tmp_path / "nowhere.pt"))
    with pytest.raises(MissingResourceError, match="ecgfm-pretrained"):  # an unknown name lists the known ones
        resolve("ecgfm-large")


def test_resolve_finds_files_by_name_file_name_and_path(fixtures_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("LVSDCTL_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert weights_dir() == tmp_path / ".cache" / "lvsdctl" / "weights"
    wdir = tmp_path / "w"
    wdir.mkdir()
    src = fixtures_dir / "ecgfm" / "tiny_finetuned.pt"
    shutil.copy(src, wdir / "mimic_iv_ecg_finetuned.pt")
    assert resolve("ecgfm-mimic-finetuned", weights_dir=wdir) == wdir / "mimic_iv_ecg_finetuned.pt"
    assert resolve("mimic_iv_ecg_finetuned.pt", weights_dir=wdir) == wdir / "mimic_iv_ecg_finetuned.pt"
    assert resolve(src) == src and resolve(str(src)) == src


def test_verify_hand_copied_files_and_paths(fixtures_dir, tmp_path):
    src = fixtures_dir / "ecgfm" / "tiny_finetuned.pt"
    shutil.copy(src, tmp_path / "mimic_iv_ecg_finetuned.pt")
    [f] = verify(weights_dir=tmp_path).files
    assert f.status == "unpinned" and f.sha256 == sha256_file(src)
    write_record(tmp_path / "mimic_iv_ecg_finetuned.pt", f.sha256)
    assert read_record(tmp_path / "mimic_iv_ecg_finetuned.pt") == f.sha256
    assert describe(tmp_path / "mimic_iv_ecg_finetuned.pt")["catalog_name"] == "ecgfm-mimic-finetuned"
    [f] = verify(["ecgfm-mimic-finetuned"], weights_dir=tmp_path).files
    assert f.status == "recorded"
    [f] = verify([str(src)], weights_dir=tmp_path).files  # a file outside: not a catalogued checkpoint
    assert f.status == "unknown" and f.name is None
    report = verify(["ecgfm-pretrained"], weights_dir=tmp_path)
    assert report.files[0].status == "missing" and not report.ok
    with pytest.raises(InputError, match="neither a file nor a name"):
        verify(["no-such-thing"], weights_dir=tmp_path)
