"""Beat detection on all leads at once: native, printed pieces, irregular rhythms, nothing at all."""

from __future__ import annotations

import numpy as np

from lvsdctl.io.detect import read_ecg
from lvsdctl.record import Segment
from lvsdctl.measure.beats import detect
from lvsdctl.measure.leads import FS, from_four_channel, from_segments, from_twelve
from lvsdctl.synth import ecg_model as em


def _simulated(seed: int, noise: bool = True):
    rng = np.random.default_rng(seed)
    params = em.draw_params(rng, em.draw_patient(rng), 0.0)
    return em.simulate(params, rng, noise=noise)


def test_beats_of_a_simulated_lbbb_ecg_lie_on_its_qrs_complexes():
    sim = _simulated(5)
    x12 = np.stack(list(em.twelve_leads(sim.rhythm).values()))
    found = detect(from_twelve(x12, FS))
    centres = (sim.visible_onsets_s + sim.params.qrs_s / 2) * FS
    inside = centres[(sim.visible_onsets_s > 0.06) & (sim.visible_onsets_s + sim.params.qrs_s < 9.94)]
    for c in inside:
        assert np.abs(found.peaks - c).min() <= 25, c  # 50 ms
    assert len(found.peaks) <= len(centres)
    assert 0.8 <= len(found.peaks) / found.expected <= 1.25
    assert found.leads_used == ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]


def test_lead_ii_alone_small_qrs_is_not_needed():
    """LBBB with left axis: a tiny QRS in II. The precordial leads carry the beat."""
    sim = _simulated(8)
    leads = em.twelve_leads(sim.rhythm)
    leads["II"] = leads["II"] * 0.05
    found = detect(from_segments([Segment(k, v.astype(np.float32), FS, 0.0, "rhythm") for k, v in leads.items()]))
    assert abs(len(found.peaks) - len(sim.onsets_s)) <= 1


def test_printout_pieces_find_the_beats_of_every_column():
    sim = _simulated(2)
    x12 = np.stack(list(em.twelve_leads(sim.rhythm).values()))
    from lvsdctl.signal.layout import four_channel_from_12

    lm = from_four_channel(four_channel_from_12(x12), FS)
    assert lm.kind == "pieces"
    found = detect(lm)
    centres = (sim.onsets_s + sim.params.qrs_s / 2) * FS
    inside = centres[(centres > 60) & (centres < 4940)]
    assert all(np.abs(found.peaks - c).min() <= 25 for c in inside)


def test_atrial_fibrillation_fixture_every_beat(fixtures_dir):
    rec = read_ecg(fixtures_dir / "ecg" / "wfdb" / "egm" / "muse-af.hea")
    found = detect(from_segments(rec.segments))
    rr = found.rr_s
    assert len(found.peaks) == 18 and rr.std() / rr.mean() > 0.1  # irregular, all found
    assert abs(found.expected - len(found.peaks)) <= 2


def test_flat_or_empty_recording_has_no_beat():
    flat = from_segments([Segment(lead, np.zeros(5000, np.float32), FS, 0.0, "rhythm") for lead in em.LEADS12])
    found = detect(flat)
    assert len(found.peaks) == 0 and found.problems
    assert not np.isfinite(found.expected)
