"""Format detection from content (every real fixture) and `read_ecg`'s dispatch and errors."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import detect, xmlsafe
from lvsdctl.record import ECGRecord
from lvsdctl.io.xmlsafe import xml_root_name

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
ECG_FILES = sorted(str(p.relative_to(FIXTURES / "ecg"))
                   for p in (FIXTURES / "ecg").rglob("*") if p.is_file())
FOLDER_FORMAT = {"muse_xml": "muse", "muse_xml_simulator": "muse", "philips_xml": "philips",
                 "hl7_aecg": "hl7aecg", "scp": "scp", "dicom": "dicom", "wfdb": "wfdb"}
WFDB_SIGNAL_SUFFIXES = (".dat", ".mat", ".xyz")


def expected_format(name: str) -> str | None:
    folder = name.split("/")[0]
    return FOLDER_FORMAT.get(folder)


@pytest.fixture
def builtin_only(monkeypatch):
    """Detection as if no reader module were installed: only the built-in signatures remain."""
    monkeypatch.setattr(detect, "READERS",
                        [(fmt, f"lvsdctl.io._absent_{fmt}") for fmt, _ in detect.READERS])
    monkeypatch.setattr(detect, "_loaded", {})


@pytest.mark.parametrize("name", ECG_FILES)
def test_every_fixture_is_detected_from_its_content(fixtures_dir, name):
    path = fixtures_dir / "ecg" / name
    fmt = detect.detect_format(path)
    if name.startswith("wfdb/") and path.suffix in WFDB_SIGNAL_SUFFIXES:
        # a signal file belongs to the record of the header beside it: ingest skips it
        assert detect.is_companion_file(path)
        assert fmt in (None, "wfdb")
    else:
        assert fmt == expected_format(name)
        assert not detect.is_companion_file(path)


@pytest.mark.parametrize("name", ECG_FILES)
def test_builtin_signatures_name_every_format_without_readers(fixtures_dir, builtin_only, name):
    path = fixtures_dir / "ecg" / name
    expected = None if path.suffix in WFDB_SIGNAL_SUFFIXES else expected_format(name)
    assert detect.detect_format(path) == expected


@pytest.mark.parametrize(("source", "fmt"), [
    ("muse_xml/egm/muse-sinus.xml", "muse"),
    ("dicom/pydicom/waveform_ecg.dcm", "dicom"),
    ("scp/ecg-contec/demo.scp", "scp"),
    ("wfdb/egm/muse-sinus.hea", "wfdb"),
    ("philips_xml/sierra-ecg-tools/ad4d3d80-d165_1-04_orig.xml", "philips"),
    ("hl7_aecg/fda-aecg-python/Example aECG.xml", "hl7aecg"),
])
def test_extension_is_ignored(fixtures_dir, tmp_path, builtin_only, source, fmt):
    for misleading in ("record.dcm", "record.xml", "record.hea", "record"):
        target = tmp_path / misleading
        target.write_bytes((fixtures_dir / "ecg" / source).read_bytes())
        assert detect.detect_format(target) == fmt


def test_read_ecg_reads_muse_through_the_registry(fixtures_dir):
    record = detect.read_ecg(fixtures_dir / "ecg" / "muse_xml/egm/muse-sinus.xml")
    assert isinstance(record, ECGRecord) and record.source_format == "muse"
    assert len(record.leads("rhythm")) == 12


@pytest.mark.parametrize(("content", "reason"), [
    (b"", r"^file is empty$"),
    (b"<?xml version='1.0'?><Patient><Name>x</Name></Patient>",
     r"^unrecognised ECG format \(an XML document whose root element is not RestingECG"),
    (b"PK\x03\x04 zip archive bytes", r"^unrecognised ECG format \(not MUSE"),
    (b"id,name\n1,Jane\n", r"^unrecognised ECG format"),
    (b"   <<<<", r"looks like malformed XML"),
])
def test_unknown_content_is_rejected_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "input.xml"
    path.write_bytes(content)
    assert detect.detect_format(path) is None
    with pytest.raises(ReadError, match=reason) as info:
        detect.read_ecg(path)
    assert "Jane" not in str(info.value) and "Patient" not in str(info.value)


def test_missing_file_directory_and_fifo(tmp_path):
    with pytest.raises(ReadError, match="file not found"):
        detect.read_ecg(tmp_path / "nope.xml")
    with pytest.raises(ReadError, match="is a directory"):
        detect.read_ecg(tmp_path)
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(ReadError, match="not a regular file"):
        detect.read_ecg(fifo)


def test_missing_reader_rejects_only_its_format(fixtures_dir, builtin_only):
    path = fixtures_dir / "ecg" / "muse_xml/egm/muse-sinus.xml"
    assert detect.detect_format(path) == "muse"
    with pytest.raises(ReadError, match=r"^muse file, but its reader is unavailable: reader not "
                                        r"installed$"):
        detect.read_ecg(path)


def test_reader_with_missing_dependency_is_reported(fixtures_dir, monkeypatch):
    broken = types.ModuleType("lvsdctl.io._broken_reader")
    monkeypatch.setitem(sys.modules, "lvsdctl.io._broken_reader", None)  # import raises
    monkeypatch.setattr(detect, "READERS", [("muse", broken.__name__)])
    monkeypatch.setattr(detect, "_loaded", {})
    with pytest.raises(ReadError, match="reader is unavailable"):
        detect.read_ecg(fixtures_dir / "ecg" / "muse_xml/egm/muse-sinus.xml")


def test_reader_crash_becomes_a_read_error(tmp_path, monkeypatch):
    fake = types.ModuleType("lvsdctl.io._crashing_reader")
    fake.sniff = lambda head, path: head.startswith(b"CRASH")
    fake.read = lambda path: 1 / 0
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setattr(detect, "READERS", [("crashy", fake.__name__)])
    monkeypatch.setattr(detect, "_loaded", {})
    path = tmp_path / "f"
    path.write_bytes(b"CRASH patient Jane Doe")
    with pytest.raises(ReadError, match=r"^crashy reader failed unexpectedly "
                                        r"\(ZeroDivisionError\)$"):
        detect.read_ecg(path)


def test_buggy_sniff_falls_back_to_the_signature(fixtures_dir, monkeypatch):
    fake = types.ModuleType("lvsdctl.io._bad_sniff")

    def sniff(head, path):
        raise IndexError("bug")

    fake.sniff = sniff
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setattr(detect, "READERS", [("dicom", fake.__name__)])
    monkeypatch.setattr(detect, "_loaded", {})
    assert detect.detect_format(fixtures_dir / "ecg" / "dicom/pydicom/waveform_ecg.dcm") == "dicom"


def test_wfdb_signal_file_is_a_companion(tmp_path, builtin_only):
    (tmp_path / "rec.hea").write_text("rec 1 500 4\nrec.dat 16 200/mV 16 0 0 0 0 I\n")
    (tmp_path / "rec.dat").write_bytes(bytes(8))
    assert detect.is_companion_file(tmp_path / "rec.dat")
    assert not detect.is_companion_file(tmp_path / "rec.hea")
    with pytest.raises(ReadError, match="WFDB signal file"):
        detect.read_ecg(tmp_path / "rec.dat")


@pytest.mark.parametrize(("head", "root"), [
    (b'<?xml version="1.0"?>\n<!-- a\n<Fake> comment -->\n<AnnotatedECG xmlns="urn:hl7-org:v3">',
     "AnnotatedECG"),
    (b'<?xml version="1.0"?><!DOCTYPE R [<!ELEMENT R ANY><!-- > -->]><RestingECG>', "RestingECG"),
    (b"\xef\xbb\xbf<v3:AnnotatedECG xmlns:v3='urn:hl7-org:v3'>", "AnnotatedECG"),
    ('\ufeff<?xml version="1.0" encoding="utf-16"?>\r\n<restingecgdata>'.encode("utf-16-le"),
     "restingecgdata"),
    ('<?xml version="1.0" encoding="utf-16"?><restingecgdata>'.encode("utf-16-be"),
     "restingecgdata"),
    (b"rec 12 500 5000\n", None),
    (b"", None),
    (b"<?xml version='1.0'?>", None),
])
def test_xml_root_name(head, root):
    assert xml_root_name(head) == root


def test_importing_lvsdctl_io_stays_light():
    code = ("import sys, lvsdctl.io; heavy = [m for m in ('lxml', 'numpy', 'pydicom', 'wfdb', "
            "'lvsdctl.io.muse') if m in sys.modules]; assert not heavy, heavy; "
            "from lvsdctl.io import read_ecg, detect_format; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# --- safe XML parsing (shared by every XML reader) ----------------------------------------------

LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE RestingECG [\n<!ENTITY a "aaaaaaaaaa">\n'
          + b"".join(b'<!ENTITY %c "%s">\n' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10)
                     for i in range(9))
          + b"]>\n<RestingECG><PatientID>&j;</PatientID></RestingECG>")


@pytest.mark.parametrize(("content", "reason"), [
    (LAUGHS, r"entity expansion refused|declares entities"),
    (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', r"declares entities"),
    (b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>', r"malformed XML"),
    (b"<r>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</r>", r"malformed XML: resource limit"),
])
def test_hostile_xml_is_refused(content, reason):
    with pytest.raises(ReadError, match=reason) as info:
        xmlsafe.parse_bytes(content)
    assert "root:" not in str(info.value)


def test_external_dtd_is_never_loaded(tmp_path):
    dtd = tmp_path / "restecg.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED">')
    root = xmlsafe.parse_bytes(f'<!DOCTYPE r SYSTEM "{dtd.as_uri()}"><r>&leak;</r>'.encode())
    assert "LEAKED" not in "".join(root.itertext())


def test_size_bound_is_checked_before_parsing(tmp_path):
    path = tmp_path / "big.xml"
    path.write_bytes(b"<r>" + b" " * 4096 + b"</r>")
    with pytest.raises(ReadError, match="larger than"):
        xmlsafe.read_bounded(path, limit=1024)
    with pytest.raises(ReadError, match="larger than"):
        xmlsafe.parse_bytes(path.read_bytes(), limit=1024)
    assert xmlsafe.parse_file(path).tag == "r"
