"""lvsdctl's own readers and ingest accept the synthetic files (skipped until they exist)."""

from __future__ import annotations

import base64
import importlib
import importlib.util
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from lvsdctl.synth.cohort import FAKE_NAMES


def _needs(module: str):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not built yet")
    return importlib.import_module(module)


def test_muse_reader_reads_synthetic_files(small_cohort):
    muse = _needs("lvsdctl.io.muse")
    out, _ = small_cohort
    truth = pd.read_csv(out / "generator_truth.csv").set_index("file")
    for path in sorted((out / "ecg").glob("MUSE_*.xml")):
        rec = muse.read(path)
        row = truth.loc[f"ecg/{path.name}"]
        assert rec.source_format == "muse" and rec.patient_id == row.patient_id
        assert rec.site == row.site and rec.acquired.isoformat() == row.acquired
        rhythm = rec.leads("rhythm")
        assert {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V6"} <= set(rhythm)
        root = ET.parse(path).getroot()
        lead_i = next(ld for wf in root.iter("Waveform") if wf.findtext("WaveformType") == "Rhythm"
                      for ld in wf.iter("LeadData") if ld.findtext("LeadID") == "I")
        expected = np.frombuffer(base64.b64decode(lead_i.findtext("WaveFormData")), "<i2") * 4.88 / 1000
        assert rhythm["I"].fs == 500 and np.allclose(rhythm["I"].signal, expected, atol=1e-5)
        assert rec.extra.get("qrs_ms", 0) >= 120


def test_digitised_reader_reads_synthetic_files(small_cohort):
    digitised = _needs("lvsdctl.io.digitised")
    out, _ = small_cohort
    for path in sorted((out / "ecg").glob("DIGITISED_*.xml")):
        rec = digitised.read(path)
        pieces = [s for s in rec.segments if s.kind == "piece"]
        strips = [s for s in rec.segments if s.kind == "rhythm"]
        assert len(pieces) == 12 and len(strips) == 1
        assert all(99 <= s.fs <= 221 for s in pieces + strips)
        assert rec.site in {"A", "C"} and rec.patient_id.startswith("SYN")


def test_ingest_pairs_like_the_generator_and_leaks_no_phi(small_cohort, tmp_path):
    ingest_mod = _needs("lvsdctl.ingest.api")
    hdf5 = _needs("lvsdctl.hdf5")
    out, _ = small_cohort
    target = tmp_path / "raw.h5"
    ingest_mod.ingest([str(out / "ecg")], output=target, echo=out / "echo.csv", demo_secret=True)
    with hdf5.open_input(target) as f:
        records = hdf5.read_records(f)
        assert bool(f.attrs["synthetic"])
    truth = pd.read_csv(out / "generator_truth.csv")
    assert len(records) == len(truth)
    assert sorted(records.label) == sorted(truth.label)
    assert set(records.site) == set(truth.site)
    text = " ".join(map(str, records.to_numpy().ravel()))
    for secret in list(FAKE_NAMES) + list(truth.patient_id.unique()):
        assert secret not in text
