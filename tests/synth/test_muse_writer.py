"""The synthetic MUSE XML files decode independently (xml.etree + base64) and look like real exports."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

STORED = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]


def _muse_files(out):
    files = sorted((out / "ecg").glob("MUSE_*.xml"))
    assert files
    return files


def _decode(lead_data) -> np.ndarray:
    return np.frombuffer(base64.b64decode(lead_data.findtext("WaveFormData")), "<i2")


def test_waveforms_decode_independently(small_cohort):
    out, _ = small_cohort
    for path in _muse_files(out):
        root = ET.parse(path).getroot()
        assert root.tag == "RestingECG"
        waves = {w.findtext("WaveformType"): w for w in root.findall("Waveform")}
        assert set(waves) == {"Median", "Rhythm"}
        for kind, n in (("Median", 600), ("Rhythm", 5000)):
            wf = waves[kind]
            assert wf.findtext("SampleBase") == "500" and wf.findtext("SampleExponent") == "0"
            leads = wf.findall("LeadData")
            assert [ld.findtext("LeadID") for ld in leads] == STORED
            for ld in leads:
                samples = _decode(ld)
                raw = samples.tobytes()
                assert len(samples) == n == int(ld.findtext("LeadSampleCountTotal"))
                assert int(ld.findtext("LeadByteCountTotal")) == 2 * n
                assert float(ld.findtext("LeadAmplitudeUnitsPerBit")) == 4.88
                assert ld.findtext("LeadAmplitudeUnits") == "MICROVOLTS"
                assert int(ld.findtext("LeadDataCRC32")) == zlib.crc32(raw)
                mv = samples * 4.88 / 1000.0
                assert 0.1 < np.ptp(mv) < 10.0  # a real ECG's range, in mV


def test_same_element_order_as_real_exports(small_cohort, fixtures_dir):
    real = fixtures_dir / "ecg" / "muse_xml" / "introecg" / "MUSE_20200923_093504_79000_example.xml"
    if not real.is_file():
        pytest.skip("real MUSE fixture not found")
    ref = ET.parse(real).getroot()
    ours = ET.parse(_muse_files(small_cohort[0])[0]).getroot()

    def order(root):  # top-level sections in document order, duplicates collapsed
        tags = [c.tag for c in root]
        return [t for i, t in enumerate(tags) if i == 0 or tags[i - 1] != t]

    ours_order = order(ours)
    assert ours_order == [t for t in order(ref) if t in ours_order]
    for section in ("PatientDemographics", "TestDemographics", "RestingECGMeasurements"):
        ref_tags = [c.tag for c in ref.find(section)]
        our_tags = [c.tag for c in ours.find(section)]
        assert our_tags == [t for t in ref_tags if t in our_tags], section
    for child_ref, child_ours in ((ref.find("Waveform/LeadData"), ours.find("Waveform/LeadData")),
                                  (ref.find("Waveform"), ours.find("Waveform"))):
        ref_tags = [c.tag for c in child_ref if c.tag != "LeadData"]
        assert [c.tag for c in child_ours if c.tag != "LeadData"] == ref_tags


def test_header_fields_and_fake_phi(small_cohort):
    out, _ = small_cohort
    for path in _muse_files(out):
        text = path.read_text(encoding="iso-8859-1")
        assert text.startswith('<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE RestingECG')
        assert "lvsdctl-synth" in text[:400]  # says it is synthetic, early, where ingest looks
        assert re.search(r"\n {9}<WaveFormData>\n[A-Za-z0-9+/=]{68}\n", text)
        root = ET.fromstring(text.encode("iso-8859-1"))
        demo = root.find("PatientDemographics")
        for tag in ("PatientID", "PatientLastName", "PatientFirstName", "DateofBirth", "PatientAge", "Gender"):
            assert demo.findtext(tag), tag
        assert demo.findtext("PatientID").startswith("SYN")
        assert re.fullmatch(r"\d\d-\d\d-\d{4}", demo.findtext("DateofBirth"))
        test = root.find("TestDemographics")
        assert re.fullmatch(r"\d\d-\d\d-\d{4}", test.findtext("AcquisitionDate"))
        assert re.fullmatch(r"\d\d:\d\d:\d\d", test.findtext("AcquisitionTime"))
        assert test.findtext("SiteName") in {"A", "B", "C"} and test.findtext("AcquisitionDevice")
        meas = root.find("RestingECGMeasurements")
        assert int(meas.findtext("QRSDuration")) >= 120  # the cart's LBBB criterion
        assert 45 <= int(meas.findtext("VentricularRate")) <= 115
        statements = " ".join(s.findtext("StmtText") for s in root.iter("DiagnosisStatement"))
        assert "left bundle branch block" in statements.lower()
