"""The evaluate and predict commands, then `stats compare --per-ecg` on their outputs."""

import json

from typer.testing import CliRunner

from lvsdctl.evaluate.store import load_predictions


def test_cli_evaluate_then_stats_compare_per_ecg(tiny_study, tmp_path):
    from lvsdctl.cli.main import app

    d = tiny_study["dir"]
    runner = CliRunner()
    paths = []
    for name in ("model.h5", "model-b.h5", "model.h5"):
        out = tmp_path / f"{len(paths)}-{name}"
        r = runner.invoke(app, ["evaluate", str(d / name), str(d / "split.h5"), "-o", str(out), "--bootstrap", "20",
                                "--threshold", "youden", "--device", "cpu", "-q", "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["threshold"]["policy"] == "youden"
        paths.append(str(out))
    # an untrained model may call no ECG of a set positive (PPV undefined): compare the defined metrics
    r = runner.invoke(app, ["stats", "compare", *paths, "--per-ecg", "--bootstrap", "20", "-q", "--json",
                            "--metrics", "accuracy,sensitivity,specificity,auroc,auprc"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert len(res["models"]) == 3 and res["n_blocks"] == 10
    tests = {row["test"] for row in res["per_ecg"]}
    assert tests == {"AUROC DeLong", "AUROC patient bootstrap", "sensitivity McNemar", "specificity McNemar"}
    r = runner.invoke(app, ["evaluate", str(d / "model-500hz.h5"), str(d / "split.h5"), "--device", "cpu", "-q"])
    assert r.exit_code == 5


def test_cli_predict_and_help(tiny_study, tmp_path):
    from lvsdctl.cli.main import app

    d = tiny_study["dir"]
    runner = CliRunner()
    out = tmp_path / "pred.h5"
    r = runner.invoke(app, ["predict", str(d / "model.h5"), str(d / "split.h5"), "-o", str(out), "--set", "internal",
                            "--threshold", "0.3", "--device", "cpu", "--json"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    df, meta = load_predictions(str(out))
    assert summary["ecgs"] == len(df) == 30 and set(df["split"]) == {"internal"} and meta.threshold == 0.3
    # a small run prints its per-ECG table: every record, its score and call; SYNTHETIC data said so
    assert "per-ECG results at threshold 0.3 (command line)" in r.stderr and "SYNTHETIC" in r.stderr
    assert all(rid in r.stderr for rid in df["record_id"]) and "…" not in r.stderr
    assert [row["record_id"] for row in summary["results"]] == list(df["record_id"])
    r = runner.invoke(app, ["predict", str(d / "model.h5"), str(d / "split.h5"), "-o", str(out), "--threshold", "2"])
    assert r.exit_code == 3 and "threshold" in r.output
    for cmd in (["evaluate", "--help"], ["predict", "--help"], ["stats", "compare", "--help"], ["stats", "cohort", "--help"]):
        r = runner.invoke(app, cmd)
        assert r.exit_code == 0 and "Example" in r.output, cmd


def test_cli_two_prediction_files_compare_ecg_by_ecg(tiny_study, tmp_path):
    from lvsdctl.cli.main import app

    d = tiny_study["dir"]
    runner = CliRunner()
    paths = []
    for name in ("model.h5", "model-b.h5"):
        out = tmp_path / f"pred-{name}"
        r = runner.invoke(app, ["predict", str(d / name), str(d / "split.h5"), "-o", str(out), "--device", "cpu", "-q"])
        assert r.exit_code == 0, r.output
        paths.append(str(out))
    r = runner.invoke(app, ["stats", "compare", *paths, "--bootstrap", "20", "--json", "-q", "-o", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["skipped"] is None and {row["set"] for row in res["per_ecg"]} == {"internal", "external1"}
    assert (tmp_path / "p.csv").exists()
