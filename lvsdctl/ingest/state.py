"""What an ingest run has finished, kept on disk so an interrupted run can resume.

The state lives in `<output>.ingest-state/` beside the output and is removed when the output is
complete:

- `samples.h5`: the accepted ECGs' samples, appended block by block in two streams: `/raw/samples`
  (float32 mV) and `/raw/counts` (int16 codes, for formats that store integers), chunked and
  compressed as in the final `ecg-raw` file. This file becomes the output: the segment table,
  `/records` and the provenance are added to it and it is moved into place, so no sample is copied
  or compressed twice (if that last step fails, the file is given back and anything it added is
  removed on resume);
- `journal.jsonl`: a header line (the settings that shape the records: key id, echo table hash,
  window, policy, threshold...) then one line per finished input file, by SHA-256: accepted (with its
  `/records` row, already pseudonymised, its segment table with offsets within its own samples, and
  `base`: where its samples start in each stream) or rejected (with the reason).

A block is committed by writing and flushing its samples first, then appending its journal lines, so
the journal never names samples that are not written; samples past the last journal line (a block
cut off by a kill) are truncated on resume. Flushed to the operating system, not fsync'ed per block
(that cost more than the parsing): the state survives Ctrl-C, a kill or a crash of lvsdctl; after a
power cut a state that cannot be read is discarded with a warning and the run starts over.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from lvsdctl.errors import InputError
from lvsdctl.hdf5.deflate import compress as _compress
from lvsdctl.hdf5.deflate import shuffle as _shuffle
from lvsdctl.hdf5.raw import CHUNK, SEGMENT_TYPES, STREAMS, create_streams, write_segment_table


STATE_VERSION = 2  # 2: the int16 `counts` stream and each segment's scale
#: Compression of the samples (the int16 codes byte-shuffled first: lvsdctl.hdf5.raw.create_streams).
#: gzip-1 (the default) is read by every HDF5 tool and, with `isal`, is fast (per synthetic MUSE ECG:
#: 66 kB and 0.24 ms with shuffle); lzf is h5py's own filter; none 136 kB. Float32 samples are not
#: shuffled: they compress better without it (96 kB / 3.8 ms vs 147 kB / 5.5 ms per ECG, measured
#: when MUSE ECGs were stored as float32).
COMPRESSION = {
    "lzf": {"compression": "lzf"},
    "gzip": {"compression": "gzip", "compression_opts": 1},
    "none": {},
}
SEGMENT_KEYS = tuple(SEGMENT_TYPES)
#: The sample streams' paths in the store (as in the output: lvsdctl.hdf5.raw.STREAMS under /raw).
_PATHS = tuple(f"raw/{name}" for name, _ in STREAMS)


def _gzip1_shuffled(chunk: np.ndarray) -> bytes:
    return _compress(_shuffle(chunk), 1)


def _gzip1(chunk: np.ndarray) -> bytes:
    """A chunk as HDF5's deflate filter stores it: a zlib stream, level 1. With `isal` installed
    (Intel ISA-L's deflate) this is about 4x faster than zlib for the same size, and any zlib
    (so any HDF5 tool) decodes it."""
    return _compress(chunk.tobytes(), 1)


def _raw(chunk: np.ndarray) -> bytes:
    return chunk.tobytes()


def start_writeback(path: Path) -> None:
    """Ask Linux to start writing a file's dirty pages to disk now, without waiting (sync_file_range).

    The output is fsync'ed once complete; begun block by block, that write-back overlaps the parsing
    instead of holding up the end (0.24 s of a 10,000-file ingest). Elsewhere it does nothing.
    """
    global _SYNC_FILE_RANGE
    if _SYNC_FILE_RANGE is None:
        try:
            import ctypes

            fn = ctypes.CDLL(None, use_errno=True).sync_file_range
            fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
            _SYNC_FILE_RANGE = fn
        except (OSError, AttributeError):
            _SYNC_FILE_RANGE = False
    if not _SYNC_FILE_RANGE:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        _SYNC_FILE_RANGE(fd, 0, 0, 2)  # SYNC_FILE_RANGE_WRITE: start write-out of dirty pages, no wait
    finally:
        os.close(fd)


_SYNC_FILE_RANGE = None


def _keep_only_streams(f: h5py.File) -> None:
    """Remove what a failed final step added to the sample store: all but the two streams."""
    for name in [n for n in f if n != "raw"]:
        del f[name]
    for name in [n for n in f["raw"] if f"raw/{n}" not in _PATHS]:
        del f["raw"][name]
    for name in list(f.attrs):
        del f.attrs[name]


def _stream_ends(entries: list[dict]) -> tuple[int, int]:
    """Samples the journal's entries reach in each stream (float32, int16)."""
    ends = [0, 0]
    for e in entries:
        base = e.get("base", (0, 0))
        for seg in e.get("segments", ()):
            k = int(seg[6] > 0)
            ends[k] = max(ends[k], base[k] + seg[4] + seg[5])
    return ends[0], ends[1]


def _valid_entry(entry: object) -> bool:
    """A journal line as `commit` writes it (what resuming reads from it is all there, of the right type)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("path"), str):
        return False
    status = entry.get("status")
    if status == "rejected":
        return isinstance(entry.get("reason"), str)
    if status not in ("accepted", "dropped") or not isinstance(entry.get("row"), dict):
        return False
    if status == "dropped":
        return "segments" not in entry
    segments, base = entry.get("segments"), entry.get("base")
    if not (isinstance(segments, list) and isinstance(base, list) and len(base) == 2
            and all(isinstance(b, int) and b >= 0 for b in base)):
        return False
    return all(isinstance(seg, list) and len(seg) == len(SEGMENT_KEYS) - 1 and isinstance(seg[0], str)
               and isinstance(seg[1], str) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   for v in seg[2:]) and seg[4] >= 0 and seg[5] >= 0
               for seg in segments)


def state_dir_for(output: str | os.PathLike) -> Path:
    return Path(f"{output}.ingest-state")


@dataclass
class IngestState:
    """The journal and sample store of one output; `entries` are finished files in commit order."""

    path: Path
    header: dict
    entries: list[dict] = field(default_factory=list)
    discarded: str = ""  # why an earlier state was not used ("" when none was found or it was used)
    _lengths: list[int] = field(default_factory=lambda: [0, 0])  # committed samples per stream
    _h5: h5py.File | None = None
    threads: int = 1  # compression threads (zlib releases the GIL): the writer is not one serial core
    _pool: ThreadPoolExecutor | None = None
    _tails: dict[str, np.ndarray] = field(default_factory=dict)  # each stream's incomplete last chunk

    # ---- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, header: dict, *, resume: bool) -> "IngestState":
        """Start a fresh state, or (with `resume`) continue the one at `path` if its settings match."""
        header = {"state_version": STATE_VERSION, **header}
        discarded = ""
        if path.exists():
            if resume:
                state = cls._load(path, header)
                if state is not None:
                    return state
                discarded = "the saved state of the interrupted run was unreadable; starting over"
            else:
                discarded = "an interrupted run's state was found and discarded (use --resume to continue one)"
            shutil.rmtree(path, ignore_errors=True)
        try:
            path.mkdir(parents=True, exist_ok=True)
            with h5py.File(path / "samples.h5", "w", track_order=True) as f:  # as atomic_output makes files
                create_streams(f.create_group("raw"), COMPRESSION[header.get("compression", "gzip")])
            with open(path / "journal.jsonl", "w", encoding="utf-8") as fh:
                fh.write(json.dumps(header, sort_keys=True) + "\n")
        except OSError as exc:
            raise InputError(f"{path}: cannot create the ingest state ({exc.strerror or type(exc).__name__})"
                             ) from None
        return cls(path=path, header=header, discarded=discarded)

    @classmethod
    def _load(cls, path: Path, header: dict) -> "IngestState | None":
        """The saved state, or None when any piece of it cannot be read or trusted (start over).

        Only a state that is whole is resumed: a journal header from this version, journal lines that are
        complete entries, and a sample store whose committed samples all read back (every chunk is
        decompressed once: a damaged chunk found later would fail the run, not restart it). A journal with
        other settings is not damage: it is refused, so a changed option is never silently ignored.
        """
        try:
            with open(path / "journal.jsonl", encoding="utf-8") as fh:
                lines = fh.read().split("\n")
            saved = json.loads(lines[0])
        except (OSError, ValueError, IndexError, UnicodeDecodeError):
            return None
        if not isinstance(saved, dict) or saved.get("state_version") != header.get("state_version"):
            return None
        if saved != header:
            changed = sorted(k for k in set(saved) | set(header) if saved.get(k) != header.get(k))
            raise InputError(
                f"{path}: the interrupted run used different settings ({', '.join(changed)}); "
                "run again with the same ones, or without --resume to start over"
            )
        entries: list[dict] = []
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except ValueError:
                break  # a line cut off by the interruption, and anything after it, is not committed
            if not _valid_entry(entry):
                return None
            entries.append(entry)
        try:
            ends = _stream_ends(entries)
            with h5py.File(path / "samples.h5", "r+") as f:
                for name, committed, (_, dtype) in zip(_PATHS, ends, STREAMS):
                    ds = f[name]
                    if ds.shape[0] < committed or ds.dtype != dtype or ds.chunks != (CHUNK,):
                        return None
                    ds.resize((committed,))
                    for start in range(0, committed, 16 * CHUNK):  # every committed chunk reads back
                        ds[start:min(committed, start + 16 * CHUNK)]
                _keep_only_streams(f)
        except Exception:  # noqa: BLE001 - whatever HDF5 or the journal's numbers raise: not resumable
            return None
        # rewrite the journal without a cut-off tail so later appends start on a clean line
        try:
            with open(path / "journal.jsonl", "w", encoding="utf-8") as fh:
                fh.write("\n".join([lines[0], *(json.dumps(e, sort_keys=True) for e in entries)]) + "\n")
        except OSError:
            return None
        return cls(path=path, header=header, entries=entries, _lengths=list(ends))

    # ---- writing -------------------------------------------------------------------------------
    def commit(self, entries: list[dict], samples: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """`_commit`, a failure to write (a full disk, a quota) reported as the user's to fix (exit 3)."""
        try:
            self._commit(entries, samples)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write the ingest state ({exc.strerror or type(exc).__name__})"
                             ) from None

    def _commit(self, entries: list[dict], samples: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Make a block durable. `samples` holds, for each entry with `segments` (in order), its two
        sample streams (float32, int16); each such entry gets `base`, where they start in the streams
        (its segments' offsets stay relative to its own samples: `write_segments` adds the two)."""
        if not entries:
            return
        for k, (name, (_, dtype)) in enumerate(zip(_PATHS, STREAMS)):
            arrays = [np.asarray(s[k], dtype=dtype) for s in samples if len(s[k])]
            if arrays:
                self._append(name, arrays)
        base = list(self._lengths)
        sizes = iter(samples)
        for e in entries:
            if "segments" in e:
                e["base"] = list(base)
                f32, i16 = next(sizes)
                base[0] += len(f32)
                base[1] += len(i16)
        self._lengths = base
        with open(self.path / "journal.jsonl", "a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
        self.entries.extend(entries)
        start_writeback(self.samples_file)

    def _append(self, name: str, arrays: list[np.ndarray]) -> None:
        """Append to one stream. gzip and none: whole chunks are encoded here (zlib in `threads` threads)
        and written with `write_direct_chunk`; the incomplete last chunk is written padded and
        rewritten as it fills. lzf (no Python codec) goes through HDF5's own filter."""
        if self._h5 is None:
            self._h5 = h5py.File(self.path / "samples.h5", "r+")
        ds = self._h5[name]
        end = ds.shape[0]
        codec = self.header.get("compression", "gzip")
        if codec == "lzf":
            ds.resize((end + sum(len(a) for a in arrays),))
            for a in arrays:
                ds[end:end + len(a)] = a
                end += len(a)
            self._h5.flush()
            return
        first = end // CHUNK * CHUNK  # start of the chunk being filled
        if end > first:  # its samples: kept from the last append (reading them back meant inflating it)
            tail = self._tails.get(name)
            if tail is None or len(tail) != end - first:
                tail = ds[first:end]
            arrays = [tail, *arrays]
        data = np.concatenate(arrays)
        ds.resize((first + len(data),))
        self._tails[name] = data[len(data) // CHUNK * CHUNK:].copy()
        pieces = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
        if len(pieces[-1]) < CHUNK:
            pieces[-1] = np.concatenate([pieces[-1], np.zeros(CHUNK - len(pieces[-1]), data.dtype)])
        encode = _raw if codec != "gzip" else _gzip1_shuffled if ds.shuffle else _gzip1
        if self.threads > 1 and len(pieces) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads)
            # one task per thread (a run of chunks each), not one per chunk: fewer wake-ups
            step = -(-len(pieces) // self.threads)
            runs = self._pool.map(lambda run: [encode(p) for p in run],
                                  [pieces[i:i + step] for i in range(0, len(pieces), step)])
            blobs = (blob for run in runs for blob in run)
        else:
            blobs = map(encode, pieces)
        for k, blob in enumerate(blobs):
            ds.id.write_direct_chunk((first + k * CHUNK,), blob)
        self._h5.flush()

    @property
    def samples_file(self) -> Path:
        """The sample store, to become the output (`atomic_output(start_from=...)`) once closed."""
        return self.path / "samples.h5"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    # ---- finishing -----------------------------------------------------------------------------
    def write_segments(self, f: h5py.File) -> None:
        """Add `/raw/segments` to the sample store opened as the output."""
        group = f["raw"]
        kept = [e for e in self.entries if "segments" in e]
        rows = [s for e in kept for s in e["segments"]]
        table = {key: [s[k] for s in rows] for k, key in enumerate(SEGMENT_KEYS[1:])}  # column by column
        record = np.repeat(np.arange(len(kept)), [len(e["segments"]) for e in kept])
        bases = np.array([e["base"] for e in kept], dtype=np.int64).reshape(-1, 2)
        stream = (np.asarray(table["scale"], dtype=np.float64) > 0).astype(np.intp)
        table["record"] = record
        table["offset"] = np.asarray(table["offset"], dtype=np.int64) + bases[record, stream]
        write_segment_table(group, table)

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
