"""Writing tables and result documents: the one writer every stage uses.

A table (a pandas DataFrame) goes to `.csv`, `.md` (GitHub markdown) or `.json` (a list of row
objects), chosen by the file's suffix; a result document (a dict) to JSON. Files are written
atomically (a temporary file beside the target, then renamed), NaN becomes an empty CSV cell or a
JSON null.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.summary import jsonable

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


def write_frame(frame: pd.DataFrame, path: str | os.PathLike, *, float_format: str | None = None) -> None:
    """Write `frame` as .csv, .md or .json by the suffix of `path` (`float_format` for CSV numbers)."""
    fmt = table_format(path)
    if fmt == "csv":
        text = frame.to_csv(index=False, float_format=float_format)
    elif fmt == "md":
        text = to_markdown(frame)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        if executable:
            tmp.chmod(0o755)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _json_text(obj: Any) -> str:
    return json.dumps(jsonable(obj), indent=2) + "\n"
