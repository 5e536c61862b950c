"""`fetch` against a fake Hub on 127.0.0.1: pinned and unpinned files, resumed, truncated, lying, offline."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lvsdctl.errors import InputError, MissingResourceError
from lvsdctl.weights import IntegrityError, fetch, resolve, verify
from lvsdctl.weights.local import read_record


def _storage_gets(hub) -> list:
    return [r for r in hub.requests if r[0] == "GET" and r[1].startswith("/storage/")]


def _looks_complete(cache: Path, wdir: Path, name: str) -> list[Path]:
    """Files that could pass for a finished download: in the weights directory or as cache blobs."""
    found = [p for p in wdir.glob("*") if p.name == name] if wdir.exists() else []
    blobs = cache.glob("models--*/blobs/*") if cache.exists() else []
    return found + [p for p in blobs if not p.name.endswith(".incomplete")]


def test_fetch_a_pinned_file_checks_records_and_resolves(hub, dirs, test_catalog):
    wdir, cache = dirs
    seen = []
    res = fetch("tiny-pretrained", cache_dir=cache, progress=lambda done, total: seen.append((done, total)))
    dest = wdir / "mimic_iv_ecg_physionet_pretrained.pt"
    assert res.status == "downloaded" and res.path == str(dest) and res.checked_against == "catalog"
    assert res.commit == "1234567890abcdef1234567890abcdef12345678" and res.pinned
    assert dest.read_bytes() == test_catalog["pretrained"].read_bytes()
    assert read_record(dest) == res.sha256 == test_catalog["entries"][0].sha256
    assert seen[-1][0] == seen[-1][1] == 2 * dest.stat().st_size  # downloaded, then hashed
    assert resolve("tiny-pretrained") == dest == resolve("mimic_iv_ecg_physionet_pretrained.pt")
    report = verify()
    assert report.ok and [f.status for f in report.files] == ["ok"]
    # A second fetch finds the file and downloads nothing.
    n_gets = len(_storage_gets(hub))
    again = fetch("tiny-pretrained", cache_dir=cache)
    assert again.status == "present" and len(_storage_gets(hub)) == n_gets


def test_unpinned_entry_is_checked_against_the_hash_the_hub_publishes(hub, dirs, test_catalog):
    wdir, cache = dirs
    res = fetch("tiny-unpinned", cache_dir=cache)
    assert res.checked_against == "hub" and res.expected_sha256 == res.sha256 and not res.pinned
    assert any("not pinned" in n for n in res.notes)
    assert any("not fedcba9" in n for n in res.notes)  # main moved past the commit the catalog knew
    assert [f.status for f in verify(["tiny-unpinned"]).files] == ["recorded"]


def test_an_interrupted_transfer_resumes_with_a_range_request(hub, dirs, test_catalog, monkeypatch):
    import huggingface_hub.constants

    wdir, cache = dirs
    # huggingface_hub keeps what it read in 10 MB blocks; blocks of 64 KiB let a small file show the resume.
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 64 << 10)
    hub.repos["test/ecg-fm"]["files"]["physionet_finetuned.pt"].fault = "drop_once"
    try:
        res = fetch("tiny-finetuned", cache_dir=cache)  # huggingface_hub >= 1.0 resumes within the run
    except MissingResourceError as exc:  # 0.x keeps the partial file and resumes it on the next run
        assert "run the same command again" in str(exc)
        res = fetch("tiny-finetuned", cache_dir=cache)
    assert res.sha256 == test_catalog["entries"][1].sha256
    ranges = [r[2] for r in _storage_gets(hub) if r[2]]
    assert ranges and ranges[0].startswith("bytes=") and ranges[0] != "bytes=0-"


def test_a_truncated_download_is_an_error_and_leaves_nothing_complete(hub, dirs):
    wdir, cache = dirs
    hub.repos["test/ecg-fm"]["files"]["physionet_finetuned.pt"].fault = "truncate"
    with pytest.raises(MissingResourceError, match="truncated"):
        fetch("tiny-finetuned", cache_dir=cache)
    assert _looks_complete(cache, wdir, "physionet_finetuned.pt") == []
    with pytest.raises(MissingResourceError, match="lvsdctl weights fetch tiny-finetuned"):
        resolve("tiny-finetuned")


def test_a_server_sending_other_bytes_is_caught_and_the_file_deleted(hub, dirs, test_catalog):
    wdir, cache = dirs
    served = hub.repos["test/ecg-fm"]["files"]["physionet_finetuned.pt"]
    good = served.body()
    served.content = good[:-64] + bytes(64)  # same size, same announced hash, other bytes
    with pytest.raises(IntegrityError, match="was expected") as exc:
        fetch("tiny-finetuned", cache_dir=cache)
    assert exc.value.exit_code == 3
    assert _looks_complete(cache, wdir, "physionet_finetuned.pt") == []


def test_a_hub_publishing_another_hash_is_refused_before_downloading(hub, dirs, test_catalog):
    wdir, cache = dirs
    hub.repos["test/ecg-fm"]["files"]["mimic_iv_ecg_physionet_pretrained.pt"].sha256 = "0" * 64
    with pytest.raises(IntegrityError, match="does not serve the published file"):
        fetch("tiny-pretrained", cache_dir=cache)
    assert _storage_gets(hub) == [] and not (wdir / "mimic_iv_ecg_physionet_pretrained.pt").exists()


def test_offline_uses_the_cache_and_a_cache_miss_is_clear(hub, dirs, monkeypatch):
    wdir, cache = dirs
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingResourceError, match="HF_HUB_OFFLINE is set") as exc:
        fetch("tiny-pretrained", cache_dir=cache)
    assert "copy mimic_iv_ecg_physionet_pretrained.pt into" in str(exc.value) and exc.value.exit_code == 6
    assert hub.requests == [] and _looks_complete(cache, wdir, "mimic_iv_ecg_physionet_pretrained.pt") == []
    # Online once (into the cache), then offline again: served from the cache, no request.
    monkeypatch.delenv("HF_HUB_OFFLINE")
    fetch("tiny-unpinned", cache_dir=cache)
    (wdir / "mimic_iv_ecg_finetuned.pt").unlink()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    n = len(hub.requests)
    res = fetch("tiny-unpinned", cache_dir=cache)
    assert res.status == "from-cache" and res.checked_against == "cache" and len(hub.requests) == n


def test_hub_errors_are_clear(hub, dirs, monkeypatch):
    wdir, cache = dirs
    with pytest.raises(MissingResourceError, match="no revision"):
        fetch("tiny-pretrained", cache_dir=cache, revision="f" * 40)
    del hub.repos["test/other"]
    with pytest.raises(MissingResourceError, match="no repository test/other"):
        fetch("tiny-unpinned", cache_dir=cache)
    with pytest.raises(InputError, match="no checkpoint called 'nope'"):
        fetch("nope", cache_dir=cache)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(MissingResourceError, match="could not reach|network error"):
        fetch("tiny-pretrained", cache_dir=cache)


def test_existing_files_older_uploads_and_force(hub, dirs, test_catalog):
    wdir, cache = dirs
    wdir.mkdir(parents=True)
    dest = wdir / "physionet_finetuned.pt"
    dest.write_bytes(test_catalog["finetuned_old"].read_bytes())  # the first upload, copied in by hand
    res = fetch("tiny-finetuned", cache_dir=cache)
    assert res.status == "kept-older" and "the first upload" in res.notes[0] and _storage_gets(hub) == []
    [checked] = verify(["tiny-finetuned"]).files
    assert checked.status == "older" and "the first upload" in checked.detail
    res = fetch("tiny-finetuned", cache_dir=cache, force=True)
    assert res.status == "downloaded" and hashlib.sha256(dest.read_bytes()).hexdigest() == res.sha256
    dest.write_bytes(b"not a checkpoint")
    with pytest.raises(IntegrityError, match="--force"):
        fetch("tiny-finetuned", cache_dir=cache)
    report = verify()
    assert not report.ok and [f.status for f in report.files] == ["mismatch"]
