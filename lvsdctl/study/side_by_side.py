"""This site's numbers beside the article's, with differences and their 95% confidence intervals.

The article's values are taken as `lvsdctl stats audit` corrects them (an exchange of two columns
undone; any change is marked in the `article_note` column), and each has its own uncertainty: the
confusion matrix the audit finds for that row (its set size, LVSD count and counts of calls) is
resampled (parametric bootstrap, multinomial, 2,000 draws, seeded) for accuracy, sensitivity,
specificity, PPV, NPV and F1; AUROC's standard error is Hanley & McNeil's (1982) from the set's LVSD
and non-LVSD counts; AUPRC's is unknown and left out (its difference CI is this site's alone). This
site's standard error is read off its patient-bootstrap CI (half-width / 1.96); its Average rows get
the normal-approximation CI of a mean of three independent sets. The two sides are
independent samples, so the difference's CI is d +- 1.96 sqrt(se_site^2 + se_article^2). An
"Average" row's standard errors are those of a mean of three independent sets. The article's sets
hold several ECGs per patient too, so its uncertainty computed per ECG is, if anything, too small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lvsdctl.stats.confusion import COUNT_METRICS

Z = 1.959963984540054


def _count_se(matrix: dict, draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """Standard errors of the six count metrics by resampling a confusion matrix (multinomial)."""
    counts = np.array([matrix["tp"], matrix["fn"], matrix["fp"], matrix["tn"]], dtype=float)
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    d = rng.multinomial(n, counts / n, size=draws)
    tp, fn, fp, tn = d.T
    pos, neg = tp + fn, tn + fp
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {"accuracy": (tp + tn) / n, "sensitivity": tp / pos, "specificity": tn / neg, "ppv": tp / (tp + fp),
                  "npv": tn / (tn + fn), "f1": 2 * tp / (2 * tp + fp + fn)}
    for k in COUNT_METRICS:
        v = values[k][np.isfinite(values[k])]
        out[k] = float(np.std(v, ddof=1)) if v.size > 1 else np.nan
    return out


def hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUROC (Hanley & McNeil 1982, their equation 2)."""
    if n_pos < 1 or n_neg < 1 or not np.isfinite(auc):
        return np.nan
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return float(np.sqrt(max(var, 0.0)))


def article_values(pub, audit_result, corrected: pd.DataFrame) -> pd.DataFrame:
    """Long frame: model (article name), set (article name), metric, value, se, note."""
    rows_by_key = {(r.model, r.validation_set): r for r in audit_result.rows}
    printed = pub.table2()
    key = ["model", "validation_set", "metric"]
    merged = corrected.merge(printed, on=key, suffixes=("", "_printed"))
    out = []
    for (model, vset), g in merged.groupby(["model", "validation_set"], sort=False):
        row = rows_by_key.get((model, vset))
        matrix = None
        if row is not None:
            matrix = row.matrix if row.consistent else (row.readings[0]["matrix"] if row.readings else None)
        reading = row.readings[0]["reading"] if row is not None and not row.consistent and row.readings else ""
        se = _count_se(matrix) if matrix else {}
        for r in g.itertuples(index=False):
            value = float(r.value)
            s = se.get(r.metric, np.nan)
            if r.metric == "auroc" and matrix:
                s = hanley_mcneil_se(value, matrix["tp"] + matrix["fn"], matrix["tn"] + matrix["fp"])
            note = ""
            if r.value != r.value_printed:
                note = f"printed {r.value_printed}; audit: {reading}" if reading else f"printed {r.value_printed}"
            elif reading and r.metric in COUNT_METRICS:
                note = f"audit: {reading}"
            out.append({"model": model, "set": vset, "metric": r.metric, "value": value, "se": s, "note": note})
    df = pd.DataFrame(out)
    # Averages: the mean of three independent sets' values has se sqrt(sum se^2) / 3.
    avg_names = {"average", "avg", "mean"}
    is_avg = df["set"].str.lower().isin(avg_names)
    for idx in df.index[is_avg]:
        r = df.loc[idx]
        parts = df[(df["model"] == r["model"]) & (df["metric"] == r["metric"]) & ~is_avg]
        df.loc[idx, "se"] = float(np.sqrt((parts["se"] ** 2).sum(min_count=len(parts))) / len(parts)) if len(parts) else np.nan
    return df


def side_by_side(site: pd.DataFrame, article: pd.DataFrame, pub) -> pd.DataFrame:
    """One row per (article model, set, metric) present on both sides.

    ``site``: model (grid name), set (lvsdctl name or "Average"), metric, value, ci_low, ci_high."""
    names = {grid: art for art, grid in pub.models.items()}
    sets = dict(pub.sets)
    s = site.copy()
    s["model"] = s["model"].map(names)
    s["set"] = s["set"].map(lambda x: sets.get(x, x))
    s = s.dropna(subset=["model"])
    s["site_se"] = (s["ci_high"] - s["ci_low"]) / (2 * Z)
    avg = s["set"] == "Average"
    for idx in s.index[avg]:  # the site's Average CI: a mean of independent sets
        r = s.loc[idx]
        parts = s[(s["model"] == r["model"]) & (s["metric"] == r["metric"]) & ~avg & s["set"].isin(sets.values())]
        if len(parts) == len(sets):  # no CI is stored for an Average: the normal approximation's
            se = float(np.sqrt((parts["site_se"] ** 2).sum(min_count=len(parts))) / len(parts))
            s.loc[idx, ["site_se", "ci_low", "ci_high"]] = [se, r["value"] - Z * se, r["value"] + Z * se]
    m = s.merge(article, on=["model", "set", "metric"], suffixes=("", "_article"))
    m = m.rename(columns={"value": "site", "value_article": "article", "se": "article_se"})
    m["difference"] = m["site"] - m["article"]
    se_article = m["article_se"].fillna(0.0)
    se = np.sqrt(m["site_se"] ** 2 + se_article ** 2)
    m["diff_ci_low"], m["diff_ci_high"] = m["difference"] - Z * se, m["difference"] + Z * se
    inside = (m["article"] >= m["ci_low"]) & (m["article"] <= m["ci_high"])
    m["article_in_site_ci"] = inside.astype(object).where(m["ci_low"].notna() & m["ci_high"].notna(), None)
    cols = ["model", "set", "metric", "site", "ci_low", "ci_high", "article", "article_se", "difference",
            "diff_ci_low", "diff_ci_high", "article_in_site_ci", "note"]
    return m[cols]
