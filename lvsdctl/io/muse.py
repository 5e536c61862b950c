"""GE MUSE XML reader (`<RestingECG>`), the study's own export format.

Layout of a MUSE export, as far as this reader uses it:

- `Waveform` elements, one per `WaveformType`: "Rhythm" (the 10 s recording) and "Median" (the
  median beat). Each has `SampleBase` x 10^`SampleExponent` samples per second (250, 500 and
  1000 Hz all occur) and one `LeadData` per stored lead: base64 little-endian int16 samples in
  `WaveFormData`, scaled by `LeadAmplitudeUnitsPerBit` in `LeadAmplitudeUnits` (microvolts), with
  `LeadSampleCountTotal`, `LeadByteCountTotal` and `LeadDataCRC32` to check them against.
- Most carts store 8 leads (I, II, V1-V6): III, aVR, aVL and aVF are derived here with
  Einthoven's and Goldberger's identities. Files that store all 12 are used as they are.
- Demographics are read from a whitelist only (`PatientID`, `PatientAge`, `AgeUnits`, `Gender`,
  acquisition date/time, device, site): names, birth dates, addresses, physicians, orders and
  free-text statements are never looked at, so they cannot leak.

Every inconsistency (counts, CRC, base64, duplicated or missing leads, unequal lengths, unknown
units, non-finite values) is a ReadError with a short reason naming the lead and the problem; the
reasons never quote patient data. Speed matters (ingest targets >1,500 files/s on 2 cores): the
base64 payloads (85% of a file's bytes) are lifted out before lxml parses the rest (`_lift_payloads`),
one pass over the elements, a SIMD base64 decoder when `pybase64` is installed, and numpy for the
arithmetic.
"""

from __future__ import annotations

import binascii
import os
from datetime import datetime
from pathlib import Path

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.record import LEADS12, ECGRecord, Segment, counts_to_mv
from lvsdctl.io.leads import MAX_LEADS, MAX_SAMPLES, canonical_lead
from lvsdctl.io.xmlsafe import (
    finite_number,
    parse_bytes,
    read_bounded,
    xml_root_name,
)

try:  # ISA-L's CRC-32 (carry-less multiply): the same checksum as zlib's, several times faster
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - isal is a dependency; zlib where it is missing
    from zlib import crc32 as _crc32

try:  # SIMD base64, several times faster than the standard library's; identical results
    from pybase64 import b64decode as _b64decode
except ImportError:  # pragma: no cover - exercised only where pybase64 is not installed
    from base64 import b64decode as _b64decode

FORMAT = "muse"

_UNITS_TO_MV = {"MICROVOLTS": 1e-3, "MILLIVOLTS": 1.0, "NANOVOLTS": 1e-6, "VOLTS": 1e3}
_AGE_TO_YEARS = {"YEARS": 1.0, "MONTHS": 1 / 12, "WEEKS": 7 / 365.25, "DAYS": 1 / 365.25,
                 "HOURS": 1 / 8766}
_SEX = {"MALE": "M", "FEMALE": "F", "M": "M", "F": "F"}
_LEAD_NAMES = {name.upper(): name for name in LEADS12}
_PRECORDIAL = ("V1", "V2", "V3", "V4", "V5", "V6")
_LIMB_DERIVED = ("III", "aVR", "aVL", "aVF")
_RATE_RANGE = {"Rhythm": (50.0, 20000.0), "Median": (50.0, 20000.0)}

# The only demographic elements ever read (a whitelist: everything else is skipped unread).
_PATIENT_FIELDS = frozenset({"PatientID", "PatientAge", "AgeUnits", "Gender"})
_TEST_FIELDS = frozenset({"AcquisitionDate", "AcquisitionTime", "AcquisitionDevice", "SiteName",
                          "Site", "LocationName"})
_WAVEFORM_FIELDS = frozenset({"WaveformType", "SampleBase", "SampleExponent", "NumberofLeads"})


def sniff(head: bytes, path: Path | str | None = None) -> bool:
    """True when the file's root element is `<RestingECG>`."""
    return xml_root_name(head) == "RestingECG"


def read(path: Path | str) -> ECGRecord:
    """Read one MUSE XML export; ReadError (one-line reason, no patient data) when it is invalid."""
    return read_bytes(read_bounded(path))


def read_bytes(data: bytes) -> ECGRecord:
    """`read` for a file already in memory (benchmarks, archives)."""
    lifted = _lift_payloads(data)
    if lifted is not None:
        document, payloads = lifted
        document, cuts = _cut_sections(document)
        try:
            root = parse_bytes(document)
            record = from_root(root, payloads)
        except ReadError:
            pass  # the full parse below gives the reason (and the line) for the file as it is
        else:
            # every lifted payload used, once; every cut section a child of the root
            if not payloads and sum(1 for child in root if child.tag in cuts) == len(cuts):
                return record
    return from_root(parse_bytes(data))


_OPEN, _CLOSE = b"<WaveFormData>", b"</WaveFormData>"


def _lift_payloads(data: bytes) -> tuple[bytes, dict[bytes, bytes]] | None:
    """The document with every `<WaveFormData>` payload replaced by a placeholder, and the payloads
    by placeholder (None when there is none, or a payload holds markup).

    libxml2 copies each payload into the tree and lxml into a Python string, only for the reader to
    turn it back into bytes: lifting them out first saves a third of the reading time. The record is
    always the one a parse of the whole file gives: `read_bytes` keeps it only when it was built
    without any error and used every payload exactly once (each is taken out of the dict when used),
    and otherwise parses the whole file. A payload that is not plain base64 text (markup, a character
    reference, CDATA) cannot decode, so such files always take the full parse; placeholders carry a
    random nonce, so no text in a file can pose as one.
    """
    start = data.find(_OPEN)
    if start < 0:
        return None
    nonce = b"@lvsdctl-" + os.urandom(8).hex().encode() + b"-"
    pieces: list[bytes] = []
    payloads: dict[bytes, bytes] = {}
    pos = 0
    while start >= 0:
        begin = start + len(_OPEN)
        end = data.find(b"<", begin)  # one byte: memchr, several times faster than looking for the tag
        if end < 0 or not data.startswith(_CLOSE, end):
            return None  # markup inside the payload (or no end): the full parse decides
        key = nonce + str(len(payloads)).encode()
        payloads[key] = data[begin:end]
        pieces += (data[pos:begin], key)
        pos = end
        start = data.find(_OPEN, end + len(_CLOSE))
    pieces.append(data[pos:])
    return b"".join(pieces), payloads


#: Top-level sections of a MUSE export that the reader never looks at and that make up most of a real
#: export's markup: GE 12SL's per-lead amplitude and interval measurements and its beat times (on the
#: real fixtures 55-85 % of the document once the payloads are out, 60-70 % of its parse time).
_UNREAD_SECTIONS = (b"IntervalMeasurements", b"AmplitudeMeasurements", b"QRSTimesTypes")
_NAME_END = frozenset(b"> \t\r\n/")


def _cut_sections(document: bytes) -> tuple[bytes, frozenset[str]]:
    """The document with each `_UNREAD_SECTIONS` element replaced by an empty placeholder element, and
    the placeholders' names (random: no file can contain one).

    A section is cut only when it is plain markup: it starts with its bare start tag, holds no comment,
    CDATA, processing instruction or character/entity reference (so every `<` in it begins a tag) and no
    second start tag of its own name, so its first end tag is its own. `read_bytes` then keeps the record
    only when every placeholder turned out to be a child of the root (not text inside a comment, CDATA or
    another element); otherwise the whole file is parsed. The record is then the one a full parse gives,
    whenever the full parse gives one; a file whose only fault is malformed markup inside a cut section
    (never read: GE's own measurements) is read rather than refused.
    """
    nonce = "lvsdctl-cut-" + os.urandom(8).hex() + "-"
    pieces: list[bytes] = []
    names: list[str] = []
    pos = 0
    for name in _UNREAD_SECTIONS:
        start = document.find(b"<" + name + b">", pos)
        if start < 0:
            continue  # absent, or (not MUSE's order) before the last cut: left to the parser
        close = b"</" + name + b">"
        end = document.find(close, start)
        if end < 0:
            continue
        end += len(close)
        if not _plain(document, start, end) or _reopens(document, name, start + 1, end):
            continue
        tag = f"{nonce}{len(names)}"
        pieces += (document[pos:start], b"<" + tag.encode() + b"/>")
        names.append(tag)
        pos = end
    if not names:
        return document, frozenset()
    pieces.append(document[pos:])
    return b"".join(pieces), frozenset(names)


def _plain(document: bytes, start: int, end: int) -> bool:
    """No comment, CDATA, DOCTYPE, processing instruction (`<!`, `<?`) or reference (`&`) between start
    and end. Single bytes are found with memchr; the pairs are looked for only when `!` or `?` occur."""
    find = document.find
    if find(b"&", start, end) >= 0:
        return False
    return ((find(b"!", start, end) < 0 or find(b"<!", start, end) < 0)
            and (find(b"?", start, end) < 0 or find(b"<?", start, end) < 0))


def _reopens(document: bytes, name: bytes, start: int, end: int) -> bool:
    """Whether another start tag `<name` (not a longer name) opens between start and end."""
    needle = b"<" + name
    i = document.find(needle, start, end)
    while i >= 0:
        if i + len(needle) >= end or document[i + len(needle)] in _NAME_END:
            return True
        i = document.find(needle, i + 1, end)
    return False


def from_root(root, payloads: dict[bytes, bytes] | None = None) -> ECGRecord:
    """Build the record from a parsed `<RestingECG>` element (`payloads`: see `_lift_payloads`)."""
    if root.tag != "RestingECG":
        raise ReadError("root element is not <RestingECG>")
    meta: dict[str, str] = {}
    waveforms: dict[str, object] = {}
    qrs_text = None
    for child in root:
        tag = child.tag
        if tag == "Waveform":
            kind = (child.findtext("WaveformType") or "").strip()
            if kind in ("Rhythm", "Median"):  # other types (rare) are not needed
                if kind in waveforms:
                    raise ReadError(f"two {kind} waveforms in one file")
                waveforms[kind] = child
        elif tag == "PatientDemographics":
            _pick(child, _PATIENT_FIELDS, meta)
        elif tag == "TestDemographics":
            _pick(child, _TEST_FIELDS, meta)
        elif tag == "RestingECGMeasurements":
            qrs_text = child.findtext("QRSDuration")
    if "Rhythm" not in waveforms:
        raise ReadError("no Rhythm waveform")

    fs, rhythm = _waveform(waveforms["Rhythm"], "Rhythm", payloads)
    segments = _complete(rhythm, "Rhythm", fs)
    derived = [name for name in _LIMB_DERIVED if name not in rhythm]
    if "Median" in waveforms:
        fs_med, median = _waveform(waveforms["Median"], "Median", payloads)
        segments += _complete(median, "Median", fs_med, 0.0, "median")

    extra: dict[str, str | float] = {}
    if derived:
        extra["derived_leads"] = " ".join(derived)
    qrs = _optional_number(qrs_text, "QRSDuration", 0.0, 1000.0)
    if qrs is not None:
        extra["qrs_ms"] = qrs
    site = meta.get("SiteName") or meta.get("Site") or meta.get("LocationName") or None
    return ECGRecord(
        segments=segments,
        source_format=FORMAT,
        patient_id=meta.get("PatientID") or None,
        acquired=_acquired(meta.get("AcquisitionDate"), meta.get("AcquisitionTime")),
        age=_age(meta.get("PatientAge"), meta.get("AgeUnits")),
        sex=_SEX.get((meta.get("Gender") or "").upper()),
        site=site,
        device=meta.get("AcquisitionDevice") or None,
        extra=extra,
    )


# --- waveforms ---------------------------------------------------------------------------------


def _waveform(wf, kind: str, payloads: dict[bytes, bytes] | None = None
              ) -> tuple[float, dict[str, tuple[np.ndarray, float]]]:
    """Sampling rate and {lead: (int16 counts, mV per count)} of one Waveform, fully validated."""
    fields: dict[str, str | None] = {}
    lead_elements = []
    for c in wf:
        tag = c.tag
        if tag == "LeadData":
            lead_elements.append(c)
        elif tag in _WAVEFORM_FIELDS:
            fields[tag] = c.text
    fs = _rate(fields.get("SampleBase"), fields.get("SampleExponent"), kind)
    if not lead_elements:
        raise ReadError(f"{kind} waveform has no leads")
    if len(lead_elements) > MAX_LEADS:
        raise ReadError(f"{kind} waveform holds {len(lead_elements)} leads (at most {MAX_LEADS})")
    declared = fields.get("NumberofLeads")
    if declared is not None and _int(declared, f"{kind} NumberofLeads") != len(lead_elements):
        raise ReadError(f"{kind} waveform declares {_int(declared, '')} leads but holds "
                        f"{len(lead_elements)}")
    leads: dict[str, tuple[np.ndarray, float]] = {}
    for position, element in enumerate(lead_elements, 1):
        name, signal = _lead(element, kind, payloads, position)
        if name in leads:
            raise ReadError(f"{kind} lead {name} appears twice")
        leads[name] = signal
    lengths = {counts.size for counts, _ in leads.values()}
    if len(lengths) > 1:
        raise ReadError(f"{kind} leads have unequal lengths ({min(lengths)} to {max(lengths)} "
                        "samples)")
    return fs, leads


def _lead(element, kind: str, payloads: dict[bytes, bytes] | None, position: int = 0
          ) -> tuple[str, tuple[np.ndarray, float]]:
    """(canonical lead name, (int16 counts, mV per count)) of one LeadData element, or ReadError.
    A LeadID that is no standard lead is named by its `position` (`lead3`), never quoted."""
    f = {c.tag: c.text for c in element}
    get = f.get
    raw_name = (get("LeadID") or "").strip()
    if not raw_name:
        raise ReadError(f"{kind} waveform: lead {position} has no LeadID")
    name = _LEAD_NAMES.get(raw_name.upper()) or canonical_lead(raw_name, position)

    text = get("WaveFormData")
    if not text:
        raise ReadError(f"{kind} lead {name}: no waveform data")
    sample_size = get("LeadSampleSize")
    if sample_size is not None and sample_size != "2" and _lead_int(sample_size, kind, name, "LeadSampleSize") != 2:
        raise ReadError(f"{kind} lead {name}: unsupported LeadSampleSize (expected 2 bytes)")
    units = get("LeadAmplitudeUnits")
    to_mv = _UNITS_TO_MV.get(units) or _UNITS_TO_MV.get((units or "").strip().upper())
    if to_mv is None:
        raise ReadError(f"{kind} lead {name}: LeadAmplitudeUnits " + ("missing" if not (units or "").strip() else
                        "not one of MICROVOLTS, MILLIVOLTS, NANOVOLTS, VOLTS"))
    per_bit_text = get("LeadAmplitudeUnitsPerBit")
    per_bit = _SCALES.get(per_bit_text)
    if per_bit is None:
        per_bit = finite_number(per_bit_text, f"{kind} lead {name} LeadAmplitudeUnitsPerBit")
    mv_per_bit = per_bit * to_mv
    # int16 samples times this scale, and the derived leads (up to twice as large), stay finite
    # in float32 when the scale is below float32's max / 65536: this one check stands in for a
    # NaN/inf scan of every sample.
    if not 0.0 < mv_per_bit * 65536.0 < 3.0e38:
        raise ReadError(f"{kind} lead {name}: amplitude scale {per_bit:g} out of range")
    if len(_SCALES) < 256 and per_bit_text is not None:
        _SCALES[per_bit_text] = per_bit

    payload = payloads.pop(text.encode(), None) if payloads is not None and text[0] == "@" else None
    data = _decode_base64(text if payload is None else payload, kind, name)
    n_bytes = len(data)
    byte_total = get("LeadByteCountTotal")
    if byte_total is not None and _lead_int(byte_total, kind, name, "LeadByteCountTotal") != n_bytes:
        raise ReadError(f"{kind} lead {name}: base64 decodes to {n_bytes} bytes, expected "
                        f"{_lead_int(byte_total, kind, name, 'LeadByteCountTotal')}")
    if n_bytes == 0 or n_bytes % 2:
        raise ReadError(f"{kind} lead {name}: base64 decodes to {n_bytes} bytes, not whole int16 samples")
    if n_bytes // 2 > MAX_SAMPLES:
        raise ReadError(f"{kind} lead {name}: {n_bytes // 2} samples (at most {MAX_SAMPLES})")
    sample_total = get("LeadSampleCountTotal")
    if sample_total is not None and _lead_int(sample_total, kind, name, "LeadSampleCountTotal") != n_bytes // 2:
        raise ReadError(f"{kind} lead {name}: {n_bytes // 2} samples, LeadSampleCountTotal says "
                        f"{_lead_int(sample_total, kind, name, 'LeadSampleCountTotal')}")
    crc = get("LeadDataCRC32")  # last: a length problem is the more useful reason
    if crc is not None and _crc32(data) != _lead_int(crc, kind, name, "LeadDataCRC32"):
        raise ReadError(f"{kind} lead {name}: CRC32 mismatch (corrupted waveform data)")
    return name, (np.frombuffer(data, dtype="<i2"), mv_per_bit)


#: Parsed LeadAmplitudeUnitsPerBit values (a handful of distinct gains across a whole archive).
_SCALES: dict[str, float] = {}


def _decode_base64(text: str | bytes, kind: str, name: str) -> bytes:
    """Strictly decoded base64: any character outside the alphabet (whitespace aside) or bad
    padding is a ReadError, never silently skipped as lenient decoders do."""
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeEncodeError:
            raise ReadError(f"{kind} lead {name}: waveform data is not valid base64") from None
    try:  # MUSE writes newline-separated lines: one cheap replace, then a validating decode
        return _b64decode(text.strip().replace(b"\n", b""), validate=True)
    except (binascii.Error, ValueError):
        pass
    try:  # CRLF line ends or indented lines: drop every kind of whitespace and try again
        return _b64decode(text.translate(None, b" \t\r\n\v\f"), validate=True)
    except (binascii.Error, ValueError):
        raise ReadError(f"{kind} lead {name}: waveform data is not valid base64") from None


def _complete(leads: dict[str, tuple[np.ndarray, float]], kind: str, fs: float, t0: float = 0.0,
              seg_kind: str = "rhythm") -> list[Segment]:
    """The 12 standard leads, deriving III/aVR/aVL/aVF if not stored, then any other stored lead (V3R,
    V7...) under its own name.

    Stored leads are kept as their int16 codes with their scale (`Segment.counts`): lossless, and half
    the bytes of float32. Derived leads are exact integer combinations of I and II: III = II - I in
    counts; aVR = -(I + II), aVL = 2I - II and aVF = 2II - I in half-counts (scale / 2). A derived lead
    that does not fit int16 (or I and II with different scales) is given as float32 millivolts instead.
    """
    missing = [name for name in _PRECORDIAL if name not in leads]
    if kind == "Rhythm" and missing:
        raise ReadError(f"Rhythm waveform has no lead {missing[0]}")
    need = [name for name in _LIMB_DERIVED if name not in leads]
    if need and ("I" not in leads or "II" not in leads):
        if kind == "Rhythm":
            lacking = "I" if "I" not in leads else "II"
            raise ReadError(f"Rhythm waveform has no lead {lacking} (needed for the limb leads)")
        need = []
    derived = _derive_all(need, leads["I"], leads["II"], fs, t0, seg_kind) if need else {}
    out = []
    for name in LEADS12:
        if name in leads:
            counts, scale = leads[name]
            out.append(Segment(name, None, fs, t0, seg_kind, counts=counts, scale=scale))
        elif name in derived:
            out.append(derived[name])
    out += [Segment(name, None, fs, t0, seg_kind, counts=counts, scale=scale)
            for name, (counts, scale) in leads.items() if name not in _LEAD_SET]
    return out


def _derive_all(need: list[str], lead_i: tuple[np.ndarray, float], lead_ii: tuple[np.ndarray, float],
                fs: float, t0: float, seg_kind: str) -> dict[str, Segment]:
    """The limb leads in `need` from I and II: Einthoven's III, Goldberger's aVR, aVL, aVF.

    All four at once in int32: III = II - I in counts; in half-counts (scale / 2) aVR = -(I + II),
    aVL = I - III = 2I - II, aVF = II + III = 2II - I. One range check and one conversion to int16 in the
    usual case; a lead outside int16 is given as float32 millivolts (its codes times its scale), and so
    are all four when I and II have different scales."""
    (ci, si), (cii, sii) = lead_i, lead_ii
    if si != sii:  # no common unit: millivolts
        i, ii = ci * si, cii * sii
        mv = {"III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2}
        return {name: Segment(name, mv[name].astype(np.float32), fs, t0, seg_kind) for name in need}
    a, b = ci.astype(np.int32), cii.astype(np.int32)
    codes = np.empty((4, a.size), dtype=np.int32)  # rows in _LIMB_DERIVED order
    np.subtract(b, a, out=codes[0])
    np.negative(np.add(a, b, out=codes[1]), out=codes[1])
    np.subtract(a, codes[0], out=codes[2])
    np.add(b, codes[0], out=codes[3])
    small = codes.astype(np.int16) if codes.size == 0 or _fits_int16(codes) else None
    out = {}
    for k, name in enumerate(_LIMB_DERIVED):
        if name not in need:
            continue
        scale = si if k == 0 else si / 2
        if small is not None or _fits_int16(codes[k]):
            row = small[k] if small is not None else codes[k].astype(np.int16)
            out[name] = Segment(name, None, fs, t0, seg_kind, counts=row, scale=scale)
        else:
            out[name] = Segment(name, counts_to_mv(codes[k], scale), fs, t0, seg_kind)
    return out


def _fits_int16(codes: np.ndarray) -> bool:
    return bool(codes.min() >= -32768 and codes.max() <= 32767)


_LEAD_SET = frozenset(LEADS12)


def _rate(base: str | None, exponent: str | None, kind: str) -> float:
    if base is None:
        raise ReadError(f"{kind} waveform has no SampleBase")
    value = finite_number(base, f"{kind} SampleBase")
    exp = _int(exponent, f"{kind} SampleExponent") if exponent is not None else 0
    if not -6 <= exp <= 6:
        raise ReadError(f"{kind} SampleExponent {exp} out of range")
    fs = value * 10.0**exp
    low, high = _RATE_RANGE[kind]
    if not low <= fs <= high:
        raise ReadError(f"{kind} sampling rate {fs:g} Hz out of range ({low:g}-{high:g} Hz)")
    return fs


# --- metadata ----------------------------------------------------------------------------------


def _pick(element, allowed: frozenset, into: dict[str, str]) -> None:
    """Copy the stripped text of whitelisted children (first occurrence wins)."""
    for c in element:
        tag = c.tag
        if tag in allowed and tag not in into:
            into[tag] = (c.text or "").strip()


def _acquired(date: str | None, time: str | None) -> datetime | None:
    """MUSE writes MM-DD-YYYY and HH:MM:SS; ISO YYYY-MM-DD is accepted too."""
    if not date:
        return None
    try:
        parts = [int(p) for p in date.replace("/", "-").split("-")]
        if len(parts) != 3:
            raise ValueError
        year, month, day = (parts[2], parts[0], parts[1]) if parts[2] > 31 else parts
        hms = [int(p) for p in time.split(":")] if time else [0, 0, 0]
        if not 2 <= len(hms) <= 3:
            raise ValueError
        return datetime(year, month, day, *hms)
    except (ValueError, OverflowError):
        raise ReadError("AcquisitionDate/AcquisitionTime is not a valid MM-DD-YYYY HH:MM:SS "
                        "date") from None


def _age(value: str | None, units: str | None) -> float | None:
    if not value:
        return None
    scale = _AGE_TO_YEARS.get((units or "YEARS").upper())
    if scale is None:
        raise ReadError("AgeUnits not one of YEARS, MONTHS, WEEKS, DAYS, HOURS")
    age = finite_number(value, "PatientAge") * scale
    if not 0.0 <= age <= 130.0:
        raise ReadError("PatientAge out of range")
    return age


# --- small parsing helpers (reasons name the field, never its value unless it is structural) ---


def _optional_number(text: str | None, what: str, low: float, high: float) -> float | None:
    if text is None or not text.strip():
        return None
    value = finite_number(text, what)
    if not low <= value <= high:
        raise ReadError(f"{what} out of range")
    return value


def _lead_int(text: str | None, kind: str, name: str, field: str) -> int:
    """`_int` for a lead's field; the field's full name is spelled out only when it is needed."""
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _int(text, f"{kind} lead {name} {field}")


def _int(text: str | None, what: str) -> int:
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ReadError(f"{what} is missing or not an integer") from None
