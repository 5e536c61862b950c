"""Writing and reading measures: CSV (one row per ECG) or an HDF5 file of kind `measures`.

HDF5 layout (docs/formats.md):
  /records          the per-ECG columns of `table.COLUMNS` (booleans as int8: 1, 0, -1 = not assessed)
  /beats/<column>   one row per beat (`table.BEAT_COLUMNS`), `record` = row in /records
  root attrs        criteria (JSON: what each criterion means), fs_hz (500, the measurement rate)
CSV: the same per-ECG columns (booleans true/false, empty when not assessed); the beats are in the
`beat_times_ms` column (their boundaries only in the HDF5 file and in `--json`).
Both are written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.measure.table import BEAT_COLUMNS, COLUMNS

CRITERIA_DOC = {
    "statement": "the ECG machine's own statement says left bundle branch block (complete)",
    "conventional": "QRS >= 120 ms; QS or rS in V1; broad R in >= 2 of I, aVL, V5, V6; no q in I, V5, V6; "
                    "R-peak time > 60 ms in V5 or V6 (the article's list)",
    "aha2009": "QRS >= 120 ms; broad notched or slurred R in I, aVL, V5, V6 (RS allowed in V5-V6); no q in I, "
               "V5, V6; R-peak time > 60 ms in V5 and V6 (AHA/ACCF/HRS 2009)",
    "strauss": "QRS >= 140 ms (men) or >= 130 ms (women); QS or rS in V1 and V2; mid-QRS notching or slurring in "
               ">= 2 of V1, V2, V5, V6, I, aVL (Strauss 2011)",
}


def _csv_value(v, kind: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if kind == "bool":
        return "true" if v else "false"
    if kind == "float":
        return f"{float(v):.6g}"
    return str(v)


def write_csv(rows: list[dict], path: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(COLUMNS))
    for r in rows:
        w.writerow([_csv_value(r.get(c), kind) for c, kind in COLUMNS.items()])
    if path == "-":
        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()
        return
    from lvsdctl.tables import write_text  # checked, locked and atomic like every output

    write_text(path, buf.getvalue())


def _bool_code(v) -> int:
    return -1 if v is None else int(bool(v))


def write_h5(rows: list[dict], beats: list[dict[str, np.ndarray]], path: str, *, inputs: list,
             parameters: dict, synthetic: bool | None = None) -> None:
    from lvsdctl.hdf5 import atomic_output, write_json_attr, write_records

    frame = pd.DataFrame({c: [r.get(c) for r in rows] for c in COLUMNS})
    for c, kind in COLUMNS.items():
        if kind == "bool":
            frame[c] = np.array([_bool_code(v) for v in frame[c]], dtype=np.int8)
        elif kind == "str":
            frame[c] = frame[c].fillna("").astype(str)
        elif kind == "int":
            frame[c] = pd.to_numeric(frame[c]).astype(np.int64)
        else:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(np.float64)
    with atomic_output(path, kind="measures", inputs=inputs, parameters=parameters, synthetic=synthetic) as f:
        write_records(f, frame)
        g = f.create_group("beats", track_order=True)
        for c in BEAT_COLUMNS:
            parts = [b[c] for b in beats]
            data = np.concatenate(parts) if parts else np.zeros(0)
            if c == "record":
                data = data.astype(np.int64)
            elif c in ("dominant", "paced"):
                data = data.astype(bool)
            else:
                data = data.astype(np.float64)
            g.create_dataset(c, data=data)
        write_json_attr(f, "criteria", CRITERIA_DOC)
        f.attrs["fs_hz"] = 500.0


def read_measures(path: str) -> pd.DataFrame:
    """The per-ECG table of a measures file (CSV or HDF5), booleans as True/False/None."""
    p = str(path)
    if p != "-" and not Path(p).exists():
        raise InputError(f"{p}: no such file")
    import h5py

    if p == "-" or h5py.is_hdf5(p):
        from lvsdctl.hdf5 import open_input, read_records

        with open_input(p, kind={"measures"}) as f:
            frame = read_records(f)
        for c, kind in COLUMNS.items():
            if kind == "bool" and c in frame:
                frame[c] = [None if v < 0 else bool(v) for v in frame[c].astype(int)]
        return frame
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError):
        raise InputError(f"{p}: not a measures CSV (written by lvsdctl measure)") from None
    if "record_id" not in frame.columns or "status" not in frame.columns:
        raise InputError(f"{p}: not a measures CSV: no record_id and status columns")
    for c, kind in COLUMNS.items():
        if c not in frame:
            continue
        if kind == "bool":
            frame[c] = [None if v == "" else v.lower() == "true" for v in frame[c]]
        elif kind in ("float", "int"):
            frame[c] = pd.to_numeric(frame[c].replace("", np.nan), errors="coerce")
    return frame
