"""Table 2 layout: one block of rows per model (validation sets + "Average"), the eight metrics as
columns (written by `lvsdctl.tables.write_frame`, shown by the CLI).

"Average" is the plain mean over the validation sets (the study's definition), not a pooled metric:
a small set weighs as much as a large one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lvsdctl.evaluate.metrics import METRIC_LABELS, METRICS

AVERAGE = "Average"


def with_average(metrics: pd.DataFrame, validation_sets: list[str] | None = None) -> pd.DataFrame:
    """Add the "Average" rows (plain mean of each metric over the validation sets) to a long table.

    ``metrics``: columns model (optional), set, metric, value [, ci_low, ci_high]. CIs of the average
    are not defined by the study and are left empty; a metric undefined (NaN) on one set is NaN on
    average."""
    df = metrics[metrics["set"] != AVERAGE].copy()
    if "model" not in df.columns:
        df["model"] = ""
    use = df if validation_sets is None else df[df["set"].isin(validation_sets)]
    # undefined on one set -> undefined on average (skipping it would average a different set of sets)
    avg = use.groupby(["model", "metric"], sort=False, as_index=False)["value"].agg(lambda v: v.mean(skipna=False))
    avg["set"] = AVERAGE
    return pd.concat([df, avg], ignore_index=True)


def table2(metrics: pd.DataFrame, *, with_ci: bool = True, digits: int = 3) -> pd.DataFrame:
    """Wide Table-2 frame: rows (model, set), columns the metric labels, cells "0.758 (0.70-0.81)"."""
    df = metrics.copy()
    if "model" not in df.columns:
        df["model"] = ""

    def cell(r) -> str:
        if not np.isfinite(r["value"]):
            return "n/a"
        text = f"{r['value']:.{digits}f}"
        lo, hi = r.get("ci_low", np.nan), r.get("ci_high", np.nan)
        if with_ci and pd.notna(lo) and pd.notna(hi) and np.isfinite(lo) and np.isfinite(hi):
            text += f" ({lo:.{digits - 1}f}-{hi:.{digits - 1}f})"
        return text

    df["cell"] = df.apply(cell, axis=1)
    models = list(dict.fromkeys(df["model"]))
    sets = list(dict.fromkeys(df["set"]))
    if AVERAGE in sets:  # the average always closes a model's block
        sets = [s for s in sets if s != AVERAGE] + [AVERAGE]
    wide = df.pivot_table(index=["model", "set"], columns="metric", values="cell", aggfunc="first")
    order = [(m, s) for m in models for s in sets if (m, s) in wide.index]
    wide = wide.loc[order, [m for m in METRICS if m in wide.columns]]
    wide.columns = [METRIC_LABELS[m] for m in wide.columns]
    wide.index.names = ["Model", "Set"]
    return wide.reset_index()


def drop_blank_model(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the Model column of a one-model table (its cells are all empty)."""
    if "Model" in frame.columns and (frame["Model"].astype(str) == "").all():
        return frame.drop(columns="Model")
    return frame


def transposed(metrics: pd.DataFrame, *, digits: int = 3) -> pd.DataFrame:
    """One model's metrics with metrics as rows and sets as columns (fits an 80-column terminal)."""
    wide = table2(metrics, digits=digits)
    wide = drop_blank_model(wide).set_index("Set").T
    wide.index.name = "Metric"
    return wide.reset_index()
