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
    assert "'EF'" not in str(exc.value) and "3 columns" in str(exc.value)  # header text is content: not quoted


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


@pytest.mark.parametrize("content, reason", [
    (b"", "the echo table is empty"),
    (b"\n \n\n", "the echo table is empty"),
    (b"patient_id\n1\n2\n", "its header has one column"),  # never split on the letter 't'
    (b"patient_id,echo_date,lvef\n1,2023-01-01,35,ZZPHI,x\n", "line 2 has 5 columns, the header 3"),
    (b"patient_id,echo_date,lvef\n1,2023-01-01,\xff35\n", "not UTF-8 text"),
    (b"ZZPHI_a,ZZPHI_b,ZZPHI_c\n1,2,3\n", "its header has 3 columns"),
])
def test_broken_tables_are_input_errors_that_quote_nothing(tmp_path, content, reason):
    p = tmp_path / "echo.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=reason) as err:
        read_echo_table(p)
    assert err.value.exit_code == 3 and "ZZPHI" not in str(err.value)


def test_a_header_without_rows_is_read_and_the_ingest_warns(tmp_path):
    p = tmp_path / "echo.csv"
    p.write_text("patient_id;echo_date;lvef\n")
    assert read_echo_table(p).counts() == {"rows": 0, "used": 0, "invalid": 0, "duplicates": 0}
    from lvsdctl.ingest import ingest
    from lvsdctl.synth import synthesise

    synthesise(tmp_path / "c", n_ecgs=4, n_patients=4, seed=1)
    s = ingest([tmp_path / "c" / "ecg"], tmp_path / "raw.h5", echo=p, demo_secret=True)
    assert any("header but no rows" in n for n in s.notes) and s.pairing["unpaired"] == 4


def test_a_bad_date_format_option_is_an_input_error(tmp_path):
    p = tmp_path / "echo.csv"
    p.write_text("patient_id,echo_date,lvef\n1,01/02/2023,35\n")
    assert read_echo_table(p, date_format="%d/%m/%Y").frame["echo_date"].iloc[0].month == 2
    with pytest.raises(InputError, match="is not a strptime format"):
        read_echo_table(p, date_format="%Q")
