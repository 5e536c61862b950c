"""The whole chain against the study's per-lead way, normalisation, and the limb-lead shortcut."""

from __future__ import annotations

import warnings

import neurokit2 as nk
import numpy as np
import pytest

from lvsdctl.record import LEADS12
from lvsdctl.signal.chain import ChainConfig, process_batch
from lvsdctl.signal.layout import PRINTOUT_ROWS

from tests.signal.signal_records import digitised_segments, native_segments


def _study_way(segments) -> np.ndarray:
    """The authors' script: ecg_clean(sampling_rate=int(n / T)) per lead, np.interp, concatenate."""

    def clean(sig, duration, m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fp = nk.ecg_clean(sig.astype(np.float64), sampling_rate=int(len(sig) / duration))
        return np.interp(np.linspace(0, duration, m, endpoint=False),
                         np.linspace(0, duration, len(fp), endpoint=False), fp)

    pieces = {s.lead: s for s in segments if s.kind == "piece"}
    rhythm = {s.lead: s for s in segments if s.kind == "rhythm"}
    if pieces:
        rows = [np.concatenate([clean(pieces[lead].signal, 2.5, 1250) for lead in row]) for row in PRINTOUT_ROWS]
        return np.stack(rows + [clean(rhythm["II"].signal, 10.0, 5000)])
    full = {lead: clean(rhythm[lead].signal, 10.0, 5000) for lead in LEADS12}
    rows = [np.concatenate([full[lead][1250 * k:1250 * (k + 1)] for k, lead in enumerate(row)])
            for row in PRINTOUT_ROWS]
    return np.stack(rows + [full["II"]])


def test_equals_the_studys_way_on_real_and_digitised_ecgs(muse_records):
    rng = np.random.default_rng(0)
    batch = [r.segments for r in muse_records[:3]] + [digitised_segments(rng) for _ in range(3)]
    out = process_batch(batch, ChainConfig.make(), jobs=2).signals
    for got, segments in zip(out, batch):
        assert np.abs(got - _study_way(segments)).max() <= 1e-5


def test_limb_identities_shortcut_matches_filtering_every_lead(muse_records):
    from lvsdctl.signal.chain import _limb_leads_derived

    batch = [r.segments for r in muse_records[:3]]
    # MUSE stores I, II, V1-V6: the reader derives the limb leads, so the shortcut applies...
    assert all(_limb_leads_derived(r.leads()) for r in muse_records)
    # ...and not where a limb lead was recorded on its own.
    other = muse_records[0].leads()
    other["aVF"] = type(other["aVF"])("aVF", other["aVF"].signal + np.float32(0.01), other["aVF"].fs)
    assert not _limb_leads_derived(other)
    for layout in ("4x5000", "12x5000"):
        cfg = ChainConfig.make(layout=layout)
        fast = process_batch(batch, cfg, limb_identities=True).signals
        slow = process_batch(batch, cfg, limb_identities=False).signals
        assert np.abs(fast - slow).max() <= 1e-5


def test_threads_do_not_change_the_result(muse_records):
    batch = [r.segments for r in muse_records[:2]] + [digitised_segments(np.random.default_rng(3))]
    one = process_batch(batch, ChainConfig.make(), jobs=1).signals
    two = process_batch(batch, ChainConfig.make(), jobs=2).signals
    np.testing.assert_array_equal(one, two)


def test_zscore_per_channel_and_flat_channels_become_zero(muse_leads):
    leads = muse_leads[0].copy()
    leads[LEADS12.index("II")] = 0.25  # lead II flat: channel 3 (the strip) is all flat
    res = process_batch([native_segments(leads)], ChainConfig.make(normalise="zscore", filter="none"),
                        limb_identities=False)
    z = res.signals[0].astype(np.float64)
    np.testing.assert_allclose(z[:3].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(z[:3].std(axis=1), 1, atol=1e-4)
    np.testing.assert_array_equal(z[3], 0.0)


@pytest.mark.parametrize("fs", [250.0, 100.0])
def test_other_target_rates(muse_records, fs):
    out = process_batch([muse_records[0].segments], ChainConfig.make(fs=fs)).signals
    assert out.shape == (1, 4, int(10 * fs)) and np.isfinite(out).all()


def test_layout_as_recorded_in_files():
    # Files record the true shape; a model's preprocessing record feeds it back here.
    assert ChainConfig.make(layout="4x2500", fs=250).layout == "4x5000"
    assert ChainConfig.make(layout="12x5000").channels[6] == "V1"
    with pytest.raises(ValueError, match="does not hold 10 s"):
        ChainConfig.make(layout="4x2500", fs=500)


def test_bad_options():
    for kw in ({"layout": "3x4"}, {"resample": "cubic"}, {"normalise": "minmax"}, {"fs": 0}):
        with pytest.raises(ValueError):
            ChainConfig.make(**kw)


def test_a_segment_the_filter_cannot_take_rejects_its_record_only(muse_records):
    # A 0.5-60 Hz band-pass is impossible on a printout piece at ~100-220 Hz (Nyquist 50-110 Hz)
    # for the slow ones: those records are rejected with a reason, the others go through.
    rng = np.random.default_rng(5)
    batch = [muse_records[0].segments] + [digitised_segments(rng) for _ in range(4)]
    res = process_batch(batch, ChainConfig.make(filter="bandpass:0.5-60"))
    assert 0 in res.kept and len(res.kept) + len(res.rejected) == 5
    assert res.rejected and all("Nyquist" in r for r in res.rejected.values())
