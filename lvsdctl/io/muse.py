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
reasons never quote patient data. Speed matters (ingest targets >1,500 files/s on 2 cores): one
lxml parse, one pass over the elements, a SIMD base64 decoder when `pybase64` is installed, and
numpy for the arithmetic.
"""

from __future__ import annotations

import binascii
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.io.record import LEADS12, ECGRecord, Segment
from lvsdctl.io.xmlsafe import (
    finite_number,
    localname,
    parse_bytes,
    read_bounded,
    short_text,
    xml_root_name,
)

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
    return from_root(parse_bytes(data))


def from_root(root) -> ECGRecord:
    """Build the record from a parsed `<RestingECG>` element."""
    if root.tag != "RestingECG":
        raise ReadError(f"root element is <{short_text(localname(root.tag))}>, not <RestingECG>")
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

    fs, rhythm = _waveform(waveforms["Rhythm"], "Rhythm")
    segments = _complete(rhythm, "Rhythm", fs)
    derived = [name for name in _LIMB_DERIVED if name not in rhythm]
    if "Median" in waveforms:
        fs_med, median = _waveform(waveforms["Median"], "Median")
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


def _waveform(wf, kind: str) -> tuple[float, dict[str, tuple[np.ndarray, float]]]:
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
    declared = fields.get("NumberofLeads")
    if declared is not None and _int(declared, f"{kind} NumberofLeads") != len(lead_elements):
        raise ReadError(f"{kind} waveform declares {_int(declared, '')} leads but holds "
                        f"{len(lead_elements)}")
    leads: dict[str, tuple[np.ndarray, float]] = {}
    for element in lead_elements:
        name, signal = _lead(element, kind)
        if name in leads:
            raise ReadError(f"{kind} lead {name} appears twice")
        leads[name] = signal
    lengths = {counts.size for counts, _ in leads.values()}
    if len(lengths) > 1:
        raise ReadError(f"{kind} leads have unequal lengths ({min(lengths)} to {max(lengths)} "
                        "samples)")
    return fs, leads


def _lead(element, kind: str) -> tuple[str, tuple[np.ndarray, float]]:
    """(canonical lead name, (int16 counts, mV per count)) of one LeadData element, or ReadError."""
    f = {c.tag: c.text for c in element}
    raw_name = (f.get("LeadID") or "").strip()
    if not raw_name:
        raise ReadError(f"{kind} waveform: a lead has no LeadID")
    name = _LEAD_NAMES.get(raw_name.upper()) or short_text(raw_name)
    where = f"{kind} lead {name}"

    text = f.get("WaveFormData")
    if not text:
        raise ReadError(f"{where}: no waveform data")
    sample_size = f.get("LeadSampleSize")
    if sample_size is not None and _int(sample_size, f"{where} LeadSampleSize") != 2:
        raise ReadError(f"{where}: unsupported sample size {short_text(sample_size)} (expected 2 bytes)")
    units = (f.get("LeadAmplitudeUnits") or "").strip().upper()
    if units not in _UNITS_TO_MV:
        raise ReadError(f"{where}: unknown amplitude units {short_text(units) or '(missing)'}")
    per_bit = finite_number(f.get("LeadAmplitudeUnitsPerBit"), f"{where} LeadAmplitudeUnitsPerBit")
    mv_per_bit = per_bit * _UNITS_TO_MV[units]
    # int16 samples times this scale, and the derived leads (up to twice as large), stay finite
    # in float32 when the scale is below float32's max / 65536: this one check stands in for a
    # NaN/inf scan of every sample.
    if not 0.0 < mv_per_bit * 65536.0 < 3.0e38:
        raise ReadError(f"{where}: amplitude scale {per_bit:g} out of range")

    data = _decode_base64(text, where)
    n_bytes = len(data)
    byte_total = f.get("LeadByteCountTotal")
    if byte_total is not None:
        expected = _int(byte_total, f"{where} LeadByteCountTotal")
        if expected != n_bytes:
            raise ReadError(f"{where}: base64 decodes to {n_bytes} bytes, expected {expected}")
    if n_bytes == 0 or n_bytes % 2:
        raise ReadError(f"{where}: base64 decodes to {n_bytes} bytes, not whole int16 samples")
    sample_total = f.get("LeadSampleCountTotal")
    if sample_total is not None:
        expected = _int(sample_total, f"{where} LeadSampleCountTotal")
        if expected != n_bytes // 2:
            raise ReadError(f"{where}: {n_bytes // 2} samples, LeadSampleCountTotal says {expected}")
    crc = f.get("LeadDataCRC32")  # last: a length problem is the more useful reason
    if crc is not None and zlib.crc32(data) != _int(crc, f"{where} LeadDataCRC32"):
        raise ReadError(f"{where}: CRC32 mismatch (corrupted waveform data)")
    return name, (np.frombuffer(data, dtype="<i2"), mv_per_bit)


def _decode_base64(text: str, where: str) -> bytes:
    """Strictly decoded base64: any character outside the alphabet (whitespace aside) or bad
    padding is a ReadError, never silently skipped as lenient decoders do."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ReadError(f"{where}: waveform data is not valid base64") from None
    try:  # MUSE writes newline-separated lines: one cheap replace, then a validating decode
        return _b64decode(raw.strip().replace(b"\n", b""), validate=True)
    except (binascii.Error, ValueError):
        pass
    try:  # CRLF line ends or indented lines: drop every kind of whitespace and try again
        return _b64decode(raw.translate(None, b" \t\r\n\v\f"), validate=True)
    except (binascii.Error, ValueError):
        raise ReadError(f"{where}: waveform data is not valid base64") from None


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
    out = []
    for name in LEADS12:
        if name in leads:
            counts, scale = leads[name]
            out.append(Segment(name, None, fs, t0, seg_kind, counts=counts, scale=scale))
        elif name in need:
            out.append(_derive(name, leads["I"], leads["II"], fs, t0, seg_kind))
    out += [Segment(name, None, fs, t0, seg_kind, counts=counts, scale=scale)
            for name, (counts, scale) in leads.items() if name not in _LEAD_SET]
    return out


_HALF_COUNTS = {"aVR": (-1, -1), "aVL": (2, -1), "aVF": (-1, 2)}  # (weight of I, weight of II), scale / 2


def _derive(name: str, lead_i: tuple[np.ndarray, float], lead_ii: tuple[np.ndarray, float], fs: float,
            t0: float, seg_kind: str) -> Segment:
    """A limb lead from I and II: Einthoven's III, Goldberger's aVR, aVL, aVF."""
    (ci, si), (cii, sii) = lead_i, lead_ii
    if si == sii:
        a, b = ci.astype(np.int32), cii.astype(np.int32)
        if name == "III":
            codes, scale = b - a, si
        else:
            wi, wii = _HALF_COUNTS[name]
            codes, scale = wi * a + wii * b, si / 2
        if codes.size == 0 or (codes.min() >= -32768 and codes.max() <= 32767):
            return Segment(name, None, fs, t0, seg_kind, counts=codes.astype(np.int16), scale=scale)
    i, ii = ci * si, cii * sii  # float64 millivolts
    if name == "III":
        mv = ii - i
    elif name == "aVR":
        mv = -(i + ii) / 2
    elif name == "aVL":
        mv = i - ii / 2
    else:  # aVF
        mv = ii - i / 2
    return Segment(name, mv.astype(np.float32), fs, t0, seg_kind)


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
        raise ReadError(f"unknown AgeUnits {short_text(units)}")
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


def _int(text: str | None, what: str) -> int:
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ReadError(f"{what} is missing or not an integer") from None
