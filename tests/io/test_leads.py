"""Lead-name normalisation, limb-lead derivation and the shared segment checks."""

from __future__ import annotations

import numpy as np
import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io.leads import (
    canonical_lead,
    complete_limb_leads,
    derive_limb_leads,
    record_extra,
    validate_segments,
)
from lvsdctl.record import LEADS12, Segment


@pytest.mark.parametrize(
    "name, expected",
    [
        ("MDC_ECG_LEAD_AVR", "aVR"), ("aVR", "aVR"), ("AVR", "aVR"), ("avr", "aVR"), ("Lead aVR", "aVR"),
        ("Lead I", "I"), ("Lead I (Einthoven)", "I"), ("MDC_ECG_LEAD_III", "III"), ("iii", "III"),
        ("aVF, augmented voltage, foot", "aVF"), ("v5", "V5"), (" V1 ", "V1"),
        ("2:61", "III"), ("5.6.3-9-62", "aVR"), ("2:3", "V1"),  # DICOM MDC / SCPECG codes
        ("vx", "VX"), ("MDC_ECG_LEAD_V7", "V7"), ("v4r", "V4R"), ("Lead 7", "unknown"),  # any other label: not kept
    ],
)
def test_canonical_lead(name: str, expected: str) -> None:
    assert canonical_lead(name) == expected


def test_every_canonical_name_is_a_fixed_point() -> None:
    assert [canonical_lead(name) for name in LEADS12] == list(LEADS12)


def test_derive_limb_leads_follows_einthoven_and_goldberger() -> None:
    rng = np.random.default_rng(0)
    i, ii = rng.normal(size=(2, 500)).astype(np.float32)
    derived = derive_limb_leads({"I": i, "II": ii})
    assert set(derived) == {"III", "aVR", "aVL", "aVF"}
    np.testing.assert_allclose(derived["III"], ii - i, atol=1e-6)
    np.testing.assert_allclose(derived["aVR"], -(i + ii) / 2, atol=1e-6)
    np.testing.assert_allclose(derived["aVL"], i - ii / 2, atol=1e-6)
    np.testing.assert_allclose(derived["aVF"], ii - i / 2, atol=1e-6)
    # Goldberger's leads sum to zero
    np.testing.assert_allclose(derived["aVR"] + derived["aVL"] + derived["aVF"], 0, atol=1e-5)
    assert all(sig.dtype == np.float32 for sig in derived.values())


def test_derive_keeps_stored_leads_and_needs_i_and_ii() -> None:
    i = np.ones(10, np.float32)
    stored_iii = np.full(10, 7, np.float32)
    derived = derive_limb_leads({"I": i, "II": i, "III": stored_iii})
    assert "III" not in derived and set(derived) == {"aVR", "aVL", "aVF"}
    assert derive_limb_leads({"I": i, "V1": i}) == {}


def _seg(lead="I", signal=(0.0, 1.0), fs=500.0, kind="rhythm") -> Segment:
    return Segment(lead, np.asarray(signal, dtype=np.float32), fs, 0.0, kind)


@pytest.mark.parametrize(
    "segments, reason",
    [
        ([], "no ECG leads"),
        ([_seg(), _seg()], "appears twice"),
        ([_seg(signal=())], "no samples"),
        ([_seg(signal=(0.0, np.nan))], "NaN"),
        ([_seg(fs=0.0)], "sampling rate"),
    ],
)
def test_validate_segments_rejects(segments: list[Segment], reason: str) -> None:
    with pytest.raises(ReadError, match=reason):
        validate_segments(segments)


def test_validate_segments_accepts_same_lead_as_rhythm_and_median() -> None:
    validate_segments([_seg(), _seg(kind="median")])


def test_complete_limb_leads_per_set() -> None:
    i, ii = np.arange(6, dtype=np.float32), np.ones(6, dtype=np.float32)
    segments = [
        Segment("I", i, 500.0), Segment("II", ii, 500.0), Segment("V1", ii, 500.0),
        Segment("I", i[:3], 500.0, 0.0, "median"), Segment("II", ii[:3], 500.0, 0.0, "median"),
        Segment("III", ii[:3], 500.0, 0.0, "median"),  # stored: kept, not re-derived
        Segment("I", i, 250.0, 5.0), Segment("II", ii[:4], 250.0, 5.0),  # lengths differ: left alone
    ]
    out, derived = complete_limb_leads(segments)
    assert derived == ["III", "aVR", "aVL", "aVF"]
    added = out[len(segments):]
    assert [(s.lead, s.kind) for s in added] == [
        ("III", "rhythm"), ("aVR", "rhythm"), ("aVL", "rhythm"), ("aVF", "rhythm"),
        ("aVR", "median"), ("aVL", "median"), ("aVF", "median"),
    ]
    np.testing.assert_allclose(added[0].signal, ii - i)
    validate_segments(out)


def test_record_extra() -> None:
    assert record_extra(None, []) == {}
    assert record_extra(120.0, ["III"]) == {"derived_leads": "III", "qrs_ms": 120.0}
