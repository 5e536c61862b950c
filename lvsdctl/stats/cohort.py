"""Table 1 of the study: the cohort per set, with p-values across sets.

Per set: patients, ECG-echo pairs, age mean/SD, females n (%), LVEF mean/SD, LVSD n (%).
P-values across sets, as the study describes them:
- continuous (age, LVEF): Levene's test for equal variances chooses between one-way ANOVA (equal) and
  Welch's ANOVA (unequal), both by statsmodels' ``anova_oneway``; Shapiro-Wilk normality per set is
  reported beside them (ANOVA's assumption; with hundreds of ECGs per set it is informative only);
- categorical (sex, LVSD): chi-square on the set x category table (scipy ``chi2_contingency``).

Like the study, the unit is the ECG-echo pair (Table 1 counts 738 females among 1,500 pairs), so a
patient with several pairs counts several times; ``unit="patient"`` uses each patient's first pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError

#: Order of the standard split names; other names follow in order of appearance.
SET_ORDER = ("train", "tune", "train+tune", "internal", "external1", "external2", "external3")
SET_LABELS = {"train": "Training", "tune": "Tuning", "train+tune": "Training & tuning",
              "internal": "Internal validation", "external1": "External validation 1",
              "external2": "External validation 2", "external3": "External validation 3"}

SHORT_NAMES = {"Number of patients": "Patients", "Number of ECG-echo pairs": "ECG-echo pairs",
               "Age, mean ± SD (years)": "Age (y)", "Females, n (%)": "Female, n (%)", "LVEF, mean ± SD (%)": "LVEF (%)",
               "LVSD, n (%)": "LVSD, n (%)", "QRS duration (measured), mean ± SD (ms)": "QRS (ms)",
               "LBBB, conventional criteria, n (%)": "LBBB conv., n (%)",
               "LBBB, Strauss strict criteria, n (%)": "LBBB Strauss, n (%)"}
SHORT_TESTS = {"one-way ANOVA": "ANOVA", "Welch's ANOVA": "Welch", "chi-square": "chi2"}


@dataclass
class CohortTable:
    sets: list[str]
    rows: list[dict]  # one per characteristic: {"characteristic", "values": {set: str}, "p", "test", ...}
    tests: list[dict] = field(default_factory=list)  # details: Levene, Shapiro per set, statistic
    unit: str = "ecg"

    def to_frame(self, short: bool = False) -> pd.DataFrame:
        """Table 1 as a frame; ``short`` uses split names and terse labels to fit an 80-column terminal."""
        data = [{"Characteristic": SHORT_NAMES.get(r["characteristic"], r["characteristic"]) if short
                 else r["characteristic"],
                 **{(s if short else SET_LABELS.get(s, s)): r["values"][s] for s in self.sets},
                 "P-value": _fmt_p(r["p"]), "Test": SHORT_TESTS.get(r["test"], r["test"]) if short else r["test"]}
                for r in self.rows]
        frame = pd.DataFrame(data)
        if not short:  # the assumptions behind the choice of test
            frame["Levene p"] = [_fmt_p(r.get("levene_p")) for r in self.rows]
            frame["Shapiro-Wilk p per set"] = [" / ".join(_fmt_p(v) if v is not None else "n/a" for v in r["shapiro_p"])
                                               if r.get("shapiro_p") else "" for r in self.rows]
        return frame

    def to_dict(self) -> dict:
        return {"unit": self.unit, "sets": self.sets, "rows": self.rows, "tests": self.tests}


def _fmt_p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _order_sets(names) -> list[str]:
    names = list(dict.fromkeys(names))
    known = [s for s in SET_ORDER if s in names]
    return known + [s for s in names if s not in known]


def continuous_test(groups: list[np.ndarray], *, alpha: float = 0.05, levene_center: str = "median") -> dict:
    """Levene -> one-way ANOVA (equal variances) or Welch's ANOVA (unequal); Shapiro-Wilk per group."""
    from scipy import stats
    from statsmodels.stats.oneway import anova_oneway

    groups = [g[np.isfinite(g)] for g in groups]
    usable = [g for g in groups if g.size >= 2]
    if len(usable) < 2:
        return {"test": "not computable (fewer than 2 sets with 2+ values)", "p": None}
    lev = stats.levene(*usable, center=levene_center)
    equal = bool(lev.pvalue >= alpha)
    res = anova_oneway(usable, use_var="equal" if equal else "unequal")
    shapiro = [float(stats.shapiro(g).pvalue) if 3 <= g.size <= 5000 and np.ptp(g) > 0 else None for g in groups]
    return {"test": "one-way ANOVA" if equal else "Welch's ANOVA", "statistic": float(res.statistic),
            "df": [float(d) for d in np.atleast_1d(res.df)], "p": float(res.pvalue),
            "levene_statistic": float(lev.statistic), "levene_p": float(lev.pvalue), "levene_center": levene_center,
            "shapiro_p": shapiro}


def categorical_test(table: np.ndarray) -> dict:
    """Chi-square test of independence on a sets x categories count table (Yates only for 2x2, scipy's default)."""
    from scipy.stats import chi2_contingency

    table = np.asarray(table)
    table = table[:, table.sum(axis=0) > 0]
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return {"test": "not computable (one category or one set)", "p": None}
    res = chi2_contingency(table)
    return {"test": "chi-square", "statistic": float(res.statistic), "df": int(res.dof), "p": float(res.pvalue),
            "min_expected": float(res.expected_freq.min())}


def cohort_table(records: pd.DataFrame, *, combine_train_tune: bool = True, unit: str = "ecg",
                 alpha: float = 0.05, levene_center: str = "median", source: str = "records") -> CohortTable:
    """Table 1 from a records DataFrame after `split` (columns split, patient, age, sex, lvef, label)."""
    need = {"split", "patient", "age", "sex", "lvef", "label"}
    missing = need - set(records.columns)
    if missing:
        raise InputError(f"{source}: records lack column(s) {', '.join(sorted(missing))}")
    df = records[records["split"].astype(str) != ""].copy()
    if df.empty:
        raise InputError(f"{source}: no record has a split; run `lvsdctl split` first")
    if combine_train_tune:
        df.loc[df["split"].isin(["train", "tune"]), "split"] = "train+tune"
    if unit == "patient":
        df = df.drop_duplicates(["split", "patient"], keep="first")
    elif unit != "ecg":
        raise InputError(f"unit must be 'ecg' or 'patient', got {unit!r}")
    sets = _order_sets(df["split"])
    if len(sets) < 2:
        raise InputError(f"{source}: only one set ({sets[0]}); Table 1 compares at least two")
    by = {s: df[df["split"] == s] for s in sets}
    rows, tests = [], []

    def count_row(name, fn):
        rows.append({"characteristic": name, "values": {s: f"{fn(by[s]):,}" for s in sets}, "p": None, "test": ""})

    count_row("Number of patients", lambda d: d["patient"].nunique())
    count_row("Number of ECG-echo pairs", len)

    def cont_row(name, col):
        vals = {s: by[s][col].to_numpy(dtype=np.float64) for s in sets}
        res = continuous_test(list(vals.values()), alpha=alpha, levene_center=levene_center)
        shown = {s: (f"{np.nanmean(v):.1f} ± {np.nanstd(v, ddof=1):.1f}" if np.isfinite(v).sum() >= 2 else "n/a")
                 for s, v in vals.items()}
        rows.append({"characteristic": name, "values": shown, "p": res["p"], "test": res["test"],
                     "levene_p": res.get("levene_p"), "shapiro_p": res.get("shapiro_p")})
        tests.append({"characteristic": name, **res})

    def cat_row(name, mask_fn, categories_fn):
        known = {s: categories_fn(by[s]) for s in sets}  # rows with the variable known
        table = np.array([[int(mask_fn(k).sum()), int((~mask_fn(k)).sum())] for k in known.values()])
        res = categorical_test(table)
        shown = {s: (f"{t[0]:,} ({100 * t[0] / t.sum():.1f})" if t.sum() else "n/a") for s, t in zip(sets, table)}
        rows.append({"characteristic": name, "values": shown, "p": res["p"], "test": res["test"]})
        tests.append({"characteristic": name, "counts": table.tolist(), **res})

    cont_row("Age, mean ± SD (years)", "age")
    cat_row("Females, n (%)", lambda d: (d["sex"] == "F").to_numpy(), lambda d: d[d["sex"].isin(["F", "M"])])
    cont_row("LVEF, mean ± SD (%)", "lvef")
    cat_row("LVSD, n (%)", lambda d: (d["label"] == 1).to_numpy(), lambda d: d[d["label"].isin([0, 1])])
    # With `split --measures`, the measured QRS and the LBBB criteria (the article's limitation).
    if "measured_qrs_ms" in df.columns:
        cont_row("QRS duration (measured), mean ± SD (ms)", "measured_qrs_ms")
    for column, label in (("lbbb_conventional", "LBBB, conventional criteria, n (%)"),
                          ("lbbb_strauss", "LBBB, Strauss strict criteria, n (%)")):
        if column in df.columns:
            cat_row(label, lambda d, c=column: (pd.to_numeric(d[c]) == 1).to_numpy(),
                    lambda d, c=column: d[pd.to_numeric(d[c]) >= 0])
    return CohortTable(sets, rows, tests, unit)
