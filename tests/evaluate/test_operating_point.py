"""One operating point from `evaluate` to every prediction: the threshold frozen by `evaluate` is saved
beside the model and used by `predict` and `explain`, so the same ECG gets the same call everywhere;
`--threshold` overrides and says so; `calibrate` chooses a site's own; a stale one is never used."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lvsdctl.cli.main import app
from lvsdctl.errors import InputError, MismatchError
from lvsdctl.evaluate.operating_point import read_operating_point, resolve_threshold, sidecar_path
from lvsdctl.evaluate.store import load_predictions

PRE = {"layout": "4x5000", "fs": 500.0, "filter": {"name": "neurokit", "highpass_hz": 0.5, "order": 5,
                                                   "powerline_hz": 50.0, "design_rate": "floor"},
       "normalisation": "none"}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """36 simulated 10 s ECGs at 500 Hz (tune / internal / external1) and an untrained FCN."""
    import neurokit2 as nk
    import torch

    from lvsdctl.hdf5 import atomic_output, write_json_attr, write_records
    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.models.registry import create_model

    d = tmp_path_factory.mktemp("op")
    rng = np.random.default_rng(0)
    n = 36
    label = rng.integers(0, 2, n).astype(np.int8)
    xs = []
    for i in range(n):
        sig = np.asarray(nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=60 + i, random_state=i), np.float32)
        xs.append(np.stack([sig * 0.8, sig, sig * 0.3, sig]) * (1.0 + 0.3 * label[i]))
    records = pd.DataFrame({"record_id": [f"r{i:03d}" for i in range(n)], "patient": [f"p{i // 2}" for i in range(n)],
                            "site": "A", "acquired": "2024-05-01T09:30:00", "label": label, "age": 70.0, "sex": "F",
                            "split": np.repeat(["tune", "internal", "external1"], n // 3)})
    with atomic_output(d / "split.h5", "ecg", synthetic=True, command="test") as f:
        ds = f.create_dataset("signals", data=np.stack(xs).astype(np.float32), chunks=(1, 4, 5000))
        ds.attrs["layout"], ds.attrs["fs"], ds.attrs["normalisation"] = "4x5000", 500.0, "none"
        ds.attrs["channels"] = ["I|aVR|V1|V4", "II|aVL|V2|V5", "III|aVF|V3|V6", "II (rhythm)"]
        write_json_attr(ds, "filter", PRE["filter"])
        write_records(f, records)
    torch.manual_seed(3)
    save_checkpoint(d / "model.h5", create_model("fcn", in_channels=4, filters=[8, 8, 8]), model_name="fcn",
                    preprocessing=PRE)
    return d


def _run(*args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


def test_evaluate_predict_explain_agree_on_every_call(study, tmp_path):
    d = study
    model, data = d / "model.h5", d / "split.h5"
    res = _run("evaluate", model, data, "-o", tmp_path / "eval.h5", "--threshold", "youden", "--bootstrap", "0",
               "--device", "cpu", "--json", "-q")
    ev = json.loads(res.stdout)
    thr = ev["threshold"]["value"]
    assert ev["operating_point_file"] == str(sidecar_path(model)) and ev["synthetic"] is True
    point = read_operating_point(sidecar_path(model))
    assert point.threshold == thr and point.policy == "youden" and point.set == "tune" and point.data == "split.h5"
    assert point.sensitivity is not None and point.specificity is not None and point.chosen_by == "lvsdctl evaluate"

    res = _run("predict", model, data, "-o", tmp_path / "pred.h5", "--device", "cpu", "--json", "-q")
    summary = json.loads(res.stdout)
    assert summary["threshold"] == thr and summary["threshold_source"] == "operating point"
    assert "Youden" in summary["threshold_origin"] and "split.h5" in summary["threshold_origin"]
    assert summary["model_synthetic"] is False and summary["data_synthetic"] is True
    evaluated, _ = load_predictions(str(tmp_path / "eval.h5"))
    predicted, meta = load_predictions(str(tmp_path / "pred.h5"))
    assert meta.threshold == thr and meta.threshold_source == "operating point"
    calls = predicted.set_index("record_id")["pred"]
    assert (evaluated.set_index("record_id")["pred"] == calls.loc[evaluated["record_id"]]).all()

    res = _run("explain", data, "--set", "internal", "--model", model, "-o", tmp_path / "attr.h5", "--json")
    cohort = json.loads(res.stdout)
    assert cohort["threshold"] == thr and cohort["threshold_source"] == "operating point"
    from lvsdctl.hdf5 import open_input, read_records

    with open_input(tmp_path / "attr.h5") as f:
        explained = read_records(f).set_index("record_id")
    called = explained["outcome"].isin(["TP", "FP"]).astype(int)
    assert (called == calls.loc[called.index]).all()
    for rid in ("r012", "r020"):  # one ECG at a time, as a cardiologist asks
        res = _run("explain", data, "--record", rid, "--model", model, "-o", tmp_path / f"{rid}.png", "--json")
        assert (tmp_path / f"{rid}.png").exists() and (tmp_path / f"{rid}.waves.json").exists()
        one = json.loads(res.stdout)
        assert one["threshold"] == thr and (one["prediction"] == "LVSD") == bool(calls[rid])
        assert "operating point" in one["threshold_origin"]


def test_threshold_on_the_command_line_overrides_and_says_so(study, tmp_path):
    d = study
    _run("evaluate", d / "model.h5", d / "split.h5", "--threshold", "youden", "--bootstrap", "0", "--device", "cpu", "-q")
    saved = read_operating_point(sidecar_path(d / "model.h5")).threshold
    res = _run("predict", d / "model.h5", d / "split.h5", "-o", tmp_path / "p.h5", "--threshold", "0.31", "--device",
               "cpu", "--json", "-q")
    s = json.loads(res.stdout)
    assert s["threshold"] == 0.31 and s["threshold_source"] == "command line"
    assert "--threshold" in s["threshold_origin"] and f"overrides the model's operating point {saved:.4g}" in s["threshold_origin"]
    assert all(r["threshold"] == 0.31 for r in s["results"])
    # and explain alike
    res = _run("explain", d / "split.h5", "--record", "r013", "--model", d / "model.h5", "--threshold", "0.31",
               "-o", tmp_path / "m.png", "--json")
    assert json.loads(res.stdout)["threshold_source"] == "command line"


def test_threshold_from_an_evaluation_file_and_no_operating_point(study, tmp_path):
    import shutil

    d = study
    model = tmp_path / "copy.h5"
    shutil.copy(d / "model.h5", model)  # no sidecar beside this copy
    choice = resolve_threshold(str(model))
    assert choice.value == 0.5 and choice.source == "default" and "copy.h5.threshold.json is missing" in choice.warning
    _run("evaluate", model, d / "split.h5", "-o", tmp_path / "e.h5", "--threshold", "sens:0.8", "--bootstrap", "0",
         "--device", "cpu", "--no-save-threshold", "-q")
    assert not sidecar_path(model).exists()
    choice = resolve_threshold(str(model), threshold_from=str(tmp_path / "e.h5"))
    assert choice.source == "operating point" and choice.operating_point.policy == "sens:0.8"
    with pytest.raises(InputError, match="not both"):
        resolve_threshold(str(model), threshold=0.4, threshold_from=str(tmp_path / "e.h5"))


def test_a_stale_operating_point_is_never_used(study, tmp_path):
    import shutil

    import torch

    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.models.registry import create_model

    d = study
    model = tmp_path / "m.h5"
    shutil.copy(d / "model.h5", model)
    _run("calibrate", model, d / "split.h5", "--threshold", "youden", "--device", "cpu", "-q")
    assert resolve_threshold(str(model)).source == "operating point"
    torch.manual_seed(9)  # retrained under the same name: its old operating point no longer applies
    save_checkpoint(model, create_model("fcn", in_channels=4, filters=[8, 8, 8]), model_name="fcn", preprocessing=PRE)
    choice = resolve_threshold(str(model))
    assert choice.value == 0.5 and choice.source == "default" and "another model file" in choice.warning
    with pytest.raises(MismatchError):  # asked for explicitly: refused
        resolve_threshold(str(model), threshold_from=str(sidecar_path(model)))


def test_calibrate_on_site_data_replaces_and_keeps_the_history(study, tmp_path):
    import shutil

    d = study
    model = tmp_path / "site.h5"
    shutil.copy(d / "model.h5", model)
    _run("evaluate", model, d / "split.h5", "--threshold", "youden", "--bootstrap", "0", "--device", "cpu", "-q")
    first = read_operating_point(sidecar_path(model))
    res = _run("calibrate", model, d / "split.h5", "--tune-set", "internal", "--threshold", "0.42", "--device", "cpu",
               "--json", "-q")
    out = json.loads(res.stdout)
    assert out["operating_point"]["threshold"] == 0.42 and out["operating_point"]["set"] == "internal"
    assert out["replaced"]["threshold"] == first.threshold and sum(out["confusion"].values()) == out["ecgs"] == 12
    doc = json.loads(sidecar_path(model).read_text())
    assert doc["chosen_by"] == "lvsdctl calibrate" and doc["previous"][0]["chosen_by"] == "lvsdctl evaluate"
    assert 0 <= doc["sensitivity"] <= 1 and "sensitivity" in doc["origin"]
    res = _run("predict", model, d / "split.h5", "-o", tmp_path / "p.h5", "--device", "cpu", "--json", "-q")
    assert json.loads(res.stdout)["threshold"] == 0.42
    # elsewhere with -o, e.g. one operating point per site
    _run("calibrate", model, d / "split.h5", "-o", tmp_path / "site-b.threshold.json", "--device", "cpu", "-q")
    res = _run("predict", model, d / "split.h5", "-o", tmp_path / "p2.h5", "--threshold-from",
               tmp_path / "site-b.threshold.json", "--device", "cpu", "--json", "-q")
    assert json.loads(res.stdout)["threshold_source"] == "operating point"
