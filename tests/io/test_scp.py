"""SCP-ECG reader: real fixtures against an independent decode written here, synthetic files that
exercise custom Huffman tables, and corrupt input."""

from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import scp
from tests.hostile.exports import scp_record, scp_section
from lvsdctl.record import LEADS12

SCP_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "ecg" / "scp" / "ecg-contec"
EXAMPLE = SCP_DIR / "Example.scp"
DEMO = SCP_DIR / "demo.scp"
LONG = SCP_DIR / "0000050.ECG.scp"
# the real fixtures live in <repo>/../shared/fixtures; conftest's fixture skips when they are absent
needs_fixtures = pytest.mark.usefixtures("fixtures_dir")


# --- an independent decoder: plain bit strings and loops, sharing nothing with lvsdctl.io.scp ------

def _sections(data: bytes) -> dict[int, bytes]:
    out = {}
    (sec0_len,) = struct.unpack_from("<I", data, 10)
    for pos in range(6 + 16, 6 + sec0_len, 10):
        sid, length, index = struct.unpack_from("<HII", data, pos)
        if length:
            out[sid] = data[index - 1 + 16:index - 1 + length]  # body only
    return out


def _default_code_book() -> dict[str, int | str]:
    book: dict[str, int | str] = {"0": 0}
    for m in range(1, 9):
        book["1" * m + "00"] = m
        book["1" * m + "01"] = -m
    book["1111111110"] = "int8"
    book["1111111111"] = "int16"
    return book


def _decode_default_huffman(data: bytes, count: int) -> list[int]:
    bits = "".join(f"{b:08b}" for b in data)
    book, values, pos = _default_code_book(), [], 0
    while len(values) < count:
        end = pos + 1
        while bits[pos:end] not in book:
            end += 1
        symbol = book[bits[pos:end]]
        pos = end
        if isinstance(symbol, str):
            width = 8 if symbol == "int8" else 16
            raw = int(bits[pos:pos + width], 2)
            values.append(raw - (1 << width) if raw >= 1 << (width - 1) else raw)
            pos += width
        else:
            values.append(symbol)
    return values


def _undo_second_differences(d: list[int]) -> list[int]:
    x = list(d[:2])
    for n in range(2, len(d)):
        x.append(d[n] + 2 * x[n - 1] - x[n - 2])
    return x


def _independent(path: Path, section: int, count: int) -> list[np.ndarray]:
    data = path.read_bytes()
    secs = _sections(data)
    body = secs[section]
    n_leads = secs[3][0]
    avm, _, encoding, _ = struct.unpack_from("<HHBB", body, 0)
    sizes = struct.unpack_from(f"<{n_leads}H", body, 6)
    pos, leads = 6 + 2 * n_leads, []
    for size in sizes:
        chunk = body[pos:pos + size]
        pos += size
        if 2 in secs:
            values = _undo_second_differences(_decode_default_huffman(chunk, count))
            assert encoding == 2
        else:
            values = list(struct.unpack(f"<{size // 2}h", chunk[: size // 2 * 2]))[:count]
            assert encoding == 0
        leads.append(np.array(values, dtype=np.float64) * avm / 1e6)
    return leads


# --- real files ---------------------------------------------------------------------------------

@needs_fixtures
def test_example_huffman_second_difference_file() -> None:
    record = scp.read(EXAMPLE)
    rhythm = [s for s in record.segments if s.kind == "rhythm"]
    medians = [s for s in record.segments if s.kind == "median"]
    order = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6", "III", "aVR", "aVL", "aVF"]
    assert [s.lead for s in rhythm] == order and [s.lead for s in medians] == order
    for seg, expected in zip(rhythm, _independent(EXAMPLE, 6, 5000)):
        assert seg.fs == 500.0 and seg.signal.dtype == np.float32
        np.testing.assert_allclose(seg.signal, expected, atol=1e-6)
    # section 4 gives a 1198 ms reference beat: 599 samples at 500 Hz
    for seg, expected in zip(medians, _independent(EXAMPLE, 5, 599)):
        assert seg.fs == 500.0 and len(seg.signal) == 599
        np.testing.assert_allclose(seg.signal, expected, atol=1e-6)
    assert record.patient_id == "SBJ-123" and record.sex == "M"
    assert record.acquired == datetime(2002, 11, 22, 9, 10, 0)
    assert "ELI250" in record.device
    assert record.extra == {"qrs_ms": 120.0}  # section 7: QRS offset 554 - onset 434 ms


@needs_fixtures
def test_demo_uncompressed_eight_leads_at_1khz() -> None:
    record = scp.read(DEMO)
    stored = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]
    assert [s.lead for s in record.segments] == [*stored, "III", "aVR", "aVL", "aVF"]
    for seg, expected in zip(record.segments[:8], _independent(DEMO, 6, 10000)):
        assert seg.fs == 1000.0 and len(seg.signal) == 10000
        np.testing.assert_allclose(seg.signal, expected, atol=1e-6)
    # an 8-lead cart: the limb leads are derived from I and II, and the record says so
    assert record.extra["derived_leads"] == "III aVR aVL aVF"
    leads = record.leads()
    np.testing.assert_allclose(leads["III"].signal, leads["II"].signal - leads["I"].signal, atol=1e-6)
    np.testing.assert_allclose(leads["aVL"].signal, leads["I"].signal - leads["II"].signal / 2, atol=1e-6)
    assert record.patient_id == "12-678-QW" and record.acquired == datetime(2004, 6, 24, 16, 52, 16)
    assert record.age == 47.0  # computed from the birth date, which is not kept
    assert "1957" not in repr({k: v for k, v in vars(record).items() if k != "segments"})


@needs_fixtures
def test_long_recording_with_saturated_lead_sizes() -> None:
    # Section 3 declares 37855 samples (47 s at 800 Hz) but a 16-bit size field cannot hold
    # 75710 bytes: the writer stored 65534 bytes = 32767 samples per lead. The decoded leads obey
    # Einthoven's law exactly, which would fail if the lead boundaries were misplaced.
    record = scp.read(LONG)
    leads = record.leads()
    assert list(leads) == list(LEADS12)
    assert {len(s.signal) for s in record.segments} == {32767} and leads["I"].fs == 800.0
    for seg, expected in zip(record.segments, _independent(LONG, 6, 32767)):
        np.testing.assert_allclose(seg.signal, expected, atol=1e-6)
    np.testing.assert_allclose(leads["III"].signal, leads["II"].signal - leads["I"].signal, atol=1e-6)


@needs_fixtures
def test_sniff() -> None:
    for path in (EXAMPLE, DEMO, LONG):
        assert scp.sniff(path.read_bytes()[:4096], path)
    assert not scp.sniff(b'<?xml version="1.0"?><AnnotatedECG/>' + b" " * 64, EXAMPLE)
    assert not scp.sniff(b"\x00" * 128 + b"DICM" + b"\x00" * 64, EXAMPLE)


# --- synthetic files: custom Huffman tables, flags the reader must refuse -------------------------

_section, _build = scp_section, scp_record  # the SCP-ECG writer the hostile corpus uses too


# custom table: 0 -> '0', +1 -> '10', -1 -> '110', anything else -> '111' + 16-bit literal
CUSTOM = [("0", 1, 0), ("10", 2, 1), ("110", 3, -1), ("111", 19, 0)]


def _custom_section2() -> bytes:
    body = struct.pack("<HH", 1, len(CUSTOM))
    for prefix, total, base in CUSTOM:
        stored = int(prefix[::-1], 2)  # SCP stores codes with the first bit least significant
        body += struct.pack("<BBBhI", len(prefix), total, 1, base, stored)
    return body


def _encode_custom(values: np.ndarray) -> bytes:
    bits = ""
    for v in values.tolist():
        if v == 0:
            bits += "0"
        elif v == 1:
            bits += "10"
        elif v == -1:
            bits += "110"
        else:
            bits += "111" + format(v & 0xFFFF, "016b")
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def _synthetic(signals: np.ndarray, flags: int = 0b00010100, bimodal: int = 0) -> bytes:
    n_leads, n = signals.shape
    sec3 = struct.pack("<BB", n_leads, flags)
    sec3 += b"".join(struct.pack("<IIB", 1, n, code) for code in (1, 2)[:n_leads])
    coded = []
    for x in signals:
        d = x.copy()
        d[2:] = x[2:] - 2 * x[1:-1] + x[:-2]  # second differences
        coded.append(_encode_custom(d))
    sec6 = struct.pack("<HHBB", 5000, 2000, 2, bimodal) + struct.pack(f"<{n_leads}H", *map(len, coded))
    header = bytes([2]) + struct.pack("<H", 5) + b"P-42\x00" + bytes([8]) + struct.pack("<H", 1) + b"\x02"
    header += bytes([255]) + struct.pack("<H", 0)
    return _build({1: header, 2: _custom_section2(), 3: sec3, 6: sec6 + b"".join(coded)})


def _signals() -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(1500)
    base = (300 * np.sin(2 * np.pi * t / 400)).astype(np.int64)
    return np.stack([base + rng.integers(-3, 4, t.size), -base // 2 + rng.integers(-900, 900, t.size)])


def test_custom_huffman_table_round_trip(tmp_path: Path) -> None:
    signals = _signals()
    path = tmp_path / "synthetic.scp"
    path.write_bytes(_synthetic(signals))
    record = scp.read(path)
    assert [s.lead for s in record.segments] == ["I", "II", "III", "aVR", "aVL", "aVF"]
    assert record.patient_id == "P-42" and record.sex == "F"
    for seg, x in zip(record.segments[:2], signals):
        assert seg.fs == 500.0
        np.testing.assert_allclose(seg.signal, x * 0.005, atol=1e-6)  # 5000 nV per LSB


@pytest.mark.parametrize(
    "kwargs, reason",
    [({"flags": 0b00010101}, "reference beat subtraction"), ({"bimodal": 1}, "bimodal")],
)
def test_lossy_modes_are_refused(tmp_path: Path, kwargs: dict, reason: str) -> None:
    path = tmp_path / "lossy.scp"
    path.write_bytes(_synthetic(_signals(), **kwargs))
    with pytest.raises(ReadError, match=reason):
        scp.read(path)


@needs_fixtures
def test_corrupt_files_are_rejected(tmp_path: Path) -> None:
    data = EXAMPLE.read_bytes()
    truncated = tmp_path / "truncated.scp"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match="truncated"):
        scp.read(truncated)
    flipped = bytearray(data)
    flipped[5000] ^= 0x10
    bad = tmp_path / "flipped.scp"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(ReadError, match="CRC"):
        scp.read(bad)
    tiny = tmp_path / "tiny.scp"
    tiny.write_bytes(b"\x00" * 10)
    with pytest.raises(ReadError, match="too short"):
        scp.read(tiny)


def test_huffman_stream_ending_early_is_rejected(tmp_path: Path) -> None:
    signals = _signals()
    blob = bytearray(_synthetic(signals))
    path = tmp_path / "short.scp"
    # declare more samples than the bit stream holds (section 3 end sample), with valid CRCs
    secs = {sid: body for sid, body in _sections(bytes(blob)).items() if sid}
    secs[3] = secs[3][:2] + struct.pack("<IIB", 1, 99999, 1) + secs[3][11:]
    path.write_bytes(_build(secs))
    with pytest.raises(ReadError, match="99999 samples declared, its data holds at most"):  # before allocating
        scp.read(path)
    secs[3] = secs[3][:2] + struct.pack("<IIB", 1, 9999, 1) + secs[3][11:]  # fits the bits, not the codes
    path.write_bytes(_build(secs))
    with pytest.raises(ReadError, match="Huffman data end"):
        scp.read(path)


def test_sections_too_short_for_their_fields_are_rejected(tmp_path: Path) -> None:
    signals = _signals()
    secs = {sid: body for sid, body in _sections(_synthetic(signals)).items() if sid}
    secs[4] = b"\x01"  # reference-beat section with a valid CRC but no room for its length field
    secs[5] = b""
    path = tmp_path / "short_sections.scp"
    path.write_bytes(_build(secs))
    with pytest.raises(ReadError, match="shorter than its mandatory fields"):
        scp.read(path)


def test_undifference_matches_loops() -> None:
    d = np.array([5, -3, 2, 0, -7, 11, 1], dtype=np.int64)
    np.testing.assert_array_equal(scp._undifference(d, 1), np.cumsum(d))
    np.testing.assert_array_equal(scp._undifference(d, 2), _undo_second_differences(d.tolist()))
