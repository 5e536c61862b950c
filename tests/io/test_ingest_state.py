"""The resumable sample store: chunk-exact appends, tails rewritten, truncation on resume."""

from __future__ import annotations

import zlib

import h5py
import numpy as np
import pytest

from lvsdctl.io import ingest_state
from lvsdctl.io.ingest_state import CHUNK, IngestState


def _entry(i: int, n: int) -> dict:
    return {"sha256": f"{i:064x}", "path": f"f{i}", "status": "accepted", "row": {},
            "segments": [["II", "rhythm", 0.0, 500.0, 0, n]]}


@pytest.mark.parametrize("compression", ["gzip", "gzip-zlib", "lzf", "none"])
def test_blocks_resume_and_final_copy(tmp_path, compression, monkeypatch):
    if compression == "gzip-zlib":  # the fallback encoder where isal is not installed
        monkeypatch.setattr(ingest_state, "_compress", zlib.compress)
        compression = "gzip"
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=int(n)).astype(np.float32) for n in rng.integers(1, 3 * CHUNK, 12)]
    header = {"compression": compression}
    state = IngestState.open(tmp_path / "s", header, resume=False)
    state.threads = 2
    state.commit([_entry(i, len(a)) for i, a in enumerate(arrays[:3])], [[a] for a in arrays[:3]])
    state.commit([_entry(i + 3, len(a)) for i, a in enumerate(arrays[3:7])], [[a[:7], a[7:]] for a in arrays[3:7]])
    # an uncommitted block reaches the sample file but not the journal: dropped on resume
    state._append([rng.normal(size=CHUNK + 5).astype(np.float32)])
    state.close()

    state = IngestState.open(tmp_path / "s", header, resume=True)
    assert [e["sha256"] for e in state.entries] == [f"{i:064x}" for i in range(7)]
    state.commit([_entry(i + 7, len(a)) for i, a in enumerate(arrays[7:])], [[a] for a in arrays[7:]])
    with h5py.File(tmp_path / "out.h5", "w") as f:
        state.write_raw(f)
        samples = f["raw/samples"][()]
        offsets = f["raw/segments/offset"][()]
        lengths = f["raw/segments/length"][()]
        assert list(f["raw/segments/record"][()]) == list(range(12))
    np.testing.assert_array_equal(samples, np.concatenate(arrays))
    assert list(lengths) == [len(a) for a in arrays]
    assert list(offsets) == list(np.cumsum([0] + [len(a) for a in arrays])[:-1])
    state.remove()
    assert not (tmp_path / "s").exists()


def test_unreadable_state_is_discarded(tmp_path):
    state = IngestState.open(tmp_path / "s", {"compression": "gzip"}, resume=False)
    state.close()
    (tmp_path / "s" / "samples.h5").write_bytes(b"garbage")
    (tmp_path / "s" / "journal.jsonl").write_text('{"compression": "gzip", "state_version": 1}\n'
                                                  + '{"sha256": "a", "status": "accepted", "segments": '
                                                    '[["I", "rhythm", 0, 500, 0, 10]]}\n')
    fresh = IngestState.open(tmp_path / "s", {"compression": "gzip"}, resume=True)
    assert fresh.entries == [] and "unreadable" in fresh.discarded
