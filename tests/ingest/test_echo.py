"""Echo tables: CSV and Excel, configurable columns, every bad row set aside with a reason."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from lvsdctl.errors import InputError
from lvsdctl.ingest.echo import read_echo_table


def _csv(tmp_path, text, name="echo.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_valid_rows_and_types(tmp_path):
    t = read_echo_table(_csv(tmp_path, "patient_id,echo_date,lvef\n0042,2021-03-04,35\nB7,2021-03-05,55.5%\n"))
    f = t.frame
    assert list(f["patient_id"]) == ["0042", "B7"]  # leading zeros kept
    assert list(f["lvef"]) == [35.0, 55.5]
    assert f["echo_date"].iloc[0] == pd.Timestamp("2021-03-04")
    assert t.counts() == {"rows": 2, "used": 2, "invalid": 0, "duplicates": 0}


def test_configurable_columns_semicolon_and_decimal_comma(tmp_path):
    p = _csv(tmp_path, "MRN;Date Echo;EF\nA1;2021-01-02;39,5\n")
    t = read_echo_table(p, patient_col="mrn", date_col="date echo", lvef_col="EF")  # case-insensitive
    assert t.frame["lvef"].iloc[0] == 39.5
    with pytest.raises(InputError, match="--echo-lvef-col") as exc:
        read_echo_table(p, patient_col="MRN", date_col="Date Echo", lvef_col="LVEF")
    assert "'EF'" in str(exc.value)  # lists the columns there are


def test_bad_rows_reported_by_row_number_without_values(tmp_path):
    text = ("patient_id,echo_date,lvef\n"
            "P1,2021-01-01,35\n"      # row 2 ok
            "P2,not a date,35\n"      # row 3
            "P3,2021-01-01,abc\n"     # row 4
            "P4,2021-01-01,140\n"     # row 5
            "P5,2021-01-01,-1\n"      # row 6
            ",2021-01-01,50\n"        # row 7
            "P1,2021-01-01,35\n"      # row 8: exact duplicate of row 2
            "P6,2021-02-01,30\n"      # row 9 conflicts with row 10
            "P6,2021-02-01,60\n"      # row 10
            "P7,2021-02-01,\n")       # row 11
    t = read_echo_table(_csv(tmp_path, text))
    reasons = {i.row: i.reason for i in t.issues}
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert "ISO 8601" in reasons[3]
    assert reasons[4] == "LVEF is not a number" and reasons[11] == "LVEF is not a number"
    assert reasons[5] == reasons[6] == "LVEF outside 0-100"
    assert reasons[7] == "patient id missing"
    assert reasons[8].startswith("duplicate of row 2")
    assert "different LVEF" in reasons[9] and "different LVEF" in reasons[10]
    assert list(t.frame["patient_id"]) == ["P1"]
    assert t.counts() == {"rows": 10, "used": 1, "invalid": 8, "duplicates": 1}
    assert not any("P2" in r or "not a date" in r for r in reasons.values())  # no values quoted


def test_boundaries_0_and_100_valid(tmp_path):
    t = read_echo_table(_csv(tmp_path, "patient_id,echo_date,lvef\nA,2021-01-01,0\nB,2021-01-01,100\n"))
    assert len(t.frame) == 2 and not t.issues


def test_date_format_option(tmp_path):
    p = _csv(tmp_path, "patient_id,echo_date,lvef\nA,04/03/2021,35\n")
    assert read_echo_table(p).invalid == 1  # day/month order is never guessed
    t = read_echo_table(p, date_format="%d/%m/%Y")
    assert t.frame["echo_date"].iloc[0] == pd.Timestamp("2021-03-04")


def test_excel_with_typed_cells(tmp_path):
    p = tmp_path / "echo.xlsx"
    pd.DataFrame({
        "patient_id": [123, "0042", 77],
        "echo_date": [dt.datetime(2021, 3, 4, 14, 30), "2021-03-05", "garbage"],
        "lvef": [35, "40", 50],
    }).to_excel(p, index=False)
    t = read_echo_table(p)
    assert list(t.frame["patient_id"]) == ["0042", "123"]  # sorted; the number written as an integer
    assert t.frame.set_index("patient_id").loc["123", "echo_date"] == pd.Timestamp("2021-03-04")  # day only
    assert [i.row for i in t.issues] == [4]


def test_unreadable_table(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_echo_table(tmp_path / "absent.csv")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read the echo table"):
        read_echo_table(bad)
