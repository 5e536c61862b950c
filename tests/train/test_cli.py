"""`lvsdctl train` end to end, and the bad inputs it must refuse before training starts."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from lvsdctl.cli.main import app

from tests.train.conftest import make_ecg_file

runner = CliRunner()
FAST = ["--epochs", "2", "--lr", "1e-3", "--batch-size", "8", "--device", "cpu", "-q"]


def invoke(*args):
    return runner.invoke(app, ["train", *map(str, args)])


def test_train_writes_a_checkpoint_plain_h5py_can_read(tmp_path):
    data = make_ecg_file(tmp_path / "split.h5", samples=64)
    out = tmp_path / "fcn.h5"
    res = invoke(data, "--model", "fcn", "-o", out, "--select", "best", "--metric", "auroc", "--json", *FAST)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["model"] == "fcn" and summary["epochs"] == 2 and summary["n_train"] == 32
    assert summary["selection"]["select"] == "best" and summary["selection"]["metric"] == "auroc"
    with h5py.File(out, "r") as f:
        assert f.attrs["lvsdctl_kind"] == "model" and f.attrs["model_name"] == "fcn"
        assert f["weights"]["body.blocks.0.conv.weight"].shape == (128, 4, 8)
        history = json.loads(f.attrs["history"])
        pre = json.loads(f.attrs["preprocessing"])
        params = json.loads(f["provenance"].asstr()[-1])["parameters"]
    assert [h["epoch"] for h in history] == [1, 2] and "tune_auroc" in history[0]
    assert pre["layout"] == "4x64" and pre["fs"] == 500.0 and pre["normalisation"] == "none"
    assert pre["filter"] == {"method": "neurokit", "highpass_hz": 0.5}
    assert params["train"]["lr"] == 1e-3 and params["preset"] == "article"
    assert not list(tmp_path.glob(".fcn.h5.resume*"))  # resume state removed once the model is written


def test_defaults_are_the_articles(tmp_path):
    from lvsdctl.train.baseline import build_config

    cfg, model_opts, ensemble = build_config(None, "inceptiontime", {})
    assert (cfg.optimizer, cfg.lr, cfg.epochs, cfg.batch_size, cfg.class_weight, cfg.select) == (
        "adam", 5e-6, 100, 16, "none", "last")
    assert model_opts == {} and ensemble == 1
    cfg, model_opts, _ = build_config("sktime", "inceptiontime", {"lr": 1e-4})
    assert cfg.class_weight == "balanced" and cfg.lr == 1e-4 and model_opts == {"kernels": (39, 19, 9)}
    assert build_config("published", "inceptiontime", {})[2] == 5


def test_inceptiontime_ensemble_and_model_options(tmp_path):
    data = make_ecg_file(tmp_path / "split.h5", samples=32, splits={"train": 16, "tune": 8})
    out = tmp_path / "incep.h5"
    res = invoke(data, "--model", "inceptiontime", "--ensemble", "2", "--model-option", "kernels=[9,5,3]",
                 "-o", out, "--epochs", "1", "--batch-size", "8", "--device", "cpu", "-q", "--json")
    assert res.exit_code == 0, res.output
    from lvsdctl.models.checkpoint import load_checkpoint

    model, meta = load_checkpoint(out)
    assert meta["config"]["ensemble"] == 2 and meta["config"]["kernels"] == [9, 5, 3]
    assert len(model.members) == 2 and len(meta["selection"]["members"]) == 2
    assert {h["member"] for h in meta["history"]} == {0, 1}
    res = invoke(data, "--model", "fcn", "--ensemble", "2", "-o", tmp_path / "x.h5", *FAST)
    assert res.exit_code == 3 and "inceptiontime only" in " ".join(res.output.split())


@pytest.mark.parametrize(
    "kind,message",
    [
        ("unlabelled", "have no label"),
        ("no_train", "no ECG in set 'train'"),
        ("wrong_layout", "layout says 4x5000"),
        ("nan", "NaN"),
        ("one_class", "only one class"),
        ("not_ecg", "needs 'ecg'"),
    ],
)
def test_bad_input_is_refused_before_training(tmp_path, kind, message):
    path = tmp_path / "bad.h5"
    if kind == "unlabelled":
        labels = np.array([0, 1] * 24)
        labels[3] = -1
        make_ecg_file(path, labels=labels, samples=16)
    elif kind == "no_train":
        make_ecg_file(path, splits={"internal": 10, "tune": 6}, samples=16)
    elif kind == "wrong_layout":
        make_ecg_file(path, layout="4x5000", samples=16)
    elif kind == "nan":
        make_ecg_file(path, nan_row=2, samples=16)
    elif kind == "one_class":
        make_ecg_file(path, labels=np.zeros(48), samples=16)
    else:
        from lvsdctl.hdf5 import atomic_output

        with atomic_output(path, kind="ecg-raw"):
            pass
    out = tmp_path / "m.h5"
    res = invoke(path, "--model", "fcn", "-o", out, *FAST)
    assert res.exit_code == 3, res.output
    text = " ".join(res.output.split())  # the console wraps long lines
    assert message in text and str(path) in text
    assert "Traceback" not in text and not out.exists()


def test_layout_the_model_cannot_take_is_a_mismatch(tmp_path):
    from lvsdctl.errors import MismatchError
    from lvsdctl.train.baseline import train

    data = make_ecg_file(tmp_path / "twelve.h5", channels=12, samples=16)
    with pytest.raises(MismatchError, match="needs '4x5000'"):
        train(data, "fcn", tmp_path / "m.h5", expect_layout="4x5000", epochs=1, device="cpu")


def test_resume_without_state_is_a_clear_error(tmp_path):
    data = make_ecg_file(tmp_path / "split.h5", samples=16)
    res = invoke(data, "--model", "fcn", "-o", tmp_path / "m.h5", "--resume", *FAST)
    assert res.exit_code == 3 and "no resume state" in " ".join(res.output.split())


def test_interrupted_training_resumes_to_the_same_checkpoint(tmp_path, monkeypatch):
    import torch

    import lvsdctl.train.baseline as baseline
    from lvsdctl.models.checkpoint import load_checkpoint

    data = make_ecg_file(tmp_path / "split.h5", samples=32, splits={"train": 16, "tune": 8})
    opts = dict(epochs=3, lr=1e-3, batch_size=8, device="cpu")
    baseline.train(data, "fcn", tmp_path / "full.h5", **opts)

    real_fit = baseline.fit

    def interrupted_fit(*args, **kwargs):
        def stop(record):
            if record["epoch"] == 2:
                raise KeyboardInterrupt
        return real_fit(*args, on_epoch_end=stop, **kwargs)

    monkeypatch.setattr(baseline, "fit", interrupted_fit)
    with pytest.raises(KeyboardInterrupt):
        baseline.train(data, "fcn", tmp_path / "cut.h5", **opts)
    monkeypatch.setattr(baseline, "fit", real_fit)
    assert (tmp_path / ".cut.h5.resume.h5").exists() and not (tmp_path / "cut.h5").exists()
    summary = baseline.train(data, "fcn", tmp_path / "cut.h5", resume=True, **opts)
    assert summary.resumed_from_epoch == 2
    full, _ = load_checkpoint(tmp_path / "full.h5")
    cut, _ = load_checkpoint(tmp_path / "cut.h5")
    a, b = full.state_dict(), cut.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_select_best_without_a_tuning_set_is_refused(tmp_path):
    data = make_ecg_file(tmp_path / "split.h5", samples=16)
    res = invoke(data, "--model", "fcn", "-o", tmp_path / "m.h5", "--select", "best", "--tune-set", "", *FAST)
    assert res.exit_code == 3 and "needs a tuning set" in " ".join(res.output.split())
    res = invoke(data, "--model", "fcn", "-o", tmp_path / "m.h5", "--preset", "keras", *FAST)
    assert res.exit_code == 3 and "unknown preset" in res.output
