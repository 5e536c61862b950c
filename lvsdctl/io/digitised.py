"""Reader of lvsdctl's digitised-image ECG XML (`<DigitisedECG>`, spec in docs/digitised-format.md).

The study's type-1 ECGs were paper printouts digitised into XML: twelve printed 2.5 s pieces (I,
II, III from 0 s; aVR, aVL, aVF from 2.5 s; V1-V3 from 5 s; V4-V6 from 7.5 s) plus a 10 s rhythm
strip, each traced at its own resolution, so each keeps its own rate (samples / duration, 99-221
Hz in the study). Pieces become `Segment(kind="piece", t0=start)` and the strip
`Segment(kind="rhythm")`; nothing is resampled here (that is preprocessing's job).

Everything is validated (namespace and version, units, lead names, one piece per lead, sample
counts, numbers, finiteness); problems are ReadErrors naming the element and the problem, never
patient data.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.io.leads import check_sizes
from lvsdctl.record import LEADS12, ECGRecord, Segment
from lvsdctl.io.xmlsafe import (
    finite_number,
    localname,
    parse_bytes,
    read_bounded,
    xml_root_name,
)

FORMAT = "digitised"
NAMESPACE = "urn:lvsdctl:digitised-ecg:1"
VERSION = "1"

_LEAD_NAMES = {name.upper(): name for name in LEADS12}
_SEX = {"F": "F", "M": "M", "FEMALE": "F", "MALE": "M"}
_RATE_RANGE = (10.0, 10000.0)  # Hz; the study's pieces are 99-221 Hz
_META = frozenset({"PatientID", "Site", "AcquisitionDateTime", "Age", "Sex", "Units"})


def sniff(head: bytes, path: Path | str | None = None) -> bool:
    """True when the file's root element is `<DigitisedECG>`."""
    return xml_root_name(head) == "DigitisedECG"


def read(path: Path | str) -> ECGRecord:
    """Read one digitised-image ECG; ReadError (one-line reason, no patient data) when invalid."""
    return from_root(parse_bytes(read_bounded(path)))


def from_root(root) -> ECGRecord:
    """Build the record from a parsed `<DigitisedECG>` element."""
    if root.tag != f"{{{NAMESPACE}}}DigitisedECG":
        name = localname(root.tag)
        if name == "DigitisedECG":
            raise ReadError(f"digitised ECG in an unsupported namespace (expected {NAMESPACE})")
        raise ReadError("not a digitised ECG file (root element is not <DigitisedECG>)")
    if root.get("version") != VERSION:
        raise ReadError(f"unsupported digitised ECG version (this lvsdctl reads version {VERSION})")

    meta: dict[str, str] = {}
    pieces: dict[str, Segment] = {}
    strips: list[Segment] = []
    extra: dict[str, str | float] = {}
    for child in root:
        tag = localname(child.tag)
        if tag == "Piece":
            seg = _segment(child, "piece")
            if seg.lead in pieces:
                raise ReadError(f"two pieces for lead {seg.lead}")
            pieces[seg.lead] = seg
        elif tag == "RhythmStrip":
            strips.append(_segment(child, "rhythm"))
        elif tag == "Provenance":
            synthetic = (child.get("synthetic") or "").strip().lower()
            if synthetic:
                extra["synthetic"] = "true" if synthetic in ("true", "1", "yes") else "false"
        elif tag in _META and tag not in meta:
            meta[tag] = (child.text or "").strip()

    units = meta.get("Units")
    if units != "mV":
        raise ReadError("Units " + ("missing" if not units else "not mV") + " (expected mV)")
    missing = [lead for lead in LEADS12 if lead not in pieces]
    if missing:
        raise ReadError(f"no piece for lead {missing[0]} ({len(pieces)} of 12 pieces present)")
    if len(strips) != 1:
        raise ReadError(f"expected one RhythmStrip, found {len(strips)}")

    return ECGRecord(
        segments=[pieces[lead] for lead in LEADS12] + strips,
        source_format=FORMAT,
        patient_id=meta.get("PatientID") or None,
        acquired=_acquired(meta.get("AcquisitionDateTime")),
        age=_age(meta.get("Age")),
        sex=_SEX.get((meta.get("Sex") or "").upper()),
        site=meta.get("Site") or None,
        device=None,
        extra=extra,
    )


def _segment(element, kind: str) -> Segment:
    """One Piece or RhythmStrip as a Segment at its own rate (samples / duration)."""
    label = "piece" if kind == "piece" else "rhythm strip"
    raw_lead = (element.get("lead") or "").strip()
    lead = _LEAD_NAMES.get(raw_lead.upper())
    if lead is None:
        raise ReadError(f"{label} lead " + ("missing" if not raw_lead else "not one of the 12 standard leads"))
    where = f"{label} {lead}"
    start = finite_number(element.get("start"), f"{where} start")
    duration = finite_number(element.get("duration"), f"{where} duration")
    if start < 0:
        raise ReadError(f"{where}: negative start")
    if duration <= 0:
        raise ReadError(f"{where}: duration must be positive")
    try:
        samples = int(element.get("samples"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ReadError(f"{where}: samples is missing or not an integer") from None
    if samples < 2:
        raise ReadError(f"{where}: samples must be at least 2")
    check_sizes(where, samples=samples)
    fs = samples / duration
    if not _RATE_RANGE[0] <= fs <= _RATE_RANGE[1]:
        raise ReadError(f"{where}: rate {fs:.4g} Hz (samples / duration) out of range")
    tokens = (element.text or "").split()
    if len(tokens) != samples:
        raise ReadError(f"{where}: {len(tokens)} values, samples says {samples}")
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        raise ReadError(f"{where}: a value is not a decimal number") from None
    with np.errstate(over="ignore"):  # values beyond float32 become inf and are rejected below
        signal = values.astype(np.float32)
    if not np.isfinite(signal).all():
        raise ReadError(f"{where}: NaN or infinite values")
    return Segment(lead=lead, signal=signal, fs=fs, t0=start, kind=kind)


def _acquired(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ReadError("AcquisitionDateTime is not an ISO 8601 date-time") from None
    # echo tables and every other reader give wall-clock times without a zone: keep the time as
    # written so that pairing never compares aware with naive datetimes
    return when.replace(tzinfo=None)


def _age(text: str | None) -> float | None:
    if not text:
        return None
    age = finite_number(text, "Age")
    if not 0.0 <= age <= 130.0:
        raise ReadError("Age out of range")
    return age
