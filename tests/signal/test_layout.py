"""The 4x5000 layout against hand-placed pieces, the 12x5000 layout, and the inverse mapping."""

from __future__ import annotations

import numpy as np
import pytest

from lvsdctl.record import LEADS12
from lvsdctl.signal.chain import ChainConfig, process_batch
from lvsdctl.signal.layout import (
    CHANNELS,
    PRINTOUT_ROWS,
    RHYTHM_KEY,
    four_channel_from_12,
    pieces_from_4ch,
)

from tests.signal.signal_records import digitised_segments, native_segments

NONE = dict(filter="none")


def _ramp_leads() -> np.ndarray:
    """12 x 5000 where lead i is 10 * (i + 1) plus a ramp of 1e-3 per sample: every value unique."""
    t = np.arange(5000)
    return np.stack([10.0 * (i + 1) + 1e-3 * t for i in range(12)])


def test_native_4x5000_places_each_piece_from_its_own_time_window():
    leads = _ramp_leads()
    out = process_batch([native_segments(leads)], ChainConfig.make(**NONE), limb_identities=False).signals[0]
    assert out.shape == (4, 5000)
    for ch, row in enumerate(PRINTOUT_ROWS):
        for k, lead in enumerate(row):
            window = slice(1250 * k, 1250 * (k + 1))
            np.testing.assert_allclose(out[ch, window], leads[LEADS12.index(lead), window], rtol=1e-6)
    np.testing.assert_allclose(out[3], leads[LEADS12.index("II")], rtol=1e-6)
    np.testing.assert_allclose(out, four_channel_from_12(leads), rtol=1e-6)


def test_native_12x5000_keeps_every_lead_in_order():
    leads = _ramp_leads()
    cfg = ChainConfig.make(layout="12x5000", **NONE)
    out = process_batch([native_segments(leads)], cfg).signals[0]
    assert cfg.channels == list(LEADS12)
    np.testing.assert_allclose(out, leads, rtol=1e-6)


def test_digitised_pieces_land_in_their_printout_slots():
    # Each piece is a constant unique to its lead: after interpolation to 500 Hz it must fill
    # exactly its 1250-sample slot; the strip is a ramp over 10 s.
    value = {lead: float(i + 1) for i, lead in enumerate(LEADS12)}

    def make(lead, n, fs):
        return np.full(n, value[lead]) if n < 900 else np.arange(n) / fs

    rec = digitised_segments(np.random.default_rng(0), make)
    out = process_batch([rec], ChainConfig.make(**NONE)).signals[0]
    for ch, row in enumerate(PRINTOUT_ROWS):
        for k, lead in enumerate(row):
            np.testing.assert_allclose(out[ch, 1250 * k:1250 * (k + 1)], value[lead], rtol=1e-6)
    strip = next(s for s in rec if s.kind == "rhythm")
    t = np.arange(5000) / 500
    last = (len(strip.signal) - 1) / strip.fs  # np.interp holds the last sample past the end
    np.testing.assert_allclose(out[3], np.minimum(t, last), atol=1e-5)


def test_digitised_ecgs_cannot_take_the_12_lead_layout():
    rec = digitised_segments(np.random.default_rng(1))
    res = process_batch([rec], ChainConfig.make(layout="12x5000"))
    assert len(res.kept) == 0 and "only the 4x5000 layout" in res.rejected[0]


def test_pieces_from_4ch_round_trip():
    x = np.random.default_rng(2).standard_normal((4, 5000))
    pieces = pieces_from_4ch(x)
    assert set(pieces) == set(LEADS12) | {RHYTHM_KEY}
    assert pieces["V4"][0] == pytest.approx(7.5) and pieces["aVL"][0] == pytest.approx(2.5)
    rebuilt = np.zeros_like(x)
    for lead, (t0, samples) in pieces.items():
        if lead == RHYTHM_KEY:
            rebuilt[3] = samples
            continue
        ch = next(i for i, row in enumerate(PRINTOUT_ROWS) if lead in row)
        start = int(round(t0 * 500))
        rebuilt[ch, start:start + len(samples)] = samples
    np.testing.assert_array_equal(rebuilt, x)
    # Batched input (e.g. attributions of several ECGs) keeps the leading axes.
    assert pieces_from_4ch(np.zeros((3, 4, 5000)))["V1"][1].shape == (3, 1250)
    assert CHANNELS["4x5000"][3] == RHYTHM_KEY
