"""The shared training loop: determinism, resume equality, model selection, class weights."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from lvsdctl.data.dataset import ECGDataset
from lvsdctl.errors import MismatchError
from lvsdctl.models.registry import create_model
from lvsdctl.train.engine import TrainConfig, fit, seed_everything
from lvsdctl.train.tasks import Classification

from tests.train.conftest import make_ecg_file

BASE = TrainConfig(epochs=3, batch_size=8, lr=1e-3, device="cpu", seed=3)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = make_ecg_file(tmp_path_factory.mktemp("d") / "split.h5", splits={"train": 24, "tune": 12}, samples=64)
    return ECGDataset(path, "train"), ECGDataset(path, "tune")


def run(name, data, cfg, **kw):
    seed_everything(cfg.seed)
    model = create_model(name, in_channels=4, **({"in_samples": 64} if name == "lstm-fcn" else {}))
    return fit(model, data[0], data[1], cfg, **kw)


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_other_seed_other_weights(data):
    a = run("fcn", data, BASE)
    b = run("fcn", data, BASE)
    c = run("fcn", data, dataclasses.replace(BASE, seed=4))
    assert same_weights(a.state_dict, b.state_dict)
    assert not same_weights(a.state_dict, c.state_dict)
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]


# LSTM-FCN has dropout (RNG inside the epoch); plateau + best exercise scheduler and best-state storage.
@pytest.mark.parametrize("name,extra", [("fcn", {}), ("lstm-fcn", {"schedule": "plateau", "plateau_patience": 0,
                                                                    "select": "best", "metric": "loss"})])
def test_resume_ends_with_the_weights_of_an_uninterrupted_run(data, tmp_path, name, extra):
    cfg = dataclasses.replace(BASE, **extra)
    full = run(name, data, cfg)
    state = tmp_path / "resume.h5"
    first = run(name, data, dataclasses.replace(cfg, epochs=2), resume_path=state)
    assert state.exists() and len(first.history) == 2
    from lvsdctl.models.checkpoint import load_checkpoint

    _, meta = load_checkpoint(state)  # the resume state is a readable model file too
    assert meta["epochs_done"] == 2 and meta["task"] == "resume-state"
    resumed = run(name, data, cfg, resume_path=state, resume=True)
    assert resumed.resumed_from_epoch == 2
    assert same_weights(full.state_dict, resumed.state_dict)
    strip = lambda h: [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in h]
    assert strip(full.history) == strip(resumed.history)
    assert full.selection == resumed.selection


def test_resume_refuses_other_settings(data, tmp_path):
    state = tmp_path / "resume.h5"
    run("fcn", data, dataclasses.replace(BASE, epochs=1), resume_path=state)
    with pytest.raises(MismatchError, match="lr"):
        run("fcn", data, dataclasses.replace(BASE, lr=5e-6), resume_path=state, resume=True)


def test_select_best_keeps_and_records_the_best_epoch(data):
    cfg = dataclasses.replace(BASE, epochs=4, select="best", metric="loss")
    res = run("fcn", data, cfg)
    losses = [h["tune_loss"] for h in res.history]
    assert res.selection["epoch"] == int(np.argmin(losses)) + 1
    assert res.selection["value"] == min(losses)
    assert "lowest loss" in res.selection["rule"]
    last = run("fcn", data, dataclasses.replace(cfg, select="last"))
    assert last.selection == {"select": "last", "metric": None, "epoch": 4, "rule": "last epoch (as the article)"}


def test_history_has_loss_and_tuning_metrics_per_epoch(data):
    res = run("fcn", data, BASE)
    assert [h["epoch"] for h in res.history] == [1, 2, 3]
    for h in res.history:
        assert {"train_loss", "tune_loss", "tune_auroc", "tune_auprc", "tune_accuracy", "lr", "seconds"} <= set(h)
        assert 0.0 <= h["tune_auroc"] <= 1.0 and math.isfinite(h["train_loss"])


def test_balanced_class_weights_follow_sklearn():
    class Labels(torch.utils.data.Dataset):
        labels = torch.tensor([0] * 30 + [1] * 10)

    task = Classification("balanced")
    task.setup(Labels(), BASE)
    assert torch.allclose(task.weights, torch.tensor([40 / (2 * 30), 40 / (2 * 10)]))
    assert Classification("none").weights is None


def test_streamed_and_preloaded_batches_are_identical(tmp_path):
    path = make_ecg_file(tmp_path / "s.h5", samples=32)
    mem, stream = ECGDataset(path, "train", preload=True), ECGDataset(path, "train", preload=False)
    assert mem.in_memory and not stream.in_memory
    idx = [5, 1, 9, 1]
    for (xa, ya), (xb, yb) in zip(mem.__getitems__(idx), stream.__getitems__(idx)):
        assert torch.equal(xa, xb) and ya == yb
    loader = torch.utils.data.DataLoader(stream, batch_size=4, num_workers=1)
    x, y = next(iter(loader))
    assert x.shape == (4, 4, 32) and torch.equal(x[0], mem[0][0])
