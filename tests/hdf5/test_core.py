import json
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pandas as pd
import pytest

from lvsdctl.errors import FormatError, InputError
from lvsdctl.hdf5 import FORMAT_VERSION, atomic_output, open_input, provenance, read_records, write_records
from lvsdctl.hdf5.raw import RawWriter, iter_raw_records
from lvsdctl.record import Segment


def _records(n):
    return pd.DataFrame({
        "record_id": [f"r{i}" for i in range(n)],
        "patient": [f"p{i // 2}" for i in range(n)],
        "lvef": np.linspace(20, 60, n),
        "label": [1, 0] * (n // 2),
        "sex": ["F", "M"] * (n // 2),
    })


def test_records_roundtrip_plain_h5py_and_pandas(tmp_path):
    out = tmp_path / "a.h5"
    with atomic_output(out, "ecg", parameters={"x": 1}) as f:
        write_records(f, _records(4))
    with h5py.File(out, "r") as f:  # no lvsdctl needed to read it back
        assert f.attrs["lvsdctl_kind"] == "ecg"
        assert f.attrs["lvsdctl_format_version"] == FORMAT_VERSION
        plain = pd.DataFrame({k: f["records"][k][()] for k in f["records"]})
        assert list(f["records/patient"].asstr()[()]) == ["p0", "p0", "p1", "p1"]
    assert plain["label"].tolist() == [1, 0, 1, 0]
    assert np.isnan(plain["age"]).all()
    with open_input(out, "ecg") as f:
        df = read_records(f)
        assert df["sex"].tolist() == ["F", "M", "F", "M"]
        assert df["split"].tolist() == [""] * 4
        (entry,) = provenance(f)
        assert entry["parameters"] == {"x": 1}


def test_wrong_kind_and_newer_version_refused(tmp_path):
    out = tmp_path / "m.h5"
    with atomic_output(out, "model"):
        pass
    with pytest.raises(FormatError, match="is an 'model' file"):
        with open_input(out, "ecg"):
            pass
    with h5py.File(out, "a") as f:
        f.attrs["lvsdctl_format_version"] = FORMAT_VERSION + 1
    with pytest.raises(FormatError, match="newer lvsdctl"):
        with open_input(out, "model"):
            pass
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="not an HDF5 file"):
        with open_input(tmp_path / "x.h5"):
            pass
    with pytest.raises(InputError, match="no such file"):
        with open_input(tmp_path / "missing.h5"):
            pass


def test_failed_write_leaves_nothing(tmp_path):
    out = tmp_path / "b.h5"
    with pytest.raises(RuntimeError):
        with atomic_output(out, "ecg") as f:
            f.create_dataset("x", data=np.zeros(10))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_killed_write_leaves_no_complete_looking_file(tmp_path):
    out = tmp_path / "c.h5"
    code = textwrap.dedent(f"""
        import os, signal, numpy as np
        from lvsdctl.hdf5 import atomic_output
        with atomic_output({str(out)!r}, "ecg") as f:
            f.create_dataset("signals", data=np.zeros((100, 4, 5000), dtype="float32"))
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode != 0
    assert not out.exists()
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers[0] == ".c.h5.lock" and all(n.startswith(".c.h5.partial-") for n in leftovers[1:])
    # the next write of the same output removes the dead run's partial file (and its lock file when done)
    with atomic_output(out, "ecg") as f:
        f.create_dataset("x", data=np.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5"]


def test_provenance_chain_and_input_hashes(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    with atomic_output(a, "ecg-raw", parameters={"stage": 1}, synthetic=True) as f:
        write_records(f, _records(2))
    with open_input(a, "ecg-raw") as src, atomic_output(b, "ecg", inputs=[src], parameters={"stage": 2}) as f:
        write_records(f, read_records(src))
    with open_input(b, "ecg") as f:
        entries = provenance(f)
        assert [e["parameters"]["stage"] for e in entries] == [1, 2]
        assert entries[1]["inputs"][0]["kind"] == "ecg-raw"
        assert len(entries[1]["inputs"][0]["sha256"]) == 64
        assert bool(f.attrs["synthetic"])  # inherited from the input


def test_stdout_and_stdin_streaming(tmp_path):
    code_out = "from lvsdctl.hdf5 import atomic_output\nwith atomic_output('-', 'ecg') as f: f['x'] = [1, 2, 3]\n"
    data = subprocess.run([sys.executable, "-c", code_out], capture_output=True, check=True).stdout
    assert data[:8] == b"\x89HDF\r\n\x1a\n"
    code_in = ("from lvsdctl.hdf5 import open_input, provenance\nimport json\n"
               "with open_input('-', 'ecg') as f: print(json.dumps(f['x'][()].tolist()))\n")
    res = subprocess.run([sys.executable, "-c", code_in], input=data, capture_output=True, check=True)
    assert json.loads(res.stdout) == [1, 2, 3]


def _write_raw(out, ecgs, records) -> None:
    """An ecg-raw file of these ECGs through RawWriter, flushing every few ECGs."""
    with atomic_output(out, "ecg-raw") as f:
        w = RawWriter(f, flush_samples=6000)
        for segs in ecgs:
            w.append(segs)
        w.finish(records)


def test_raw_writer_keeps_native_rates(tmp_path):
    out = tmp_path / "raw.h5"
    rng = np.random.default_rng(0)
    ecgs = []
    for i in range(7):
        segs = [Segment("I", rng.normal(size=5000).astype("float32"), 500.0)]
        segs += [Segment(lead, rng.normal(size=250 + j).astype("float32"), (250 + j) / 2.5, t0=2.5 * (j % 4), kind="piece")
                 for j, lead in enumerate(["II", "V1"])]
        ecgs.append(segs)
    _write_raw(out, ecgs, _records(8).iloc[:len(ecgs)])
    with open_input(out, "ecg-raw") as f:
        got = list(iter_raw_records(f, chunk=3))
        assert [i for i, _ in got] == list(range(7))
        for (_, segs), want in zip(got, ecgs):
            assert [s.lead for s in segs] == [s.lead for s in want]
            for s, w_ in zip(segs, want):
                np.testing.assert_array_equal(s.signal, w_.signal)
                assert s.fs == w_.fs and s.t0 == w_.t0 and s.kind == w_.kind
        pieces = list(iter_raw_records(f, kind="piece"))
        assert all(s.kind == "piece" for _, segs in pieces for s in segs)


def test_raw_writer_keeps_integer_codes(tmp_path):
    """Segments given as int16 counts go to /raw/counts with their scale and read back as
    float32(code x scale); float segments of the same ECGs stay in /raw/samples."""
    out = tmp_path / "raw.h5"
    rng = np.random.default_rng(1)
    ecgs = []
    for i in range(5):
        codes = rng.integers(-3000, 3000, 5000).astype(np.int16)
        ecgs.append([Segment("I", None, 500.0, counts=codes, scale=0.00488),
                     Segment("aVR", None, 500.0, counts=codes // 2, scale=0.00244),
                     Segment("II", rng.normal(size=5000).astype("float32"), 500.0)])
    _write_raw(out, ecgs, _records(6).iloc[:len(ecgs)])
    with open_input(out, "ecg-raw") as f:
        assert f["raw/counts"].dtype == np.int16 and f["raw/counts"].shape == (5 * 10_000,)
        assert f["raw/samples"].shape == (5 * 5000,)
        assert list(f["raw/segments/scale"][:3]) == [0.00488, 0.00244, 0.0]
        for (_, segs), want in zip(iter_raw_records(f, chunk=2), ecgs):
            for s, w_ in zip(segs, want):
                np.testing.assert_array_equal(s.signal, w_.signal)
                assert s.signal.dtype == np.float32
    np.testing.assert_array_equal(ecgs[0][0].signal, (ecgs[0][0].counts.astype(np.float64) * 0.00488).astype(np.float32))


def test_format_version_1_raw_files_are_still_read(tmp_path):
    """Files written before /raw/counts existed: no counts, no scale column, every segment float32."""
    out = tmp_path / "v1.h5"
    data = np.arange(30, dtype=np.float32)
    with h5py.File(out, "w") as f:
        f.attrs["lvsdctl_kind"] = "ecg-raw"
        f.attrs["lvsdctl_format_version"] = 1
        raw = f.create_group("raw")
        raw.create_dataset("samples", data=data, chunks=(8,), maxshape=(None,), compression="gzip")
        seg = raw.create_group("segments")
        for key, values in {"record": [0, 0, 1], "t0": [0.0, 0.0, 0.0], "fs": [500.0, 500.0, 250.0],
                            "offset": [0, 10, 20], "length": [10, 10, 10]}.items():
            seg.create_dataset(key, data=np.array(values))
        for key, values in {"lead": ["I", "II", "I"], "kind": ["rhythm"] * 3}.items():
            seg.create_dataset(key, data=np.array(values, dtype=object), dtype=h5py.string_dtype())
    with open_input(out, "ecg-raw") as f:
        got = dict(iter_raw_records(f))
    assert [s.lead for s in got[0]] == ["I", "II"] and got[1][0].fs == 250.0
    np.testing.assert_array_equal(got[1][0].signal, data[20:])
