"""GE MUSE reader: the measurement sections it never reads are cut out before parsing, and the record
is still the one a full parse gives (or the full parse decides)."""

from __future__ import annotations

import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import muse
from lvsdctl.io.xmlsafe import parse_bytes
from tests.io.test_muse import _full_parse as _full
from tests.io.test_muse import _same, _same_refusal

MEASURED = "muse_xml/ecg2dcm/guangxi_teaching_sinus_rhythm.xml"  # every cut section, demographics


@pytest.fixture
def measured(fixtures_dir) -> bytes:
    return (fixtures_dir / "ecg" / MEASURED).read_bytes()


def test_real_exports_are_cut_and_read_as_a_full_parse_reads_them(fixtures_dir):
    paths = sorted((fixtures_dir / "ecg" / "muse_xml").glob("*/*.xml"))
    assert len(paths) >= 7
    for path in paths:
        data = path.read_bytes()
        document, payloads = muse._lift_payloads(data)
        cut, names = muse._cut_sections(document)
        assert names and len(cut) < len(document)  # every real export has at least QRSTimesTypes
        root = parse_bytes(cut)
        assert sum(1 for child in root if child.tag in names) == len(names)
        _same(muse.from_root(root, payloads), _full(data))
        assert payloads == {}
        _same(muse.read_bytes(data), _full(data))


def test_the_big_sections_go(measured):
    cut, names = muse._cut_sections(muse._lift_payloads(measured)[0])
    assert len(names) == 3
    for section in muse._UNREAD_SECTIONS:
        assert b"<" + section + b">" not in cut


def _wrap(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


def test_a_comment_cannot_hide_markup_from_the_cut(measured):
    # the first end tag sits inside a comment: cutting up to it would expose the "demographics" after it,
    # which a full parse sees as a comment; the section holds `<!`, so it is not cut
    hidden = (b"<AmplitudeMeasurements><!-- </AmplitudeMeasurements><PatientDemographics><PatientID>666"
              b"</PatientID></PatientDemographics><AmplitudeMeasurements> -->")
    edited = _wrap(measured, b"<AmplitudeMeasurements>", hidden)
    record = muse.read_bytes(edited)
    _same(record, _full(edited))
    assert record.patient_id != "666"


@pytest.mark.parametrize("where", ["cdata", "comment", "nested"])
def test_a_section_that_is_not_a_child_of_the_root_falls_back_to_the_full_parse(measured, where):
    # IntervalMeasurements is looked for first, from the top: these copies come before the real one
    section = b"<IntervalMeasurements><MeasuredInterval>1</MeasuredInterval></IntervalMeasurements>"
    if where == "cdata":  # inside text that the reader keeps: the placeholder would become that text
        edited = _wrap(measured, b"<PatientID>", b"<PatientID><![CDATA[" + section + b"]]>")
    elif where == "comment":
        edited = _wrap(measured, b"<RestingECG>", b"<RestingECG><!-- " + section + b" -->")
    else:  # inside another section
        edited = _wrap(measured, b"<TestDemographics>", b"<TestDemographics>" + section)
    assert muse._cut_sections(muse._lift_payloads(edited)[0])[1]  # cut, then found out
    record = muse.read_bytes(edited)
    _same(record, _full(edited))


def test_a_second_start_tag_of_the_same_name_is_not_cut(measured):
    edited = _wrap(measured, b"<IntervalMeasurements>",
                   b"<IntervalMeasurements><IntervalMeasurements></IntervalMeasurements>")
    document = muse._lift_payloads(edited)[0]
    cut, names = muse._cut_sections(document)
    assert b"<IntervalMeasurements>" in cut
    _same(muse.read_bytes(edited), _full(edited))


def test_broken_markup_elsewhere_is_refused_as_before(measured):
    edited = _wrap(measured, b"</TestDemographics>", b"</TestDemographic>")
    _same_refusal(edited)


def test_broken_markup_inside_a_cut_section_is_not_looked_at(measured):
    """GE's own measurements are never read: an unclosed tag among them does not refuse the ECG (its
    waveforms are checked as ever); the record is the file's without that section."""
    edited = _wrap(measured, b"<AmplitudeMeasurementMode>", b"<Unclosed><AmplitudeMeasurementMode>")
    with pytest.raises(ReadError):
        _full(edited)
    _same(muse.read_bytes(edited), _full(measured))
