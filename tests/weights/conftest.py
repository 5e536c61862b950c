"""A test catalog of the fixture checkpoints, served by a fake Hub on 127.0.0.1 (HF_ENDPOINT)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

from lvsdctl.weights import catalog
from lvsdctl.weights.catalog import KnownHash, WeightsEntry

COMMIT = "1234567890abcdef1234567890abcdef12345678"


def _load_fakehub():
    """This folder's helper module (tests are not imported as a package)."""
    spec = importlib.util.spec_from_file_location("_fakehub", Path(__file__).with_name("fakehub.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def ecgfm_dir(fixtures_dir) -> Path:
    return fixtures_dir / "ecgfm"


@pytest.fixture
def test_catalog(ecgfm_dir, monkeypatch):
    """Three entries over the fixture checkpoints: pinned, pinned with a recognised older upload, unpinned."""
    pre, fin, fin_old = (ecgfm_dir / n for n in ("tiny_pretrained_legacy_keys.pt", "tiny_finetuned_legacy_keys.pt",
                                                 "tiny_finetuned.pt"))
    entries = (
        WeightsEntry("tiny-pretrained", "ecgfm", "test/ecg-fm", "mimic_iv_ecg_physionet_pretrained.pt", COMMIT,
                     pre.stat().st_size, sha(pre), "MIT", "single-step start"),
        WeightsEntry("tiny-finetuned", "ecgfm", "test/ecg-fm", "physionet_finetuned.pt", COMMIT, None, sha(fin),
                     "MIT", "sequential start", older=(KnownHash(sha(fin_old), "the first upload"),)),
        WeightsEntry("tiny-unpinned", "ecgfm", "test/other", "mimic_iv_ecg_finetuned.pt", "main", None, None,
                     "MIT", "sequential from MIMIC", commit_hint="fedcba9"),
    )
    monkeypatch.setattr(catalog, "CATALOG", entries)
    return {"entries": entries, "pretrained": pre, "finetuned": fin, "finetuned_old": fin_old}


@pytest.fixture
def hub(test_catalog, monkeypatch):
    """The fake Hub serving the test catalog's files; HF_ENDPOINT points at it."""
    fake = _load_fakehub().FakeHub()
    fake.add("test/ecg-fm", "mimic_iv_ecg_physionet_pretrained.pt", test_catalog["pretrained"], commit=COMMIT)
    fake.add("test/ecg-fm", "physionet_finetuned.pt", test_catalog["finetuned"], commit=COMMIT)
    fake.add("test/other", "mimic_iv_ecg_finetuned.pt", test_catalog["finetuned_old"], commit="f" * 40)
    url = fake.start()
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    yield fake
    fake.stop()


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """An empty weights directory (LVSDCTL_WEIGHTS_DIR) and Hugging Face cache."""
    wdir, cache = tmp_path / "weights", tmp_path / "hf-cache"
    monkeypatch.setenv("LVSDCTL_WEIGHTS_DIR", str(wdir))
    return wdir, cache
