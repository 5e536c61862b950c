"""Lead names and limb-lead arithmetic shared by every ECG reader.

Exports name the same lead many ways ("MDC_ECG_LEAD_AVR", "aVR", "AVR", "Lead aVR", "avr",
SCP-ECG lead code 62, DICOM code "2:62"); readers pass what they find through
`canonical_lead` so every record uses the LEADS12 spelling. Devices that store only I, II and
V1-V6 (MUSE, Philips' compressed format) get III, aVR, aVL and aVF from Einthoven's and
Goldberger's identities in `derive_limb_leads`.
"""

from __future__ import annotations

import re

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.record import LEADS12, Segment

_CANONICAL_BY_KEY = {name.upper(): name for name in LEADS12}

# SCP-ECG lead identifiers (EN 1064 table 4); DICOM's SCPECG "5.6.3-9-N" and MDC "2:N" codes
# reuse the same numbers.
SCP_LEAD_CODES: dict[int, str] = {
    1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6",
    61: "III", 62: "aVR", 63: "aVL", 64: "aVF",
}

#: QRS durations outside this range (ms) are device failure codes, not measurements.
QRS_MS_RANGE = (20.0, 400.0)

# Prefixes and suffixes wrapped around the bare lead name by the various exports.
_PREFIX = re.compile(r"^(MDC_ECG_LEAD_|LEAD[\s_-]*)", re.IGNORECASE)
_SUFFIX = re.compile(r"\s*(\(EINTHOVEN\)|,\s*AUGMENTED VOLTAGE.*)$", re.IGNORECASE)
_DICOM_CODE = re.compile(r"^(?:5\.6\.3-9-|2:)(\d+)$")


def canonical_lead(name: str) -> str:
    """The LEADS12 spelling of a lead name, or the stripped name itself if it is not one of them.

    >>> canonical_lead("MDC_ECG_LEAD_AVR"), canonical_lead("Lead I (Einthoven)"), canonical_lead("v5")
    ('aVR', 'I', 'V5')
    """
    text = name.strip()
    code = _DICOM_CODE.match(text)
    if code and int(code.group(1)) in SCP_LEAD_CODES:
        return SCP_LEAD_CODES[int(code.group(1))]
    bare = _SUFFIX.sub("", _PREFIX.sub("", text)).strip()
    key = bare.upper().replace(" ", "")
    return _CANONICAL_BY_KEY.get(key, bare or text)


def derive_limb_leads(leads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The missing ones of III, aVR, aVL, aVF computed from leads I and II (float32 arrays).

    Leads already present are left untouched and not returned; without both I and II nothing can
    be derived and an empty dict is returned.
    """
    if "I" not in leads or "II" not in leads:
        return {}
    lead_i = np.asarray(leads["I"], dtype=np.float32)
    lead_ii = np.asarray(leads["II"], dtype=np.float32)
    derived = {
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2,
        "aVL": lead_i - lead_ii / 2,
        "aVF": lead_ii - lead_i / 2,
    }
    return {name: sig.astype(np.float32) for name, sig in derived.items() if name not in leads}


def validate_segments(segments: list) -> None:
    """Reject (ReadError) what no reader may return: no leads, empty or non-finite signals,
    non-positive rates, or the same lead twice in one kind at one start time."""
    if not segments:
        raise ReadError("no ECG leads found")
    seen: set[tuple[str, str, float]] = set()
    for seg in segments:
        key = (seg.lead, seg.kind, round(float(seg.t0), 6))
        if key in seen:
            raise ReadError(f"lead {seg.lead} ({seg.kind}) appears twice")
        seen.add(key)
        if not (np.isfinite(seg.fs) and seg.fs > 0):
            raise ReadError(f"lead {seg.lead}: invalid sampling rate {seg.fs!r}")
        if seg.signal.ndim != 1 or seg.signal.size == 0:
            raise ReadError(f"lead {seg.lead} ({seg.kind}) has no samples")
        if not np.isfinite(seg.signal).all():
            raise ReadError(f"lead {seg.lead} ({seg.kind}) has NaN or infinite samples")


def complete_limb_leads(segments: list[Segment]) -> tuple[list[Segment], list[str]]:
    """`segments` plus III, aVR, aVL, aVF derived wherever a set stores I and II but not them.

    A set is the segments of one kind starting at one time (a rhythm, the median beats); I and II
    must share its rate and length. Returns (segments, names derived for the rhythm), so readers
    can report `extra["derived_leads"]` as the MUSE reader does for 8-lead carts.
    """
    groups: dict[tuple[str, float], dict[str, Segment]] = {}
    for seg in segments:
        groups.setdefault((seg.kind, round(float(seg.t0), 6)), {}).setdefault(seg.lead, seg)
    out = list(segments)
    derived_rhythm: list[str] = []
    for (kind, _), leads in groups.items():
        lead_i, lead_ii = leads.get("I"), leads.get("II")
        if lead_i is None or lead_ii is None or lead_i.fs != lead_ii.fs:
            continue
        if len(lead_i.signal) != len(lead_ii.signal):
            continue
        derived = derive_limb_leads({name: seg.signal for name, seg in leads.items()})
        for name in ("III", "aVR", "aVL", "aVF"):
            if name in derived:
                out.append(Segment(name, derived[name], lead_i.fs, lead_i.t0, kind))
                if kind == "rhythm":
                    derived_rhythm.append(name)
    return out, derived_rhythm


def record_extra(qrs_ms: float | None, derived: list[str]) -> dict[str, str | float]:
    """The `ECGRecord.extra` entries readers share: derived limb leads and the QRS duration."""
    extra: dict[str, str | float] = {"derived_leads": " ".join(derived)} if derived else {}
    if qrs_ms is not None:
        extra["qrs_ms"] = qrs_ms
    return extra
