"""The faster preprocess computes the same numbers, bit for bit, as the straightforward code it replaced."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from lvsdctl.io.muse import _complete
from lvsdctl.record import Segment
from lvsdctl.signal import chain, filters
from lvsdctl.signal.blockfilter import odd_extend
from lvsdctl.signal.chain import ChainConfig, process_batch


def _odd_extend_concat(x: np.ndarray, n: int) -> np.ndarray:
    first, last = x[:, :1], x[:, -1:]
    return np.concatenate([2 * first - x[:, n:0:-1], x, 2 * last - x[:, -2:-n - 2:-1]], axis=1)


def test_odd_extension_in_one_pass_equals_the_concatenation():
    rng = np.random.default_rng(0)
    for width, n in [(100, 30), (50, 5), (40, 39)]:
        x = rng.standard_normal((3, width))
        full = _odd_extend_concat(x, n)
        np.testing.assert_array_equal(odd_extend(x, n), full)
        np.testing.assert_array_equal(odd_extend(x[:, ::-1], n), _odd_extend_concat(x[:, ::-1], n))
        for start in (0, 1, n - 1, n, n + 3):
            for length in (1, width, full.shape[1] - start, full.shape[1] - start + 7):
                want = np.zeros((3, length))
                m = min(length, full.shape[1] - start)
                want[:, :m] = full[:, start:start + m]
                np.testing.assert_array_equal(odd_extend(x, n, start=start, length=length), want)


@pytest.mark.parametrize("fs", [500.0, 250.0, 133.0])
def test_in_place_high_pass_equals_scipys_public_sosfilt(fs):
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.standard_normal((7, int(10 * fs))), axis=1) * 0.01
    design = filters._butter_sos(5, (0.5,), "highpass", fs)
    sos, zi, edge = design
    ext = _odd_extend_concat(x, edge)  # the previous code, step for step
    y, _ = scipy.signal.sosfilt(sos, ext, axis=-1, zi=zi[:, None, :] * ext[None, :, :1])
    y = y[:, ::-1]
    y, _ = scipy.signal.sosfilt(sos, y, axis=-1, zi=zi[:, None, :] * y[None, :, :1])
    np.testing.assert_array_equal(filters._sosfiltfilt(design, x), y[:, ::-1][:, edge:-edge])


def _muse_like(rng, scale=4.88e-3) -> list[Segment]:
    codes = {lead: ((rng.standard_normal(5000).cumsum() * 8) % 3000 - 1500).astype(np.int16)
             for lead in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")}
    return _complete({k: (v, scale) for k, v in codes.items()}, "Rhythm", 500.0)


def test_codes_are_gathered_as_segment_signal_gives_them():
    rng = np.random.default_rng(2)
    segs = _muse_like(rng) + _muse_like(rng, scale=2.5e-3)
    np.testing.assert_array_equal(chain._stack(segs), np.stack([s.signal for s in segs]).astype(np.float64))


def test_the_exact_integer_limb_check_agrees_with_the_float_check():
    rng = np.random.default_rng(3)
    for _ in range(20):
        segs = {s.lead: s for s in _muse_like(rng, scale=float(rng.uniform(1e-3, 1e-2)))}
        ordered = [segs[k] for k in ("I", "II", "III", "aVR", "aVL", "aVF")]
        assert chain._limb_codes_derived(ordered)
        as_floats = {k: Segment(k, s.signal, s.fs) for k, s in segs.items()}  # the float32 check alone
        assert chain._limb_leads_derived(as_floats)
    ordered[2] = Segment("III", None, 500.0, counts=ordered[2].counts + np.int16(1), scale=ordered[2].scale)
    assert not chain._limb_codes_derived(ordered)


def test_coded_and_float_records_give_the_same_batch():
    rng = np.random.default_rng(4)
    coded = [_muse_like(rng) for _ in range(4)]
    floats = [[Segment(s.lead, s.signal.copy(), s.fs) for s in r] for r in coded]
    for cfg in (ChainConfig.make(), ChainConfig.make(layout="12x5000", filter="notch60")):
        a, b = process_batch(coded, cfg), process_batch(floats, cfg)
        np.testing.assert_array_equal(a.signals, b.signals)
        np.testing.assert_array_equal(a.flags, b.flags)
