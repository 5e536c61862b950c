"""HL7 annotated ECG (aECG, `<AnnotatedECG>`, HL7 v3 2003-12) reader.

Waveforms live in `series` (code RHYTHM) and their `derivation/derivedSeries` (code
REPRESENTATIVE_BEAT = median beats). Each `sequenceSet` holds one time sequence (head + increment)
and one SLIST_PQ sequence per lead: value = origin + scale * digit, in the unit the file states.
Annotation sets reuse lead codes too, so only the sequenceSet path is followed; of the
annotations only the first QRS duration (MDC_ECG_TIME_PD_QRS) is kept, as extra["qrs_ms"].
Names, birth dates (used only to compute an age when none is reported), investigators and
comments are never put in the record.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.io.leads import (
    QRS_MS_RANGE,
    canonical_lead,
    check_sizes,
    complete_limb_leads,
    record_extra,
    validate_segments,
)
from lvsdctl.record import ECGRecord, Segment
from lvsdctl.io.xmlnav import attr_of, child, children, text_of
from lvsdctl.io.xmlsafe import localname, parse_file, xml_root_name

_TO_MV = {"uv": 1e-3, "µv": 1e-3, "mv": 1.0, "v": 1e3, "nv": 1e-6}
_TO_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_AGE_UNITS = {"a": 1.0, "yr": 1.0, "y": 1.0, "mo": 1 / 12, "wk": 7 / 365.25, "d": 1 / 365.25}
_AGE_CODE = "21612-7"  # LOINC "Reported Age"


def sniff(head: bytes, path: Path) -> bool:
    """True when the first bytes show an XML document whose root element is AnnotatedECG."""
    return xml_root_name(head) == "AnnotatedECG"


def read(path: Path) -> ECGRecord:
    """Read one HL7 aECG file into an ECGRecord (rhythm leads and representative beats)."""
    root = parse_file(path)
    if localname(root.tag) != "AnnotatedECG":
        raise ReadError("not an HL7 aECG file: root element is not AnnotatedECG")
    segments: list[Segment] = []
    rhythm_sets = []
    median_sets = []
    for comp in children(root, "component"):
        for series in children(comp, "series"):
            rhythm_sets += _sequence_sets(series)
            for deriv in children(series, "derivation"):
                for derived in children(deriv, "derivedSeries"):
                    if _code(derived) == "REPRESENTATIVE_BEAT":
                        median_sets += _sequence_sets(derived)
    if not rhythm_sets:
        raise ReadError("HL7 aECG file has no rhythm series/sequenceSet")
    parsed = [_sequence_set(s) for s in rhythm_sets]
    starts = [start for start, _, _ in parsed if start is not None]
    reference = min(starts) if starts else None
    for start, fs, leads in parsed:
        t0 = (start - reference).total_seconds() if (start and reference) else 0.0
        segments += [Segment(name, sig, fs, t0, "rhythm") for name, sig in leads]
    for sset in median_sets:
        _, fs, leads = _sequence_set(sset)
        segments += [Segment(name, sig, fs, 0.0, "median") for name, sig in leads]
    segments, derived = complete_limb_leads(segments)
    validate_segments(segments)
    acquired = _timestamp(attr_of(root, ("effectiveTime", "center"), "value")
                          or attr_of(root, ("effectiveTime", "low"), "value"))
    if acquired is None and reference is not None:
        acquired = reference
    qrs = _qrs_ms(root)
    return ECGRecord(
        segments=segments,
        source_format="hl7aecg",
        patient_id=_first_attr(root, "trialSubject", ("id",), "extension"),
        acquired=acquired,
        age=_age(root, acquired),
        sex=_sex(root),
        site=_site(root),
        device=_device(root),
        extra=record_extra(qrs, derived),
    )


def _sequence_sets(series) -> list:
    return [s for c in children(series, "component") for s in children(c, "sequenceSet")]


def _code(el) -> str | None:
    return attr_of(el, ("code",), "code")


def _sequence_set(sset) -> tuple[datetime | None, float, list[tuple[str, np.ndarray]]]:
    """(absolute start or None, sampling rate, [(lead, mV float32)]) of one sequenceSet."""
    start = None
    fs = None
    leads: list[tuple[str, np.ndarray]] = []
    position = 0
    for comp in children(sset, "component"):
        for seq in children(comp, "sequence"):
            position += 1
            code = _code(seq) or ""
            value = child(seq, "value")
            if value is None:
                raise ReadError(f"sequence {position} of a sequenceSet has no value element")
            if code.startswith("TIME_"):
                fs = 1.0 / _quantity(child(value, "increment"), _TO_S, "time increment")
                if code == "TIME_ABSOLUTE":
                    start = _timestamp(attr_of(value, ("head",), "value"))
            else:
                name = canonical_lead(code, position)  # a code that is no standard lead: by position
                leads.append((name, _lead_values(value, name)))
    check_sizes("sequenceSet", leads=len(leads) or None)
    if fs is None or not np.isfinite(fs) or fs <= 0:
        raise ReadError("sequenceSet has no valid time sequence (sampling increment)")
    lengths = {len(sig) for _, sig in leads}
    if len(lengths) > 1:
        raise ReadError(f"leads of one sequenceSet differ in length: {sorted(lengths)}")
    return start, fs, leads


def _lead_values(value, code: str) -> np.ndarray:
    origin = child(value, "origin")
    scale = child(value, "scale")
    digits = child(value, "digits")
    if scale is None or digits is None:
        raise ReadError(f"lead {code}: SLIST_PQ without scale or digits")
    scale_mv = _quantity(scale, _TO_MV, f"lead {code} scale")
    origin_mv = _quantity(origin, _TO_MV, f"lead {code} origin") if origin is not None else 0.0
    parts = (digits.text or "").split()
    try:
        raw = np.array(list(map(int, parts)), dtype=np.float64)  # digits are integers: fast path
    except (ValueError, OverflowError):
        try:
            raw = np.array(parts, dtype=np.float64)
        except ValueError:
            raise ReadError(f"lead {code}: digits are not all numbers") from None
    if raw.size == 0:
        raise ReadError(f"lead {code}: no samples")
    check_sizes(f"lead {code}", samples=raw.size)
    with np.errstate(over="ignore"):  # out-of-range values become inf, rejected by validate_segments
        return (origin_mv + scale_mv * raw).astype(np.float32)


def _quantity(el, units: dict[str, float], what: str) -> float:
    """A PQ element's value converted with the unit table (the file's own unit is honoured)."""
    if el is None:
        raise ReadError(f"{what} missing")
    unit = (el.get("unit") or "").strip().lower()
    if unit not in units:
        raise ReadError(f"{what}: unit " + ("missing" if not unit else f"not one of {', '.join(units)}"))
    try:
        value = float(el.get("value", ""))
    except ValueError:
        raise ReadError(f"{what} is not a number") from None
    if not np.isfinite(value):
        raise ReadError(f"{what} is not finite")
    return value * units[unit]


def _timestamp(value: str | None) -> datetime | None:
    """HL7 TS (YYYYMMDDHHMMSS[.fff][+ZZZZ]) as a naive local datetime, None when absent/invalid."""
    if not value:
        return None
    match = re.match(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d+)?", value.strip())
    if not match:
        return None
    parts = [int(p) if p else d for p, d in zip(match.groups()[:6], (0, 1, 1, 0, 0, 0))]
    frac = float(match.group(7)) if match.group(7) else 0.0
    try:
        return datetime(*parts, microsecond=int(round(frac * 1e6)) % 1_000_000)
    except ValueError:
        return None


def _first_attr(root, tag: str, path: tuple[str, ...], name: str) -> str | None:
    for el in root.iter("{*}" + tag):
        value = attr_of(el, path, name)
        if value:
            return value.strip()
    return None


def _sex(root) -> str | None:
    code = _first_attr(root, "subjectDemographicPerson", ("administrativeGenderCode",), "code")
    return code.upper() if code and code.upper() in ("F", "M") else None


def _age(root, acquired: datetime | None) -> float | None:
    for obs in root.iter("{*}relatedObservation"):
        if _code(obs) == _AGE_CODE:
            value = child(obs, "value")
            unit = (value.get("unit") or "a").lower() if value is not None else "a"
            try:
                return float(value.get("value")) * _AGE_UNITS[unit]
            except (TypeError, ValueError, KeyError, AttributeError):
                break
    # No reported age: derive it from the birth date, which is then dropped.
    born = _timestamp(_first_attr(root, "subjectDemographicPerson", ("birthTime",), "value"))
    if born and acquired and acquired > born:
        return round((acquired - born).days / 365.25, 2)
    return None


def _qrs_ms(root) -> float | None:
    """The first QRS duration annotation (the global or first-beat value), in ms."""
    for annotation in root.iter("{*}annotation"):
        if _code(annotation) != "MDC_ECG_TIME_PD_QRS":
            continue
        value = child(annotation, "value")
        unit = (value.get("unit") or "ms").lower() if value is not None else ""
        try:
            ms = float(value.get("value")) * {"ms": 1.0, "s": 1000.0}[unit]
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
        return ms if QRS_MS_RANGE[0] <= ms <= QRS_MS_RANGE[1] else None
    return None


def _site(root) -> str | None:
    for site in root.iter("{*}trialSite"):
        ident = attr_of(site, ("id",), "extension")
        if ident:
            return ident.strip()
        name = text_of(site, ("location", "name"))
        if name:
            return name
    return None


def _device(root) -> str | None:
    for author in root.iter("{*}seriesAuthor"):
        model = text_of(author, ("manufacturedSeriesDevice", "manufacturerModelName"))
        maker = text_of(author, ("manufacturerOrganization", "name"))
        parts = [p for p in (maker, model) if p]
        if parts:
            return " ".join(parts)
    return None
