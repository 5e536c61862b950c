"""Per-ECG comparisons of models scored on the same ECGs (from predictions/evaluation files).

Per validation set and pair of models:
- AUROC: DeLong's test (ECGs as independent) and the patient-clustered bootstrap difference beside it;
- sensitivity: McNemar's test on the LVSD ECGs (correct/incorrect under each model's frozen threshold);
- specificity: McNemar's test on the ECGs without LVSD.
Holm's correction is applied within each (set, test) family across the model pairs.
McNemar uses the exact binomial test when fewer than 25 discordant pairs, the chi-square with
continuity correction otherwise (statsmodels ``mcnemar``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError


def align_predictions(preds: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One frame with record_id, patient, split, label and a score/pred column per model; refuses files
    that do not hold the same labelled ECGs."""
    if len(preds) < 2:
        raise InputError("per-ECG comparison needs at least two prediction files")
    base_name, base = next(iter(preds.items()))
    cols = ["record_id", "patient", "split", "label"]
    out = base[cols].copy().reset_index(drop=True)
    key = set(out["record_id"])
    for name, df in preds.items():
        if set(df["record_id"]) != key or len(df) != len(out):
            raise InputError(f"'{name}' and '{base_name}' were not scored on the same ECGs; "
                             "per-ECG tests need identical records")
        d = df.set_index("record_id").loc[out["record_id"]]
        if not np.array_equal(d["label"].to_numpy(), out["label"].to_numpy()):
            raise InputError(f"'{name}' and '{base_name}' disagree on the labels of the same ECGs")
        out[f"score:{name}"] = d["score"].to_numpy(dtype=np.float64)
        out[f"pred:{name}"] = d["pred"].to_numpy().astype(np.int8)
    return out[out["label"].isin([0, 1])]


def _mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[float, float]:
    from statsmodels.stats.contingency_tables import mcnemar

    table = np.array([[np.sum(correct_a & correct_b), np.sum(correct_a & ~correct_b)],
                      [np.sum(~correct_a & correct_b), np.sum(~correct_a & ~correct_b)]])
    discordant = table[0, 1] + table[1, 0]
    if discordant == 0:
        return 0.0, 1.0
    res = mcnemar(table, exact=discordant < 25, correction=True)
    return float(res.statistic), float(res.pvalue)


def compare_predictions(preds: dict[str, pd.DataFrame], *, sets: list[str] | None = None, n_boot: int = 1000,
                        seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:
    """Long frame: set, test, model_a, model_b, value_a, value_b, statistic, p, p_holm, significant."""
    from statsmodels.stats.multitest import multipletests

    from lvsdctl.evaluate.bootstrap import paired_auroc_difference
    from lvsdctl.evaluate.delong import delong_test

    data = align_predictions(preds)
    names = list(preds)
    use_sets = sets or [s for s in dict.fromkeys(data["split"]) if s not in ("train", "tune")]
    rows = []
    for s in use_sets:
        d = data[data["split"] == s]
        y = d["label"].to_numpy().astype(int)
        if np.unique(y).size < 2:
            continue  # AUROC and one of sensitivity/specificity undefined
        pos = y == 1
        for a, b in itertools.combinations(names, 2):
            sa, sb = d[f"score:{a}"].to_numpy(), d[f"score:{b}"].to_numpy()
            pa, pb = d[f"pred:{a}"].to_numpy(), d[f"pred:{b}"].to_numpy()
            dl = delong_test(y, sa, sb)
            rows.append({"set": s, "test": "AUROC DeLong", "model_a": a, "model_b": b, "value_a": dl.auc_a,
                         "value_b": dl.auc_b, "statistic": dl.z, "p": dl.p_value})
            bs = paired_auroc_difference(y, sa, sb, d["patient"].to_numpy(), n_boot=n_boot, seed=seed)
            rows.append({"set": s, "test": "AUROC patient bootstrap", "model_a": a, "model_b": b,
                         "value_a": bs.auc_a, "value_b": bs.auc_b, "statistic": bs.diff, "p": bs.p_value,
                         "ci_low": bs.ci_low, "ci_high": bs.ci_high})
            for test, sel in (("sensitivity McNemar", pos), ("specificity McNemar", ~pos)):
                ca, cb = pa[sel] == y[sel], pb[sel] == y[sel]
                stat, p = _mcnemar(ca, cb)
                rows.append({"set": s, "test": test, "model_a": a, "model_b": b, "value_a": float(ca.mean()),
                             "value_b": float(cb.mean()), "statistic": stat, "p": p})
    if not rows:
        raise InputError("no validation set with both classes to compare on")
    out = pd.DataFrame(rows)
    out["p_holm"] = np.nan
    for _, idx in out.groupby(["set", "test"]).groups.items():
        out.loc[idx, "p_holm"] = multipletests(out.loc[idx, "p"], method="holm")[1]
    out["significant"] = out["p_holm"] < alpha
    return out
