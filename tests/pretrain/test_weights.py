"""`pretrain --weights`: continue ECG-FM's self-supervised pretraining from a checkpoint, never downloading it."""

from __future__ import annotations

import pytest
import torch

from lvsdctl.errors import InputError, MismatchError, MissingResourceError
from lvsdctl.models.checkpoint import load_checkpoint
from lvsdctl.models.ecgfm_weights import read_weights
from lvsdctl.pretrain import pretrain

from tests.pretrain.pretrain_data import make_12lead_file

FAST = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "device": "cpu"}


def test_pretraining_continues_from_an_official_checkpoint(fixtures_dir, tmp_path):
    data = make_12lead_file(tmp_path / "archive12.h5", n=8, seed=2)
    start = fixtures_dir / "ecgfm" / "tiny_pretrained_legacy_keys.pt"
    summary = pretrain(data, tmp_path / "site-fm.h5", weights=start, **FAST)
    assert summary.size == "tiny" and summary.num_updates == 1
    model, meta = load_checkpoint(tmp_path / "site-fm.h5")
    assert meta["training"]["weights"] == str(start)
    before = read_weights(start).encoder["post_extract_proj.weight"]
    after = model.state_dict()["post_extract_proj.weight"]
    assert after.shape == before.shape and not torch.equal(after, before)  # trained from the file's weights
    assert torch.allclose(after, before, atol=0.05)


def test_pretraining_refuses_what_it_cannot_continue(fixtures_dir, tmp_path, monkeypatch):
    data = make_12lead_file(tmp_path / "archive12.h5", n=8, seed=2)
    with pytest.raises(InputError, match="no pretraining modules"):
        pretrain(data, tmp_path / "x.h5", weights=fixtures_dir / "ecgfm" / "tiny_finetuned.pt", **FAST)
    with pytest.raises(MismatchError, match="ECG-FM base pretraining model"):
        pretrain(data, tmp_path / "x.h5", weights=fixtures_dir / "ecgfm" / "tiny_pretrained.pt", size="base", **FAST)
    monkeypatch.setenv("LVSDCTL_WEIGHTS_DIR", str(tmp_path / "empty"))
    with pytest.raises(MissingResourceError, match="lvsdctl weights fetch ecgfm-pretrained"):
        pretrain(data, tmp_path / "x.h5", weights="ecgfm-pretrained", **FAST)
