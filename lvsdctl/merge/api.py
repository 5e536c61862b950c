"""`merge`: several `ecg-raw` (or several `ecg`) files -> one, for cohorts exported by several sites or
ingested in shards on several machines.

Records are copied input by input, in the order given, one block at a time (memory does not grow with
the files' sizes: a block of samples, plus 16 bytes per distinct ECG for the duplicate check). An ECG
whose export (`/records/source_sha256`) is already in the output is counted as a duplicate and kept
once, the first time it is seen. Every input's provenance is carried over and the merge's own entry
lists each input with its counts. Inputs of different kinds, format versions or preprocessing, or whose
pseudonyms were made with different site secrets (so that one patient has two pseudonyms), are
refused (`lvsdctl.merge.inputs`). Always: inputs = written + duplicates.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

import h5py
import numpy as np

from lvsdctl.errors import InputError
from lvsdctl.outputs import claims_outputs
from lvsdctl.hdf5 import RECORD_COLUMNS, atomic_output, open_input, write_json_attr
from lvsdctl.hdf5.raw import RawWriter, iter_raw_records
from lvsdctl.hdf5.records import RecordAppender, read_block
from lvsdctl.merge.inputs import KEY_ATTR, KINDS, SIGNAL_ATTRS, Source, check, describe
from lvsdctl.signal.writer import SignalWriter
from lvsdctl.summary import Summary

BLOCK = 256  # records copied at once


@dataclass
class MergeSummary(Summary):
    """What a merge did; `inputs == written + duplicates` always holds."""

    output: str
    kind: str = ""
    inputs: int = 0  # records in all input files
    written: int = 0  # records in the output
    duplicates: int = 0  # records whose export was already in the output (kept once)
    patients: int = 0  # distinct pseudonyms in the output
    patients_in_several_inputs: int = 0  # pseudonyms found in more than one input (e.g. seen at two sites)
    key_ids: list[str] = field(default_factory=list)  # fingerprints of the secrets behind the pseudonyms
    files: list[dict] = field(default_factory=list)  # per input: path, records, written, duplicates, ...
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _columns(sources: Sequence[Source]) -> dict[str, str]:
    """The output's /records columns: the family's known columns first, then any other, first seen first."""
    found: dict[str, str] = {}
    for s in sources:
        for col, dtype in s.columns.items():
            found.setdefault(col, dtype)
    known = [c for c in RECORD_COLUMNS if c in found]
    return {c: found[c] for c in known + [c for c in found if c not in RECORD_COLUMNS]}


def _first_seen(hashes: np.ndarray | None, seen: set[bytes], rows: int) -> np.ndarray:
    """True for the rows whose export is not yet in the output (rows without a hash are always new)."""
    keep = np.ones(rows, dtype=bool)
    if hashes is None:
        return keep
    for i, sha in enumerate(hashes):
        if not sha:
            continue
        try:
            key = bytes.fromhex(sha)[:16]
        except ValueError:
            key = str(sha).encode()
        if key in seen:
            keep[i] = False
        else:
            seen.add(key)
    return keep


class _SignalCopier:
    """Appends rows of `ecg` files' /signals: chunks stored as the output stores them are copied as they
    are (no decoding); others are read and compressed again."""

    def __init__(self, out: h5py.File, first: h5py.Dataset):
        c, t = first.shape[1:]
        self.writer = SignalWriter(out, c, t, "gzip", threads=len(os.sched_getaffinity(0))
                                   if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        self.dataset = self.writer.dataset
        for name, value in first.attrs.items():
            self.dataset.attrs[name] = value

    def _same_storage(self, src: h5py.Dataset) -> bool:
        out = self.dataset
        return (src.chunks == out.chunks and src.dtype == out.dtype and src.compression == out.compression
                and src.compression_opts == out.compression_opts and src.shuffle == out.shuffle
                and not src.fletcher32 and not src.scaleoffset)

    def copy(self, src: h5py.Dataset, lo: int, keep: np.ndarray) -> None:
        rows = lo + np.flatnonzero(keep)
        if not len(rows):
            return
        if self._same_storage(src):
            self.writer.flush()
            start = self.dataset.shape[0]
            self.dataset.resize((start + len(rows), *self.dataset.shape[1:]))
            read, write = src.id.read_direct_chunk, self.dataset.id.write_direct_chunk
            for k, row in enumerate(rows.tolist()):
                mask, blob = read((row, 0, 0))
                write((start + k, 0, 0), blob, filter_mask=mask)
            self.writer.rows = self.dataset.shape[0]
        else:
            block = src[lo:lo + len(keep)]
            self.writer.append(block if keep.all() else block[keep])

    def finish(self) -> None:
        self.writer.finish()


@claims_outputs("output")
def merge(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    allow_different_keys: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> MergeSummary:
    """Merge `ecg-raw` files (or `ecg` files) into `output`; see docs/merge.md.

    Raises InputError (exit 3) for inputs that cannot be joined, including pseudonyms made with
    different site secrets unless `allow_different_keys` (then the summary notes it).
    """
    started = time.perf_counter()
    names = [os.fspath(p) for p in inputs]
    if not names:
        raise InputError("merge needs at least one input file")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"{dup}: given twice")
    for n in names:  # written over while read: refused before anything is opened
        if os.fspath(output) != "-" and os.path.exists(output) and os.path.exists(n) and os.path.samefile(n, output):
            raise InputError(f"{n}: is also the output (-o); write the merged file to a new path")
    summary = MergeSummary(output=os.fspath(output))
    with ExitStack() as stack:
        files = [stack.enter_context(open_input(n, kind=set(KINDS))) for n in names]
        sources = [describe(f, n) for f, n in zip(files, names)]
        summary.notes = check(sources, allow_different_keys)
        summary.kind = kind = sources[0].kind
        summary.key_ids = sorted({k for s in sources for k in s.key_ids})
        summary.inputs = sum(s.records for s in sources)
        parameters: dict = {"allow_different_keys": allow_different_keys, "key_ids": summary.key_ids}
        with atomic_output(output, kind=kind, inputs=files, parameters=parameters) as out:
            if summary.key_ids:
                write_json_attr(out, KEY_ATTR, summary.key_ids)
            if kind == "ecg":
                for name in ("preprocessing",):
                    if name in files[0].attrs:
                        out.attrs[name] = files[0].attrs[name]
            _copy(files, sources, out, summary, progress)
            parameters["files"] = summary.files
            parameters["counts"] = {k: getattr(summary, k) for k in ("inputs", "written", "duplicates", "patients",
                                                                      "patients_in_several_inputs")}
    summary.seconds = round(time.perf_counter() - started, 3)
    assert summary.inputs == summary.written + summary.duplicates
    return summary


def _copy(files: list[h5py.File], sources: list[Source], out: h5py.File, summary: MergeSummary,
          progress: Callable[[int, int], None] | None) -> None:
    kind = sources[0].kind
    records = RecordAppender(out, _columns(sources))
    signals = _SignalCopier(out, files[0]["signals"]) if kind == "ecg" else None
    raw = RawWriter(out) if kind == "ecg-raw" else None
    seen: set[bytes] = set()
    first_input: dict[str, int] = {}  # pseudonym -> the first input it was found in
    linked: set[str] = set()
    done = 0
    try:
        for k, (f, src) in enumerate(zip(files, sources)):
            written = records.n
            duplicates = 0
            segments = iter_raw_records(f, chunk=BLOCK) if raw is not None else None
            for lo in range(0, src.records, BLOCK):
                hi = min(lo + BLOCK, src.records)
                block = read_block(f["records"], lo, hi)
                keep = _first_seen(block.get("source_sha256"), seen, hi - lo)
                duplicates += int((~keep).sum())
                if signals is not None:
                    signals.copy(f["signals"], lo, keep)
                else:
                    for j in range(hi - lo):
                        _, segs = next(segments)
                        if keep[j]:
                            raw.append(segs)
                records.append({c: v[keep] for c, v in block.items()}, int(keep.sum()))
                for patient in set(block.get("patient", np.empty(0, dtype=object))[keep].tolist()) - {""}:
                    if first_input.setdefault(patient, k) != k:
                        linked.add(patient)
                done += hi - lo
                if progress is not None:
                    progress(done, summary.inputs)
            summary.files.append({"path": src.path, "kind": src.kind, "records": src.records,
                                  "written": records.n - written, "duplicates": duplicates,
                                  "rows": [written, records.n], "key_ids": src.key_ids})
            summary.duplicates += duplicates
        if signals is not None:
            signals.finish()
        else:
            raw.finish(None)
    finally:
        if signals is not None:
            signals.writer.close()
    records.finish()
    _carry_record_attrs(records.group, sources, summary)
    summary.written = records.n
    summary.patients = len(first_input)
    summary.patients_in_several_inputs = len(linked)


#: The /records attributes lvsdctl writes (`split`); any other name is an input's text and is not copied.
RECORD_ATTRS = ("split_design", "split_seed")


def _carry_record_attrs(group: h5py.Group, sources: list[Source], summary: MergeSummary) -> None:
    """/records attributes (the split design and seed) kept when every input has the same ones."""
    attrs = [{k: v for k, v in s.record_attrs.items() if k in RECORD_ATTRS} for s in sources]
    if all(json.dumps(a, sort_keys=True, default=str) == json.dumps(attrs[0], sort_keys=True, default=str)
           for a in attrs):
        for name, value in attrs[0].items():
            group.attrs[name] = value
    elif any(attrs):
        summary.notes.append("the inputs were split differently (or not all split): the split design is not "
                             "carried over; run `lvsdctl split` on the merged file")


__all__ = ["MergeSummary", "merge", "SIGNAL_ATTRS"]
