"""WFDB reader: every fixture record against wfdb.rdrecord / a raw numpy decode, metadata, bad input."""

from __future__ import annotations

import csv
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import wfdb

from lvsdctl.errors import ReadError
from lvsdctl.io import wfdb_reader
from lvsdctl.record import LEADS12

# the real fixtures live in <repo>/../shared/fixtures; conftest's fixture skips when they are absent
pytestmark = pytest.mark.usefixtures("fixtures_dir")

ECG_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "ecg"
WFDB_DIR = ECG_DIR / "wfdb"
MALFORMED = WFDB_DIR / "torch_ecg_cinc2021" / "E00666.hea"
LUDB = WFDB_DIR / "egm" / "ludb-ecg.hea"  # names record '1' and '1.dat': no rdrecord reference
HEADERS = sorted(p for p in WFDB_DIR.rglob("*.hea") if p not in (MALFORMED, LUDB))


def _labels() -> dict[str, tuple[float, str]]:
    with open(ECG_DIR / "labels" / "wfdb_record_labels.csv", newline="") as fh:
        return {row["record"]: (float(row["age"]), row["sex"][:1].upper()) for row in csv.DictReader(fh)}


def test_every_record_matches_wfdb_rdrecord() -> None:
    assert len(HEADERS) >= 55
    for header in HEADERS:
        record = wfdb_reader.read(header)
        reference = wfdb.rdrecord(str(header.with_suffix("")))
        assert record.source_format == "wfdb"
        assert len(record.segments) == reference.n_sig
        for j, seg in enumerate(record.segments):
            assert all(u.lower() == "mv" for u in reference.units)
            assert seg.fs == reference.fs and seg.t0 == 0.0 and seg.kind == "rhythm"
            assert len(seg.signal) == reference.sig_len and seg.signal.dtype == np.float32
            np.testing.assert_allclose(seg.signal, reference.p_signal[:, j], atol=1e-5, err_msg=header.name)


def test_lead_names_rates_and_lengths() -> None:
    twelve = [wfdb_reader.read(h) for h in HEADERS if "s0010_re" not in h.name]
    for record in twelve:
        assert sorted(s.lead for s in record.segments) == sorted(LEADS12)
    ptb = wfdb_reader.read(WFDB_DIR / "wfdb-python" / "s0010_re.hea")
    assert [s.lead for s in ptb.segments] == [*LEADS12, "VX", "VY", "VZ"]  # 12 + Frank XYZ
    assert {s.fs for s in ptb.segments} == {1000.0} and len(ptb.segments[0].signal) == 38400
    low = wfdb_reader.read(WFDB_DIR / "ecg-image-kit" / "00001_lr.hea")
    assert low.segments[0].fs == 100.0 and len(low.segments[0].signal) == 1000


def test_stated_gain_is_used_even_when_wrong() -> None:
    # The MUSE-derived egm headers state 200 adu/mV (5.12x too low); the reader must not guess.
    header = WFDB_DIR / "egm" / "muse-sinus.hea"
    raw = np.fromfile(header.with_suffix(".dat"), dtype="<i2").reshape(-1, 12)
    record = wfdb_reader.read(header)
    np.testing.assert_allclose(record.segments[0].signal, raw[:, 0] / 200.0, atol=1e-6)


def test_stale_record_name_reads_the_data_file_beside_the_header() -> None:
    record = wfdb_reader.read(LUDB)
    lines = LUDB.read_text().splitlines()[1:13]
    gains = [float(line.split()[2].split("(")[0]) for line in lines]
    baselines = [float(line.split()[2].split("(")[1].split(")")[0]) for line in lines]
    raw = np.fromfile(LUDB.with_suffix(".dat"), dtype="<i2").reshape(-1, 12)
    assert [s.lead for s in record.segments] == list(LEADS12)
    for j, seg in enumerate(record.segments):
        np.testing.assert_allclose(seg.signal, (raw[:, j] - baselines[j]) / gains[j], atol=1e-6)
    assert record.age == 51.0 and record.sex == "F"


def test_data_file_path_reads_the_same_record() -> None:
    header = WFDB_DIR / "torch_ecg_cinc2021" / "JS20000.hea"
    from_mat = wfdb_reader.read(header.with_suffix(".mat"))
    from_hea = wfdb_reader.read(header)
    for a, b in zip(from_mat.segments, from_hea.segments):
        np.testing.assert_array_equal(a.signal, b.signal)
    # signal files are read through their header but not claimed by sniff (no double reading)
    dat = WFDB_DIR / "wfdb-python" / "s0010_re.dat"
    assert not wfdb_reader.sniff(dat.read_bytes()[:4096], dat)
    assert len(wfdb_reader.read(dat).segments) == 15


def test_metadata_from_header_and_comments() -> None:
    labels = _labels()
    for header in HEADERS:
        record = wfdb_reader.read(header)
        key = str(header.relative_to(ECG_DIR).with_suffix(""))
        if record.age is not None:
            assert (record.age, record.sex) == labels[key], key
    assert all(wfdb_reader.read(h).age is not None for h in HEADERS if "cinc2021" in str(h))
    af = wfdb_reader.read(WFDB_DIR / "egm" / "muse-af.hea")
    assert af.patient_id == "074747981"  # '# mrn ...' is the raw id, to be pseudonymised
    assert af.acquired == datetime(2010, 1, 4, 11, 10, 4)
    ptb = wfdb_reader.read(WFDB_DIR / "wfdb-python" / "s0010_re.hea")
    assert ptb.acquired == datetime(1990, 10, 1)
    assert "fibrillation" not in repr({k: v for k, v in vars(af).items() if k != "segments"})


def test_malformed_fixture_header_is_rejected_cleanly() -> None:
    assert wfdb_reader.sniff(MALFORMED.read_bytes()[:4096], MALFORMED)  # routed here, then refused
    with pytest.raises(ReadError, match="invalid WFDB record"):
        wfdb_reader.read(MALFORMED)
    with pytest.raises(ReadError, match="invalid WFDB record"):
        wfdb_reader.read(MALFORMED.with_suffix(".mat"))


def _copy(tmp_path: Path, header: Path) -> Path:
    for part in header.parent.glob(header.stem + ".*"):
        shutil.copyfile(part, tmp_path / part.name)
    return tmp_path / header.name


def test_truncated_signal_file_is_rejected(tmp_path: Path) -> None:
    header = _copy(tmp_path, WFDB_DIR / "torch_ecg_cinc2021" / "E07500.hea")
    mat = header.with_suffix(".mat")
    mat.write_bytes(mat.read_bytes()[:5000])
    with pytest.raises(ReadError):
        wfdb_reader.read(header)


def test_unknown_units_and_missing_data_are_rejected(tmp_path: Path) -> None:
    header = _copy(tmp_path, WFDB_DIR / "ecg-image-kit" / "00001_lr.hea")
    header.write_text(header.read_text().replace("/mV", "/mmHg", 1))
    with pytest.raises(ReadError, match="units not one of mV"):
        wfdb_reader.read(header)
    header.with_suffix(".dat").unlink()
    with pytest.raises(ReadError, match="missing"):
        wfdb_reader.read(header)
    with pytest.raises(ReadError, match="header"):
        wfdb_reader.read(tmp_path / "nothing.dat")


def test_header_with_utf8_comments_is_read(tmp_path: Path) -> None:
    header = _copy(tmp_path, WFDB_DIR / "ecg-image-kit" / "JS00001.hea")
    header.write_bytes(header.read_bytes() + "# note: café ÉCG 心电图\n".encode("utf-8"))
    assert wfdb_reader.sniff(header.read_bytes()[:4096], header)
    assert wfdb_reader.read(header).age == 85.0


def test_sniff_rejects_other_formats() -> None:
    assert not wfdb_reader.sniff(b'<?xml version="1.0"?><RestingECG/>', Path("x.xml"))
    assert not wfdb_reader.sniff(b"\x00" * 128 + b"DICM", Path("x.dcm"))
    assert not wfdb_reader.sniff(b"hello world\n", Path("x.txt"))
