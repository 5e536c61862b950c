"""Writing tables and result documents: the one writer every stage uses.

A table (a pandas DataFrame) goes to `.csv`, `.md` (GitHub markdown) or `.json` (a list of row
objects), chosen by the file's suffix; a result document (a dict) to JSON. Files are written
atomically (a temporary file beside the target, then renamed), NaN becomes an empty CSV cell or a
JSON null.

A table made from synthetic data says so wherever it is copied: markdown tables in their caption
("SYNTHETIC data: ..."), CSV and JSON tables in a `data` column that reads SYNTHETIC on every row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.outputs import check_output, output_lock
from lvsdctl.summary import jsonable

#: The word every output made from synthetic data carries (tables, figures, reports, predictions).
SYNTHETIC = "SYNTHETIC"
SYNTHETIC_NOTE = "SYNTHETIC data (lvsdctl synth): no real patient; these numbers say nothing about patients"
#: A table made from real ECGs by a model trained on synthetic ECGs only (`write_frame(synthetic="model")`).
SYNTHETIC_MODEL = "SYNTHETIC model"
SYNTHETIC_MODEL_NOTE = ("SYNTHETIC model (trained on synthetic ECGs only, lvsdctl synth): its scores and calls say "
                        "nothing about patients")

#: Suffixes `write_frame` understands, and the format each means.
TABLE_FORMATS = {".csv": "csv", ".md": "md", ".markdown": "md", ".json": "json"}


def table_format(path: str | os.PathLike) -> str:
    """"csv", "md" or "json" from `path`'s suffix; InputError for any other (checked before any work)."""
    fmt = TABLE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: a table is written as .csv, .md or .json")
    return fmt


def to_markdown(frame: pd.DataFrame) -> str:
    """GitHub-flavoured markdown table (no tabulate dependency)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_frame(frame: pd.DataFrame, path: str | os.PathLike, *, float_format: str | None = None,
                caption: str | None = None, synthetic: bool | str = False) -> None:
    """Write `frame` as .csv, .md or .json by the suffix of `path` (`float_format` for CSV numbers).

    `caption`: a line above a markdown table; `synthetic`: the table is made from synthetic data (True:
    the caption starts with SYNTHETIC; CSV and JSON rows get `data` = SYNTHETIC), or, "model", from real
    data by a model trained on synthetic data only (the caption says so; rows get `data` = SYNTHETIC model)."""
    fmt = table_format(path)
    model_only = synthetic == "model"
    if synthetic and fmt != "md":
        frame = frame.assign(data=SYNTHETIC_MODEL if model_only else SYNTHETIC)
    if fmt == "csv":
        text = frame.to_csv(index=False, float_format=float_format)
    elif fmt == "md":
        if synthetic:
            caption = f"{SYNTHETIC_MODEL_NOTE if model_only else SYNTHETIC_NOTE}. {caption or ''}".strip()
        text = (f"{caption}\n\n" if caption else "") + to_markdown(frame)
    else:
        text = _json_text(frame.astype(object).to_dict(orient="records"))
    write_text(path, text)


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write a result document (a dict, list or Summary) as indented JSON."""
    write_text(path, _json_text(obj))


def write_text(path: str | os.PathLike, text: str, *, executable: bool = False) -> None:
    """Write `text` atomically: a temporary file beside `path`, renamed over it once complete (a reader
    never sees half a file, a crash leaves the previous version); `executable` for scripts (mode 755)."""
    path = Path(path)
    check_output(path)
    with output_lock(path):
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            if executable:
                tmp.chmod(0o755)
            os.replace(tmp, path)
        except OSError as exc:  # a full disk, a quota: the user's to fix, not a bug
            raise InputError(f"{path}: cannot be written ({exc.strerror or type(exc).__name__})") from None
        finally:
            tmp.unlink(missing_ok=True)


def _json_text(obj: Any) -> str:
    return json.dumps(jsonable(obj), indent=2) + "\n"
