"""A tiny end-to-end run: `lvsdctl pretrain` on synthetic 12-lead ECGs, then the checkpoint `finetune` loads."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from lvsdctl.cli.main import app
from lvsdctl.models.checkpoint import load_checkpoint
from lvsdctl.models.ecgfm_lvsd import build_lvsd_model
from lvsdctl.models.ecgfm_weights import load_pretrain_model

from tests.pretrain.pretrain_data import make_12lead_file


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("pretrain")
    data = make_12lead_file(d / "archive12.h5", n=24, seed=1)
    out, pt = d / "site-fm.h5", d / "site-fm.pt"
    result = CliRunner().invoke(app, [
        "pretrain", str(data), "-o", str(out), "--epochs", "3", "--batch-size", "8", "--lr", "1e-3",
        "--device", "cpu", "--export-fairseq", str(pt), "--json", "-q",
    ])
    assert result.exit_code == 0, result.output
    return {"summary": json.loads(result.stdout), "out": out, "pt": pt, "dir": d}


def test_contrastive_loss_falls(run):
    s = run["summary"]
    assert s["num_updates"] == 9 and s["n_ecgs"] == 24
    assert s["last_epoch"]["contrastive"] < s["first_epoch"]["contrastive"]
    assert s["last_epoch"]["train_loss"] < s["first_epoch"]["train_loss"]
    for key in ("diversity", "features_pen", "cmsc", "code_perplexity"):
        assert key in s["last_epoch"]


def test_checkpoint_is_what_finetune_loads(run):
    model, meta = load_checkpoint(run["out"])
    assert meta["model_name"] == "ecgfm-pretrain" and meta["config"]["embed_dim"] == 64
    assert len(meta["history"]) == 3
    lvsd, info = build_lvsd_model(run["out"], seed=0, in_channels=4)
    assert info["origin"] == "lvsdctl:ecgfm-pretrain"
    enc_state = lvsd.encoder.state_dict()
    assert all(torch.equal(enc_state[k], v) for k, v in model.state_dict().items() if k in enc_state)
    back = load_pretrain_model(run["pt"])  # the fairseq export holds the same tensors
    assert all(torch.equal(back.state_dict()[k], v) for k, v in model.state_dict().items())
    assert not (run["dir"] / ".site-fm.h5.resume.h5").exists()


def test_four_lead_input_is_refused(tmp_path):
    data = make_12lead_file(tmp_path / "four.h5", n=4, channels=4)
    result = CliRunner().invoke(app, ["pretrain", str(data), "-o", str(tmp_path / "x.h5"), "-q"])
    assert result.exit_code == 5
    assert "12 standard leads" in result.output
