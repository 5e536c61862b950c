"""`stats audit`: GRIM-style reachability of published threshold metrics, on the article's Table 2 and
on tables with planted errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lvsdctl.errors import InputError
from lvsdctl.stats.api import audit
from lvsdctl.stats.confusion import metric_grid, parse_printed, reachable, solve
from lvsdctl.stats.consistency import findings
from lvsdctl.stats.audit_readings import corrected_table
from lvsdctl.study.published import published

SIZES = {"A": (194, 68), "B": (115, 46), "C": (222, 80)}


def _row(tp, tn, n, pos, decimals=3, model="M", vset="A") -> list[dict]:
    """A table row computed honestly from a confusion matrix, printed at ``decimals``."""
    v = metric_grid(np.array([tp]), np.array([tn]), n, pos)
    return [{"model": model, "validation_set": vset, "metric": k, "value": f"{float(v[k][0]):.{decimals}f}"}
            for k in ("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")]


def _table(*rows) -> pd.DataFrame:
    return pd.DataFrame([r for row in rows for r in row])


def _set(df, model, vset, metric, value):
    df.loc[(df.model == model) & (df.validation_set == vset) & (df.metric == metric), "value"] = value


def test_the_verb_is_exported_from_the_stage():
    from lvsdctl.stats import audit as verb

    assert verb is audit


def test_parse_printed_reads_precision_stars_and_percentages():
    p = parse_printed("0.765*")
    assert p.value == pytest.approx(0.765) and p.half == pytest.approx(0.0005)
    assert parse_printed("76.5%").value == pytest.approx(0.765) and parse_printed("76.5%").half == pytest.approx(0.0005)
    assert parse_printed("0.7").half == pytest.approx(0.05)
    assert parse_printed("0.7", decimals=3).half == pytest.approx(0.0005)
    assert parse_printed("") is None and parse_printed("n/a") is None
    with pytest.raises(InputError):
        parse_printed("high")


def test_solve_finds_exactly_the_matrices_a_brute_force_finds():
    n, pos = 40, 15
    rng = np.random.default_rng(0)
    for _ in range(20):
        tp, tn = int(rng.integers(0, pos + 1)), int(rng.integers(0, n - pos + 1))
        v = metric_grid(np.array([tp]), np.array([tn]), n, pos)
        cons = {k: (round(float(v[k][0]), 2) - 0.005, round(float(v[k][0]), 2) + 0.005)
                for k in ("accuracy", "ppv", "f1") if np.isfinite(v[k][0])}
        cons["sensitivity"] = (tp / pos - 0.01, tp / pos + 0.01)  # narrows TP inside solve
        got = {tuple(int(x) for x in m) for m in solve(cons, n, pos)}
        a, b = (g.ravel() for g in np.meshgrid(np.arange(pos + 1), np.arange(n - pos + 1), indexing="ij"))
        grid = metric_grid(a, b, n, pos)
        ok = np.logical_and.reduce([(grid[k] >= lo) & (grid[k] <= hi) for k, (lo, hi) in cons.items()])
        assert got == {(int(x), int(y)) for x, y in zip(a[ok], b[ok])} and (tp, tn) in got


def test_one_cell_reachability_agrees_with_the_grid():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        pos = int(rng.integers(0, n + 1))
        metric = str(rng.choice(["accuracy", "sensitivity", "specificity", "ppv", "npv", "f1"]))
        v = float(rng.uniform(0, 1))
        assert reachable(metric, v - 0.02, v + 0.02, n, pos) == bool(len(solve({metric: (v - 0.02, v + 0.02)}, n, pos)))


def test_large_sets_stay_fast_and_huge_ones_are_refused():
    t = _table(_row(5000, 9000, 20000, 7000))
    spec, npv = t.loc[t.metric == "specificity", "value"].item(), t.loc[t.metric == "npv", "value"].item()
    _set(t, "M", "A", "specificity", npv)
    _set(t, "M", "A", "npv", spec)
    r = audit(t, {"A": (20000, 7000)})  # seconds at most: one-count scans, a bounded search window
    assert r.failing[0].readings[0]["reading"] == "specificity and NPV exchanged"
    with pytest.raises(InputError, match="sets of up to 100,000"):
        audit(t, {"A": (10**7, 10**6)})


def test_an_honest_table_is_consistent_and_its_matrix_recovered():
    t = _table(_row(51, 77, 194, 68), _row(37, 34, 115, 46, vset="B"), _row(59, 103, 222, 80, vset="C"))
    r = audit(t, SIZES)
    assert all(row.consistent for row in r.rows) and not r.failing
    a = next(row for row in r.rows if row.validation_set == "A")
    assert a.matrices == 1 and (a.matrix["tp"], a.matrix["fn"], a.matrix["fp"], a.matrix["tn"]) == (51, 17, 49, 77)
    assert all(rel["ok"] for rel in a.relations) and len(a.relations) == 5


def test_planted_exchange_of_two_columns_is_found_and_undone():
    t = _table(_row(47, 103, 194, 68))
    spec, npv = t.loc[t.metric == "specificity", "value"].item(), t.loc[t.metric == "npv", "value"].item()
    _set(t, "M", "A", "specificity", npv)
    _set(t, "M", "A", "npv", spec)
    r = audit(t, SIZES)
    row = r.failing[0]
    assert row.unreachable == ["specificity"]
    best = row.readings[0]
    assert best["reading"] == "specificity and NPV exchanged" and best["changes"] == 1
    assert (best["matrix"]["tp"], best["matrix"]["tn"]) == (47, 103)
    fixed = corrected_table(t, r)
    assert audit(fixed, SIZES).failing == []
    assert fixed.loc[fixed.metric == "specificity", "value"].item() == spec


def test_planted_wrong_positive_count_is_found_for_the_whole_set():
    rows = [_row(tp, tn, 115, 46, model=f"M{i}", vset="B") for i, (tp, tn) in enumerate([(37, 34), (34, 38), (40, 35)])]
    r = audit(_table(*rows), {"B": (115, 45)})  # the sizes table says 45; the metrics were computed on 46
    assert len(r.failing) == 3
    assert r.sets[0].best_positives == [46] and r.sets[0].consistent_with_best == 3
    assert all(row.readings[0]["reading"] == "46 positives instead of 45" for row in r.failing)
    text = findings(r)
    assert any("3 fit 46" in line for line in text)


def test_planted_misprint_names_the_cell_and_the_value_the_others_imply():
    t = _table(_row(51, 77, 194, 68))
    _set(t, "M", "A", "ppv", "0.610")  # printed 0.510
    row = audit(t, SIZES).failing[0]
    best = row.readings[0]
    assert best["reading"].startswith("PPV misprinted") and best["implied"] == {"ppv": 0.51}
    assert [r for r in row.relations if not r["ok"]][0]["relation"] == "PPV by Bayes"


def test_planted_class_exchange_and_macro_f1_are_recognised():
    # The released code's confusion-matrix orientation: every metric for the wrong class.
    v = metric_grid(np.array([59]), np.array([103]), 222, 80)
    swapped = {"accuracy": v["accuracy"], "sensitivity": v["specificity"], "specificity": v["sensitivity"],
               "ppv": v["npv"], "npv": v["ppv"], "f1": v["f1_negative"]}
    t = pd.DataFrame([{"model": "M", "validation_set": "C", "metric": k, "value": f"{float(x[0]):.3f}"}
                      for k, x in swapped.items()])
    r = audit(t, SIZES)
    best = r.failing[0].readings[0]
    assert best["reading"].startswith("the classes exchanged") and best["derived"]["f1"] == pytest.approx(0.6629, abs=1e-4)
    fixed = corrected_table(t, r)
    assert audit(fixed, SIZES).failing == []
    # F1 reported as the macro average over both classes ("macro-averages", as the article says).
    t = _table(_row(59, 103, 222, 80, vset="C"))
    _set(t, "M", "C", "f1", f"{float(v['f1_macro'][0]):.3f}")
    assert audit(t, SIZES).failing[0].readings[0]["reading"] == "F1 macro-averaged over both classes"


def test_average_rows_are_checked_as_means():
    t = _table(_row(51, 77, 194, 68), _row(59, 103, 222, 80, vset="C"))
    avg = t.groupby("metric", as_index=False)["value"].agg(lambda v: f"{np.mean([float(x) for x in v]):.3f}")
    avg["model"], avg["validation_set"] = "M", "Average"
    t = pd.concat([t, avg], ignore_index=True)
    assert all(a.ok for a in audit(t, SIZES).averages)
    _set(t, "M", "Average", "f1", "0.600")
    bad = [a for a in audit(t, SIZES).averages if not a.ok]
    assert [(a.metric, a.printed) for a in bad] == [("f1", 0.6)]


def test_rows_without_a_size_are_listed_not_skipped():
    r = audit(_table(_row(51, 77, 194, 68, vset="Z")), SIZES)
    assert r.rows == [] and r.not_checked == ["M / Z: no size for set 'Z' in the sizes table"]


def test_the_article_table2_against_its_table1():
    """What the audit finds in the article (docs/stats.md quotes it)."""
    pub = published()
    r = audit(pub.table2(), pub.sizes())
    assert sum(row.consistent for row in r.rows) == 10 and len(r.rows) == 18
    failing = {(row.model, row.validation_set) for row in r.failing}
    assert failing == {(m, "Ext. val 1") for m in ("FCN", "LSTM-FCN", "ResNet", "InceptionTime", "Sq-PF", "SS-FF")} | {
        ("SS-FF", "Int. val"), ("SS-FF", "Ext. val 2")}
    ext1 = next(s for s in r.sets if s.validation_set == "Ext. val 1")
    assert (ext1.positives, ext1.consistent_as_given, ext1.best_positives, ext1.consistent_with_best) == (45, 0, [46], 5)
    by = {(row.model, row.validation_set): row for row in r.failing}
    assert by[("SS-FF", "Int. val")].readings[0]["reading"] == "specificity and NPV exchanged"
    assert by[("SS-FF", "Ext. val 1")].readings[0]["reading"] == "46 positives instead of 45; specificity and NPV exchanged"
    m = by[("SS-FF", "Ext. val 2")].readings[0]["matrix"]
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (62, 18, 29, 113)
    assert [(a.model, a.metric) for a in r.averages if not a.ok] == [("LSTM-FCN", "auprc")]
    # As corrected (SS-FF's columns back) and with Ext. val 1's 46 positives, every row is consistent.
    fixed = corrected_table(pub.table2(), r)
    sizes = dict(pub.sizes(), **{"Ext. val 1": (115, 46)})
    assert audit(fixed, sizes).failing == []
    ssff = fixed[(fixed.model == "SS-FF") & (fixed.validation_set == "Average")].set_index("metric")["value"]
    assert (ssff["specificity"], ssff["npv"]) == ("0.745", "0.851")


def test_stats_compare_runs_on_the_table_as_published_and_as_corrected(tmp_path):
    from lvsdctl.cli.main import app
    from lvsdctl.stats.comparison import compare_models, read_metric_csv

    runner = CliRunner()
    res = runner.invoke(app, ["stats", "audit", "--study", "--corrected", str(tmp_path / "fixed.csv"),
                              "-o", str(tmp_path / "audit.json"), "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "audit.json").read_text())["rows_consistent"] == 10
    published_f = compare_models(read_metric_csv(io.StringIO(published().table2().to_csv(index=False)))).rm_anova["F"]
    corrected_f = compare_models(read_metric_csv(tmp_path / "fixed.csv")).rm_anova["F"]
    assert published_f == pytest.approx(16.67, abs=0.005) and corrected_f == pytest.approx(29.63, abs=0.005)
    res = runner.invoke(app, ["stats", "compare", "--csv", str(tmp_path / "fixed.csv"), "-q", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["rm_anova"]["F"] == pytest.approx(29.63, abs=0.005)


def test_cli_reads_wide_tables_and_writes_csv(tmp_path):
    from lvsdctl.cli.main import app

    wide = pd.DataFrame([{"Model": "M", "Dataset": "A", **{r["metric"]: r["value"] for r in _row(51, 77, 194, 68)}}])
    wide.to_csv(tmp_path / "t.csv", index=False)
    pd.DataFrame([{"Set": "A", "n_ecgs": 194, "LVSD": 68}]).to_csv(tmp_path / "s.csv", index=False)
    res = CliRunner().invoke(app, ["stats", "audit", str(tmp_path / "t.csv"), "--sizes", str(tmp_path / "s.csv"),
                                   "-o", str(tmp_path / "out.csv"), "-q"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert out.loc[0, "consistent"] and (out.loc[0, "tp"], out.loc[0, "tn"]) == (51, 77)
    res = CliRunner().invoke(app, ["stats", "audit", str(tmp_path / "t.csv")])
    assert res.exit_code == 3 and "--sizes" in res.output
