"""Philips XML reader: every fixture against the sierraecg package's own reader, metadata, bad input."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import philips
from lvsdctl.record import LEADS12

# the real fixtures live in <repo>/../shared/fixtures; conftest's fixture skips when they are absent
pytestmark = pytest.mark.usefixtures("fixtures_dir")

ECG_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "ecg"
PHILIPS_DIR = ECG_DIR / "philips_xml" / "sierra-ecg-tools"
FILES = sorted(PHILIPS_DIR.glob("*.*"))
AD4D = PHILIPS_DIR / "ad4d3d80-d165_1-04_orig.xml"
UV_PER_LSB = 5.0  # every fixture states resolution 5 uV


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture_matches_sierraecg_reader(path: Path) -> None:
    sierraecg = pytest.importorskip("sierraecg")  # the independent reference (a test dependency)
    record = philips.read(path)
    reference = sierraecg.read_file(str(path), include_repbeats=True)
    rhythm = record.leads("rhythm")
    assert list(rhythm) == list(LEADS12)
    n = len(rhythm["I"].signal)
    assert 5200 <= n < 5500  # 11 s slot less the trailing calibration block
    assert record.extra["calibration_trimmed_s"] == pytest.approx((5500 - n) / 500.0)
    for lead in reference.leads:
        seg = rhythm[lead.label]
        assert seg.fs == 500.0 and seg.signal.dtype == np.float32 and len(seg.signal) == n
        expected = np.asarray(lead.samples, dtype=np.float64)[:n] * UV_PER_LSB / 1000.0
        np.testing.assert_allclose(seg.signal, expected, atol=1e-6, err_msg=lead.label)
        # what was cut is the calibration: identical 0 / 1 mV square in every lead
        tail = np.asarray(lead.samples[n:], dtype=np.float64) * UV_PER_LSB / 1000.0
        assert set(np.round(tail, 6)) <= {0.0, 1.0}
    medians = record.leads("median")
    assert set(medians) == (set(LEADS12) if reference.repbeats else set())
    for name, beat in reference.repbeats.items():
        seg = medians[name]
        assert seg.fs == float(beat.sampling_freq)
        samples = np.asarray(beat.samples, dtype=np.float64)
        valid = samples[samples != 32767]  # the 1.04 files pad 600-sample beats with 0x7FFF
        assert len(seg.signal) == len(valid)
        np.testing.assert_allclose(seg.signal, valid * beat.resolution / 1000.0, atol=1e-6)


def test_limb_leads_are_reconstructed() -> None:
    leads = philips.read(AD4D).leads()
    i, ii = leads["I"].signal, leads["II"].signal
    lsb = UV_PER_LSB / 1000.0
    # XLI keeps III/aVR/aVL/aVF as residuals; once undone they obey Einthoven/Goldberger to the
    # device's rounding (1-2 LSB)
    assert np.abs(leads["III"].signal - (ii - i)).max() <= lsb + 1e-6
    for name, expected in (("aVR", -(i + ii) / 2), ("aVL", i - ii / 2), ("aVF", ii - i / 2)):
        assert np.abs(leads[name].signal - expected).max() <= 2 * lsb + 1e-6, name
        assert np.abs(leads[name].signal - expected).mean() < lsb / 2, name


def test_same_rhythm_in_two_versions() -> None:
    a, b = philips.read(PHILIPS_DIR / "129DYPRG.XML"), philips.read(PHILIPS_DIR / "repbeats_example.xml")
    for name in LEADS12:
        np.testing.assert_array_equal(a.leads()[name].signal, b.leads()[name].signal)


def test_metadata_without_birth_date() -> None:
    record = philips.read(AD4D)
    assert record.patient_id == "9999" and record.sex == "F"
    assert record.acquired == datetime(2008, 12, 23, 19, 44, 46)
    assert record.age == pytest.approx(32.98, abs=0.01)  # from the birth date, which is dropped
    assert record.device.startswith("PageWriter Touch")
    assert record.extra["qrs_ms"] == 102.0  # crossleadmeasurements/meanqrsdur
    assert "1976" not in repr({k: v for k, v in vars(record).items() if k != "segments"})
    old = philips.read(PHILIPS_DIR / "129DYPRG.XML")
    assert old.age == 50.0 and old.sex == "M" and old.device == "HeartstartMRx"
    assert old.extra["qrs_ms"] == 135.0  # 1.03: measurements/globalmeasurements/meanqrsdur


def test_sniff_utf8_and_utf16() -> None:
    for path in FILES:
        assert philips.sniff(path.read_bytes()[:4096], path), path.name
    assert not philips.sniff(b'<?xml version="1.0"?><AnnotatedECG/>', AD4D)


def _rewritten(tmp_path: Path, old: str, new: str) -> Path:
    text = AD4D.read_text(encoding="utf-16")
    assert old in text
    out = tmp_path / "mutated.xml"
    out.write_text(text.replace(old, new, 1), encoding="utf-16")
    return out


def test_bad_files_are_rejected(tmp_path: Path) -> None:
    data = AD4D.read_bytes()
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match="malformed XML"):
        philips.read(truncated)
    with pytest.raises(ReadError, match="version"):
        philips.read(_rewritten(tmp_path, "<documentversion>1.04<", "<documentversion>9.99<"))
    with pytest.raises(ReadError, match="Base64"):
        philips.read(_rewritten(tmp_path, 'donotfilter="False">', 'donotfilter="False">!!'))
    with pytest.raises(ReadError, match="compression"):
        philips.read(_rewritten(tmp_path, 'compression="XLI"', 'compression="ZIP"'))
    with pytest.raises(ReadError, match="resolution"):
        philips.read(_rewritten(tmp_path, 'resolution="5"', 'resolution="five"'))


def test_truncated_xli_stream_is_rejected(tmp_path: Path) -> None:
    text = AD4D.read_text(encoding="utf-16")
    start = text.index(">", text.index("<parsedwaveforms")) + 1
    end = text.index("</parsedwaveforms>")
    payload = base64.b64decode("".join(text[start:end].split()))
    shorter = base64.b64encode(payload[: len(payload) // 3]).decode()
    out = tmp_path / "short.xml"
    out.write_text(text[:start] + shorter + text[end:], encoding="utf-16")
    with pytest.raises(ReadError, match="XLI"):
        philips.read(out)
