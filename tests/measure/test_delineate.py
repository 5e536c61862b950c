"""Global boundaries of a median beat, and the median beat itself."""

from __future__ import annotations

import numpy as np

from lvsdctl.measure.analyse import analyse
from lvsdctl.measure.delineate import delineate
from lvsdctl.measure.leads import FS, from_segments
from lvsdctl.measure.median import implausible
from lvsdctl.synth import ecg_model as em


def _median(seed: int, qrs_stretch: float = 1.0):
    rng = np.random.default_rng(seed)
    params = em.draw_params(rng, em.draw_patient(rng), 0.0)
    sim = em.simulate(params, rng, noise=False)
    return np.stack(list(em.twelve_leads(sim.median).values())), sim


def test_clean_synthetic_median_boundaries_match_the_generator():
    for seed in range(6):
        beat, sim = _median(seed)
        truth = sim.median_fiducials()
        b = delineate(beat)
        assert b.ok and not b.problems
        assert abs(b.qrs_onset - truth["qrs_onset"]) * 2 <= 10
        assert abs(b.qrs_offset - truth["qrs_offset"]) * 2 <= 12
        assert abs(b.t_offset - truth["t_offset"]) * 2 <= 30
        assert b.p_onset is not None and abs(b.p_onset - truth["p_onset"]) * 2 <= 30


def test_no_p_wave_is_not_an_error():
    beat, _ = _median(1)
    beat = beat.copy()
    beat[:, :170] = beat[:, 170:171]  # flatten everything before the QRS: no P wave (as in AF)
    b = delineate(beat)
    assert b.ok and b.p_onset is None and b.p_offset is None


def test_flat_median_is_reported_not_crashed():
    b = delineate(np.zeros((12, 600)))
    assert not b.ok and b.problems


def test_implausible_export_medians_are_refused():
    beat, _ = _median(0)
    assert implausible(beat) == ""
    padded = beat.copy()
    padded[:, 300:] = 80.0  # a "no data" code in the second half (HL7 aECG fixture)
    assert "10 mV" in implausible(padded) or "flat" in implausible(padded)


def test_own_median_stands_in_for_a_missing_export_median(fixtures_dir):
    from lvsdctl.io.detect import read_ecg

    rec = read_ecg(fixtures_dir / "ecg" / "hl7_aecg" / "sierra-ecg-tools" / "ad4d3d80-d165_1-04_converted.xml")
    a = analyse(from_segments(rec.segments))
    assert a.median_source == "computed" and a.status == "ok"
    assert any("median beat" in p for p in a.problems)
    assert 90 <= a.globals()["qrs_ms"] <= 120  # the cart says 102 ms
    assert a.beat.shape[1] == int(1.2 * FS)
