"""GE MUSE XML reader: every real fixture, lead by lead, against an independent decoder.

The reference decoder below uses only the standard library (xml.etree, base64, struct), so a bug
in the reader's lxml/pybase64/numpy path cannot hide behind the same bug in the check.
"""

from __future__ import annotations

import base64
import struct
import xml.etree.ElementTree as ET
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import muse
from lvsdctl.record import LEADS12, ECGRecord

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
MUSE_FILES = sorted(
    str(p.relative_to(FIXTURES / "ecg"))
    for folder in ("muse_xml", "muse_xml_simulator")
    for p in (FIXTURES / "ecg" / folder).rglob("*.xml")
)
SINUS = "muse_xml/egm/muse-sinus.xml"
# patients' names and birth dates, and physicians' names (MUSE's generic placeholders for editors and
# overreaders, such as "Name" or "LAST", are left out: they would match ordinary words)
PHI_TAGS = ("PatientLastName", "PatientFirstName", "DateofBirth", "MDLastName", "MDFirstName")


def reference_decode(path: Path) -> dict[str, tuple[float, dict[str, np.ndarray]]]:
    """{waveform type: (fs, {lead: float64 mV})} decoded with the standard library only."""
    root = ET.parse(path).getroot()
    out = {}
    for wf in root.findall("Waveform"):
        fs = float(wf.findtext("SampleBase")) * 10 ** int(wf.findtext("SampleExponent") or 0)
        leads = {}
        for ld in wf.findall("LeadData"):
            raw = base64.b64decode(ld.findtext("WaveFormData"))
            ints = struct.unpack(f"<{len(raw) // 2}h", raw)
            assert ld.findtext("LeadAmplitudeUnits") == "MICROVOLTS"
            per_bit = float(ld.findtext("LeadAmplitudeUnitsPerBit"))
            leads[ld.findtext("LeadID")] = np.array([v * per_bit / 1000.0 for v in ints])
        out[wf.findtext("WaveformType")] = (fs, leads)
    return out


def phi_values(path: Path) -> set[str]:
    """Names and birth dates in a fixture (patients, physicians), 3+ characters."""
    values = set()
    for el in ET.parse(path).getroot().iter():
        if el.tag.endswith(PHI_TAGS) and el.text and len(el.text.strip()) >= 3:
            values.add(el.text.strip())
            if el.tag == "DateofBirth":  # also the ISO spelling a datetime would print
                m, d, y = el.text.strip().split("-")
                values.add(f"{y}-{m}-{d}")
    return values


def record_text(record: ECGRecord) -> str:
    """Every field of a record except the sample values, as one string."""
    parts = [repr((s.lead, s.fs, s.t0, s.kind, s.signal.dtype, s.signal.shape))
             for s in record.segments]
    parts += [repr(getattr(record, name)) for name in
              ("source_format", "patient_id", "acquired", "age", "sex", "site", "device", "extra")]
    return "\n".join(parts)


def rewrite(src: Path, dst: Path, edit) -> Path:
    """Write a copy of a MUSE file with `edit(root)` applied (xml.etree, no reader code)."""
    root = ET.parse(src).getroot()
    edit(root)
    dst.write_bytes(ET.tostring(root, encoding="ISO-8859-1"))
    return dst


def lead_data(root, kind: str, lead: str):
    for wf in root.findall("Waveform"):
        if wf.findtext("WaveformType") == kind:
            for ld in wf.findall("LeadData"):
                if ld.findtext("LeadID") == lead:
                    return wf, ld
    raise KeyError(lead)


def set_samples(ld, ints: np.ndarray, crc: bool = True) -> None:
    raw = np.asarray(ints, dtype="<i2").tobytes()
    ld.find("WaveFormData").text = base64.b64encode(raw).decode()
    ld.find("LeadSampleCountTotal").text = str(len(ints))
    ld.find("LeadByteCountTotal").text = str(len(raw))
    if crc:
        ld.find("LeadDataCRC32").text = str(zlib.crc32(raw))
    else:
        ld.remove(ld.find("LeadDataCRC32"))


@pytest.fixture
def sinus(fixtures_dir) -> Path:
    return fixtures_dir / "ecg" / SINUS


# --- every fixture, lead by lead -----------------------------------------------------------------


@pytest.mark.parametrize("name", MUSE_FILES)
def test_fixture_matches_reference_decoder(fixtures_dir, name):
    path = fixtures_dir / "ecg" / name
    record = muse.read(path)
    ref = reference_decode(path)
    assert record.source_format == "muse"

    for kind, seg_kind in (("Rhythm", "rhythm"), ("Median", "median")):
        fs, stored = ref[kind]
        got = record.leads(seg_kind)
        assert list(got)[:12] == list(LEADS12)
        for lead, expected in stored.items():  # stored leads: identical to the float32 sample
            seg = got[lead]
            assert seg.fs == fs and seg.t0 == 0.0 and seg.signal.dtype == np.float32
            np.testing.assert_array_equal(seg.signal, expected.astype(np.float32), err_msg=lead)
        lead_i, lead_ii = stored["I"], stored["II"]  # derived: Einthoven and Goldberger
        derived = {"III": lead_ii - lead_i, "aVR": -(lead_i + lead_ii) / 2,
                   "aVL": lead_i - lead_ii / 2, "aVF": lead_ii - lead_i / 2}
        for lead, expected in derived.items():
            np.testing.assert_allclose(got[lead].signal, expected, rtol=0, atol=1e-6,
                                       err_msg=lead)


def test_rhythm_is_ten_seconds_at_500_hz_with_a_600_sample_median(sinus):
    record = muse.read(sinus)
    rhythm, median = record.leads("rhythm"), record.leads("median")
    assert len(rhythm) == len(median) == 12
    assert all(s.fs == 500.0 and s.signal.size == 5000 for s in rhythm.values())
    assert all(s.signal.size == 600 for s in median.values())
    assert record.extra["derived_leads"] == "III aVR aVL aVF"


def test_metadata_of_a_full_export(sinus):
    record = muse.read(sinus)
    assert record.patient_id == "081486213"
    assert record.acquired == datetime(2023, 4, 29, 22, 41, 16)
    assert record.age == 43.0 and record.sex == "M"
    assert record.site == "UNIVERSITY OF HOSPITAL" and record.device == "MV360"
    assert record.extra["qrs_ms"] == 86.0


def test_stripped_demographics_give_none(fixtures_dir):
    record = muse.read(fixtures_dir / "ecg" / "muse_xml/braveheart/example1.xml")
    assert (record.patient_id, record.acquired, record.age, record.sex, record.site) == (
        None, None, None, None, None)
    assert record.extra["qrs_ms"] == 96.0


@pytest.mark.parametrize("name", MUSE_FILES)
def test_no_names_or_birth_dates_reach_the_record(fixtures_dir, name):
    path = fixtures_dir / "ecg" / name
    text = record_text(muse.read(path))
    for value in phi_values(path):
        assert value not in text


# --- sampling rates --------------------------------------------------------------------------


@pytest.mark.parametrize(("base", "exponent", "fs"),
                         [("1000", "0", 1000.0), ("250", "0", 250.0), ("50", "1", 500.0)])
def test_sampling_rate_from_sample_base_and_exponent(sinus, tmp_path, base, exponent, fs):
    def edit(root):
        wf, _ = lead_data(root, "Rhythm", "I")
        wf.find("SampleBase").text, wf.find("SampleExponent").text = base, exponent

    record = muse.read(rewrite(sinus, tmp_path / "rate.xml", edit))
    assert {s.fs for s in record.leads("rhythm").values()} == {fs}
    assert {s.fs for s in record.leads("median").values()} == {500.0}


def test_twelve_stored_leads_are_used_as_they_are(sinus, tmp_path):
    rng = np.random.default_rng(0)
    stored = {name: rng.integers(-2000, 2000, 5000) for name in ("III", "aVR", "aVL", "aVF")}

    def edit(root):
        wf, template = lead_data(root, "Rhythm", "I")
        for name, ints in stored.items():
            ld = ET.fromstring(ET.tostring(template))
            ld.find("LeadID").text = name
            set_samples(ld, ints)
            wf.append(ld)
        wf.find("NumberofLeads").text = "12"

    record = muse.read(rewrite(sinus, tmp_path / "twelve.xml", edit))
    rhythm = record.leads("rhythm")
    for name, ints in stored.items():
        np.testing.assert_array_equal(rhythm[name].signal, (ints * 4.88 / 1000).astype(np.float32))
    assert "derived_leads" not in record.extra


def test_leads_are_kept_as_integer_codes(sinus):
    """Stored leads keep MUSE's int16 codes and scale; derived leads are exact integer combinations
    of I and II (III in counts, aVR/aVL/aVF in half-counts)."""
    record = muse.read(sinus)
    rhythm = record.leads("rhythm")
    i, ii = (rhythm[n].counts.astype(np.int32) for n in ("I", "II"))
    assert rhythm["V1"].counts.dtype == np.int16 and rhythm["V1"].scale == pytest.approx(0.00488)
    expected = {"III": (ii - i, 1.0), "aVR": (-(i + ii), 0.5), "aVL": (2 * i - ii, 0.5), "aVF": (2 * ii - i, 0.5)}
    for name, (codes, factor) in expected.items():
        np.testing.assert_array_equal(rhythm[name].counts, codes, err_msg=name)
        assert rhythm[name].scale == rhythm["I"].scale * factor
    assert all(s.counts is not None for s in record.segments)


@pytest.mark.parametrize("case", ["overflow", "different scales"])
def test_derived_leads_that_do_not_fit_int16_are_float32(sinus, tmp_path, case):
    """A derived lead outside int16 (or I and II with different scales) is given as float32 millivolts,
    with the same values as the formula."""
    def edit(root):
        _, lead_i = lead_data(root, "Rhythm", "I")
        _, lead_ii = lead_data(root, "Rhythm", "II")
        if case == "overflow":  # II - I, 2I - II and 2II - I outside int16
            set_samples(lead_i, np.full(5000, 20000))
            set_samples(lead_ii, np.full(5000, -20000))
        else:
            lead_ii.find("LeadAmplitudeUnitsPerBit").text = "2.44"

    record = muse.read(rewrite(sinus, tmp_path / f"{case}.xml", edit))
    rhythm = record.leads("rhythm")
    lead_i, lead_ii = (rhythm[n].signal.astype(np.float64) for n in ("I", "II"))
    formulas = {"III": lead_ii - lead_i, "aVR": -(lead_i + lead_ii) / 2, "aVL": lead_i - lead_ii / 2,
                "aVF": lead_ii - lead_i / 2}
    floats = {n for n in formulas if rhythm[n].counts is None}
    assert floats == ({"III", "aVL", "aVF"} if case == "overflow" else set(formulas))  # aVR = 0 fits
    for name, expected in formulas.items():
        np.testing.assert_allclose(rhythm[name].signal, expected, rtol=0, atol=1e-5, err_msg=name)
        assert rhythm[name].signal.dtype == np.float32


def test_other_amplitude_units_are_converted(sinus, tmp_path):
    def edit(root):
        for ld in root.iter("LeadData"):
            ld.find("LeadAmplitudeUnits").text = "MILLIVOLTS"
            ld.find("LeadAmplitudeUnitsPerBit").text = "0.005"

    record = muse.read(rewrite(sinus, tmp_path / "mv.xml", edit))
    ref = reference_decode(sinus)["Rhythm"][1]["V2"] / 4.88 * 0.005 * 1000
    np.testing.assert_allclose(record.leads()["V2"].signal, ref, rtol=1e-6)


# --- invalid files: rejected with a reason naming the problem ----------------------------------


def _truncate_v3(root):
    _, ld = lead_data(root, "Rhythm", "V3")
    ld.find("WaveFormData").text = ld.find("WaveFormData").text.strip()[:-4]


def _junk_in_v3(root):
    _, ld = lead_data(root, "Rhythm", "V3")
    ld.remove(ld.find("LeadDataCRC32"))
    ld.find("WaveFormData").text = "*" + ld.find("WaveFormData").text


def _flip_base64_char(root):
    _, ld = lead_data(root, "Rhythm", "V3")
    text = ld.find("WaveFormData").text.strip()
    ld.find("WaveFormData").text = ("B" if text[100] != "B" else "C").join(
        (text[:100], text[101:]))


def _short_v3(root):
    _, ld = lead_data(root, "Rhythm", "V3")
    set_samples(ld, np.zeros(4990, dtype=np.int16))


def _remove_v4(root):
    wf, ld = lead_data(root, "Rhythm", "V4")
    wf.remove(ld)
    wf.find("NumberofLeads").text = "7"


def _set(kind, lead, tag, value):
    def edit(root):
        _, ld = lead_data(root, kind, lead)
        ld.find(tag).text = value
    return edit


def _set_top(path, value):
    def edit(root):
        root.find(path).text = value
    return edit


def _rename_rhythm(root):
    wf, _ = lead_data(root, "Rhythm", "I")
    wf.find("WaveformType").text = "Other"


def _two_rhythms(root):
    wf, _ = lead_data(root, "Rhythm", "I")
    root.append(ET.fromstring(ET.tostring(wf)))


def _set_waveform(tag, value):
    def edit(root):
        wf, _ = lead_data(root, "Rhythm", "I")
        wf.find(tag).text = value
    return edit


INVALID = {
    "truncated": (_truncate_v3, r"^Rhythm lead V3: base64 decodes to 9999 bytes, expected 10000$"),
    "non-base64": (_junk_in_v3, r"lead V3: waveform data is not valid base64"),
    "crc": (_flip_base64_char, r"lead V3: CRC32 mismatch"),
    "sample count": (_set("Rhythm", "V1", "LeadSampleCountTotal", "4999"),
                     r"lead V1: 5000 samples, LeadSampleCountTotal says 4999"),
    "byte count": (_set("Median", "I", "LeadByteCountTotal", "1000"),
                   r"Median lead I: base64 decodes to 1200 bytes, expected 1000"),
    "duplicated lead": (_set("Rhythm", "V3", "LeadID", "V2"), r"Rhythm lead V2 appears twice"),
    "unequal lengths": (_short_v3, r"Rhythm leads have unequal lengths \(4990 to 5000"),
    "missing lead": (_remove_v4, r"Rhythm waveform has no lead V4"),
    "lead count": (_set_waveform("NumberofLeads", "12"), r"declares 12 leads but holds 8"),
    "unknown units": (_set("Rhythm", "II", "LeadAmplitudeUnits", "FURLONGS"),
                      r"lead II: LeadAmplitudeUnits not one of MICROVOLTS"),
    "infinite scale": (_set("Rhythm", "II", "LeadAmplitudeUnitsPerBit", "1e300"),
                       r"lead II: amplitude scale 1e\+300 out of range"),
    "nan scale": (_set("Rhythm", "II", "LeadAmplitudeUnitsPerBit", "nan"), r"not finite"),
    "sample size": (_set("Rhythm", "I", "LeadSampleSize", "4"), r"unsupported LeadSampleSize \(expected 2 bytes\)"),
    "no rhythm": (_rename_rhythm, r"^no Rhythm waveform$"),
    "two rhythms": (_two_rhythms, r"^two Rhythm waveforms in one file$"),
    "rate": (_set_waveform("SampleBase", "5"), r"Rhythm sampling rate 5 Hz out of range"),
    "bad date": (_set_top("TestDemographics/AcquisitionDate", "13-45-2021"), r"AcquisitionDate"),
    "bad age": (_set_top("PatientDemographics/PatientAge", "old"), r"PatientAge is missing or not"),
    "bad qrs": (_set_top("RestingECGMeasurements/QRSDuration", "-5"), r"QRSDuration out of range"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_content_is_rejected_with_a_reason(sinus, tmp_path, case):
    edit, reason = INVALID[case]
    path = rewrite(sinus, tmp_path / "bad.xml", edit)
    with pytest.raises(ReadError, match=reason) as info:
        muse.read(path)
    message = str(info.value)
    assert "\n" not in message
    for value in phi_values(sinus):
        assert value not in message


@pytest.mark.parametrize(("content", "reason"), [
    (b"", r"file is empty"),
    (b"<RestingECG><Waveform>", r"malformed XML: .*\(line 1\)"),
    (b"<?xml version='1.0'?><Other/>", r"root element is not <RestingECG>"),
    (b'<?xml version="1.0"?><!DOCTYPE RestingECG [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b"<RestingECG><PatientDemographics><PatientID>&x;</PatientID></PatientDemographics>"
     b"</RestingECG>", r"XML declares entities"),
])
def test_malformed_and_hostile_xml_is_rejected(tmp_path, content, reason):
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    with pytest.raises(ReadError, match=reason):
        muse.read(path)


def test_sniff_recognises_only_resting_ecg(sinus):
    assert muse.sniff(sinus.read_bytes()[:4096], sinus)
    assert not muse.sniff(b"<?xml version='1.0'?><AnnotatedECG/>", sinus)


@pytest.mark.parametrize(("edits", "field", "value"), [
    ({"PatientDemographics/AgeUnits": "MONTHS", "PatientDemographics/PatientAge": "18"}, "age", 1.5),
    ({"PatientDemographics/Gender": "FEMALE"}, "sex", "F"),
    ({"PatientDemographics/Gender": "UNKNOWN"}, "sex", None),
    ({"PatientDemographics/PatientAge": ""}, "age", None),
    ({"TestDemographics/AcquisitionTime": ""}, "acquired", datetime(2023, 4, 29)),
    ({"TestDemographics/AcquisitionDate": "2023-04-29"}, "acquired", datetime(2023, 4, 29, 22, 41, 16)),
    ({"TestDemographics/SiteName": ""}, "site", "1"),
])
def test_metadata_variants(sinus, tmp_path, edits, field, value):
    def edit(root):
        for path, text in edits.items():
            root.find(path).text = text

    record = muse.read(rewrite(sinus, tmp_path / "meta.xml", edit))
    assert getattr(record, field) == value


def test_standard_library_base64_fallback_gives_the_same_record(sinus, monkeypatch):
    """pybase64 is optional: without it the standard library decodes, identically and as strictly."""
    fast = muse.read(sinus)
    monkeypatch.setattr(muse, "_b64decode", base64.b64decode)
    slow = muse.read(sinus)
    for a, b in zip(fast.segments, slow.segments):
        assert a.lead == b.lead and a.kind == b.kind
        np.testing.assert_array_equal(a.signal, b.signal)
    with pytest.raises(ReadError, match="not valid base64"):
        muse._decode_base64("QUJD\n*REVG", "Rhythm", "X")


# --- payloads lifted out before parsing: the same record or the same refusal as a full parse ------


def _full_parse(data: bytes):
    from lvsdctl.io.xmlsafe import parse_bytes

    return muse.from_root(parse_bytes(data))


def _same_refusal(data: bytes) -> str:
    """The reason `read_bytes` refuses `data` with, checked to be the full parse's; returned."""
    with pytest.raises(ReadError) as fast_error:
        muse.read_bytes(data)
    with pytest.raises(ReadError) as full_error:
        _full_parse(data)
    assert str(fast_error.value) == str(full_error.value)
    return str(full_error.value)


def _same(a, b) -> None:
    assert [(s.lead, s.kind, s.fs) for s in a.segments] == [(s.lead, s.kind, s.fs) for s in b.segments]
    for x, y in zip(a.segments, b.segments):
        np.testing.assert_array_equal(x.signal, y.signal)
    assert (a.patient_id, a.acquired, a.age, a.sex, a.extra) == (b.patient_id, b.acquired, b.age, b.sex, b.extra)


@pytest.mark.parametrize("name", MUSE_FILES)
def test_lifted_payloads_give_the_full_parse_record(fixtures_dir, name):
    data = (fixtures_dir / "ecg" / name).read_bytes()
    from lvsdctl.io.xmlsafe import parse_bytes

    document, payloads = muse._lift_payloads(data)
    assert len(payloads) == data.count(b"<WaveFormData>")
    lifted = muse.from_root(parse_bytes(document), payloads)
    assert payloads == {}  # every payload used: no fallback to the full parse for a real export
    _same(lifted, _full_parse(data))


def test_payloads_that_are_not_plain_text_give_the_full_parse_result(sinus, tmp_path):
    data = sinus.read_bytes()
    start = data.index(b"<WaveFormData>") + len(b"<WaveFormData>")
    end = data.index(b"</WaveFormData>", start)
    first = data[start:start + 4]
    # a character reference (the full parse expands it: the lead decodes as before), CDATA, a comment
    for replacement in (b"&#" + str(first[0]).encode() + b";" + first[1:], b"<![CDATA[" + first + b"]]>",
                        first[:2] + b"<!-- x -->" + first[2:]):
        edited = data[:start] + replacement + data[start + 4:]
        _same(muse.read_bytes(edited), _full_parse(edited))
        _same(muse.read_bytes(edited), _full_parse(data))
    # invalid text in the payload: the same refusal as the full parse
    edited = data[:start] + b"**" + data[start + 2:end] + data[end:]
    _same_refusal(edited)


def test_placeholders_cannot_be_forged_and_comments_do_not_count(sinus):
    data = sinus.read_bytes()
    # a commented-out payload is lifted too, but nobody asks for it: the whole file is parsed instead
    commented = data.replace(b"<RestingECG>", b"<RestingECG><!-- <WaveFormData>AAAA</WaveFormData> -->", 1)
    _same(muse.read_bytes(commented), _full_parse(data))
    # text posing as a placeholder in a lead the scan does not match (attribute): invalid base64 as ever
    start = data.index(b"<WaveFormData>")
    end = data.index(b"</WaveFormData>", start)
    forged = data[:start] + b'<WaveFormData x="1">@lvsdctl-0000000000000000-0' + data[end:]
    with pytest.raises(ReadError, match="not valid base64"):
        muse.read_bytes(forged)


def test_syntax_errors_keep_their_line_numbers(sinus):
    data = sinus.read_bytes()
    broken = data.replace(b"</RestingECG>", b"</Broken>")  # the last line: after every payload
    assert broken != data
    assert "line" in _same_refusal(broken)
