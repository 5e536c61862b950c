"""Echo tables of the hostile corpus: the cohort's own table with a marker in every cell it does not need
(and in bad rows and extra columns), in CSV and Excel; and tables that are broken as a whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.hostile.cases.phi_markers import marked_id
from tests.hostile.markers import marker

#: Patient ids the format writers plant (tests/hostile/exports.py), paired here so those ECGs are labelled.
FORMAT_IDS = (marker("patient id"), marker("PatientID")[:16])


def corpus_table(base: Path) -> pd.DataFrame:
    """The synth cohort's echo table under the marked ids, plus rows for the format files, rows that
    must be set aside (a marked date, LVEF, id) and two marked extra columns."""
    echo = pd.read_csv(base / "echo.csv", dtype=str)
    echo["patient_id"] = echo["patient_id"].map(marked_id)
    rows = [{"patient_id": pid, "echo_date": "2023-01-03", "lvef": "35"} for pid in FORMAT_IDS]
    rows += [{"patient_id": marked_id("X"), "echo_date": marker("echo date"), "lvef": "50"},
             {"patient_id": marked_id("Y"), "echo_date": "2023-01-03", "lvef": marker("lvef")},
             {"patient_id": marker("unused id"), "echo_date": "2023-01-03", "lvef": "120"},
             {"patient_id": "", "echo_date": "2023-01-03", "lvef": "45"}]
    table = pd.concat([echo, pd.DataFrame(rows)], ignore_index=True)
    table[marker("column name")] = [marker(f"cell {i}") for i in range(len(table))]
    table["comments"] = marker("comment cell")
    return table


def write_corpus_tables(base: Path, folder: Path) -> tuple[Path, Path]:
    """(echo.csv, echo.xlsx) of `corpus_table` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    table = corpus_table(base)
    csv, xlsx = folder / "echo.csv", folder / "echo.xlsx"
    table.to_csv(csv, index=False)
    table.to_excel(xlsx, index=False)
    return csv, xlsx


def broken_tables(folder: Path) -> dict[str, tuple[Path, int]]:
    """Tables broken as a whole: {name: (path, the exit code ingest must give)}."""
    folder.mkdir(parents=True, exist_ok=True)
    m = marker
    texts = {
        "empty.csv": (b"", 3),
        "blank-lines.csv": (b"\n\n  \n", 3),
        "one-column.csv": (f"patient_id\n{m('a')}\n{m('b')}\n".encode(), 3),  # not split on a letter
        "marked-header.csv": (f"{m('h1')},{m('h2')},{m('h3')}\n1,2,3\n".encode(), 3),
        "header-only.csv": (b"patient_id,echo_date,lvef\n", 0),
        "semicolons.csv": (f"patient_id;echo_date;lvef\n{m('s')};2023-01-03;35,5\n".encode(), 0),
        "ragged.csv": (f"patient_id,echo_date,lvef\n{m('r')},2023-01-03,35,{m('extra')},x\n".encode(), 3),
        "latin1.csv": ("patient_id,echo_date,lvef\n".encode() + m("l").encode() + b"\xe9\xff,2023-01-03,35\n", 3),
        "binary.csv": (b"\x00\x01\x02" * 50, 3),
        "not-a-workbook.xlsx": (b"PK\x03\x04" + m("zip").encode() * 10, 3),
    }
    out = {}
    for name, (data, code) in texts.items():
        (folder / name).write_bytes(data)
        out[name] = (folder / name, code)
    pd.DataFrame(columns=["patient_id", "echo_date", "lvef"]).to_excel(folder / "header-only.xlsx", index=False)
    out["header-only.xlsx"] = (folder / "header-only.xlsx", 0)
    pd.DataFrame({m("x1"): [m("v1")], m("x2"): [m("v2")]}).to_excel(folder / "marked.xlsx", index=False)
    out["marked.xlsx"] = (folder / "marked.xlsx", 3)
    return out
