"""What ingest does to one file, in a worker process when `--jobs` > 1: hash it, parse it, check it.

Nothing here raises for a bad file: a ReadError becomes its one-line reason, any other exception
"internal error: <type>" (its message could quote the file). Each ECG's samples travel as two arrays,
`Samples`: float32 millivolts for segments given as signals, int16 codes for segments given as counts
(MUSE), each stream joined in segment order; `lvsdctl.ingest.handover` takes them back to the writer.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import stat
from collections.abc import Callable

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.ingest import handover
from lvsdctl.ingest.handover import Samples, SlotSink
from lvsdctl.io.leads import MAX_TOTAL_SAMPLES, is_standard_name, unnamed_lead
from lvsdctl.io.synthetic import MARKER_SPAN, has_synthetic_marker
from lvsdctl.record import ECGRecord

_MAX_REASON = 300
_READER: Callable[[str], ECGRecord] | None = None


def _default_reader(path: str, data: bytes | None = None) -> ECGRecord:
    from lvsdctl.io.detect import read_ecg

    return read_ecg(path, data)


def init_worker(reader: Callable[[str], ECGRecord] | None) -> None:
    """Use `reader` (tests, benchmarks) or the format-detecting `read_ecg` in this process."""
    global _READER
    from lvsdctl.alloc import tune_allocator

    tune_allocator()  # bulk reading: keep freed heap instead of faulting it back in per file
    _READER = reader or _default_reader


def init_pool_worker(reader: Callable[[str], ECGRecord] | None, transfer_dir: str) -> None:
    """Workers leave Ctrl-C to the parent, which commits what is finished and stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    handover.use_transfer_dir(transfer_dir)
    init_worker(reader)


def one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def hash_one(path: str) -> tuple[str, bool, str]:
    """(sha256, carries the synthetic marker, error reason or "")."""
    return read_and_hash(path, keep=0)[:3]


#: Files up to this size are read whole once, hashed and parsed from the same bytes.
KEEP_BYTES = 8 << 20


def read_and_hash(path: str, keep: int = KEEP_BYTES) -> tuple[str, bool, str, bytes | None]:
    """(sha256, carries the synthetic marker, error reason or "", the bytes when the file is at most
    `keep` bytes long, else None: larger files are hashed in blocks and left to their reader)."""
    h = hashlib.sha256()
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            return "", False, "is a directory", None
        if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
            return "", False, "not a regular file", None
        with open(path, "rb") as fh:
            if st.st_size <= keep:
                data = fh.read(st.st_size + 1)  # one byte more: a file that grew shows it
                if len(data) <= st.st_size:  # (a file that grew since the stat: hashed as it is, below)
                    h.update(data)
                    return h.hexdigest(), has_synthetic_marker(data), "", data
                fh.seek(0)
            head = fh.read(MARKER_SPAN)
            synthetic = has_synthetic_marker(head)
            h.update(head)
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except IsADirectoryError:
        return "", False, "is a directory", None
    except OSError as exc:
        return "", False, one_line(f"cannot read the file ({exc.strerror or type(exc).__name__})"), None
    return h.hexdigest(), synthetic, "", None


def hash_chunk(paths: list[str]) -> list[tuple[str, bool, str]]:
    return [hash_one(p) for p in paths]


def _record_fs(rec: ECGRecord) -> float:
    """The record's original rate: its first rhythm segment's (for digitised ECGs, the strip's)."""
    for seg in rec.segments:
        if seg.kind == "rhythm":
            return float(seg.fs)
    return float(rec.segments[0].fs) if rec.segments else float("nan")


def _name(seg, position: int) -> str:
    """A segment's lead as messages and the output show it: a standard name, else its position."""
    return str(seg.lead) if is_standard_name(str(seg.lead)) else unnamed_lead(position)


def _check(rec: ECGRecord) -> None:
    """Last guard whatever the reader: non-empty 1-D segments at a positive rate, no more samples than
    any ECG has (MAX_TOTAL_SAMPLES) (finiteness: `_finite`)."""
    if not isinstance(rec, ECGRecord) or not rec.segments:
        raise ReadError("no ECG signal in the file")
    total = 0
    for k, seg in enumerate(rec.segments, 1):
        data = seg.counts if seg.counts is not None else seg.signal
        if data.ndim != 1 or data.size == 0:
            raise ReadError(f"lead {_name(seg, k)}: empty or not one-dimensional")
        if not (np.isfinite(seg.fs) and seg.fs > 0):
            raise ReadError(f"lead {_name(seg, k)}: invalid sampling rate")
        if seg.counts is not None and not (data.dtype.kind == "i" and data.itemsize == 2
                                           and 0.0 < seg.scale * 65536.0 < 3.0e38):
            raise ReadError(f"lead {_name(seg, k)}: integer codes that are not int16 or a scale out of range")
        total += data.size
    if total > MAX_TOTAL_SAMPLES:
        raise ReadError(f"{total} samples in all (at most {MAX_TOTAL_SAMPLES} per ECG)")


def _finite(rec: ECGRecord, f32: np.ndarray) -> None:
    """NaN or infinity anywhere is a ReadError naming the first such lead; one pass over the joined
    float samples (a check per segment cost 24 calls per ECG). int16 codes are finite by type, and their
    scale was checked; float32(code x scale) overflows only past float32's range, which the readers refuse."""
    if np.isfinite(f32).all():
        return
    for k, seg in enumerate(rec.segments, 1):
        if seg.counts is None and not np.isfinite(seg.signal).all():
            raise ReadError(f"lead {_name(seg, k)}: non-finite samples (NaN or infinity)")


def _join(rec: ECGRecord, sink: SlotSink | None) -> tuple[Samples, tuple | None]:
    """The ECG's two sample streams (in the task's slot when they fit) and how to hand them over."""
    signals = [np.asarray(s.signal, dtype=np.float32) for s in rec.segments if s.counts is None]
    counts = [s.counts for s in rec.segments if s.counts is not None]
    n_f32, n_i16 = sum(a.size for a in signals), sum(a.size for a in counts)
    reserved = sink.reserve(n_f32, n_i16) if sink is not None else None
    if reserved is None:
        f32, i16, token = np.empty(n_f32, dtype=np.float32), np.empty(n_i16, dtype=np.int16), None
    else:
        f32, i16, token = reserved
    for arrays, out in ((signals, f32), (counts, i16)):
        if len(arrays) == 1:
            out[:] = arrays[0]
        elif arrays:
            np.concatenate(arrays, out=out)
    return (f32, i16), token


def parse_one(path: str, sink: SlotSink | None = None, data: bytes | None = None) -> tuple:
    """("ok", meta, samples, segments) or ("reject", reason). Never raises for a bad file.

    `samples`: the `Samples` in-process, ("slot", slot, offset, n_f32, n_i16) when written to a shared slot
    by a worker, or ("file", path, n_f32, n_i16) when handed over in a file. `segments`: [lead, kind, t0,
    fs, offset, length, scale] each, offset within its stream (scale > 0: the int16 stream).
    """
    try:  # the default reader parses the bytes already read and hashed; a custom one reads the file
        rec = _READER(path, data) if data is not None and _READER is _default_reader else _READER(path)  # type: ignore[misc]
        _check(rec)
        (f32, i16), token = _join(rec, sink)
        _finite(rec, f32)
    except ReadError as exc:
        return ("reject", one_line(str(exc)) or "unreadable file")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one bad file must not stop the batch
        # the message of an unexpected exception might quote the file's content: only its type
        return ("reject", f"internal error: {type(exc).__name__}")
    segments = []
    offsets = [0, 0]  # in the float32 stream, in the int16 stream
    for k, seg in enumerate(rec.segments, 1):
        coded = seg.counts is not None
        n = seg.size
        lead = _name(seg, k)  # a standard name whatever the reader gave
        kind = str(seg.kind) if seg.kind in _KINDS else "rhythm"
        segments.append([lead, kind, float(seg.t0), float(seg.fs), offsets[coded], n,
                         float(seg.scale) if coded else 0.0])
        offsets[coded] += n
    acquired = rec.acquired.isoformat() if rec.acquired is not None else ""
    meta = {
        "patient_id": rec.patient_id,
        "acquired": acquired,
        "age": float(rec.age) if rec.age is not None else float("nan"),
        "sex": rec.sex if rec.sex in ("F", "M") else "",
        "site": site_code(rec.site),
        "source_format": rec.source_format,
        "fs": _record_fs(rec),
        "qrs_ms": _float(rec.extra.get("qrs_ms")),
        "synthetic": bool(rec.extra.get("synthetic", False)),
    }
    return ("ok", meta, token if token is not None else handover.hand_over(f32, i16), segments)


def parse_chunk(paths: list[str], slot: int | None = None) -> list[tuple]:
    """(sha256, synthetic marker, error reason or "", `parse_one`'s result or None) for each path:
    a file is read once, and hashed and parsed from the same bytes (when at most KEEP_BYTES long)."""
    sink = SlotSink.for_slot(slot)
    out = []
    for p in paths:
        sha, marker, err, data = read_and_hash(p)
        out.append((sha, marker, err, None if err else parse_one(p, sink, data)))
    return out


#: A site as an export may name it and ingest keeps it: a short code (MUSE's site number, an HL7 trial
#: site id, `lvsdctl synth`'s A, B, C). A longer or free-text site (an institution's or a ward's name) is
#: the file's content, not a code: it is not written (`ingest --site NAME` names the site of a run).
_SITE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,7}")
_KINDS = frozenset({"rhythm", "piece", "median"})


def site_code(site: str | None) -> str:
    """`site` when it is a site code (see _SITE_CODE), else ''."""
    text = (site or "").strip()
    return text if _SITE_CODE.fullmatch(text) else ""


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


