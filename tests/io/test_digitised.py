"""Digitised-image ECG reader (docs/digitised-format.md) on small files written here."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import digitised
from lvsdctl.record import LEADS12

NS = "urn:lvsdctl:digitised-ecg:1"
LAYOUT = [(lead, 2.5 * (i // 3)) for i, lead in enumerate(LEADS12)]


def piece_values(lead: str, n: int) -> np.ndarray:
    """Distinct, recognisable values per lead (mV, 4 decimals like a tracer writes)."""
    k = LEADS12.index(lead) + 1 if lead in LEADS12 else 13
    return np.round(np.sin(np.linspace(0, 2 * np.pi * k, n)) * 0.1 * k, 4)


def document(pieces=None, strip=None, header=None, root=None) -> str:
    """A DigitisedECG document; each piece's sample count differs so rates differ too."""
    if pieces is None:
        pieces = [(lead, start, 2.5, 250 + 20 * i) for i, (lead, start) in enumerate(LAYOUT)]
    lines = [root or f'<DigitisedECG xmlns="{NS}" version="1">']
    lines += header if header is not None else [
        '<Provenance synthetic="true" digitiser="test"/>', "<PatientID>P000123</PatientID>",
        "<Site>A</Site>", "<AcquisitionDateTime>2021-03-04T10:22:00</AcquisitionDateTime>",
        "<Age>71</Age>", "<Sex>F</Sex>", "<Units>mV</Units>"]
    for lead, start, duration, n in pieces:
        values = " ".join(repr(v) for v in piece_values(lead, n).tolist())
        lines.append(f'<Piece lead="{lead}" start="{start}" duration="{duration}" '
                     f'samples="{n}">{values}</Piece>')
    for lead, start, duration, n in strip if strip is not None else [("II", 0.0, 10.0, 1480)]:
        values = " ".join(repr(v) for v in piece_values(lead, n).tolist())
        lines.append(f'<RhythmStrip lead="{lead}" start="{start}" duration="{duration}" '
                     f'samples="{n}">{values}</RhythmStrip>')
    lines.append("</DigitisedECG>")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(lines)


def write(tmp_path, text: str):
    path = tmp_path / "ecg.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_pieces_keep_their_own_rate_and_start(tmp_path):
    record = digitised.read(write(tmp_path, document()))
    assert record.source_format == "digitised"
    pieces = record.leads("piece")
    assert list(pieces) == list(LEADS12)
    for i, (lead, start) in enumerate(LAYOUT):
        seg = pieces[lead]
        n = 250 + 20 * i
        assert seg.kind == "piece" and seg.t0 == start and seg.fs == n / 2.5
        assert seg.signal.dtype == np.float32
        np.testing.assert_array_equal(seg.signal, piece_values(lead, n).astype(np.float32))
    strip = record.leads("rhythm")["II"]
    assert strip.fs == 148.0 and strip.t0 == 0.0 and strip.signal.size == 1480
    assert len(record.segments) == 13


def test_metadata(tmp_path):
    record = digitised.read(write(tmp_path, document()))
    assert record.patient_id == "P000123" and record.site == "A"
    assert record.acquired == datetime(2021, 3, 4, 10, 22)
    assert record.age == 71.0 and record.sex == "F"
    assert record.extra == {"synthetic": "true"}  # the digitiser's name is free text: not read


def test_optional_metadata_may_be_absent(tmp_path):
    record = digitised.read(write(tmp_path, document(header=["<Units>mV</Units>"])))
    assert (record.patient_id, record.acquired, record.age, record.sex, record.site) == (
        None, None, None, None, None)
    assert record.extra == {}


def _pieces(**change):
    """The default pieces with one lead's (start, duration, samples) replaced."""
    out = []
    for i, (lead, start) in enumerate(LAYOUT):
        out.append((lead, *change.get(lead, (start, 2.5, 250 + 20 * i))))
    return out


def _bad_value(text: str) -> str:
    return text.replace('samples="250">0.0 ', 'samples="250">0.0x ', 1)


def _nan_value(text: str) -> str:
    return text.replace('samples="250">0.0 ', 'samples="250">nan ', 1)


def _huge_value(text: str) -> str:
    return text.replace('samples="250">0.0 ', 'samples="250">1e300 ', 1)


def _count_mismatch(text: str) -> str:
    return text.replace('samples="250"', 'samples="251"', 1)


INVALID = {
    "duplicated lead": (document(pieces=_pieces() + [("V1", 5.0, 2.5, 300)]),
                        r"two pieces for lead V1"),
    "missing piece": (document(pieces=[p for p in _pieces() if p[0] != "aVF"]),
                      r"no piece for lead aVF \(11 of 12"),
    "unknown lead": (document(pieces=_pieces() + [("V7", 0.0, 2.5, 300)]),
                     r"piece lead not one of the 12 standard leads"),
    "no strip": (document(strip=[]), r"expected one RhythmStrip, found 0"),
    "two strips": (document(strip=[("II", 0.0, 10.0, 1480)] * 2), r"found 2"),
    "non-numeric": (_bad_value(document()), r"piece I: a value is not a decimal number"),
    "nan": (_nan_value(document()), r"piece I: NaN or infinite values"),
    "float32 overflow": (_huge_value(document()), r"piece I: NaN or infinite values"),
    "count mismatch": (_count_mismatch(document()), r"piece I: 250 values, samples says 251"),
    "zero duration": (document(pieces=_pieces(V2=(5.0, 0.0, 300))), r"piece V2: duration"),
    "negative start": (document(pieces=_pieces(V2=(-1.0, 2.5, 300))), r"piece V2: negative"),
    "absurd rate": (document(pieces=_pieces(V2=(5.0, 2.5e-6, 300))), r"piece V2: rate .* range"),
    "units": (document(header=["<Units>uV</Units>"]), r"Units not mV \(expected mV\)"),
    "no units": (document(header=[]), r"Units missing \(expected mV\)"),
    "version": (document(root=f'<DigitisedECG xmlns="{NS}" version="2">'),
                r"unsupported digitised ECG version \(this lvsdctl reads version 1\)"),
    "namespace": (document(root='<DigitisedECG version="1">'), r"unsupported namespace"),
    "bad date": (document(header=["<Units>mV</Units>",
                                  "<AcquisitionDateTime>yesterday</AcquisitionDateTime>"]),
                 r"AcquisitionDateTime is not an ISO 8601"),
    "bad age": (document(header=["<Units>mV</Units>", "<Age>200</Age>"]), r"Age out of range"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_files_are_rejected_with_a_reason(tmp_path, case):
    text, reason = INVALID[case]
    with pytest.raises(ReadError, match=reason) as info:
        digitised.read(write(tmp_path, text))
    assert "\n" not in str(info.value) and "P000123" not in str(info.value)


def test_other_root_element_is_rejected(tmp_path):
    with pytest.raises(ReadError, match=r"not a digitised ECG file \(root element is not <DigitisedECG>\)"):
        digitised.read(write(tmp_path, "<RestingECG/>"))


def test_sniff(tmp_path):
    head = document().encode()[:2048]
    assert digitised.sniff(head, tmp_path / "x")
    assert not digitised.sniff(b"<RestingECG/>", tmp_path / "x")


def test_reads_what_the_synthetic_cohort_writes(tmp_path):
    """The format agreement with the writer (lvsdctl.synth), when that module is present."""
    writer = pytest.importorskip("lvsdctl.synth.digitised_writer")
    rng = np.random.default_rng(7)
    t = np.arange(5000) / 500.0
    rhythm8 = np.stack([np.sin(2 * np.pi * (k + 1) * t) * 0.5 for k in range(8)])
    pieces = writer.trace_printout(rhythm8, rng)
    header = writer.DigitisedHeader("P000001", "A", datetime(2020, 1, 2, 3, 4, 5), 70, "M")
    path = tmp_path / "synth.xml"
    path.write_bytes(writer.digitised_xml(pieces, header))
    record = digitised.read(path)
    assert list(record.leads("piece")) == list(LEADS12)
    for piece, seg in zip(pieces, record.segments):
        assert seg.lead == piece.lead and seg.t0 == piece.start
        assert seg.fs == pytest.approx(piece.rate)
        np.testing.assert_allclose(seg.signal, piece.values, atol=5.1e-5)  # 4 decimals written
    assert record.extra["synthetic"] == "true"
