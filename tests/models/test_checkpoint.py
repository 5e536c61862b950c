"""Checkpoints: HDF5 `model` files readable with plain h5py, rebuilt exactly by load_checkpoint."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.models.checkpoint import check_preprocessing, load_checkpoint, save_checkpoint
from lvsdctl.models.registry import create_model

PRE = {"layout": "4x64", "fs": 500.0, "filter": {"method": "neurokit"}, "normalisation": "none"}


@pytest.mark.parametrize("name,kw", [("fcn", {}), ("lstm-fcn", {"in_samples": 64}), ("resnet", {}),
                                     ("inceptiontime", {"ensemble": 2, "kernels": (39, 19, 9)})])
def test_round_trip_gives_the_same_outputs(tmp_path, name, kw):
    torch.manual_seed(0)
    model = create_model(name, **kw).eval()
    path = tmp_path / "m.h5"
    history = [{"epoch": 1, "train_loss": 0.7, "tune_auroc": 0.6}]
    save_checkpoint(path, model, model_name=name, history=history, preprocessing=PRE, parameters={"lr": 5e-6})
    loaded, meta = load_checkpoint(path)
    x = torch.randn(2, 4, 64)
    assert torch.equal(model(x), loaded(x))
    assert meta["model_name"] == name and meta["history"] == history and meta["preprocessing"] == PRE
    assert meta["lvsdctl_kind"] == "model" and meta["task"] == "lvsd"


def test_plain_h5py_reads_weights_and_json(tmp_path):
    model = create_model("fcn").eval()
    path = tmp_path / "fcn.h5"
    save_checkpoint(path, model, model_name="fcn", preprocessing=PRE)
    with h5py.File(path, "r") as f:
        assert f.attrs["lvsdctl_kind"] == "model"
        state = {k: torch.from_numpy(np.asarray(f["weights"][k][()])) for k in f["weights"]}
        config = json.loads(f.attrs["config"])
        # nothing pickled: every weight is a plain numeric dataset
        assert all(f["weights"][k].dtype.kind in "fiu" for k in f["weights"])
    rebuilt = create_model("fcn", **config)
    rebuilt.load_state_dict(state)
    assert set(state) == set(model.state_dict())


def test_refuses_files_that_are_not_models(tmp_path):
    from lvsdctl.hdf5 import atomic_output

    with atomic_output(tmp_path / "e.h5", kind="ecg") as f:
        f.create_dataset("signals", data=np.zeros((1, 4, 8), np.float32))
    with pytest.raises(InputError, match="needs 'model'"):
        load_checkpoint(tmp_path / "e.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="not an HDF5 file"):
        load_checkpoint(tmp_path / "junk.h5")


def test_weights_that_do_not_fit_are_refused(tmp_path):
    path = tmp_path / "m.h5"
    save_checkpoint(path, create_model("fcn"), model_name="fcn", config={"in_channels": 12})
    with pytest.raises(InputError, match="do not fit"):
        load_checkpoint(path)


def test_preprocessing_mismatch_is_exit_code_5():
    with pytest.raises(MismatchError, match="normalisation") as exc:
        check_preprocessing(PRE, {**PRE, "normalisation": "zscore"}, model_path="m.h5", data_path="d.h5")
    assert exc.value.exit_code == 5
    check_preprocessing(PRE, dict(PRE), model_path="m.h5", data_path="d.h5")
