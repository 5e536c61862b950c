"""The resumable sample store: chunk-exact appends to both streams, tails rewritten, truncation and clean-up
on resume, and the store completed as the output."""

from __future__ import annotations

import json
import zlib

import h5py
import numpy as np
import pytest

from lvsdctl.errors import InputError
from lvsdctl.hdf5.raw import iter_raw_records
from lvsdctl.ingest import state as ingest_state
from lvsdctl.hdf5.raw import CHUNK
from lvsdctl.ingest.state import IngestState


def _ecg(rng, i: int) -> tuple[dict, tuple[np.ndarray, np.ndarray]]:
    """An entry with one float32 segment and (for odd i) one int16 segment, and its two streams."""
    f32 = rng.normal(size=int(rng.integers(1, 2 * CHUNK))).astype(np.float32)
    i16 = rng.integers(-2000, 2000, int(rng.integers(1, 2 * CHUNK)) if i % 2 else 0).astype(np.int16)
    segments = [["II", "rhythm", 0.0, 500.0, 0, len(f32), 0.0]]
    if len(i16):
        segments.append(["V1", "rhythm", 0.0, 500.0, 0, len(i16), 0.005])
    entry = {"sha256": f"{i:064x}", "path": f"f{i}", "status": "accepted", "row": {}, "segments": segments}
    return entry, (f32, i16)


@pytest.mark.parametrize("compression", ["gzip", "gzip-zlib", "lzf", "none"])
def test_blocks_resume_and_final_copy(tmp_path, compression, monkeypatch):
    if compression == "gzip-zlib":  # the fallback encoder where isal is not installed
        monkeypatch.setattr(ingest_state, "_compress", zlib.compress)
        compression = "gzip"
    rng = np.random.default_rng(0)
    ecgs = [_ecg(rng, i) for i in range(12)]
    header = {"compression": compression}
    state = IngestState.open(tmp_path / "s", header, resume=False)
    state.threads = 2
    state.commit([e for e, _ in ecgs[:3]], [s for _, s in ecgs[:3]])
    state.commit([e for e, _ in ecgs[3:7]], [s for _, s in ecgs[3:7]])
    # an uncommitted block reaches the sample file but not the journal: dropped on resume
    state._append("raw/samples", [rng.normal(size=CHUNK + 5).astype(np.float32)])
    state._append("raw/counts", [np.ones(7, np.int16)])
    state.close()
    with h5py.File(state.samples_file, "r+") as f:  # what a failed final step may have added
        f.attrs["lvsdctl_kind"] = "ecg-raw"
        f.create_group("records")
        f["raw"].create_group("segments")

    state = IngestState.open(tmp_path / "s", header, resume=True)
    assert [e["sha256"] for e in state.entries] == [f"{i:064x}" for i in range(7)]
    state.commit([e for e, _ in ecgs[7:]], [s for _, s in ecgs[7:]])
    state.close()
    with h5py.File(state.samples_file, "r+") as f:  # the sample store becomes the output
        assert set(f) == {"raw"} and set(f["raw"]) == {"samples", "counts"} and not f.attrs
        state.write_segments(f)
        np.testing.assert_array_equal(f["raw/samples"][()], np.concatenate([s[0] for _, s in ecgs]))
        np.testing.assert_array_equal(f["raw/counts"][()], np.concatenate([s[1] for _, s in ecgs]))
        assert list(f["raw/segments/record"][()]) == [i for i in range(12) for _ in range(1 + i % 2)]
        got = dict(iter_raw_records(f, chunk=5))
    for i, (_, (f32, i16)) in enumerate(ecgs):
        np.testing.assert_array_equal(got[i][0].signal, f32)
        if len(i16):
            np.testing.assert_array_equal(got[i][1].signal, (i16 * 0.005).astype(np.float32))
    state.remove()
    assert not (tmp_path / "s").exists()


def test_unreadable_state_is_discarded(tmp_path):
    state = IngestState.open(tmp_path / "s", {"compression": "gzip"}, resume=False)
    state.close()
    (tmp_path / "s" / "samples.h5").write_bytes(b"garbage")
    (tmp_path / "s" / "journal.jsonl").write_text('{"compression": "gzip", "state_version": 2}\n'
                                                  + '{"sha256": "a", "status": "accepted", "segments": '
                                                    '[["I", "rhythm", 0, 500, 0, 10, 0.0]]}\n')
    fresh = IngestState.open(tmp_path / "s", {"compression": "gzip"}, resume=True)
    assert fresh.entries == [] and "unreadable" in fresh.discarded


def _saved_state(tmp_path, n: int = 6) -> tuple[dict, list]:
    """A state of `n` committed ECGs (several chunks of each stream), closed as a killed run leaves it."""
    rng = np.random.default_rng(3)
    ecgs = [_ecg(rng, i) for i in range(n)]
    header = {"compression": "gzip"}
    state = IngestState.open(tmp_path / "s", header, resume=False)
    state.commit([e for e, _ in ecgs], [s for _, s in ecgs])
    state.close()
    return header, ecgs


def _corrupt_chunk(path, name: str, chunk: int) -> None:
    """Overwrite the stored bytes of one chunk of a stream in place (a torn write, a bad disk block)."""
    with h5py.File(path, "r") as f:
        offset = f[name].id.get_chunk_info(chunk).byte_offset
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(b"\xff" * 64)


@pytest.mark.parametrize("damage", [
    "journal header", "journal header not an object", "entry not an object", "entry without segments",
    "entry with a bad segment", "entry with a negative base", "store truncated", "store chunk", "store last chunk",
    "store stream missing", "store stream retyped", "journal missing", "store missing", "journal not utf-8",
])
def test_any_unreadable_piece_means_start_over(tmp_path, damage):
    header, _ = _saved_state(tmp_path)
    journal, store = tmp_path / "s" / "journal.jsonl", tmp_path / "s" / "samples.h5"
    lines = journal.read_text().splitlines()
    entry = json.loads(lines[1])
    if damage == "journal header":
        lines[0] = "{not json"
    elif damage == "journal header not an object":
        lines[0] = "[1, 2]"
    elif damage == "entry not an object":
        lines[1] = '"a string"'
    elif damage == "entry without segments":
        lines[1] = json.dumps({k: v for k, v in entry.items() if k != "segments"})
    elif damage == "entry with a bad segment":
        lines[1] = json.dumps({**entry, "segments": [["II", "rhythm", "x", 500, 0, 10, 0.0]]})
    elif damage == "entry with a negative base":
        lines[1] = json.dumps({**entry, "base": [-5, 0]})
    elif damage == "store truncated":
        store.write_bytes(store.read_bytes()[: store.stat().st_size // 2])
    elif damage == "store chunk":
        _corrupt_chunk(store, "raw/samples", 0)
    elif damage == "store last chunk":  # the campaign's 'filter returned failure during read' on resume
        with h5py.File(store, "r") as f:
            last = f["raw/counts"].id.get_num_chunks() - 1
        _corrupt_chunk(store, "raw/counts", last)
    elif damage == "store stream missing":
        with h5py.File(store, "r+") as f:
            del f["raw/counts"]
    elif damage == "store stream retyped":
        with h5py.File(store, "r+") as f:
            del f["raw/samples"]
            f["raw"].create_dataset("samples", data=np.zeros(10, np.float64), maxshape=(None,), chunks=(CHUNK,))
    elif damage == "journal missing":
        journal.unlink()
    elif damage == "store missing":
        store.unlink()
    elif damage == "journal not utf-8":
        journal.write_bytes(b"\xff\xfe" + journal.read_bytes())
    if journal.exists() and damage != "journal not utf-8":
        journal.write_text("\n".join(lines) + "\n")
    fresh = IngestState.open(tmp_path / "s", header, resume=True)
    assert fresh.entries == [] and "unreadable" in fresh.discarded
    fresh.commit(*_one(np.random.default_rng(9)))  # and the fresh state works
    fresh.close()


def _one(rng):
    entry, samples = _ecg(rng, 1)
    return [entry], [samples]


def test_other_settings_are_refused_not_discarded(tmp_path):
    _saved_state(tmp_path)
    with pytest.raises(InputError, match="different settings"):
        IngestState.open(tmp_path / "s", {"compression": "lzf"}, resume=True)
    assert (tmp_path / "s" / "journal.jsonl").exists()
