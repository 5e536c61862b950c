"""`lvsdctl stats cohort` and `lvsdctl stats compare` from the command line."""

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from lvsdctl.cli.main import app


def _text(result) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _split_file(path):
    from lvsdctl.hdf5 import atomic_output, write_records

    rng = np.random.default_rng(0)
    n = 120
    lvef = rng.normal(45, 12, n)
    records = pd.DataFrame({
        "record_id": [f"r{i}" for i in range(n)], "patient": [f"p{i // 2}" for i in range(n)],
        "split": np.repeat(["train", "tune", "internal", "external1"], [60, 20, 20, 20]),
        "age": rng.normal(72, 10, n), "sex": rng.choice(["F", "M"], n), "lvef": lvef,
        "label": (lvef < 40).astype(np.int8)})
    with atomic_output(str(path), kind="ecg", synthetic=True, command="test") as f:
        write_records(f, records)
    return records


def test_cohort_table_outputs(tmp_path):
    _split_file(tmp_path / "split.h5")
    runner = CliRunner()
    r = runner.invoke(app, ["stats", "cohort", str(tmp_path / "split.h5"), "-o", str(tmp_path / "t1.csv"), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["sets"] == ["train+tune", "internal", "external1"]
    t1 = pd.read_csv(tmp_path / "t1.csv")
    assert list(t1.columns[:4]) == ["Characteristic", "Training & tuning", "Internal validation", "External validation 1"]
    assert t1.loc[t1["Characteristic"] == "Number of ECG-echo pairs", "Training & tuning"].item() == "80"
    r = runner.invoke(app, ["stats", "cohort", str(tmp_path / "split.h5"), "-o", str(tmp_path / "t1.md"), "-q"])
    text = (tmp_path / "t1.md").read_text()
    assert r.exit_code == 0 and "\n| Characteristic" in text
    # synthetic input: said first; what the counts count: said in the caption and the row labels
    assert text.startswith("SYNTHETIC data") and "per ECG-echo pair" in text and "| Females, n (%) of pairs |" in text


def test_cohort_refuses_a_missing_file(tmp_path):
    r = CliRunner().invoke(app, ["stats", "cohort", str(tmp_path / "nope.h5")])
    assert r.exit_code == 3 and "no such file" in _text(r)


def test_compare_study_table_reports_the_articles_f(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["stats", "compare", "--study", "--json", "-q", "--figure", str(tmp_path / "fig3"),
                            "-o", str(tmp_path / "pairs.csv")])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert round(res["rm_anova"]["F"], 2) == 16.67 and res["friedman"]["p"] < 0.001
    assert (tmp_path / "fig3.png").stat().st_size > 0 and (tmp_path / "fig3.svg").exists()
    assert len(pd.read_csv(tmp_path / "pairs.csv")) == 15
    r = runner.invoke(app, ["stats", "compare", "--study", "--table", str(tmp_path / "t2.csv")])
    assert r.exit_code == 0 and "F(5, 115) = 16.67" in _text(r)
    t2 = pd.read_csv(tmp_path / "t2.csv")
    assert len(t2) == 24 and t2.loc[t2["Model"] == "SS-FF", "AUROC"].tolist()[-1] == 0.807


def test_compare_from_csv_and_refusals(tmp_path):
    from lvsdctl.stats.comparison import study_table2

    t = study_table2()
    t.to_csv(tmp_path / "t2.csv", index=False)
    runner = CliRunner()
    r = runner.invoke(app, ["stats", "compare", "--csv", str(tmp_path / "t2.csv"), "--models", "FCN,ResNet"])
    assert r.exit_code == 3 and "at least 3 models" in _text(r)
    t[t["model"] != "FCN"].drop(index=t.index[(t["model"] == "SS-FF") & (t["metric"] == "npv")]).to_csv(
        tmp_path / "bad.csv", index=False)
    r = runner.invoke(app, ["stats", "compare", "--csv", str(tmp_path / "bad.csv")])
    assert r.exit_code == 3 and "metric 'npv' is missing for model(s) SS-FF" in _text(r)
    r = runner.invoke(app, ["stats", "compare"])
    assert r.exit_code == 3 and "exactly one" in _text(r)
    r = runner.invoke(app, ["stats", "compare", "--csv", str(tmp_path / "missing.csv")])
    assert r.exit_code == 3
