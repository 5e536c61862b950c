"""End to end: an ecg-raw file written with RawWriter -> `preprocess` -> an ecg file."""

from __future__ import annotations

import json
import tracemalloc

import h5py
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lvsdctl.hdf5 import atomic_output, provenance, read_records
from lvsdctl.hdf5.raw import RawWriter
from lvsdctl.record import Segment
from lvsdctl.signal import preprocess
from lvsdctl.signal import quality as q
from lvsdctl.signal.chain import ChainConfig, process_batch

from tests.signal.signal_records import digitised_segments, native_segments


def _write_raw(path, records: list[list[Segment]]) -> None:
    with atomic_output(path, kind="ecg-raw", synthetic=True) as f:
        w = RawWriter(f)
        for segs in records:
            w.append(segs)
        w.finish(pd.DataFrame({
            "record_id": [f"r{i}" for i in range(len(records))],
            "patient": [f"p{i // 2}" for i in range(len(records))],
            "label": [i % 2 for i in range(len(records))],
        }))


@pytest.fixture
def cohort(muse_records, tmp_path):
    """3 real MUSE ECGs, 2 digitised printouts, 1 too short (rejected), 1 with a flat lead."""
    rng = np.random.default_rng(0)
    muse = [r.segments for r in muse_records[:3]]
    short = [Segment(s.lead, s.signal[:2000], s.fs) for s in muse[0] if s.kind == "rhythm"]
    flat = [Segment(s.lead, np.zeros_like(s.signal) if s.lead == "V2" else s.signal, s.fs)
            for s in muse[1] if s.kind == "rhythm"]
    records = muse + [digitised_segments(rng), digitised_segments(rng), short, flat]
    path = tmp_path / "raw.h5"
    _write_raw(path, records)
    return path, records


def test_preprocess_end_to_end(cohort, tmp_path):
    raw, records = cohort
    out = tmp_path / "pre.h5"
    s = preprocess(str(raw), str(out), chunk=3)
    assert (s.inputs, s.kept, s.dropped) == (7, 6, 1)
    assert s.inputs == s.kept + s.dropped
    assert s.rejected_reasons == {"too short: lead I under 10 s": 1}
    assert s.flags == {"flat_lead": 1}
    with h5py.File(out) as f:
        sig = f["signals"]
        assert sig.shape == (6, 4, 5000) and sig.dtype == np.float32 and sig.chunks == (1, 4, 5000)
        assert sig.compression is not None
        assert sig.attrs["layout"] == "4x5000" and sig.attrs["fs"] == 500
        assert json.loads(sig.attrs["filter"])["name"] == "neurokit"
        assert list(sig.attrs["channels"])[3] == "II (rhythm)"
        df = read_records(f)
        assert list(df["record_id"]) == ["r0", "r1", "r2", "r3", "r4", "r6"]
        assert list(df["patient"]) == ["p0", "p0", "p1", "p1", "p2", "p3"]
        assert df["quality"].dtype == np.uint32 and df["quality"].iloc[-1] & q.FLAT_LEAD
        assert provenance(f)[-1]["parameters"]["filter"]["name"] == "neurokit"
        assert f.attrs["lvsdctl_kind"] == "ecg" and f.attrs["synthetic"]
        expected = process_batch([records[i] for i in (0, 1, 2, 3, 4, 6)], ChainConfig.make()).signals
        np.testing.assert_array_equal(sig[()], expected)


def test_drop_flagged_and_12_lead_layout(cohort, tmp_path):
    raw, _ = cohort
    s = preprocess(str(raw), str(tmp_path / "a.h5"), drop_flagged=True)
    assert (s.kept, s.dropped, s.dropped_flagged) == (5, 2, 1)
    s = preprocess(str(raw), str(tmp_path / "b.h5"), layout="12x5000", normalise="zscore",
                   compression="gzip")
    assert s.kept == 4 and s.rejected == 3  # two digitised printouts and the short one
    with h5py.File(tmp_path / "b.h5") as f:
        assert f["signals"].shape == (4, 12, 5000) and f["signals"].attrs["normalisation"] == "zscore"
        assert f["signals"].compression == "gzip"


def test_cli_reads_stdin_and_writes_stdout(cohort):
    from lvsdctl.cli.main import app

    raw, _ = cohort
    res = CliRunner().invoke(app, ["preprocess", "-", "-o", "-", "-q", "--filter", "notch60"],
                             input=raw.read_bytes())
    assert res.exit_code == 0, res.output
    assert res.stdout_bytes[:8] == b"\x89HDF\r\n\x1a\n"


def test_cli_strict_and_bad_input(cohort, tmp_path):
    from lvsdctl.cli.main import app

    raw, _ = cohort
    res = CliRunner().invoke(app, ["preprocess", str(raw), "-o", str(tmp_path / "x.h5"), "-q", "--strict"])
    assert res.exit_code == 4
    res = CliRunner().invoke(app, ["preprocess", str(tmp_path / "x.h5"), "-o", str(tmp_path / "y.h5"), "-q"])
    assert res.exit_code == 3 and "needs 'ecg-raw'" in res.output
    res = CliRunner().invoke(app, ["preprocess", str(raw), "-o", str(tmp_path / "z.h5"), "--filter", "fir"])
    assert res.exit_code == 3 and "unknown filter" in res.output


def _peak_mib(tmp_path, n: int) -> float:
    """Peak traced memory of preprocessing n small records (12 leads, 10 s at 100 Hz)."""
    rng = np.random.default_rng(n)
    lead = rng.standard_normal((12, 1000)).cumsum(axis=1) * 0.01
    raw = tmp_path / f"raw{n}.h5"
    _write_raw(raw, [native_segments(lead, fs=100.0)] * n)
    tracemalloc.start()
    preprocess(str(raw), str(tmp_path / f"pre{n}.h5"), fs=100, chunk=8)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def test_peak_memory_does_not_grow_with_records(tmp_path):
    small, large = _peak_mib(tmp_path, 30), _peak_mib(tmp_path, 300)
    assert large < 1.3 * small + 1.0, (small, large)


def test_prefetch_keeps_order_propagates_errors_and_stops_early():
    from lvsdctl.signal.api import _prefetched

    assert list(_prefetched(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise OSError("disk gone")

    gen = _prefetched(failing())
    assert next(gen) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(gen)

    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    gen = _prefetched(endless())
    assert next(gen) == 0
    gen.close()  # the consumer stops: the producer is stopped and joined, not left running
    count = len(produced)
    assert count <= 4 and len(produced) == count
