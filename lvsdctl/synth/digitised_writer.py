"""Write a simulated ECG as an image-digitised DigitisedECG XML file (synthetic).

The study's older ECGs were paper printouts, scanned and traced back into numbers, each printed
piece at its own sampling rate (99-221 Hz, rate = samples / duration). This module imitates that:
the standard 3x4 printout (I II III from 0 s, aVR aVL aVF from 2.5 s, V1 V2 V3 from 5 s, V4 V5 V6
from 7.5 s) plus a 10 s lead II rhythm strip, each traced at a rate drawn in [99, 221] Hz, with the
tracer's small errors: smoothing by the pen and the pixel, a jittery trace, a baseline estimate
that is slightly off, and values quantised to the scan's pixel height.

The format is the one documented in docs/architecture.md and read by `lvsdctl.io.digitised`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from lvsdctl.synth.ecg_model import FS, twelve_leads

NAMESPACE = "urn:lvsdctl:digitised-ecg:1"
PIECE_S = 2.5
STRIP_S = 10.0
RATE_RANGE = (99.0, 221.0)  # Hz, the study's digitised rates
#: The printout's 3x4 layout: (lead, start in s).
LAYOUT = tuple((lead, col * PIECE_S) for col, leads in enumerate(
    (("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"), ("V4", "V5", "V6"))) for lead in leads)


@dataclass(frozen=True)
class DigitisedHeader:
    """The little a digitised printout says about its patient (the ID is fake)."""

    patient_id: str
    site: str
    acquired: datetime
    age: int
    sex: str  # "F" or "M"


@dataclass(frozen=True)
class TracedPiece:
    lead: str
    start: float
    duration: float
    values: np.ndarray  # mV at len(values) / duration Hz

    @property
    def rate(self) -> float:
        return len(self.values) / self.duration


def trace(signal: np.ndarray, start: float, duration: float, rng: np.random.Generator,
          pixel_mv: float, jitter_mv: float) -> np.ndarray:
    """One printed piece of a 500 Hz lead, re-sampled at its own rate as a tracer would read it."""
    lo, hi = math.ceil(RATE_RANGE[0] * duration), math.floor(RATE_RANGE[1] * duration)
    n = int(rng.integers(lo, hi + 1))
    rate = n / duration
    # Pen and pixel width smooth the trace about as much as the new sampling interval (anti-alias).
    width = max(1, int(round(FS / rate)))
    smooth = np.convolve(signal, np.ones(width) / width, mode="same")
    t = start * FS + np.arange(n) * (FS / rate)
    values = np.interp(t, np.arange(len(signal)), smooth)
    values += rng.normal(0.0, jitter_mv, n) + rng.normal(0.0, 0.01)  # trace jitter, baseline estimate
    return np.round(values / pixel_mv) * pixel_mv


def trace_printout(rhythm8: np.ndarray, rng: np.random.Generator) -> list[TracedPiece]:
    """The 12 printed pieces and the lead II rhythm strip of one ECG (8 stored leads, 500 Hz, mV)."""
    leads = twelve_leads(rhythm8)
    pixel = float(rng.uniform(0.01, 0.03))  # mV per pixel of the scan
    jitter = float(rng.uniform(0.004, 0.012))
    pieces = [TracedPiece(lead, start, PIECE_S, trace(leads[lead], start, PIECE_S, rng, pixel, jitter))
              for lead, start in LAYOUT]
    pieces.append(TracedPiece("II", 0.0, STRIP_S, trace(leads["II"], 0.0, STRIP_S, rng, pixel, jitter)))
    return pieces


def _numbers(values: np.ndarray) -> str:
    """Decimal mV, at most 4 decimals (repr of values rounded to 0.1 uV is short and exact; + 0.0
    turns -0.0 into 0.0; values are 0 or >= 0.01 in magnitude, so never in exponent notation)."""
    return " ".join(map(repr, (np.round(values, 4) + 0.0).tolist()))


def digitised_xml(pieces: list[TracedPiece], hdr: DigitisedHeader) -> bytes:
    """The DigitisedECG document: 12 <Piece> elements, then one <RhythmStrip>."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<DigitisedECG xmlns="{NAMESPACE}" version="1">',
        '  <Provenance synthetic="true" digitiser="lvsdctl-synth"/>',
        f"  <PatientID>{hdr.patient_id}</PatientID>",
        f"  <Site>{hdr.site}</Site>",
        f"  <AcquisitionDateTime>{hdr.acquired.isoformat(timespec='seconds')}</AcquisitionDateTime>",
        f"  <Age>{hdr.age}</Age>",
        f"  <Sex>{hdr.sex}</Sex>",
        "  <Units>mV</Units>",
    ]
    for p in pieces:
        tag = "RhythmStrip" if p.duration == STRIP_S else "Piece"
        lines.append(f'  <{tag} lead="{p.lead}" start="{p.start:.1f}" duration="{p.duration:.1f}" '
                     f'samples="{len(p.values)}">{_numbers(p.values)}</{tag}>')
    lines.append("</DigitisedECG>")
    return ("\n".join(lines) + "\n").encode("utf-8")
