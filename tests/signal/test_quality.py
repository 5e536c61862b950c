"""Quality flags on planted faults, and none on real, clean ECGs."""

from __future__ import annotations

import numpy as np
import pytest

from lvsdctl.record import Segment
from lvsdctl.signal import quality as q
from lvsdctl.signal.chain import ChainConfig, process_batch

from tests.signal.signal_records import native_segments


def _flags(leads: np.ndarray, **kw) -> tuple[int, dict]:
    res = process_batch([native_segments(leads)], ChainConfig.make(**kw), limb_identities=False)
    return (int(res.flags[0]) if len(res.kept) else -1), res.rejected


def test_real_muse_ecgs_are_not_flagged(muse_leads):
    res = process_batch([native_segments(x) for x in muse_leads], ChainConfig.make())
    assert [q.describe(f) for f in res.flags] == [[]] * len(muse_leads)


@pytest.mark.parametrize("fault,flag", [
    ("flat", q.FLAT_LEAD),
    ("clip", q.SATURATION),
    ("nan", q.NONFINITE),
    ("wander", q.BASELINE_WANDER),
    ("noise", q.HF_NOISE),
])
def test_planted_faults_are_flagged(muse_leads, fault, flag):
    leads = muse_leads[0].copy()
    t = np.arange(leads.shape[1]) / 500
    v1 = 6  # LEADS12 index of V1
    if fault == "flat":
        leads[v1] = 0.3
    elif fault == "clip":
        # An amplifier with 8x gain saturating at +-1.5 mV: every QRS complex is cut flat.
        leads[v1] = np.clip(8 * (leads[v1] - np.median(leads[v1])), -1.5, 1.5)
    elif fault == "nan":
        leads[v1, 1000:1010] = np.nan
    elif fault == "wander":
        leads[v1] += 2.0 * np.sin(2 * np.pi * 0.2 * t)
    elif fault == "noise":
        leads[v1] += 0.2 * np.random.default_rng(0).standard_normal(len(t))
    flags, _ = _flags(leads)
    assert flags & flag, q.describe(flags)
    if fault == "nan":  # filled, so the output stays finite
        res = process_batch([native_segments(leads)], ChainConfig.make(), limb_identities=False)
        assert np.isfinite(res.signals).all()


def test_missing_lead_is_flagged_and_zero_filled(muse_leads):
    segs = [s for s in native_segments(muse_leads[0]) if s.lead != "V3"]
    res = process_batch([segs], ChainConfig.make())
    assert res.flags[0] & q.MISSING_LEAD
    np.testing.assert_array_equal(res.signals[0, 2, 2500:3750], 0.0)  # V3's slot


def test_slightly_short_is_flagged_and_too_short_rejected(muse_leads):
    short = [Segment(s.lead, s.signal[:4960], s.fs) for s in native_segments(muse_leads[0])]
    res = process_batch([short], ChainConfig.make())
    assert res.flags[0] & q.TOO_SHORT
    half = [Segment(s.lead, s.signal[:2500], s.fs) for s in native_segments(muse_leads[0])]
    res = process_batch([half], ChainConfig.make())
    assert len(res.kept) == 0 and res.rejected[0] == "too short: lead I under 10 s"


def test_flag_helpers():
    flags = np.array([0, q.FLAT_LEAD | q.HF_NOISE, q.HF_NOISE], dtype=np.uint32)
    assert q.describe(flags[1]) == ["flat_lead", "hf_noise"]
    assert q.count_flags(flags)["hf_noise"] == 2
    assert len(set(int(b) for b in q.FLAGS.values())) == len(q.FLAGS)  # distinct bits
