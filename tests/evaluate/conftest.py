"""A tiny split ECG file and an untrained FCN checkpoint, built in the test's tmp folder."""

import numpy as np
import pandas as pd
import pytest

PREP = {"layout": "4x200", "fs": 20.0, "filter": {"kind": "test"}, "normalisation": "none"}


def write_ecg_file(path, n_patients=45, per_patient=2, seed=0):
    from lvsdctl.hdf5 import atomic_output, write_json_attr, write_records

    rng = np.random.default_rng(seed)
    n = n_patients * per_patient
    patient = np.repeat([f"p{i:03d}" for i in range(n_patients)], per_patient)
    split = np.repeat(np.array(["tune", "internal", "external1"])[np.arange(n_patients) % 3], per_patient)
    label = np.repeat(rng.integers(0, 2, n_patients), per_patient).astype(np.int8)
    records = pd.DataFrame({
        "record_id": [f"r{i:04d}" for i in range(n)], "patient": patient, "site": np.where(split == "external1", "C", "A"),
        "acquired": "2024-03-01T10:00:00", "age": rng.normal(72, 9, n), "sex": rng.choice(["F", "M"], n),
        "lvef": np.where(label == 1, 30.0, 55.0), "label": label, "split": split, "qrs_ms": rng.normal(150, 15, n)})
    signals = rng.normal(0, 1, (n, 4, 200)).astype(np.float32)
    signals += label[:, None, None] * 0.5  # a signal the (untrained) model may or may not pick up
    with atomic_output(str(path), kind="ecg", synthetic=True, command="test") as f:
        write_records(f, records)
        ds = f.create_dataset("signals", data=signals, chunks=(1, 4, 200))
        ds.attrs["layout"] = PREP["layout"]
        ds.attrs["fs"] = PREP["fs"]
        ds.attrs["channels"] = np.array(["c0", "c1", "c2", "c3"], dtype=object)
        ds.attrs["normalisation"] = PREP["normalisation"]
        write_json_attr(ds, "filter", PREP["filter"])
    return records, signals


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    import torch

    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.models.registry import create_model

    d = tmp_path_factory.mktemp("study")
    records, signals = write_ecg_file(d / "split.h5")
    torch.manual_seed(0)
    model = create_model("fcn", in_channels=4, filters=[4, 4, 4], kernels=[3, 3, 3])
    save_checkpoint(str(d / "model.h5"), model, preprocessing=PREP)
    other = create_model("fcn", in_channels=4, filters=[4, 4, 4], kernels=[3, 3, 3])
    save_checkpoint(str(d / "model-b.h5"), other, model_name="fcn", preprocessing=PREP)
    wrong = dict(PREP, fs=500.0)
    save_checkpoint(str(d / "model-500hz.h5"), model, preprocessing=wrong)
    return {"dir": d, "records": records, "signals": signals, "model": model}
