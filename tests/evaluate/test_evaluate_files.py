"""End to end: checkpoint + split file -> evaluation file, report and figures."""

import json

import h5py
import numpy as np

from lvsdctl.evaluate.api import evaluate
from lvsdctl.evaluate.store import load_evaluation, load_predictions


def test_evaluate_writes_metrics_report_and_figures(tiny_study, tmp_path):
    d = tiny_study["dir"]
    out, report, figs = tmp_path / "eval.h5", tmp_path / "report.md", tmp_path / "figs"
    ev = evaluate(str(d / "model.h5"), str(d / "split.h5"), str(out), threshold="youden", n_boot=50, seed=1,
                  device="cpu", report=str(report), figures=str(figs))
    assert ev.validation_sets == ["internal", "external1"]
    assert "tune" in ev.threshold.origin
    metrics, meta = load_evaluation(str(out))
    assert set(metrics["set"]) == {"internal", "external1", "Average"}
    assert len(metrics) == 3 * 8
    internal = metrics[metrics["set"] == "internal"]
    assert (internal["n_patients"] == 15).all() and (internal["n_ecgs"] == 30).all()
    ok = internal.dropna(subset=["ci_low"])
    assert ((ok["ci_low"] <= ok["value"] + 1e-9) & (ok["value"] <= ok["ci_high"] + 1e-9)).all()
    avg = metrics[metrics["set"] == "Average"].set_index("metric")["value"]
    per = metrics[metrics["set"] != "Average"].groupby("metric")["value"].agg(lambda v: v.mean(skipna=False))
    np.testing.assert_allclose(avg[per.index], per)
    pred, pmeta = load_predictions(str(out))
    assert set(pred["split"]) == {"tune", "internal", "external1"} and pmeta.threshold_policy == "youden"
    text = report.read_text()
    for heading in ("## Data", "## Preprocessing", "## Model", "## Threshold", "## Discrimination", "## Calibration",
                    "## Subgroups", "## Limitations", "## Model card", "SYNTHETIC data"):
        assert heading in text, heading
    assert "p001" not in text and "r0001" not in text  # no pseudonym or record id in the report
    assert {p.name for p in figs.iterdir()} >= {"roc.png", "roc.svg", "pr.png", "reliability.svg", "scores.png"}
    with h5py.File(out) as f:
        assert f.attrs["bootstrap"] == 50 and f.attrs["bootstrap_unit"] == "patient"
        assert set(json.loads(f["calibration"].attrs["curves"])) == {"internal", "external1"}
