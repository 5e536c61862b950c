"""Table 1 of the study: the cohort per set, with p-values across sets. Computed here only: `split`
prints and writes `table1(...)`, `stats cohort` formats the same numbers and adds the tests.

Per set: patients, ECG-echo pairs, age mean/SD, females n (%), LVEF mean/SD, LVSD n (%). Percentages
are of the pairs whose value is known (sex F or M; label 0 or 1): with everything known, as in the
study, that is every pair (females 738 of 1,500).

P-values across sets, as the study describes them:
- continuous (age, LVEF): Levene's test for equal variances chooses between one-way ANOVA (equal) and
  Welch's ANOVA (unequal), both by statsmodels' ``anova_oneway``; Shapiro-Wilk normality per set is
  reported beside them (ANOVA's assumption; with hundreds of ECGs per set it is informative only);
- categorical (sex, LVSD): chi-square on the set x category table (scipy ``chi2_contingency``).

Like the study, the unit is the ECG-echo pair (Table 1 counts 738 females among 1,500 pairs), so a
patient with several pairs counts several times; ``unit="patient"`` uses each patient's first pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lvsdctl.data.api import DIVIDED, order_sets
from lvsdctl.errors import InputError
from lvsdctl.stats.output import fmt_p
from lvsdctl.summary import Summary

SET_LABELS = {"train": "Training", "tune": "Tuning", "train+tune": "Training & tuning",
              "internal": "Internal validation", "external1": "External validation 1",
              "external2": "External validation 2", "external3": "External validation 3"}

SHORT_NAMES = {"Number of patients": "Patients", "Number of ECG-echo pairs": "ECG-echo pairs",
               "Age, mean ± SD (years)": "Age (y)", "Females, n (%)": "Female, n (%)", "LVEF, mean ± SD (%)": "LVEF (%)",
               "LVSD, n (%)": "LVSD, n (%)", "QRS duration (measured), mean ± SD (ms)": "QRS (ms)",
               "LBBB, conventional criteria, n (%)": "LBBB conv., n (%)",
               "LBBB, Strauss strict criteria, n (%)": "LBBB Strauss, n (%)"}
#: Rows whose n counts pairs (or patients with unit="patient"): their label says which.
COUNTED_ROWS = ("Females, n (%)", "LVSD, n (%)", "LBBB, conventional criteria, n (%)",
                "LBBB, Strauss strict criteria, n (%)")
SHORT_TESTS = {"one-way ANOVA": "ANOVA", "Welch's ANOVA": "Welch", "chi-square": "chi2"}


@dataclass
class CohortTable(Summary):
    """What `lvsdctl.stats.cohort` returns: Table 1 as text cells per set, with its tests."""

    sets: list[str]
    rows: list[dict]  # one per characteristic: {"characteristic", "values": {set: str}, "p", "test", ...}
    tests: list[dict] = field(default_factory=list)  # details: Levene, Shapiro per set, statistic
    unit: str = "ecg"
    synthetic: bool = False  # made from synthetic data

    @property
    def caption(self) -> str:
        """What the counts count: the study counts every ECG-echo pair, so a patient with several pairs
        counts several times in the females and LVSD rows (but once in 'Number of patients')."""
        if self.unit == "patient":
            return ("Table 1: the cohort per set, one row per patient (each patient's first ECG-echo pair); "
                    "females and LVSD are counts of patients.")
        return ("Table 1: the cohort per set. Patients are counted once; ages, females, LVEF and LVSD per "
                "ECG-echo pair, as in the study: a patient with several pairs counts once per pair.")

    def _label(self, characteristic: str, short: bool) -> str:
        label = SHORT_NAMES.get(characteristic, characteristic) if short else characteristic
        if characteristic in COUNTED_ROWS:  # what n counts, beside a count of patients
            label += " of patients" if self.unit == "patient" else " of pairs"
        return label

    def to_frame(self, short: bool = False) -> pd.DataFrame:
        """Table 1 as a frame; ``short`` uses split names and terse labels to fit an 80-column terminal."""
        data = [{"Characteristic": self._label(r["characteristic"], short),
                 **{(s if short else SET_LABELS.get(s, s)): r["values"][s] for s in self.sets},
                 "P-value": fmt_p(r["p"], missing=""), "Test": SHORT_TESTS.get(r["test"], r["test"]) if short else r["test"]}
                for r in self.rows]
        frame = pd.DataFrame(data)
        if not short:  # the assumptions behind the choice of test
            frame["Levene p"] = [fmt_p(r.get("levene_p"), missing="") for r in self.rows]
            frame["Shapiro-Wilk p per set"] = [" / ".join(fmt_p(v) for v in r["shapiro_p"])
                                               if r.get("shapiro_p") else "" for r in self.rows]
        return frame

    def to_dict(self) -> dict:
        return {"unit": self.unit, "caption": self.caption, "synthetic": self.synthetic, "sets": self.sets,
                "rows": self.rows, "tests": self.tests}


def females(d: pd.DataFrame) -> tuple[int, int]:
    """(females, pairs whose sex is known) of a records frame."""
    sex = d["sex"].astype(str) if "sex" in d else pd.Series(dtype=str)
    return int((sex == "F").sum()), int(sex.isin(["F", "M"]).sum())


def lvsd(d: pd.DataFrame) -> tuple[int, int]:
    """(pairs labelled LVSD, labelled pairs) of a records frame."""
    label = d["label"] if "label" in d else pd.Series(dtype=int)
    return int((label == 1).sum()), int(label.isin([0, 1]).sum())


#: LBBB criteria that `split --measures` adds, as Table 1 rows.
CRITERIA_ROWS = (("lbbb_conventional", "LBBB, conventional criteria, n (%)"),
                 ("lbbb_strauss", "LBBB, Strauss strict criteria, n (%)"))


def criterion(column: str):
    """(pairs meeting an LBBB criterion, pairs where it was assessed) of a records frame: the
    measures' 1 / 0 / -1 (not assessed)."""
    def counts(d: pd.DataFrame) -> tuple[int, int]:
        v = pd.to_numeric(d[column], errors="coerce")
        return int((v == 1).sum()), int((v >= 0).sum())
    return counts


def _mean_sd(x: pd.Series | None) -> tuple[float, float]:
    x = pd.to_numeric(x, errors="coerce").dropna() if x is not None else pd.Series(dtype=float)
    if len(x) == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else math.nan


def table1(records: pd.DataFrame, split: np.ndarray | None = None) -> pd.DataFrame:
    """Table 1's numbers, one row per set (plus "train+tune" when both train and tune are present).

    Columns: set, patients, pairs, age_mean, age_sd, females_n, females_pct, lvef_mean, lvef_sd,
    lvsd_n, lvsd_pct (and, for records from `split --measures`, measured_qrs_ms_mean/_sd and
    lbbb_conventional/lbbb_strauss _n/_pct). Counts are per ECG-echo pair, as in the article; `split`
    overrides the records' `split` column.
    """
    split = records["split"].to_numpy(dtype=object) if split is None else np.asarray(split, dtype=object)
    names = order_sets(s for s in pd.unique(split) if s)
    groups = [(s, split == s) for s in names]
    if "train" in names and "tune" in names and DIVIDED not in names:
        groups.insert(0, (DIVIDED, np.isin(split, ["train", "tune"])))
    rows = []
    for name, mask in groups:
        sub = records[mask]
        (f_n, f_known), (l_n, l_known) = females(sub), lvsd(sub)
        age_m, age_sd = _mean_sd(sub.get("age"))
        lvef_m, lvef_sd = _mean_sd(sub.get("lvef"))
        rows.append({
            "set": name, "patients": int(sub["patient"].nunique()), "pairs": len(sub),
            "age_mean": age_m, "age_sd": age_sd,
            "females_n": f_n, "females_pct": 100 * f_n / f_known if f_known else math.nan,
            "lvef_mean": lvef_m, "lvef_sd": lvef_sd,
            "lvsd_n": l_n, "lvsd_pct": 100 * l_n / l_known if l_known else math.nan,
        })
        if "measured_qrs_ms" in records.columns:
            rows[-1]["measured_qrs_ms_mean"], rows[-1]["measured_qrs_ms_sd"] = _mean_sd(sub["measured_qrs_ms"])
        for column, _ in CRITERIA_ROWS:
            if column in records.columns:
                n, known = criterion(column)(sub)
                rows[-1][f"{column}_n"], rows[-1][f"{column}_pct"] = n, 100 * n / known if known else math.nan
    columns = ["set", "patients", "pairs", "age_mean", "age_sd", "females_n", "females_pct",
               "lvef_mean", "lvef_sd", "lvsd_n", "lvsd_pct"]
    return pd.DataFrame(rows, columns=columns + [c for c in (rows[0] if rows else {}) if c not in columns])


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
    sets = order_sets(df["split"])
    if len(sets) < 2:
        raise InputError(f"{source}: only one set ({sets[0]}); Table 1 compares at least two")
    numbers = table1(df).set_index("set").loc[sets]
    by = {s: df[df["split"] == s] for s in sets}
    rows, tests = [], []
    for name, col in (("Number of patients", "patients"), ("Number of ECG-echo pairs", "pairs")):
        rows.append({"characteristic": name, "values": {s: f"{int(numbers.at[s, col]):,}" for s in sets},
                     "p": None, "test": ""})

    def cont_row(name, col):
        res = continuous_test([by[s][col].to_numpy(dtype=np.float64) for s in sets], alpha=alpha,
                              levene_center=levene_center)
        mean, sd = numbers[f"{col}_mean"], numbers[f"{col}_sd"]
        shown = {s: f"{mean[s]:.1f} ± {sd[s]:.1f}" if np.isfinite(sd[s]) else "n/a" for s in sets}
        rows.append({"characteristic": name, "values": shown, "p": res["p"], "test": res["test"],
                     "levene_p": res.get("levene_p"), "shapiro_p": res.get("shapiro_p")})
        tests.append({"characteristic": name, **res})

    def cat_row(name, col, counts):
        known = [counts(by[s]) for s in sets]  # (with the trait, with the variable known) per set
        table = np.array([[n, k - n] for n, k in known])
        res = categorical_test(table)
        n, pct = numbers[f"{col}_n"], numbers[f"{col}_pct"]
        shown = {s: f"{int(n[s]):,} ({pct[s]:.1f})" if np.isfinite(pct[s]) else "n/a" for s in sets}
        rows.append({"characteristic": name, "values": shown, "p": res["p"], "test": res["test"]})
        tests.append({"characteristic": name, "counts": table.tolist(), **res})

    cont_row("Age, mean ± SD (years)", "age")
    cat_row("Females, n (%)", "females", females)
    cont_row("LVEF, mean ± SD (%)", "lvef")
    cat_row("LVSD, n (%)", "lvsd", lvsd)
    # With `split --measures`, the measured QRS and the LBBB criteria (the article's limitation).
    if "measured_qrs_ms_mean" in numbers.columns:
        cont_row("QRS duration (measured), mean ± SD (ms)", "measured_qrs_ms")
    for column, label in CRITERIA_ROWS:
        if f"{column}_n" in numbers.columns:
            cat_row(label, column, criterion(column))
    return CohortTable(sets, rows, tests, unit)
