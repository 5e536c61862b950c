"""`measure`: exports or lvsdctl files in, a CSV or HDF5 table out, nothing lost, nothing leaked."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from lvsdctl.errors import InputError
from lvsdctl.measure import measure
from lvsdctl.measure.store import read_measures
from lvsdctl.measure.table import COLUMNS, criterion_mask


@pytest.fixture(scope="module")
def few(cohort, tmp_path_factory):
    """Six synthetic exports (MUSE and digitised) copied to a folder, plus a duplicate and a bad file."""
    d = tmp_path_factory.mktemp("exports")
    muse = sorted((cohort / "ecg").glob("MUSE_*.xml"))[:4]
    dig = sorted((cohort / "ecg").glob("DIGITISED_*.xml"))[:2]
    for p in muse + dig:
        shutil.copy(p, d / p.name)
    shutil.copy(muse[0], d / "copy-of-first.xml")
    (d / "broken.xml").write_text("<RestingECG><Waveform>")
    return d


def test_csv_and_hdf5_hold_the_same_rows(few, tmp_path):
    s = measure([str(few)], str(tmp_path / "m.csv"))
    assert (s.inputs, s.measured, s.duplicates, len(s.rejected)) == (8, 6, 1, 1)
    assert s.rejected[0]["path"].endswith("broken.xml") and s.synthetic
    h = measure([str(few)], str(tmp_path / "m.h5"))
    a, b = read_measures(str(tmp_path / "m.csv")), read_measures(str(tmp_path / "m.h5"))
    assert list(a.columns) == list(COLUMNS) and len(a) == len(b) == 6
    assert (a.record_id.to_numpy() == b.record_id.to_numpy()).all()
    assert np.allclose(a.qrs_ms.astype(float), b.qrs_ms.astype(float))
    assert list(a.lbbb_conventional) == list(b.lbbb_conventional) == [True] * 6
    assert h.statuses == {"ok": 6}


def test_hdf5_keeps_every_beat(few, tmp_path):
    import h5py

    s = measure([str(few)], str(tmp_path / "m.h5"))
    with h5py.File(tmp_path / "m.h5") as f:
        assert f.attrs["lvsdctl_kind"] == "measures" and bool(f.attrs["synthetic"])
        beats = {k: f["beats"][k][()] for k in f["beats"]}
    assert len(beats["record"]) == sum(m.analysis.n_beats for m in s.ecgs)
    first = beats["record"] == 0
    assert np.all(beats["qrs_onset_ms"][first] < beats["time_ms"][first])
    assert np.all(beats["time_ms"][first] < beats["qrs_offset_ms"][first])
    assert np.all(beats["qrs_offset_ms"][first] < beats["t_offset_ms"][first])


def test_json_is_per_ecg_and_valid(few):
    s = measure([str(few)])
    doc = json.loads(json.dumps(s.to_dict(), allow_nan=False))  # no NaN anywhere
    assert len(doc["ecgs"]) == 6
    e = doc["ecgs"][0]
    assert e["status"] == "ok" and e["beats"] == len(e["beats_detail"]) and e["median_fs_hz"] == 500.0
    assert set(e["beats_detail"][0]) == {"time_ms", "p_onset_ms", "p_offset_ms", "qrs_onset_ms", "qrs_offset_ms",
                                          "t_offset_ms", "dominant", "paced"}


def test_no_patient_data_in_any_output(few, tmp_path):
    from lvsdctl.synth.cohort import FAKE_NAMES

    measure([str(few)], str(tmp_path / "m.csv"))
    s = measure([str(few)])
    text = (tmp_path / "m.csv").read_text() + json.dumps(s.to_dict())
    for name in FAKE_NAMES:
        assert name not in text.upper()
    assert "SYN00" not in text  # patient ids


def test_ingested_and_preprocessed_files_are_measured(few, cohort, tmp_path):
    from lvsdctl.ingest import ingest
    from lvsdctl.signal import preprocess

    ingest([str(few)], tmp_path / "raw.h5", demo_secret=True)
    raw = measure(str(tmp_path / "raw.h5"), str(tmp_path / "raw-m.csv"))
    exports = measure([str(few)])
    assert raw.measured == 6 and raw.statuses == {"ok": 6}
    by_id = {m.row["record_id"]: m.row for m in exports.ecgs}
    for m in raw.ecgs:  # the same ECGs, the same id, the same measurements
        assert m.row["qrs_ms"] == by_id[m.row["record_id"]]["qrs_ms"]
    preprocess(str(tmp_path / "raw.h5"), str(tmp_path / "pre.h5"))
    pre = measure(str(tmp_path / "pre.h5"))
    assert pre.measured == 6 and all(m.row["lbbb_conventional"] is True for m in pre.ecgs)
    for m in pre.ecgs:  # the study's printout layout: pieces, yet close to the full recording's QRS
        assert abs(m.row["qrs_ms"] - by_id[m.row["record_id"]]["qrs_ms"]) <= 20


def test_criterion_mask_reads_both_file_kinds(few, tmp_path):
    measure([str(few)], str(tmp_path / "m.csv"))
    t = read_measures(str(tmp_path / "m.csv"))
    assert criterion_mask(t, "conventional").all()
    assert criterion_mask(t, "statement").sum() == (t.source_format == "muse").sum()
    with pytest.raises(InputError, match="unknown LBBB criterion"):
        criterion_mask(t, "bogus")


def test_bad_arguments_are_input_errors(tmp_path):
    with pytest.raises(InputError):
        measure([], None)
    with pytest.raises(InputError, match=r"\.csv or \.h5"):
        measure([str(tmp_path)], str(tmp_path / "m.txt"))
    with pytest.raises(InputError):
        read_measures(str(tmp_path / "absent.csv"))
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a measures CSV"):
        read_measures(str(tmp_path / "x.csv"))
    assert isinstance(pd.DataFrame(), pd.DataFrame)
