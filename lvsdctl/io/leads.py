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

#: Bounds on the sizes an export declares, checked before anything is allocated from them. A resting ECG
#: is 12 leads of 10 s; these leave room for long rhythm strips and many-lead research recordings, and
#: none for a header that claims billions of samples.
MAX_LEADS = 64
MAX_SAMPLES = 1 << 22  # per lead: 70 minutes at 1 kHz
MAX_TOTAL_SAMPLES = 1 << 25  # per ECG, every lead and segment: 128 MB of float32
RATE_RANGE = (1.0, 100_000.0)  # Hz


def check_sizes(what: str, *, leads: int | None = None, samples: int | None = None, fs: float | None = None) -> None:
    """ReadError when a declared lead count, sample count (per lead) or rate is out of bounds."""
    if leads is not None and not 0 < leads <= MAX_LEADS:
        raise ReadError(f"{what}: {leads} leads declared (at most {MAX_LEADS})")
    if samples is not None:
        if samples < 0 or samples > MAX_SAMPLES:
            raise ReadError(f"{what}: {samples} samples per lead declared (at most {MAX_SAMPLES})")
        if leads is not None and leads * samples > MAX_TOTAL_SAMPLES:
            raise ReadError(f"{what}: {leads} leads x {samples} samples declared (at most {MAX_TOTAL_SAMPLES} in all)")
    if fs is not None and not RATE_RANGE[0] <= fs <= RATE_RANGE[1]:
        raise ReadError(f"{what}: sampling rate out of range ({RATE_RANGE[0]:g}-{RATE_RANGE[1]:g} Hz)")


#: QRS durations outside this range (ms) are device failure codes, not measurements.
QRS_MS_RANGE = (20.0, 400.0)

# Prefixes and suffixes wrapped around the bare lead name by the various exports.
_PREFIX = re.compile(r"^(MDC_ECG_LEAD_|LEAD[\s_-]*)", re.IGNORECASE)
_SUFFIX = re.compile(r"\s*(\(EINTHOVEN\)|,\s*AUGMENTED VOLTAGE.*)$", re.IGNORECASE)
_DICOM_CODE = re.compile(r"^(?:5\.6\.3-9-|2:)(\d+)$")


#: Leads beyond the 12 that exports carry, kept under their standard name: right-sided and posterior
#: chest leads (V3R-V9R, V7-V9...), Frank's X, Y, Z (PTB: VX, VY, VZ) and EASI's ES, AS, AI.
_OTHER_LEAD = re.compile(r"^(?:V(?:[1-9]|1[0-2])R?|V?[XYZ]|ES|AS|AI)$")


def canonical_lead(name: str, position: int | None = None) -> str:
    """The standard spelling of a lead name: one of LEADS12, another standard lead (`V7`, `V4R`, `X`...),
    or, for any other label, `lead<position>` (its 1-based place in the file; `unknown` without one).

    An unrecognised label is not kept: it is the file's content (a corrupted or hostile export may hold
    anything there), and names reach the output, the messages and the logs.

    >>> canonical_lead("MDC_ECG_LEAD_AVR"), canonical_lead("Lead I (Einthoven)"), canonical_lead("v4r")
    ('aVR', 'I', 'V4R')
    """
    text = name.strip()
    code = _DICOM_CODE.match(text)
    if code and int(code.group(1)) in SCP_LEAD_CODES:
        return SCP_LEAD_CODES[int(code.group(1))]
    bare = _SUFFIX.sub("", _PREFIX.sub("", text)).strip()
    key = bare.upper().replace(" ", "")
    if key in _CANONICAL_BY_KEY:
        return _CANONICAL_BY_KEY[key]
    if _OTHER_LEAD.match(key):
        return key
    return unnamed_lead(position)


def unnamed_lead(position: int | None) -> str:
    """The name of a lead whose label is not a standard one: its place in the file."""
    return f"lead{position}" if position is not None else "unknown"


_SAFE_NAME = re.compile(r"^(?:lead\d{1,4}|unknown|scp\d{1,3})$")


def is_standard_name(name: str) -> bool:
    """Whether `name` is a name `canonical_lead` gives (so it holds nothing of a file's content)."""
    return name in _CANONICAL_BY_KEY.values() or bool(_OTHER_LEAD.match(name) or _SAFE_NAME.match(name))


def derive_limb_leads(leads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The missing ones of III, aVR, aVL, aVF computed from leads I and II (float32 arrays).

    Leads already present are left untouched and not returned; without both I and II nothing can
    be derived and an empty dict is returned.
    """
    if "I" not in leads or "II" not in leads:
        return {}
    lead_i = np.asarray(leads["I"], dtype=np.float32)
    lead_ii = np.asarray(leads["II"], dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf inputs stay so and are rejected by the checks
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
            raise ReadError(f"lead {seg.lead}: invalid sampling rate")
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
