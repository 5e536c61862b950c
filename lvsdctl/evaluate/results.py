"""Per-ECG results of `predict`: which file got which score and call, at which threshold, with what
warnings. One row per ECG scored, per ECG read but not scored (e.g. too short for the model), and,
when exports were given, per file rejected or duplicated: every input is accounted for.

The same frame is printed (small runs), written by `--table`, listed by `--json`, and its columns
`file` and `warnings` go into the predictions file. No patient identifier beyond the pseudonym; `file`
is the export's path relative to the input it was found under (its name for a file given directly).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.evaluate.scope import ecg_warnings, not_scored

#: Columns of the per-ECG table, in order (`--table`, `--json`'s `results`).
RESULT_COLUMNS = ["file", "record_id", "acquired", "score", "call", "threshold", "warnings", "patient",
                  "source_format", "fs", "source_sha256", "split", "label"]
CALLS = ("LVSD", "no LVSD")


def relative_names(paths: list[str], inputs: list[str]) -> dict[str, str]:
    """Each path relative to the input directory it was found under; a file given directly: its name."""
    dirs = [os.path.abspath(a) for a in inputs if os.path.isdir(a)]
    out = {}
    for p in paths:
        full = os.path.abspath(p)
        under = [d for d in dirs if full.startswith(d.rstrip(os.sep) + os.sep)]
        out[p] = os.path.relpath(full, max(under, key=len)) if under else os.path.basename(p)
    return {k: v.replace(os.sep, "/") for k, v in out.items()}


def not_scored_records(raw_path: str | Path, ecg_path: str | Path, preprocessing: dict) -> pd.DataFrame:
    """Records of an `ecg-raw` file that preprocessing left out of the `ecg` file, with the reason of
    each (the few records concerned are run through the chain again, one by one)."""
    from lvsdctl.hdf5 import open_input, read_records
    from lvsdctl.hdf5.raw import iter_raw_records
    from lvsdctl.signal.chain import ChainConfig, process_batch

    with open_input(ecg_path, kind={"ecg"}) as f:
        kept = set(read_records(f)["record_id"].astype(str))
    cfg = ChainConfig.from_attrs(preprocessing)
    with open_input(raw_path, kind={"ecg-raw"}) as f:
        raw = read_records(f)
        rows = np.flatnonzero(~raw["record_id"].astype(str).isin(kept).to_numpy())
        reasons = []
        for row in rows:
            [(_, segments)] = list(iter_raw_records(f, chunk=1, start=int(row), stop=int(row) + 1))
            res = process_batch([segments], cfg, jobs=1)
            reasons.append(res.rejected.get(0, "not preprocessable for this model"))
    return raw.iloc[rows].assign(reason=reasons).reset_index(drop=True)


def _with_warnings(records: pd.DataFrame) -> list[str]:
    return ["; ".join(w) for w in ecg_warnings(records)]


def results_frame(records: pd.DataFrame, score: np.ndarray, pred: np.ndarray, threshold: float, *,
                  names: dict[str, str] | None = None, skipped: pd.DataFrame | None = None,
                  rejected: list[dict] = (), duplicates: list[dict] = ()) -> pd.DataFrame:
    """The per-ECG table. `records`: the scored ECGs' /records rows; `names`: SHA-256 -> file name of
    each export; `skipped`: records read but not scored (with `reason`); `rejected` ({path, reason}) and
    `duplicates` ({path, duplicate_of}): export files that gave no ECG of their own (paths as shown)."""
    names = names or {}

    def base(rec: pd.DataFrame) -> pd.DataFrame:
        get = lambda c, d="": rec[c] if c in rec.columns else pd.Series([d] * len(rec), index=rec.index)  # noqa: E731
        sha = get("source_sha256").astype(str)
        return pd.DataFrame({
            "file": [names.get(s, "") for s in sha], "record_id": get("record_id").astype(str),
            "acquired": get("acquired").astype(str), "patient": get("patient").astype(str),
            "source_format": get("source_format").astype(str), "fs": pd.to_numeric(get("fs", np.nan)),
            "source_sha256": sha, "split": get("split").astype(str),
            "label": pd.to_numeric(get("label", -1)).astype("int64")}).reset_index(drop=True)

    scored = base(records).assign(score=np.asarray(score, dtype=np.float64),
                                  call=np.where(np.asarray(pred) == 1, CALLS[0], CALLS[1]), threshold=threshold,
                                  warnings=_with_warnings(records.reset_index(drop=True)))
    parts = [scored]
    if skipped is not None and len(skipped):
        rest = _with_warnings(skipped.reset_index(drop=True))
        parts.append(base(skipped).assign(score=np.nan, call="not scored", threshold=threshold, warnings=[
            "; ".join(filter(None, [not_scored(r), w])) for r, w in zip(skipped["reason"], rest)]))
    files = [{"file": r["path"], "call": "unreadable", "warnings": f"rejected: {r['reason']}"} for r in rejected]
    files += [{"file": d["path"], "call": "duplicate", "warnings": f"the same bytes as {d['duplicate_of']} (scored "
               "there)"} for d in duplicates]
    if files:
        parts.append(pd.DataFrame(files).assign(score=np.nan, threshold=threshold, label=-1))
    out = pd.concat(parts, ignore_index=True)
    for c in RESULT_COLUMNS:
        if c not in out.columns:
            out[c] = ""
    out["label"] = pd.to_numeric(out["label"]).fillna(-1).astype("int64")
    text = ["file", "record_id", "acquired", "call", "warnings", "patient", "source_format", "source_sha256", "split"]
    out[text] = out[text].fillna("").astype(str)
    return out[RESULT_COLUMNS]
