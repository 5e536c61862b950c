"""ECGFounder's preprocessing chain: the authors' own output to the bit, their per-lead way on real ECGs,
the median filter, and the named chain through `preprocess`."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.signal
from typer.testing import CliRunner

from lvsdctl.record import LEADS12, Segment
from lvsdctl.signal import preprocess
from lvsdctl.signal.chain import ChainConfig, process_batch, zscore_ecg
from lvsdctl.signal.filters import apply_filter, median_baseline, parse_filter

from tests.signal.signal_records import digitised_segments
from tests.signal.test_api import _write_raw

RTOL = 1e-6  # of the largest value: the bound


@pytest.fixture(scope="module")
def reference(fixtures_dir):
    with np.load(fixtures_dir / "ecgfounder" / "preprocess_HR06000.npz") as z:
        return {k: z[k] for k in z.files}


def _rel(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(got - ref).max() / np.abs(ref).max())


def _authors_way(x: np.ndarray, fs: int = 500) -> np.ndarray:
    """The published recipe, lead by lead: filtfilt notch, filtfilt band-pass (b, a), medfilt, z-score."""
    b, a = scipy.signal.iirnotch(50, 30, fs)
    y = np.stack([scipy.signal.filtfilt(b, a, row) for row in x])
    b, a = scipy.signal.butter(4, [0.67, 40], btype="bandpass", fs=fs)
    y = np.stack([scipy.signal.filtfilt(b, a, row) for row in y])
    k = int(0.4 * fs) + 1
    k += 1 - k % 2
    y = y - np.stack([scipy.signal.medfilt(row, k) for row in y])
    return (y - y.mean()) / (y.std() + 1e-8)


def test_filter_equals_the_reference_output_to_the_bit(reference):
    filtered = apply_filter(reference["input_mV"], 500, "ecgfounder")
    np.testing.assert_array_equal(filtered, reference["filtered"])
    np.testing.assert_array_equal(zscore_ecg(filtered[None])[0], reference["zscored"].astype(np.float32))


def test_chain_on_the_wfdb_record_matches_the_reference(fixtures_dir, reference):
    from lvsdctl.io.detect import read_ecg

    record = read_ecg(fixtures_dir / "ecg" / "wfdb" / "torch_ecg_cinc2021" / "HR06000.hea")
    assert [s.lead for s in record.segments] == list(reference["leads"])
    cfg = ChainConfig.make(layout="12x5000", chain="ecgfounder")
    got = process_batch([record.segments], cfg).signals[0]
    assert got.dtype == np.float32 and _rel(got, reference["zscored"]) <= RTOL  # float32 millivolts in
    exact = [Segment(lead, reference["input_mV"][i], 500.0) for i, lead in enumerate(LEADS12)]
    assert _rel(process_batch([exact], cfg).signals[0], reference["zscored"]) <= 2e-7  # float32 out only


def test_chain_equals_the_authors_way_on_real_ecgs(muse_leads):
    cfg = ChainConfig.make(layout="12x5000", chain="ecgfounder")
    batch = [[Segment(lead, leads[i], 500.0) for i, lead in enumerate(LEADS12)] for leads in muse_leads]
    got = process_batch(batch, cfg, jobs=2).signals
    for ours, leads in zip(got, muse_leads):
        assert _rel(ours, _authors_way(leads)) <= RTOL


def test_the_median_is_not_linear_so_limb_leads_are_filtered_themselves(muse_records, muse_leads):
    x = muse_leads[0]
    i, ii, iii = (LEADS12.index(lead) for lead in ("I", "II", "III"))
    f = apply_filter(x, 500, "ecgfounder")
    assert np.abs(f[iii] - (f[ii] - f[i])).max() > 1e-3  # deriving III from filtered I, II would be wrong
    cfg = ChainConfig.make(layout="12x5000", chain="ecgfounder")
    batch = [r.segments for r in muse_records[:2]]  # MUSE: limb leads derived, the shortcut's case
    np.testing.assert_array_equal(process_batch(batch, cfg, limb_identities=True).signals,
                                  process_batch(batch, cfg, limb_identities=False).signals)
    assert not parse_filter("ecgfounder").linear and parse_filter("neurokit").linear


@pytest.mark.filterwarnings("ignore:kernel_size exceeds volume extent")
@pytest.mark.parametrize("n", [5, 150, 201, 999])
def test_median_baseline_equals_medfilt_row_by_row(n):
    x = np.random.default_rng(n).standard_normal((2, 3, n)).cumsum(-1)
    ref = np.stack([[scipy.signal.medfilt(row, 201) for row in rows] for rows in x])
    np.testing.assert_array_equal(median_baseline(x, 201), ref)


def test_named_chains_and_their_conflicts():
    cfg = ChainConfig.make(chain="ecgfounder")
    assert cfg.chain == "ecgfounder" and cfg.normalise == "zscore-ecg" and cfg.filter.name == "ecgfounder"
    assert cfg.attrs()["chain"] == "ecgfounder" and cfg.attrs()["filter"]["baseline_s"] == 0.4
    assert ChainConfig.make().chain == "study"
    assert ChainConfig.make(filter="ecgfounder").chain == "custom"  # the filter without the z-score
    with pytest.raises(ValueError, match="ecgfounder chain is filter ecgfounder"):
        ChainConfig.make(chain="ecgfounder", normalise="zscore")
    with pytest.raises(ValueError, match="unknown chain"):
        ChainConfig.make(chain="ecg-fm")
    assert np.array_equal(zscore_ecg(np.zeros((1, 4, 10))), np.zeros((1, 4, 10)))  # flat: zeros


def test_preprocess_with_the_ecgfounder_chain(muse_records, tmp_path: Path):
    from lvsdctl.cli.main import app

    rng = np.random.default_rng(1)
    raw = tmp_path / "raw.h5"
    _write_raw(raw, [r.segments for r in muse_records[:2]] + [digitised_segments(rng)])
    out = tmp_path / "founder.h5"
    res = CliRunner().invoke(app, ["preprocess", str(raw), "-o", str(out), "--chain", "ecgfounder", "-q", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["kept"] == 3 and summary["chain"] == "ecgfounder"  # printouts too (4x5000), 99-221 Hz
    with h5py.File(out) as f:
        sig = f["signals"]
        assert sig.attrs["chain"] == "ecgfounder" and sig.attrs["normalisation"] == "zscore-ecg"
        assert json.loads(sig.attrs["filter"])["name"] == "ecgfounder"
        x = sig[()]
    np.testing.assert_allclose(x.reshape(3, -1).mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(x.reshape(3, -1).std(1), 1, atol=1e-4)
    s = preprocess(str(raw), str(tmp_path / "twelve.h5"), layout="12x5000", chain="ecgfounder")
    assert s.kept == 2 and s.normalisation == "zscore-ecg" and s.chain == "ecgfounder"
    res = CliRunner().invoke(app, ["preprocess", str(raw), "-o", str(tmp_path / "x.h5"), "--chain", "ecgfounder",
                                   "--filter", "neurokit"])
    assert res.exit_code == 3 and "leave --filter" in res.output
