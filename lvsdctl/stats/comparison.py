"""Model comparison on a table of metrics: the study's repeated-measures ANOVA, Friedman test and
post-hoc Wilcoxon signed-rank tests with Holm's step-down correction.

Design (the study's): each model is measured on the same blocks, one block per (validation set, metric)
cell, e.g. 3 validation sets x 8 metrics = 24 blocks. The model is the within-subject factor and the
block plays the subject. The "Average" rows of Table 2 are means of the validation-set rows, not
independent measurements, so they are left out unless asked for; with the study's Table 2 this
reproduces its F = 16.67 exactly (see docs/stats.md).

statsmodels and scipy do the arithmetic (AnovaRM, friedmanchisquare, wilcoxon, shapiro, multipletests
"holm"); Mauchly's sphericity test and the Greenhouse-Geisser epsilon, which statsmodels lacks, are
computed from the block x model matrix here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError

#: Spellings accepted for the metric names of Table 2.
METRIC_ALIASES = {
    "acc": "accuracy", "accuracy": "accuracy", "sens": "sensitivity", "sensitivity": "sensitivity",
    "recall": "sensitivity", "spec": "specificity", "specificity": "specificity", "ppv": "ppv",
    "precision": "ppv", "npv": "npv", "f1": "f1", "f1 score": "f1", "f1-score": "f1", "f1_score": "f1",
    "auroc": "auroc", "auc": "auroc", "roc auc": "auroc", "auprc": "auprc", "average precision": "auprc",
    "ap": "auprc",
}
AVERAGE_NAMES = {"average", "avg", "mean"}
_COLUMN_ALIASES = {"set": "validation_set", "dataset": "validation_set", "validation set": "validation_set"}


def normalise_table(df: pd.DataFrame, *, source: str = "table") -> pd.DataFrame:
    """Lower-case column names, map aliases, check the four required columns and numeric values."""
    df = df.rename(columns=lambda c: _COLUMN_ALIASES.get(str(c).strip().lower(), str(c).strip().lower()))
    missing = {"model", "validation_set", "metric", "value"} - set(df.columns)
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(sorted(missing))}; "
                         "expected model, validation_set, metric, value")
    out = df[["model", "validation_set", "metric", "value"]].copy()
    for c in ("model", "validation_set", "metric"):
        out[c] = out[c].astype(str).str.strip()
    out["metric"] = out["metric"].str.lower().map(lambda m: METRIC_ALIASES.get(m, m))
    numeric = pd.to_numeric(out["value"], errors="coerce")
    text = numeric.isna() & out["value"].notna()
    if text.any():
        bad = out[text].iloc[0]
        raise InputError(f"{source}: the value for model '{bad.model}', set '{bad.validation_set}', metric "
                         f"'{bad.metric}' is not a number ({str(bad.value)[:20]!r})")
    out["value"] = numeric  # NaN (an undefined metric) is refused later, only if that cell is used
    return out


def read_metric_csv(path: str | Path) -> pd.DataFrame:
    """A CSV with columns model, validation_set (or set), metric, value."""
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read as CSV ({type(exc).__name__})") from None
    return normalise_table(df, source=str(path))


def study_table2() -> pd.DataFrame:
    """The study's Table 2 (6 models x 3 validation sets + Average x 8 metrics), shipped as package data."""
    from importlib.resources import files

    with files("lvsdctl.stats").joinpath("data/study_table2.csv").open("r", encoding="utf-8") as fh:
        return normalise_table(pd.read_csv(fh), source="study_table2.csv")


def block_matrix(table: pd.DataFrame, *, keep_average: bool = False, models=None, sets=None,
                 metrics=None) -> pd.DataFrame:
    """(blocks x models) matrix, one row per (validation set, metric); refuses unbalanced input."""
    t = table
    if not keep_average:
        t = t[~t["validation_set"].str.lower().isin(AVERAGE_NAMES)]
    for col, keep in (("model", models), ("validation_set", sets), ("metric", metrics)):
        if keep:
            unknown = set(keep) - set(t[col])
            if unknown:
                raise InputError(f"unknown {col.replace('_', ' ')}(s): {', '.join(sorted(unknown))}")
            t = t[t[col].isin(keep)]
    if t.empty:
        raise InputError("no rows left to compare (only 'Average' rows? pass keep_average)")
    if t["value"].isna().any():
        bad = t[t["value"].isna()].iloc[0]
        raise InputError(f"the value for model '{bad.model}', set '{bad.validation_set}', metric '{bad.metric}' "
                         "is undefined (NaN); drop that metric or set (--metrics/--set)")
    dup = t.duplicated(["model", "validation_set", "metric"])
    if dup.any():
        d = t[dup].iloc[0]
        raise InputError(f"duplicate value for model '{d.model}', set '{d.validation_set}', metric '{d.metric}'")
    all_models = sorted(t["model"].unique(), key=list(t["model"]).index)
    for metric, g in t.groupby("metric", sort=False):
        lacking = [m for m in all_models if m not in set(g["model"])]
        if lacking:
            raise InputError(f"metric '{metric}' is missing for model(s) {', '.join(lacking)}; "
                             "every model needs every metric (or drop the metric)")
    wide = t.pivot(index=["validation_set", "metric"], columns="model", values="value")
    wide = wide[all_models]
    holes = wide.isna()
    if holes.values.any():
        model = holes.sum().idxmax()
        cell = holes.index[holes[model]][0]
        raise InputError(f"unbalanced blocks for repeated-measures ANOVA: model '{model}' lacks "
                         f"{int(holes[model].sum())} of {len(wide)} (validation set, metric) cells, "
                         f"e.g. {cell}; every model needs the same cells")
    order = list(dict.fromkeys(t["validation_set"]))
    metric_order = list(dict.fromkeys(t["metric"]))
    wide = wide.reset_index()
    wide["_s"] = wide["validation_set"].map(order.index)
    wide["_m"] = wide["metric"].map(metric_order.index)
    return wide.sort_values(["_s", "_m"]).drop(columns=["_s", "_m"]).set_index(["validation_set", "metric"])


def mauchly(x: np.ndarray) -> dict:
    """Mauchly's sphericity test and Greenhouse-Geisser epsilon for an (n blocks x k models) matrix.

    Uses k-1 orthonormal contrasts; W = det(S) / (tr(S)/p)^p with the chi-square approximation of
    Mauchly (1940). Only computable when n - 1 >= k - 1 >= 2 (otherwise S is singular or trivial)."""
    n, k = x.shape
    p = k - 1
    if p < 2 or n - 1 < p:
        return {"computable": False, "reason": f"needs at least {k} blocks and 3 models (n={n}, k={k})"}
    # Helmert-type orthonormal contrasts (columns orthogonal to the constant vector)
    c = np.linalg.qr(np.c_[np.ones(k), np.eye(k)[:, :p]])[0][:, 1:]
    s = np.cov(x @ c, rowvar=False)
    trace = np.trace(s)
    w = float(np.linalg.det(s) / (trace / p) ** p)
    d = 1 - (2 * p * p + p + 2) / (6 * p * (n - 1))
    chi2 = float(-(n - 1) * d * np.log(w)) if w > 0 else float("inf")
    df = p * (p + 1) // 2 - 1
    from scipy.stats import chi2 as chi2_dist

    eps = float(trace**2 / (p * np.trace(s @ s)))
    return {"computable": True, "W": w, "chi2": chi2, "df": int(df), "p": float(chi2_dist.sf(chi2, df)),
            "gg_epsilon": eps}


@dataclass
class CompareResult:
    models: list[str]
    n_blocks: int
    sets: list[str]
    metrics: list[str]
    rm_anova: dict
    friedman: dict
    sphericity: dict
    pairwise: pd.DataFrame
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "models": self.models, "n_blocks": self.n_blocks, "validation_sets": self.sets,
            "metrics": self.metrics, "alpha": self.alpha, "rm_anova": self.rm_anova, "friedman": self.friedman,
            "sphericity": self.sphericity, "pairwise": self.pairwise.to_dict(orient="records"),
            "notes": self.notes,
        }

    def p_matrix(self) -> pd.DataFrame:
        """Symmetric models x models matrix of Holm-adjusted Wilcoxon p-values (NaN on the diagonal)."""
        mat = pd.DataFrame(np.nan, index=self.models, columns=self.models)
        for r in self.pairwise.itertuples():
            mat.loc[r.model_a, r.model_b] = mat.loc[r.model_b, r.model_a] = r.p_holm
        return mat


def compare_models(table: pd.DataFrame, *, keep_average: bool = False, models=None, sets=None, metrics=None,
                   alpha: float = 0.05) -> CompareResult:
    """Repeated-measures ANOVA + Friedman across models, pairwise Wilcoxon + Holm (the study's analysis)."""
    from scipy import stats
    from statsmodels.stats.anova import AnovaRM
    from statsmodels.stats.multitest import multipletests

    table = normalise_table(table)
    wide = block_matrix(table, keep_average=keep_average, models=models, sets=sets, metrics=metrics)
    names = list(wide.columns)
    if len(names) < 3:
        raise InputError(f"the Friedman test needs at least 3 models; got {len(names)} "
                         f"({', '.join(names)}). Compare two models per ECG with DeLong/McNemar instead "
                         "(lvsdctl stats compare --per-ecg on prediction files)")
    x = wide.to_numpy(dtype=np.float64)
    n, k = x.shape
    if n < 2:
        raise InputError("need at least 2 (validation set, metric) blocks to compare models")

    long = wide.reset_index().melt(id_vars=["validation_set", "metric"], var_name="model", value_name="value")
    long["block"] = long["validation_set"] + " | " + long["metric"]
    aov = AnovaRM(long, depvar="value", subject="block", within=["model"]).fit().anova_table.iloc[0]
    sph = mauchly(x)
    rm = {"F": float(aov["F Value"]), "df_num": float(aov["Num DF"]), "df_den": float(aov["Den DF"]),
          "p": float(aov["Pr > F"])}
    if sph.get("computable"):
        eps = sph["gg_epsilon"]
        rm["p_greenhouse_geisser"] = float(stats.f.sf(rm["F"], rm["df_num"] * eps, rm["df_den"] * eps))
    fr = stats.friedmanchisquare(*x.T)
    friedman = {"statistic": float(fr.statistic), "df": k - 1, "p": float(fr.pvalue)}

    rows = []
    for i, j in itertools.combinations(range(k), 2):
        d = x[:, i] - x[:, j]
        if np.allclose(d, 0):
            stat, p = 0.0, 1.0  # identical columns: scipy would divide by zero
        else:
            w = stats.wilcoxon(x[:, i], x[:, j])
            stat, p = float(w.statistic), float(w.pvalue)
        sh = stats.shapiro(d).pvalue if n >= 3 and np.ptp(d) > 0 else np.nan
        rows.append({"model_a": names[i], "model_b": names[j], "n_blocks": n,
                     "median_difference": float(np.median(d)), "statistic": stat, "p": p,
                     "shapiro_p_differences": float(sh)})
    pair = pd.DataFrame(rows)
    reject, p_holm, _, _ = multipletests(pair["p"], alpha=alpha, method="holm")
    pair["p_holm"] = p_holm
    pair["significant"] = reject

    notes = []
    non_normal = int((pair["shapiro_p_differences"] < alpha).sum())
    if non_normal:
        notes.append(f"{non_normal} of {len(pair)} pairwise differences fail Shapiro-Wilk at {alpha}: "
                     "rely on Friedman/Wilcoxon rather than the ANOVA")
    if sph.get("computable") and sph["p"] < alpha:
        notes.append("Mauchly's test rejects sphericity: read the Greenhouse-Geisser corrected ANOVA p-value")
    notes.append("blocks (metrics of the same predictions) are not independent; p-values are descriptive")
    return CompareResult(names, n, list(dict.fromkeys(wide.index.get_level_values(0))),
                         list(dict.fromkeys(wide.index.get_level_values(1))), rm, friedman, sph, pair, alpha,
                         notes)
