"""HL7 aECG reader: real fixtures against an independent decode, metadata without PHI, bad input."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from defusedxml import ElementTree as SafeET

from lvsdctl.errors import ReadError
from lvsdctl.io import hl7aecg
from lvsdctl.record import LEADS12

# the real fixtures live in <repo>/../shared/fixtures; conftest's fixture skips when they are absent
pytestmark = pytest.mark.usefixtures("fixtures_dir")

AECG_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "ecg" / "hl7_aecg"
FDA = AECG_DIR / "fda-aecg-python" / "Example aECG.xml"
PHILIPS_EXPORT = AECG_DIR / "sierra-ecg-tools" / "ad4d3d80-d165_1-04_converted.xml"
NS = {"h": "urn:hl7-org:v3"}
LEAD_CODE = {f"MDC_ECG_LEAD_{name.upper()}": name for name in LEADS12}


def independent_decode(path: Path) -> dict[tuple[str, str], np.ndarray]:
    """{(kind, lead): mV} straight from the XML with the standard library (no lvsdctl code)."""
    root = SafeET.parse(path).getroot()
    out = {}
    paths = {
        "rhythm": "h:component/h:series/h:component/h:sequenceSet",
        "median": "h:component/h:series/h:derivation/h:derivedSeries/h:component/h:sequenceSet",
    }
    for kind, xpath in paths.items():
        for sset in root.findall(xpath, NS):
            for seq in sset.findall("h:component/h:sequence", NS):
                code = seq.find("h:code", NS).get("code")
                if code not in LEAD_CODE:
                    continue
                value = seq.find("h:value", NS)
                scale = value.find("h:scale", NS)
                origin = value.find("h:origin", NS)
                assert scale.get("unit") == origin.get("unit") == "uV"
                digits = np.array([float(v) for v in value.find("h:digits", NS).text.split()])
                uv = float(origin.get("value")) + float(scale.get("value")) * digits
                out[(kind, LEAD_CODE[code])] = uv / 1000
    return out


@pytest.mark.parametrize("path, n_rhythm, n_median", [(FDA, 5000, 599), (PHILIPS_EXPORT, 5500, 1200)])
def test_fixture_matches_independent_decode(path: Path, n_rhythm: int, n_median: int) -> None:
    record = hl7aecg.read(path)
    expected = independent_decode(path)
    assert record.source_format == "hl7aecg"
    for kind, n in (("rhythm", n_rhythm), ("median", n_median)):
        leads = record.leads(kind)
        assert set(leads) == set(LEADS12)
        for name, seg in leads.items():
            assert seg.signal.dtype == np.float32 and seg.fs == 500.0 and seg.t0 == 0.0
            assert len(seg.signal) == n
            np.testing.assert_allclose(seg.signal, expected[(kind, name)], atol=1e-6)


def test_fda_sample_metadata_and_no_phi() -> None:
    record = hl7aecg.read(FDA)
    assert record.patient_id == "SBJ-123"
    assert record.acquired == datetime(2002, 11, 22, 9, 10, 0)
    assert record.age == 46.0  # the reported age, not one computed from the birth date
    assert record.sex == "M"
    assert record.site == "TS-035"
    assert "ELI250" in record.device
    assert record.extra == {"qrs_ms": 120.0}  # first MDC_ECG_TIME_PD_QRS annotation
    # the file names the subject (Clark), an investigator and a birth date: none is kept
    meta = repr({k: v for k, v in vars(record).items() if k != "segments"})
    for phi in ("Clark", "Smith", "1953", "dizzy"):
        assert phi not in meta


def test_age_from_birth_date_when_no_reported_age() -> None:
    record = hl7aecg.read(PHILIPS_EXPORT)  # "Reported Age" has no value; birth 1976-01-01
    assert record.acquired == datetime(2008, 12, 23, 19, 44, 46)
    assert record.age == pytest.approx(32.98, abs=0.01)
    assert record.sex == "F"
    assert "1976" not in repr({k: v for k, v in vars(record).items() if k != "segments"})


def test_sniff() -> None:
    assert hl7aecg.sniff(FDA.read_bytes()[:4096], FDA)
    assert hl7aecg.sniff(PHILIPS_EXPORT.read_bytes()[:4096], PHILIPS_EXPORT)
    assert not hl7aecg.sniff(b'<?xml version="1.0"?><RestingECG></RestingECG>', FDA)
    assert not hl7aecg.sniff(b"\x00" * 128 + b"DICM", FDA)


def _mutated(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = FDA.read_text(encoding="utf-8")
    assert old in text
    out = tmp_path / "mutated.xml"
    out.write_text(text.replace(old, new, count), encoding="utf-8")
    return out


@pytest.mark.parametrize(
    "old, new, reason",
    [
        ('<scale value="2.5" unit="uV"/>', '<scale value="2.5" unit="furlong"/>', "unit not one of"),
        ("<digits> -2 -2 -2", "<digits> -2 x -2", "not all numbers"),
        ("<digits> -2 -2 -2", "<digits> -2", "differ in length"),
        ("MDC_ECG_LEAD_AVR", "MDC_ECG_LEAD_AVL", "appears twice"),
        ('<increment value="0.002" unit="s"/>', "", "time increment missing"),
        ("<AnnotatedECG", "<RestingECG", "not an HL7 aECG"),
    ],
)
def test_bad_content_is_rejected(tmp_path: Path, old: str, new: str, reason: str) -> None:
    path = _mutated(tmp_path, old, new)
    if "RestingECG" in new:  # keep the XML well formed: rename the closing tag too
        path.write_text(path.read_text().replace("</AnnotatedECG>", "</RestingECG>"))
    with pytest.raises(ReadError, match=reason):
        hl7aecg.read(path)


def test_truncated_and_entity_files_are_rejected(tmp_path: Path) -> None:
    data = FDA.read_bytes()
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match="malformed XML"):
        hl7aecg.read(truncated)
    bomb = tmp_path / "entity.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "yyyy">]><AnnotatedECG>&x;</AnnotatedECG>')
    with pytest.raises(ReadError):
        hl7aecg.read(bomb)


def test_error_messages_carry_no_patient_data(tmp_path: Path) -> None:
    path = _mutated(tmp_path, "<digits> -2 -2 -2", "<digits> Clark -2 -2")
    with pytest.raises(ReadError) as info:
        hl7aecg.read(path)
    assert "Clark" not in str(info.value) and "\n" not in str(info.value)
