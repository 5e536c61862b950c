"""Decoder of Philips' XLI waveform compression (SierraECG / PhilipsECG XML `parsedwaveforms`).

The stream is a sequence of lead chunks. Each chunk: an 8-byte header (int32 LE payload size,
2 unused bytes, int16 LE first sample), then an LZW payload (10-bit codes, most significant bit
first, 256 literal codes, no reset, the table frozen once full). The decompressed bytes hold the
high bytes of all values followed by their low bytes; the values are second differences offset
by 64, so the samples follow x[i] = 2 x[i-1] - x[i-2] - c[i], c[2] = first sample,
c[i] = value[i-1] - 64.

The format is the one the `sierraecg` package decodes (used by the tests as the reference);
this implementation turns the bit unpacking and the second-difference recurrence into numpy
operations and keeps only the LZW table walk in Python, about ten times faster.
"""

from __future__ import annotations

import numpy as np

from lvsdctl.errors import ReadError

_CODE_BITS = 10
_MAX_CODE = (1 << _CODE_BITS) - 2  # 1023 ends a payload
_WEIGHTS = 1 << np.arange(_CODE_BITS - 1, -1, -1)


def decode(data: bytes, n_leads: int, max_samples: int = 1 << 22) -> list[np.ndarray]:
    """The first `n_leads` leads (int64 samples) of an XLI stream; ReadError when corrupt, or when a lead
    would decompress to more than `max_samples` samples (LZW expands each code to up to ~770 bytes: a
    small hostile payload could otherwise claim gigabytes)."""
    leads: list[np.ndarray] = []
    offset = 0
    while offset < len(data) and len(leads) < n_leads:
        if offset + 8 > len(data):
            raise ReadError("XLI stream ends inside a chunk header")
        size = int.from_bytes(data[offset:offset + 4], "little", signed=True)
        first = int.from_bytes(data[offset + 6:offset + 8], "little", signed=True)
        offset += 8
        if size <= 0 or offset + size > len(data):
            raise ReadError("XLI chunk size runs past the end of the data")
        leads.append(_samples(_lzw(data[offset:offset + size], 2 * max_samples), first))
        offset += size
    if len(leads) < n_leads:
        raise ReadError(f"XLI data holds {len(leads)} leads, {n_leads} expected")
    return leads


def _lzw(payload: bytes, limit: int) -> bytes:
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))
    n_codes = bits.size // _CODE_BITS
    codes = (bits[: n_codes * _CODE_BITS].reshape(n_codes, _CODE_BITS) @ _WEIGHTS).tolist()
    table = [bytes([i]) for i in range(256)]
    out = []
    total = 0
    previous = b""
    for code in codes:
        if code > _MAX_CODE:
            break
        if code < len(table):
            entry = table[code]
        elif code == len(table) and previous:  # the KwKwK case: code defined by this very step
            entry = previous + previous[:1]
        else:
            raise ReadError("XLI payload refers to an undefined LZW code")
        if previous and len(table) <= _MAX_CODE:
            table.append(previous + entry[:1])
        out.append(entry)
        total += len(entry)
        if total > limit:
            raise ReadError(f"XLI lead decompresses to more than {limit // 2} samples")
        previous = entry
    return b"".join(out)


def _samples(raw: bytes, first: int) -> np.ndarray:
    if len(raw) % 2:
        raw += b"\x00"
    half = len(raw) // 2
    if half == 0:
        raise ReadError("XLI lead holds no samples")
    buf = np.frombuffer(raw, dtype=np.uint8).astype(np.int64)
    values = ((buf[:half] << 8) | buf[half:]).astype(np.int16).astype(np.int64)
    if half < 3:
        return values
    c = np.empty(half, dtype=np.int64)
    c[:2] = 0
    c[2] = first
    c[3:] = values[2:-1] - 64
    # slope s[i] = x[i] - x[i-1] follows s[i] = s[i-1] - c[i]
    slope = (values[1] - values[0]) - np.cumsum(c[2:])
    out = np.empty(half, dtype=np.int64)
    out[:2] = values[:2]
    out[2:] = values[1] + np.cumsum(slope)
    return out
