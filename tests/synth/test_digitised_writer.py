"""The synthetic digitised printouts follow the documented DigitisedECG format."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from lvsdctl.synth.digitised_writer import LAYOUT, NAMESPACE, trace

NS = f"{{{NAMESPACE}}}"


def test_pieces_rates_and_layout(small_cohort):
    out, summary = small_cohort
    files = sorted((out / "ecg").glob("DIGITISED_*.xml"))
    assert len(files) == summary.n_digitised > 0
    for path in files:
        root = ET.parse(path).getroot()
        assert root.tag == f"{NS}DigitisedECG" and root.get("version") == "1"
        assert root.find(f"{NS}Provenance").get("synthetic") == "true"
        assert root.findtext(f"{NS}Site") in {"A", "C"}  # paper ECGs: sites A and C only
        assert root.findtext(f"{NS}AcquisitionDateTime") < "2020"
        assert root.findtext(f"{NS}Units") == "mV"
        pieces = root.findall(f"{NS}Piece")
        strips = root.findall(f"{NS}RhythmStrip")
        assert len(pieces) + len(strips) == 13 and len(strips) == 1
        assert [(p.get("lead"), float(p.get("start"))) for p in pieces] == list(LAYOUT)
        assert strips[0].get("lead") == "II" and float(strips[0].get("duration")) == 10.0
        for el in pieces + strips:
            values = np.array(el.text.split(), dtype=float)
            assert len(values) == int(el.get("samples"))
            rate = len(values) / float(el.get("duration"))
            assert 99.0 <= rate <= 221.0
            assert np.isfinite(values).all() and np.abs(values).max() < 10.0


def test_trace_resamples_with_small_error():
    # A slow sine traced at a low rate keeps its shape within the digitiser's noise and pixel step.
    fs = 500
    t = np.arange(5000) / fs
    sig = np.sin(2 * np.pi * 1.0 * t)
    rng = np.random.default_rng(0)
    values = trace(sig, 2.5, 2.5, rng, pixel_mv=0.02, jitter_mv=0.005)
    tt = 2.5 + np.arange(len(values)) * 2.5 / len(values)
    assert 99 <= len(values) / 2.5 <= 221
    assert np.abs(values - np.sin(2 * np.pi * tt)).max() < 0.08
    assert np.allclose(values / 0.02, np.round(values / 0.02))  # quantised to pixels
