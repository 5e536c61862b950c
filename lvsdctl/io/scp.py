"""SCP-ECG (EN 1064 / ISO 11073-91064, protocol versions 1.x-3.0) reader.

No maintained Python reader of SCP-ECG exists on PyPI (the known ones are C#/Java/MATLAB), so
this module decodes the sections a resting ECG needs:

- 0 pointers (where each section lies), checked with the file and section CRCs (CRC-CCITT);
- 1 header tags: patient id (2), age (4; else from the birth date 5, which is then dropped),
  sex (8), acquiring device (14), institution (16), acquisition date (25) and time (26). Names,
  physicians and free-text tags are skipped unread;
- 2 Huffman tables, including the standard's default table (19999);
- 3 lead definitions (sample ranges and SCP lead codes);
- 4 only the reference-beat length, to know how many median samples section 5 holds;
- 5 reference (median) beats and 6 rhythm data: amplitude multiplier (nV per LSB), sample
  interval (us), none / first / second difference encoding, Huffman or plain int16 samples;
- 7 only the QRS duration of the first reference beat (QRS offset - onset), as extra["qrs_ms"].

Reference-beat subtraction and bimodal compression (lossy "high compression" files) are refused
with a clear reason rather than decoded approximately.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.io.leads import (
    QRS_MS_RANGE,
    SCP_LEAD_CODES,
    check_sizes,
    complete_limb_leads,
    record_extra,
    validate_segments,
)
from lvsdctl.record import ECGRecord, Segment

MAX_SCP_BYTES = 64 * 1024 * 1024
_DEFAULT_TABLE = 19999
_SECTION_HEADER = 16
_USED_SECTIONS = {1, 2, 3, 4, 5, 6, 7}
_AGE_UNITS = {1: 1.0, 2: 1 / 12, 3: 7 / 365.25, 4: 1 / 365.25, 5: 1 / (24 * 365.25)}
_SEX = {1: "M", 2: "F"}


@dataclass(frozen=True)
class _Code:
    prefix_bits: int
    total_bits: int
    mode: int  # 1: a value; 0: switch to the table numbered `base`
    base: int
    code: int  # the prefix, most significant bit first


def _default_table() -> list[_Code]:
    """EN 1064 Annex C default table: 0 is '0'; +-m (m = 1..8) is m ones, a zero and a sign bit;
    then '1111111110' + an 8-bit and '1111111111' + a 16-bit two's complement literal."""
    codes = [_Code(1, 1, 1, 0, 0b0)]
    for m in range(1, 9):
        prefix = ((1 << m) - 1) << 2
        codes += [_Code(m + 2, m + 2, 1, m, prefix), _Code(m + 2, m + 2, 1, -m, prefix | 1)]
    codes += [_Code(10, 18, 1, 0, 0b1111111110), _Code(10, 26, 1, 0, 0b1111111111)]
    return codes


def sniff(head: bytes, path: Path) -> bool:
    """True when the bytes after the CRC and length are an SCP section 0 (pointer) header."""
    if len(head) < 32:
        return False
    length = struct.unpack_from("<I", head, 2)[0]
    section_id, section_len = struct.unpack_from("<HI", head, 8)
    if section_id != 0 or length < 6 + section_len or section_len < _SECTION_HEADER + 10:
        return False
    first_id, _, first_index = struct.unpack_from("<HII", head, 22)
    return head[16:22] == b"SCPECG" or (first_id == 0 and first_index == 7)


def read(path: Path) -> ECGRecord:
    """Read an SCP-ECG file: rhythm leads (section 6) and median beats (section 5) in mV."""
    data = _read_bytes(path)
    try:
        return _decode(data)
    except struct.error:  # a section (with a valid CRC) shorter than the fields it must hold
        raise ReadError("SCP-ECG section shorter than its mandatory fields") from None


def _decode(data: bytes) -> ECGRecord:
    sections = _sections(data)
    if 3 not in sections or 6 not in sections:
        raise ReadError("SCP-ECG file lacks lead definitions (section 3) or rhythm data (section 6)")
    tables = _huffman_tables(sections.get(2))
    leads, counts = _lead_definitions(sections[3])
    fs, rhythm = _waveforms(sections[6], tables, counts, "rhythm data (section 6)")
    segments = [Segment(name, sig, fs) for name, sig in zip(leads, rhythm)]
    if 5 in sections and 4 in sections:
        beat_ms = struct.unpack_from("<H", sections[4], _SECTION_HEADER)[0]
        fs_med = _sample_rate(sections[5])
        n = int(round(beat_ms * fs_med / 1000.0))
        if n > 0:
            check_sizes("SCP-ECG reference beats (section 5)", samples=n)
            _, medians = _waveforms(sections[5], tables, [n] * len(leads), "reference beats (section 5)")
            segments += [Segment(name, sig, fs_med, 0.0, "median") for name, sig in zip(leads, medians)]
    segments, derived = complete_limb_leads(segments)
    validate_segments(segments)
    tags = _header_tags(sections.get(1))
    acquired = _acquired(tags)
    return ECGRecord(
        segments=segments,
        source_format="scp",
        patient_id=_string(tags.get(2)),
        acquired=acquired,
        age=_age(tags, acquired),
        sex=_SEX.get(tags[8][0]) if tags.get(8) else None,
        site=_site(tags),
        device=_device(tags.get(14)),
        extra=record_extra(_qrs_ms(sections.get(7)), derived),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SCP_BYTES + 1)
    except OSError as exc:
        raise ReadError(f"cannot read file ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_SCP_BYTES:
        raise ReadError("SCP-ECG file larger than the 64 MB limit")
    if len(data) < 6 + _SECTION_HEADER + 10:
        raise ReadError("file too short to be SCP-ECG")
    crc, length = struct.unpack_from("<HI", data, 0)
    if length != len(data):
        raise ReadError(f"SCP-ECG record length {length} but file size {len(data)} (truncated?)")
    if binascii.crc_hqx(data[2:], 0xFFFF) != crc:
        raise ReadError("SCP-ECG file CRC mismatch (corrupt file)")
    return data


def _sections(data: bytes) -> dict[int, bytes]:
    """Section id -> bytes of the section (header included), from the section 0 pointers."""
    section0 = _section_at(data, 6, 0)
    out = {0: section0}
    for pos in range(_SECTION_HEADER, len(section0) - 9, 10):
        section_id, length, index = struct.unpack_from("<HII", section0, pos)
        if length == 0 or section_id not in _USED_SECTIONS:
            continue  # absent, or not needed (text reports, vendor sections): not even checked
        out[section_id] = _section_at(data, index - 1, section_id, length)
    return out


def _section_at(data: bytes, offset: int, expected_id: int, length: int | None = None) -> bytes:
    if offset < 6 or offset + _SECTION_HEADER > len(data):
        raise ReadError(f"SCP-ECG section {expected_id} points outside the file")
    crc, section_id, section_len = struct.unpack_from("<HHI", data, offset)
    if section_id != expected_id or (length is not None and section_len != length):
        raise ReadError(f"SCP-ECG section {expected_id}: header does not match its pointer")
    if section_len < _SECTION_HEADER or offset + section_len > len(data):
        raise ReadError(f"SCP-ECG section {expected_id} runs past the end of the file")
    section = data[offset:offset + section_len]
    if binascii.crc_hqx(section[2:], 0xFFFF) != crc:
        raise ReadError(f"SCP-ECG section {expected_id} CRC mismatch (corrupt file)")
    return section


def _huffman_tables(section: bytes | None) -> list[list[_Code]] | None:
    """None when the data are plain int16 (no section 2); else the list of tables."""
    if section is None:
        return None
    body = memoryview(section)[_SECTION_HEADER:]
    try:
        (count,) = struct.unpack_from("<H", body, 0)
        if count == _DEFAULT_TABLE:
            return [_default_table()]
        tables, pos = [], 2
        for _ in range(count):
            (n_codes,) = struct.unpack_from("<H", body, pos)
            pos += 2
            table = []
            for _ in range(n_codes):
                prefix, total, mode, base, stored = struct.unpack_from("<BBBhI", body, pos)
                pos += 9
                # Stored codes are bit-reversed (first transmitted bit in the least significant bit).
                code = int(f"{stored:032b}"[::-1][:prefix] or "0", 2) if prefix else 0
                table.append(_Code(prefix, total, mode, base, code))
            tables.append(table)
    except struct.error:
        raise ReadError("SCP-ECG Huffman tables (section 2) are truncated") from None
    if not tables or not all(tables):
        raise ReadError("SCP-ECG section 2 defines no Huffman codes")
    return tables


def _lead_definitions(section: bytes) -> tuple[list[str], list[int]]:
    body = section[_SECTION_HEADER:]
    if len(body) < 2:
        raise ReadError("SCP-ECG lead definitions (section 3) are truncated")
    n_leads, flags = body[0], body[1]
    if flags & 0x01:
        raise ReadError("SCP-ECG reference beat subtraction is not supported (lossy 'high compression')")
    if len(body) < 2 + 9 * n_leads or n_leads == 0:
        raise ReadError("SCP-ECG lead definitions (section 3) are truncated or empty")
    names, counts = [], []
    for k in range(n_leads):
        start, end, code = struct.unpack_from("<IIB", body, 2 + 9 * k)
        if end < start:
            raise ReadError(f"SCP-ECG lead {k + 1}: end sample before start sample")
        names.append(SCP_LEAD_CODES.get(code, f"scp{code}"))
        counts.append(end - max(start, 1) + 1)  # 1-based inclusive; some writers start at 0
        check_sizes(f"SCP-ECG lead {k + 1}", samples=counts[-1])
    check_sizes("SCP-ECG lead definitions (section 3)", leads=n_leads)
    return names, counts


def _sample_rate(section: bytes) -> float:
    _, interval_us = struct.unpack_from("<HH", section, _SECTION_HEADER)
    if interval_us == 0:
        raise ReadError(f"SCP-ECG section {section[2]}: sample interval is zero")
    return 1e6 / interval_us


def _waveforms(section: bytes, tables, counts: list[int], what: str) -> tuple[float, list[np.ndarray]]:
    """(rate, per-lead mV float32) of section 5 or 6."""
    body = section[_SECTION_HEADER:]
    n_leads = len(counts)
    if len(body) < 6 + 2 * n_leads:
        raise ReadError(f"SCP-ECG {what} is truncated")
    avm_nv, _, encoding, bimodal = struct.unpack_from("<HHBB", body, 0)
    fs = _sample_rate(section)
    check_sizes(f"SCP-ECG {what}", fs=fs)
    if bimodal:
        raise ReadError(f"SCP-ECG {what}: bimodal compression is not supported")
    if encoding not in (0, 1, 2):
        raise ReadError(f"SCP-ECG {what}: unknown difference encoding {encoding}")
    if avm_nv == 0:
        raise ReadError(f"SCP-ECG {what}: amplitude multiplier is zero")
    sizes = struct.unpack_from(f"<{n_leads}H", body, 6)
    pos = 6 + 2 * n_leads
    if pos + sum(sizes) > len(body):
        raise ReadError(f"SCP-ECG {what}: lead data run past the end of the section")
    out = []
    for lead, (size, count) in enumerate(zip(sizes, counts)):
        chunk = body[pos:pos + size]
        pos += size
        if tables is None:
            # Plain int16. A lead longer than 65535 bytes cannot state its size in 16 bits; some
            # writers then store what fits, so the lead holds fewer samples than section 3 says.
            raw = np.frombuffer(chunk[: size // 2 * 2], dtype="<i2").astype(np.int64)
            if raw.size < count and size < 65534:
                raise ReadError(f"SCP-ECG {what}: lead {lead + 1} has {raw.size} of {count} samples")
            raw = raw[:count]
        else:
            raw = _huffman_decode(chunk, tables, count, lead)
        out.append((_undifference(raw, encoding) * (avm_nv * 1e-6)).astype(np.float32))
    return fs, out


def _huffman_decode(chunk: bytes, tables: list[list[_Code]], count: int, lead: int) -> np.ndarray:
    """Decode `count` values from an MSB-first Huffman bit stream (table switches allowed)."""
    luts = [_lookup(table) for table in tables]
    lut, width = luts[0]
    buf = bytes(chunk) + b"\x00" * 8
    n_bits = len(chunk) * 8
    if count > 8 * len(chunk):  # every value takes at least one bit: refuse before allocating
        raise ReadError(f"SCP-ECG lead {lead + 1}: {count} samples declared, its data holds at most "
                        f"{8 * len(chunk)}")
    values = np.empty(count, dtype=np.int64)
    pos = filled = 0
    while filled < count:
        if pos >= n_bits:
            raise ReadError(f"SCP-ECG lead {lead + 1}: Huffman data end after {filled}/{count} samples")
        byte, shift = pos >> 3, pos & 7
        window = int.from_bytes(buf[byte:byte + 8], "big")  # 64 bits from the current byte
        entry = lut[(window >> (64 - shift - width)) & ((1 << width) - 1)]
        if entry is None:
            raise ReadError(f"SCP-ECG lead {lead + 1}: invalid Huffman code")
        prefix, total, mode, base = entry
        if mode == 0:
            if not 1 <= base <= len(luts):
                raise ReadError(f"SCP-ECG lead {lead + 1}: switch to missing Huffman table {base}")
            lut, width = luts[base - 1]
            pos += prefix
            continue
        if total == prefix:
            values[filled] = base
        else:
            extra = total - prefix
            raw = (window >> (64 - shift - total)) & ((1 << extra) - 1)
            values[filled] = raw - (1 << extra) if raw >> (extra - 1) else raw
        filled += 1
        pos += total
    return values


_LUT_CACHE: dict[tuple[_Code, ...], tuple[list, int]] = {}


def _lookup(table: list[_Code]) -> tuple[list, int]:
    """A table indexed by the next `width` bits giving (prefix, total, mode, base) or None."""
    key = tuple(table)
    if key in _LUT_CACHE:
        return _LUT_CACHE[key]
    width = max(code.prefix_bits for code in table)
    # the decoder reads a 64-bit window starting up to 7 bits before the code
    if width > 16 or any(not code.prefix_bits <= code.total_bits <= 57 for code in table):
        raise ReadError("SCP-ECG Huffman table has codes longer than supported")
    lut: list = [None] * (1 << width)
    for code in table:
        if code.prefix_bits == 0:
            raise ReadError("SCP-ECG Huffman table has an empty code")
        span = width - code.prefix_bits
        first = code.code << span
        for i in range(first, first + (1 << span)):
            if lut[i] is None:
                lut[i] = (code.prefix_bits, code.total_bits, code.mode, code.base)
    if len(_LUT_CACHE) >= 64:  # devices reuse a few tables; never let odd files grow the cache
        _LUT_CACHE.clear()
    _LUT_CACHE[key] = (lut, width)
    return lut, width


def _undifference(d: np.ndarray, encoding: int) -> np.ndarray:
    """Undo first (x[n] = d[n] + x[n-1]) or second (x[n] = d[n] + 2x[n-1] - x[n-2]) differences."""
    if encoding == 0 or d.size == 0:
        return d
    if encoding == 1:
        return np.cumsum(d)
    if d.size < 3:
        return d.copy()
    # second differences: the slope s[n] = x[n] - x[n-1] is a running sum of d from n = 2 on.
    slope = np.cumsum(np.concatenate(([d[1] - d[0]], d[2:])))
    return np.concatenate(([d[0]], d[0] + np.cumsum(slope)))


def _qrs_ms(section: bytes | None) -> float | None:
    """QRS offset - onset (ms) of the first reference beat in section 7 (29999 = not measured)."""
    if section is None or len(section) < _SECTION_HEADER + 6 + 8:
        return None
    onset, offset = struct.unpack_from("<HH", section, _SECTION_HEADER + 6 + 4)
    if 29999 in (onset, offset) or offset <= onset:
        return None
    qrs = float(offset - onset)
    return qrs if QRS_MS_RANGE[0] <= qrs <= QRS_MS_RANGE[1] else None


def _header_tags(section: bytes | None) -> dict[int, bytes]:
    """Tag -> value of section 1, for the tags lvsdctl may keep (never names, DOB kept only for age)."""
    keep = {2, 4, 5, 8, 14, 16, 25, 26}
    tags: dict[int, bytes] = {}
    if section is None:
        return tags
    pos = _SECTION_HEADER
    while pos + 3 <= len(section):
        tag = section[pos]
        (length,) = struct.unpack_from("<H", section, pos + 1)
        value = section[pos + 3:pos + 3 + length]
        pos += 3 + length
        if tag == 255:
            break
        if tag in keep and tag not in tags:
            tags[tag] = value
    return tags


def _string(value: bytes | None) -> str | None:
    if not value:
        return None
    text = value.split(b"\x00", 1)[0].decode("latin-1").strip()
    return text or None


def _date(value: bytes | None) -> date | None:
    if not value or len(value) < 4:
        return None
    year, month, day = struct.unpack_from("<HBB", value)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _acquired(tags: dict[int, bytes]) -> datetime | None:
    day = _date(tags.get(25))
    if day is None:
        return None
    clock = tags.get(26) or b""
    try:
        at = time(*clock[:3]) if len(clock) >= 3 else time()
    except ValueError:
        at = time()
    return datetime.combine(day, at)


def _age(tags: dict[int, bytes], acquired: datetime | None) -> float | None:
    value = tags.get(4)
    if value and len(value) >= 3:
        (amount,) = struct.unpack_from("<H", value)
        unit = value[2]
        if amount > 0 and unit in _AGE_UNITS:
            return round(amount * _AGE_UNITS[unit], 2)
    born = _date(tags.get(5))  # only used for the age, then dropped
    if born and acquired and acquired.date() > born:
        return round((acquired.date() - born).days / 365.25, 2)
    return None


def _site(tags: dict[int, bytes]) -> str | None:
    device = tags.get(14)
    if device and len(device) >= 2:
        (institution,) = struct.unpack_from("<H", device)
        if institution:
            return str(institution)
    return _string(tags.get(16))


# Manufacturer codes of tag 14 byte 7 (EN 1064 table 12); 100/255 mean "other": use the string.
_MANUFACTURERS = {
    1: "Burdick", 2: "Cambridge Heart", 3: "Compumed", 4: "Datamed", 5: "Fukuda", 6: "Hewlett-Packard",
    7: "Marquette", 8: "Mortara", 9: "Nihon Kohden", 10: "Okin", 11: "Quinton", 12: "Siemens",
    13: "Spacelabs", 14: "Telemed", 15: "Hellige", 16: "ESA-OTE", 17: "Schiller", 18: "Picker-Schwarzer",
    19: "Elettronic-Trentina", 20: "Zwonitz",
}


def _device(value: bytes | None) -> str | None:
    """Manufacturer and model from tag 14: model at bytes 8-13, manufacturer by code (byte 7) or
    as the fifth of the strings that follow byte 35."""
    if not value or len(value) < 14:
        return None
    model = _printable(value[8:14])
    maker = _MANUFACTURERS.get(value[7])
    if maker is None and len(value) > 36:
        strings = value[36:].split(b"\x00")
        maker = _printable(strings[4]) if len(strings) > 4 else None
    return " ".join(p for p in (maker, model) if p) or None


def _printable(raw: bytes) -> str | None:
    text = raw.split(b"\x00", 1)[0].decode("latin-1").strip()
    return text if text and text.isprintable() else None
