"""The echocardiography table: one row per echo with patient id, echo date and LVEF.

Read from CSV (any delimiter pandas sniffs: comma, semicolon, tab) or Excel (.xlsx/.xlsm, openpyxl).
Rows that cannot be used are not guessed at: they are set aside with a reason (row number only, never
the patient id or the values) and reported, and the rest is used.

Row numbers are spreadsheet rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.ingest.pseudonym import normalise_id

DEFAULT_PATIENT_COL = "patient_id"
DEFAULT_DATE_COL = "echo_date"
DEFAULT_LVEF_COL = "lvef"
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass(frozen=True)
class EchoIssue:
    row: int  # spreadsheet row (header = 1)
    reason: str


@dataclass
class EchoTable:
    """The usable echoes (`frame`: patient_id str, echo_date datetime64[ns] at midnight, lvef float64)."""

    path: str
    frame: pd.DataFrame
    rows: int  # data rows in the file
    issues: list[EchoIssue] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        """Rows set aside because a value was missing, unparseable, out of range or conflicting."""
        return sum(1 for i in self.issues if not i.reason.startswith("duplicate"))

    @property
    def duplicates(self) -> int:
        """Exact repeats of an earlier row (same patient, date and LVEF), used once."""
        return sum(1 for i in self.issues if i.reason.startswith("duplicate"))

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "used": len(self.frame), "invalid": self.invalid, "duplicates": self.duplicates}


def _find_column(columns: list[str], wanted: str, option: str, path: Path) -> str:
    """The column named `wanted`, matched exactly, else ignoring case and surrounding blanks.

    The header's own names are not quoted when none matches: a header is the file's content."""
    if wanted in columns:
        return wanted
    folded = {str(c).strip().casefold(): c for c in columns}
    hit = folded.get(wanted.strip().casefold())
    if hit is None:
        shape = (f"its header has {len(columns)} columns" if len(columns) > 1 else
                 "its header has one column: a CSV must separate columns with commas, semicolons or tabs")
        raise InputError(f"{path}: no column named {wanted!r} ({shape}); name the column with {option}")
    return hit


#: Largest echo table read (a table of a million echoes is some 50 MB).
MAX_TABLE_BYTES = 512 << 20
#: Column separators a CSV echo table may use, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")


def _delimiter(header: str) -> str:
    """The separator of a CSV from its header line: the most frequent of DELIMITERS outside quotes
    (a one-column table: ','). Never a letter, as a general sniffer may pick."""
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = [unquoted.count(d) for d in DELIMITERS]
    return DELIMITERS[counts.index(max(counts))] if max(counts) else ","


def _read_csv(path: Path) -> pd.DataFrame:
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise InputError(f"{path}: echo table larger than {MAX_TABLE_BYTES >> 20} MB")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: the echo table is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8 "
                         "CSV") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: the echo table is empty; expected a header line (patient_id, echo_date, lvef) "
                         "and one row per echo")
    sep = _delimiter(lines[0])
    rows = csv.reader(io.StringIO(text), delimiter=sep)
    width = None
    for number, row in enumerate(rows, 1):  # a row wider than the header would shift its values
        if not row or not any(cell.strip() for cell in row):
            continue
        if width is None:
            width = len(row)
        elif len(row) > width:
            raise InputError(f"{path}: line {number} has {len(row)} columns, the header {width}; quote values that "
                             "hold the separator")
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, sep=sep, keep_default_na=False, skip_blank_lines=True,
                           index_col=False, engine="c")
    except pd.errors.ParserError as exc:  # the message quotes no cell, but give only its line number
        where = re.search(r"line (\d+)", str(exc))
        raise InputError(f"{path}: not a well-formed CSV table" + (f" (line {where.group(1)}: a different number of "
                                                                    "columns than the header)" if where else "")
                         ) from None


def _load(path: Path, sheet: str | int | None) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"{path}: echo table not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give the echo table's file")
    try:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            if path.stat().st_size > MAX_TABLE_BYTES:
                raise InputError(f"{path}: echo table larger than {MAX_TABLE_BYTES >> 20} MB")
            # dtype=object keeps ids as written (leading zeros) and dates as the cells' own datetimes
            return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object, engine="openpyxl")
        return _read_csv(path)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the echo table is empty; expected a header row (patient_id, echo_date, lvef) "
                         "and one row per echo") from None
    except (ValueError, KeyError, OSError, IndexError, TypeError, pd.errors.ParserError, UnicodeDecodeError,
            zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{path}: cannot read the echo table ({type(exc).__name__})") from None


def _parse_dates(values: pd.Series, date_format: str | None) -> pd.Series:
    """Dates at midnight; NaT where unparseable. Default: ISO 8601 only (never a day/month guess)."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    is_dt = values.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year"))
    if is_dt.any():  # Excel cells already typed as dates
        out[is_dt] = pd.to_datetime(values[is_dt], errors="coerce")
    text = values[~is_dt].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v).strip())
    if len(text):
        fmt = date_format or "ISO8601"
        try:
            out[~is_dt] = pd.to_datetime(text.where(text != ""), format=fmt, errors="coerce")
        except (ValueError, TypeError):
            raise InputError(f"--echo-date-format {date_format!r} is not a strptime format (e.g. %d/%m/%Y)") from None
    return out.dt.normalize()


def _parse_lvef(values: pd.Series) -> pd.Series:
    """LVEF as float; a trailing % and a decimal comma are accepted; NaN where not a number."""
    text = values.map(lambda v: "" if v is None else str(v)).str.strip().str.rstrip("%").str.strip()
    text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text.where(text != ""), errors="coerce").astype("float64")


def read_echo_table(
    path: str | Path,
    *,
    patient_col: str = DEFAULT_PATIENT_COL,
    date_col: str = DEFAULT_DATE_COL,
    lvef_col: str = DEFAULT_LVEF_COL,
    date_format: str | None = None,
    sheet: str | int | None = None,
) -> EchoTable:
    """Read and validate an echo table.

    Set aside, with a reason: a missing patient id, a missing or unparseable date (ISO 8601 unless
    `date_format`, a strptime format such as "%d/%m/%Y", is given), an LVEF that is not a number or lies
    outside 0-100, and rows of one patient on one date with different LVEFs (which one is right cannot be
    told, so neither is used). An exact repeat of a row is used once and counted as a duplicate.
    """
    path = Path(path)
    raw = _load(path, sheet)
    columns = list(raw.columns)
    pcol = _find_column(columns, patient_col, "--echo-patient-col", path)
    dcol = _find_column(columns, date_col, "--echo-date-col", path)
    lcol = _find_column(columns, lvef_col, "--echo-lvef-col", path)

    ids = raw[pcol].map(normalise_id)
    dates = _parse_dates(raw[dcol], date_format)
    lvef = _parse_lvef(raw[lcol])
    frame = pd.DataFrame({"patient_id": ids.astype(str), "echo_date": dates, "lvef": lvef})
    frame["row"] = np.arange(len(frame)) + 2  # header is row 1

    reason = pd.Series("", index=frame.index, dtype=object)
    reason[frame["lvef"].isna() | ~np.isfinite(frame["lvef"])] = "LVEF is not a number"
    reason[frame["lvef"].notna() & ((frame["lvef"] < 0) | (frame["lvef"] > 100))] = "LVEF outside 0-100"
    reason[frame["echo_date"].isna()] = (
        "echo date missing or not ISO 8601 (YYYY-MM-DD; see --echo-date-format)"
        if date_format is None
        else f"echo date missing or not in the format {date_format}"
    )
    reason[frame["patient_id"] == ""] = "patient id missing"
    issues = [EchoIssue(int(r), str(s)) for r, s in zip(frame["row"], reason) if s]
    valid = frame[reason == ""]

    # exact repeats: keep the first
    dup = valid.duplicated(["patient_id", "echo_date", "lvef"], keep="first")
    if dup.any():
        first_row = valid.groupby(["patient_id", "echo_date", "lvef"])["row"].transform("first")
        issues += [
            EchoIssue(int(r), f"duplicate of row {int(f)} (same patient, date and LVEF); used once")
            for r, f in zip(valid.loc[dup, "row"], first_row[dup])
        ]
        valid = valid[~dup]
    # same patient and date, different LVEF: neither is trusted
    clash = valid.duplicated(["patient_id", "echo_date"], keep=False)
    if clash.any():
        first_row = valid.groupby(["patient_id", "echo_date"])["row"].transform("first")
        for r, f in zip(valid.loc[clash, "row"], first_row[clash]):
            other = "another row" if r == f else f"row {int(f)}"
            issues.append(EchoIssue(int(r), f"same patient and date as {other} with a different LVEF; not used"))
        valid = valid[~clash]

    issues.sort(key=lambda i: i.row)
    used = valid.drop(columns="row").sort_values(["patient_id", "echo_date"], kind="stable").reset_index(drop=True)
    return EchoTable(path=str(path), frame=used, rows=len(frame), issues=issues)
