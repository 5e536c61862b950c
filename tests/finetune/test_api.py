"""`lvsdctl finetune`: end to end on tiny data and tiny official-layout checkpoints, through the engine."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest
import torch
from typer.testing import CliRunner

from lvsdctl.errors import InputError, MissingResourceError
from lvsdctl.finetune.api import STRATEGY_LR, default_lr, finetune, segment_samples, strategy_name, study_runs
from lvsdctl.models.checkpoint import load_checkpoint
from lvsdctl.models.ecgfm import ECGFMConfig, ECGFMEncoder
from lvsdctl.models.ecgfm_weights import (
    MIMIC_FINETUNED_FILE,
    PRETRAINED_FILE,
    SEQUENTIAL_FILE,
    WEIGHTS_DIR_ENV,
    read_weights,
    save_official,
)
from tests.train.conftest import make_ecg_file


@pytest.fixture(scope="module")
def ecgfm_fixtures(fixtures_dir) -> Path:
    """The reference implementation's tiny checkpoints and outputs (../shared/fixtures/ecgfm)."""
    return fixtures_dir / "ecgfm"


FAST = {"epochs": 2, "batch_size": 8, "device": "cpu"}


@pytest.fixture
def data(tmp_path) -> Path:
    return make_ecg_file(tmp_path / "split.h5", splits={"train": 16, "tune": 8}, samples=320)


def test_finetune_writes_a_checkpoint_that_evaluate_can_load(ecgfm_fixtures, tmp_path, data):
    weights = ecgfm_fixtures / "tiny_pretrained_legacy_keys.pt"
    out = tmp_path / "ss-af.h5"
    summary = finetune(data, out, weights=weights, freeze="all", lr=1e-2, **FAST)
    assert summary.strategy == "af" and summary.freeze == 2 and len(summary.selection) > 0
    model, meta = load_checkpoint(out)
    assert meta["model_name"] == "ecgfm-lvsd" and len(meta["history"]) == 2
    assert meta["preprocessing"]["shape"] == [4, 320]
    # AF: the encoder still holds the official weights, bit for bit; projection and head trained.
    official = read_weights(weights).encoder
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(value, official[key]), key
    with torch.no_grad():
        assert model(torch.randn(3, 4, 320)).shape == (3, 2)
    with h5py.File(out) as f:
        prov = [json.loads(s) for s in f["provenance"].asstr()[()]]
    last = prov[-1]
    assert last["parameters"]["strategy"] == "af" and last["parameters"]["weights_origin"] == "official-pretrained"
    assert any(i["path"].endswith("tiny_pretrained_legacy_keys.pt") and i["sha256"] for i in last["inputs"])


def test_full_finetuning_changes_the_encoder_and_segments_work(ecgfm_fixtures, tmp_path, data):
    weights = ecgfm_fixtures / "tiny_finetuned.pt"
    out = tmp_path / "sq-ff.h5"
    finetune(data, out, weights=weights, freeze=0, lr=1e-3, segments="5s", **{**FAST, "epochs": 1})
    model, _ = load_checkpoint(out)
    assert model.config.segment_samples == 0  # 320 samples are shorter than 5 s: one segment
    official = read_weights(weights).encoder
    changed = [k for k, v in model.encoder.state_dict().items() if not torch.equal(v, official[k])]
    assert "feature_extractor.conv_layers.0.0.weight" in changed  # FF trains the conv extractor too


def test_missing_weights_and_bad_options_are_clear(ecgfm_fixtures, tmp_path, data, monkeypatch):
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(MissingResourceError, match=SEQUENTIAL_FILE):
        finetune(data, tmp_path / "x.h5", sequential=True, **FAST)
    with pytest.raises(InputError, match="unknown backbone"):
        finetune(data, tmp_path / "x.h5", backbone="hubert", **FAST)
    with pytest.raises(InputError, match="0..2 or 'all'"):
        finetune(data, tmp_path / "x.h5", weights=ecgfm_fixtures / "tiny_pretrained.pt", freeze=7, **FAST)
    with pytest.raises(InputError, match="--segments"):
        finetune(data, tmp_path / "x.h5", weights=ecgfm_fixtures / "tiny_pretrained.pt", segments="five", **FAST)


def test_sequential_starts_from_either_finetuned_checkpoint_by_name(ecgfm_fixtures, tmp_path, data, monkeypatch):
    import shutil

    wdir = tmp_path / "weights"
    wdir.mkdir()
    shutil.copy(ecgfm_fixtures / "tiny_finetuned_legacy_keys.pt", wdir / SEQUENTIAL_FILE)
    shutil.copy(ecgfm_fixtures / "tiny_finetuned.pt", wdir / MIMIC_FINETUNED_FILE)
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(wdir))
    fast = {**FAST, "epochs": 1, "tune_split": None}
    finetune(data, tmp_path / "study.h5", sequential=True, freeze="all", **fast)
    finetune(data, tmp_path / "mimic.h5", sequential=True, weights="ecgfm-mimic-finetuned", freeze="all", **fast)
    for out, name, file in (("study.h5", "ecgfm-physionet-finetuned", SEQUENTIAL_FILE),
                            ("mimic.h5", "ecgfm-mimic-finetuned", MIMIC_FINETUNED_FILE)):
        _, meta = load_checkpoint(tmp_path / out)
        assert meta["training"]["start"] == "sq" and meta["training"]["weights"] == str(wdir / file)
        assert meta["training"]["weights_catalog"]["catalog_name"] == name
    with pytest.raises(MissingResourceError, match="lvsdctl weights fetch ecgfm-pretrained"):
        finetune(data, tmp_path / "ss.h5", **fast)  # never downloads: says how to get the file


def test_all_strategies_names_both_missing_files_at_once(tmp_path, data, monkeypatch):
    from lvsdctl.finetune.api import all_strategies

    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(MissingResourceError, match="fetch ecgfm-pretrained ecgfm-physionet-finetuned"):
        all_strategies(data, tmp_path / "models", **FAST)
    assert not (tmp_path / "models").exists()


def test_strategy_names_and_learning_rates():
    assert [strategy_name(f) for f in (0, 2, 10, 12)] == ["ff", "pf2", "pf10", "af"]
    assert default_lr(0) == 5e-7 and default_lr(12) == 1e-3 and default_lr(4) == STRATEGY_LR[4]
    assert default_lr(24, num_layers=24) == 1e-3 and default_lr(8, num_layers=24) == STRATEGY_LR[4]
    assert segment_samples("10s", 500, 5000) == 0 and segment_samples("5s", 500, 5000) == 2500
    runs = study_runs("m")
    assert len(runs) == 14 and len({r["output"] for r in runs}) == 14
    assert {Path(r["output"]).name for r in runs} >= {"ss-ff.h5", "sq-pf4.h5", "ss-af.h5", "sq-pf10.h5"}


NARROW12 = ECGFMConfig(conv_layers=((8, 2, 2),) * 4, embed_dim=16, ffn_dim=32, num_layers=12, num_heads=2,
                       conv_pos=4, conv_pos_groups=2)


def test_all_strategies_runs_the_study_through_the_cli(tmp_path, data, monkeypatch):
    """The 14-model command: 12 outputs already exist (kept, as after an interrupted run), 2 train."""
    from lvsdctl.cli.main import app

    wdir = tmp_path / "weights"
    wdir.mkdir()
    torch.manual_seed(0)
    save_official(wdir / PRETRAINED_FILE, ECGFMEncoder(NARROW12))
    save_official(wdir / SEQUENTIAL_FILE, ECGFMEncoder(NARROW12), legacy=False)
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(wdir))
    out = tmp_path / "models"
    out.mkdir()
    todo = {"ss-pf4.h5", "sq-af.h5"}
    for run in study_runs(out):
        if Path(run["output"]).name not in todo:
            Path(run["output"]).write_bytes(b"")
    res = CliRunner().invoke(app, ["finetune", str(data), "--all-strategies", "-o", str(out), "--epochs", "1",
                                   "--batch-size", "16", "--tune-set", "", "--device", "cpu", "-q", "--json"])
    assert res.exit_code == 0, res.output
    summaries = json.loads(res.stdout)
    assert len(summaries) == 14 and sum("skipped" not in s for s in summaries) == 2
    trained = {Path(s["output"]).name: s for s in summaries if "skipped" not in s}
    assert trained["ss-pf4.h5"]["lr"] == STRATEGY_LR[4] and trained["sq-af.h5"]["lr"] == STRATEGY_LR[12]
    _, meta = load_checkpoint(out / "sq-af.h5")
    assert meta["training"]["start"] == "sq" and meta["training"]["strategy"] == "af"
    assert meta["training"]["weights"].endswith(SEQUENTIAL_FILE)
    _, meta = load_checkpoint(out / "ss-pf4.h5")
    assert meta["training"]["weights"].endswith(PRETRAINED_FILE) and meta["training"]["freeze"] == 4

    bad = CliRunner().invoke(app, ["finetune", str(data), "--all-strategies", "--freeze", "4", "-o", str(out)])
    assert bad.exit_code == 3 and "--all-strategies" in bad.output
