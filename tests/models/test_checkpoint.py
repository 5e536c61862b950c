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


# ------------------------------------------------------------------ untrusted model files, every family
#: A small model of every registered family (a family missing here fails the test below by name).
SMALL = {
    "fcn": {"filters": [4, 5, 4]},
    "lstm-fcn": {"filters": [4, 5, 4], "in_samples": 64},
    "resnet": {"filters": [4, 5, 4]},
    "inceptiontime": {"filters": 4, "bottleneck": 4, "depth": 3},
    "ecgfm-lvsd": {"size": "tiny"},
    "ecgfm-pretrain": "tiny",
}


def _small(name: str, tmp_path):
    from lvsdctl.models.ecgfm import config_for_size

    spec = SMALL[name]
    if spec == "tiny":  # the pretraining model takes an ECGFMConfig
        cfg = config_for_size("tiny")
        model, config = create_model(name, **cfg.to_dict()), cfg.to_dict()
    else:
        model, config = create_model(name, **spec), None
    path = tmp_path / f"{name}.h5"
    save_checkpoint(path, model, model_name=name, config=config)
    return path


def _scaled(value, factor):
    """Every int of a config times `factor` (bools and texts as they are)."""
    if isinstance(value, bool) or not isinstance(value, (int, list, dict)):
        return value
    if isinstance(value, int):
        return value * factor
    if isinstance(value, list):
        return [_scaled(v, factor) for v in value]
    return {k: _scaled(v, factor) for k, v in value.items()}


def _poison(path, **attrs):
    with h5py.File(path, "r+") as f:
        for key, value in attrs.items():
            f.attrs[key] = value if isinstance(value, str) else json.dumps(value)


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_every_family_has_a_small_model_here():
    from lvsdctl.models.registry import list_models

    assert sorted(SMALL) == sorted(list_models()), "add the new family to SMALL: its config must be checked too"


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_poisoned_config_is_refused_before_any_model_is_built(tmp_path, name):
    path = _small(name, tmp_path)
    load_checkpoint(path)  # the file as written loads
    with h5py.File(path) as f:
        config = json.loads(f.attrs["config"])
    before = _peak_mb()
    for factor in (3_000, 100_000_000):  # within the bounds but not the weights; past the bounds
        _poison(path, config=_scaled(config, factor))
        with pytest.raises(InputError, match="do not fit|out of bounds|larger model|buildable") as err:
            load_checkpoint(path)
        assert err.value.exit_code == 3
    assert _peak_mb() - before < 300  # refused before allocating anything of the config's size
    _poison(path, config={**config, "ZZPHI_option": 1})
    with pytest.raises(InputError, match="1 option") as err:
        load_checkpoint(path)
    assert "ZZPHI" not in str(err.value)
    for bad in ("[1, 2]", "{not json", json.dumps({**config, "x": "y" * 100})):
        _poison(path, config=bad)
        with pytest.raises(InputError):
            load_checkpoint(path)


def test_a_config_of_many_layers_stops_building_early(tmp_path):
    path = _small("resnet", tmp_path)
    _poison(path, config={"filters": [4] * 4000, "convs_per_block": [3] * 4000})
    with pytest.raises(InputError, match="larger model than the weights the file holds"):
        load_checkpoint(path)


@pytest.mark.parametrize("attr, value, shown", [
    ("model_name", "ZZPHI-name", "unknown model family"),
    ("lvsdctl_kind", "ZZPHI-kind", "of a kind this lvsdctl does not know"),
])
def test_file_text_is_not_quoted(tmp_path, attr, value, shown):
    path = _small("fcn", tmp_path)
    _poison(path, **{attr: value})
    with pytest.raises(InputError, match=shown) as err:
        load_checkpoint(path)
    assert "ZZPHI" not in str(err.value)


def test_weights_declared_past_the_bound_are_refused_unread(tmp_path):
    path = _small("fcn", tmp_path)
    with h5py.File(path, "r+") as f:  # 40 GB declared, nothing stored
        f["weights"].create_dataset("body.extra", shape=(10_000_000_000,), dtype="f4", chunks=(1 << 20,))
    with pytest.raises(InputError, match="GiB of weights"):
        load_checkpoint(path)
    with h5py.File(path, "r+") as f:
        del f["weights/body.extra"]
        f["weights"].create_dataset("body.text", data=np.array([b"ZZPHI"], dtype=object), dtype=h5py.string_dtype())
    with pytest.raises(InputError, match="not a numeric array") as err:
        load_checkpoint(path)
    assert "body.text" not in str(err.value)


def test_model_options_are_bounded_on_the_meta_device():
    from lvsdctl.models.registry import check_model_options

    check_model_options("fcn", {"filters": [4, 5, 4]})
    with pytest.raises(InputError, match="out of bounds"):
        check_model_options("fcn", {"filters": [4, 3_000_000_000, 4]})
    with pytest.raises(InputError, match="parameters"):
        check_model_options("fcn", {"filters": [16_000_000, 16_000_000, 4]})
