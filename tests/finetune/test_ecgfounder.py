"""`finetune --backbone ecgfounder`: end to end on tiny data with the reference's tiny checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from lvsdctl.errors import InputError, MismatchError, MissingResourceError
from lvsdctl.models.checkpoint import load_checkpoint
from lvsdctl.finetune import finetune
from lvsdctl.finetune.ecgfounder import RECIPE, STRATEGY_LR, study_runs
from tests.train.conftest import make_ecg_file

FAST = {"epochs": 1, "batch_size": 8, "device": "cpu"}


@pytest.fixture(scope="module")
def founder_fixtures(fixtures_dir) -> Path:
    return fixtures_dir / "ecgfounder"


@pytest.fixture
def data(tmp_path) -> Path:
    return make_ecg_file(tmp_path / "split.h5", splits={"train": 16, "tune": 8}, samples=320)


def _official(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_partial_finetuning_keeps_the_frozen_stages_of_the_file(founder_fixtures, tmp_path, data):
    weights = founder_fixtures / "tiny_12lead.pth"
    out = tmp_path / "pf2.h5"
    summary = finetune(data, out, backbone="ecgfounder", weights=weights, freeze=2, **FAST)
    assert (summary.model, summary.start, summary.strategy) == ("ecgfounder-lvsd", "pretrained", "pf2")
    assert summary.lr == STRATEGY_LR["pf"]
    model, meta = load_checkpoint(out)
    assert meta["model_name"] == "ecgfounder-lvsd" and meta["preprocessing"]["shape"] == [4, 320]
    train = meta["training"]
    assert train["backbone"] == "ecgfounder" and train["weights_origin"] == "official" and train["freeze"] == 2
    assert train["zscore"] is True  # these data are in mV: the model z-scores as ECGFounder's authors do
    assert train["train"]["weight_decay"] == RECIPE["weight_decay"] and train["train"]["betas"] == [0.9, 0.999]
    official = _official(weights)
    state = model.backbone.state_dict()
    for key, value in official.items():
        frozen = key.startswith(("first_conv", "first_bn", "stage_list.0.", "stage_list.1.")) or ".bn" in key
        if frozen:
            assert torch.equal(state[key], value), f"{key} is frozen but changed"
    assert not torch.equal(state["stage_list.3.block_list.0.conv2.conv.weight"],
                           official["stage_list.3.block_list.0.conv2.conv.weight"])
    assert state["dense.weight"].shape == (2, 32)


def test_additive_finetuning_on_twelve_leads_trains_only_the_head(founder_fixtures, tmp_path):
    data = make_ecg_file(tmp_path / "twelve.h5", splits={"train": 16, "tune": 8}, channels=12, samples=300)
    weights = founder_fixtures / "tiny_12lead.pth"
    summary = finetune(data, tmp_path / "af.h5", backbone="ecgfounder", weights=weights, freeze="all", **FAST)
    assert summary.strategy == "af" and summary.lr == STRATEGY_LR["af"]
    assert summary.trainable_parameters == 32 * 2 + 2  # 12 x 5000 goes in directly: no projection
    model, _ = load_checkpoint(tmp_path / "af.h5")
    for key, value in _official(weights).items():
        if not key.startswith("dense."):
            assert torch.equal(model.backbone.state_dict()[key], value), key


def test_from_scratch_and_the_1_lead_file_by_name(founder_fixtures, tmp_path, data, monkeypatch):
    summary = finetune(data, tmp_path / "s.h5", backbone="ecgfounder", from_scratch=True, size="tiny", **FAST)
    assert summary.start == "scratch" and summary.strategy == "ff"
    one = make_ecg_file(tmp_path / "one.h5", splits={"train": 8, "tune": 8}, channels=1, samples=300)
    monkeypatch.setenv("LVSDCTL_WEIGHTS_DIR", str(tmp_path / "w"))
    (tmp_path / "w").mkdir()
    with pytest.raises(MissingResourceError, match="1_lead_ECGFounder.pth"):  # 1-lead data: the 1-lead file
        finetune(one, tmp_path / "o.h5", backbone="ecgfounder", **FAST)
    shutil.copy(founder_fixtures / "tiny_1lead.pth", tmp_path / "w" / "1_lead_ECGFounder.pth")
    summary = finetune(one, tmp_path / "o.h5", backbone="ecgfounder", weights="ecgfounder-1lead", freeze=1, **FAST)
    _, meta = load_checkpoint(tmp_path / "o.h5")
    assert meta["training"]["weights"].endswith("1_lead_ECGFounder.pth") and meta["config"]["in_channels"] == 1


def test_ecgfm_only_options_and_misfits_are_refused(founder_fixtures, tmp_path, data):
    weights = founder_fixtures / "tiny_12lead.pth"
    with pytest.raises(InputError, match="--sequential"):
        finetune(data, tmp_path / "x.h5", backbone="ecgfounder", weights=weights, sequential=True, **FAST)
    with pytest.raises(InputError, match="whole 10 s"):
        finetune(data, tmp_path / "x.h5", backbone="ecgfounder", weights=weights, segments="5s", **FAST)
    with pytest.raises(InputError, match="tiny, full"):
        finetune(data, tmp_path / "x.h5", backbone="ecgfounder", from_scratch=True, size="base", **FAST)
    with pytest.raises(InputError, match="0..4 or 'all' for this 4-stage network"):
        finetune(data, tmp_path / "x.h5", backbone="ecgfounder", weights=weights, freeze=6, **FAST)
    with pytest.raises(MismatchError, match="another size"):
        finetune(data, tmp_path / "x.h5", backbone="ecgfounder", weights=weights, size="full", **FAST)


def test_all_strategies_through_the_cli(founder_fixtures, tmp_path, data):
    from lvsdctl.cli.main import app

    out = tmp_path / "models"
    runs = study_runs(out, 4)
    assert [Path(r["output"]).name for r in runs] == ["ecgfounder-ff.h5", "ecgfounder-pf1.h5", "ecgfounder-pf2.h5",
                                                      "ecgfounder-pf3.h5", "ecgfounder-af.h5"]
    out.mkdir()
    for run in runs[:3]:  # as after an interrupted run: kept
        Path(run["output"]).write_bytes(b"")
    res = CliRunner().invoke(app, ["finetune", str(data), "--backbone", "ecgfounder", "--all-strategies",
                                   "--weights", str(founder_fixtures / "tiny_12lead.pth"), "-o", str(out),
                                   "--epochs", "1", "--batch-size", "8", "--device", "cpu", "-q", "--json"])
    assert res.exit_code == 0, res.output
    summaries = json.loads(res.stdout)
    trained = {Path(s["output"]).name: s for s in summaries if "skipped" not in s}
    assert set(trained) == {"ecgfounder-pf3.h5", "ecgfounder-af.h5"}
    assert trained["ecgfounder-af.h5"]["freeze"] == 4 and trained["ecgfounder-af.h5"]["lr"] == STRATEGY_LR["af"]
    res = CliRunner().invoke(app, ["finetune", str(data), "--backbone", "ecgfounder", "--freeze", "1", "--weights",
                                   str(founder_fixtures / "tiny_12lead.pth"), "-o", str(tmp_path / "one.h5"),
                                   "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--no-zscore"])
    assert res.exit_code == 0, res.output
    assert "ECGFounder pretrained-pf1" in res.output
    assert load_checkpoint(tmp_path / "one.h5")[1]["config"]["zscore"] is False


def test_weights_fetch_and_finetune_agree_on_the_file(founder_fixtures, tmp_path, data, monkeypatch):
    """`lvsdctl weights fetch ecgfounder-12lead` puts the file where `finetune --backbone ecgfounder` looks,
    by that name or by default; before the fetch, finetune stops with the fetch line (exit code 6)."""
    from lvsdctl.cli.main import app
    from lvsdctl.weights import fetch
    from tests.weights.fakehub import FakeHub

    wdir = tmp_path / "weights"
    monkeypatch.setenv("LVSDCTL_WEIGHTS_DIR", str(wdir))
    args = ["finetune", str(data), "--backbone", "ecgfounder", "--freeze", "all", "--epochs", "1", "--batch-size",
            "8", "--device", "cpu", "-q"]
    res = CliRunner().invoke(app, [*args, "--weights", "ecgfounder-12lead", "-o", str(tmp_path / "a.h5")])
    assert res.exit_code == 6 and "lvsdctl weights fetch ecgfounder-12lead" in " ".join(res.output.split())
    hub = FakeHub()
    hub.add("PKUDigitalHealth/ECGFounder", "12_lead_ECGFounder.pth", founder_fixtures / "tiny_12lead.pth")
    monkeypatch.setenv("HF_ENDPOINT", hub.start())
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    try:
        fetched = fetch("ecgfounder-12lead", cache_dir=tmp_path / "hf-cache")
    finally:
        hub.stop()
    assert fetched.path == str(wdir / "12_lead_ECGFounder.pth")
    for name, extra in (("named", ["--weights", "ecgfounder-12lead"]), ("default", [])):
        res = CliRunner().invoke(app, [*args, *extra, "-o", str(tmp_path / f"{name}.h5")])
        assert res.exit_code == 0, res.output
        training = load_checkpoint(tmp_path / f"{name}.h5")[1]["training"]
        assert training["weights"] == fetched.path
        assert training["weights_catalog"]["catalog_name"] == "ecgfounder-12lead"


def test_micro_batches_give_the_whole_batchs_model(founder_fixtures, tmp_path, data):
    """--micro-batch with ECGFounder (no BatchNorm applied in the published networks): the same steps."""
    weights = founder_fixtures / "tiny_12lead.pth"
    base = {**FAST, "epochs": 2, "lr": 1e-3}
    finetune(data, tmp_path / "whole.h5", backbone="ecgfounder", weights=weights, **base)
    summary = finetune(data, tmp_path / "micro.h5", backbone="ecgfounder", weights=weights, micro_batch=3, **base)
    assert summary.backbone == "ecgfounder"
    whole, _ = load_checkpoint(tmp_path / "whole.h5")
    micro, meta = load_checkpoint(tmp_path / "micro.h5")
    assert meta["training"]["train"]["micro_batch"] == 3
    official = _official(weights)
    moved = False
    for key, value in whole.state_dict().items():
        assert torch.allclose(value, micro.state_dict()[key], atol=1e-5), key
        if key.startswith("backbone.") and key.removeprefix("backbone.") in official and "dense" not in key:
            moved |= not torch.equal(value, official[key.removeprefix("backbone.")])
    assert moved  # FF: the network trained, and identically
