"""`measure`: beats, wave boundaries, global intervals and LBBB criteria of many ECGs, into a table.

Inputs are ECG exports (files, folders, globs: every format `ingest` reads) or one lvsdctl HDF5 file
(`ecg-raw` from ingest: measured as ingested, every lead at its own rate; or `ecg` from preprocess:
the signals the model sees, in the 4x5000 printout layout or 12x5000). Each ECG is measured on its
own: a file that cannot be read is rejected with its reason and the batch goes on
(inputs = measured + rejected + duplicates). Nothing read from a file's content is written or
logged but the measurements.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lvsdctl.errors import InputError, ReadError
from lvsdctl.outputs import claims_outputs
from lvsdctl.measure import lbbb, table
from lvsdctl.measure.analyse import Analysis, analyse
from lvsdctl.measure.leads import LeadMatrix, from_four_channel, from_segments, from_twelve
from lvsdctl.measure.statements import StatementMatch
from lvsdctl.summary import Summary

log = logging.getLogger(__name__)


@dataclass
class Measured:
    """One ECG measured: its analysis, criteria, table row and beats."""

    analysis: Analysis
    criteria: lbbb.LbbbCriteria
    row: dict
    beats: dict[str, np.ndarray]

    def to_dict(self) -> dict:
        """The row and its beats, JSON-ready (what `--json` prints per ECG)."""
        return {**table.json_ready(self.row), "median_fs_hz": 500.0,
                "beats_detail": table.beats_as_dicts(self.beats)}


@dataclass
class MeasureSummary(Summary):
    """What `measure` did (`to_dict()` is what `lvsdctl measure --json` prints)."""

    inputs: int = 0
    measured: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)  # {"path", "reason"}
    statuses: dict[str, int] = field(default_factory=dict)
    lbbb: dict[str, int] = field(default_factory=dict)  # criterion -> ECGs meeting it
    output: str | None = None
    seconds: float = 0.0
    synthetic: bool = False
    ecgs: list[Measured] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"inputs": self.inputs, "measured": self.measured, "duplicates": self.duplicates,
                "rejected": self.rejected, "statuses": self.statuses, "lbbb": self.lbbb,
                "output": self.output, "seconds": round(self.seconds, 2), "synthetic": self.synthetic,
                "ecgs": [m.to_dict() for m in self.ecgs]}


def measure_leads(lm: LeadMatrix, *, sex: str | None = None, statement: StatementMatch | None = None,
                  record_id: str = "", source: str = "", index: int = 0, source_format: str = "",
                  cart_qrs_ms: float | None = None, normalised: bool = False) -> Measured:
    """Measure one ECG given as a lead matrix (the building block of every input kind)."""
    a = analyse(lm)
    crit = lbbb.assess(a, sex)
    if normalised and crit.not_assessed == "":
        crit = lbbb.LbbbCriteria(qrs_ms=crit.qrs_ms, not_assessed="amplitudes normalised: criteria need mV")
    row = table.row(a, crit, statement or StatementMatch(), record_id=record_id, source=source, index=index,
                    source_format=source_format, sex=sex, cart_qrs_ms=cart_qrs_ms)
    return Measured(a, crit, row, table.beat_rows(a, index))


def _compact(m: Measured) -> Measured:
    m.analysis.compact()
    return m


def measure_export(path: str, data: bytes | None = None, sha256: str = "", index: int = 0) -> Measured:
    """Measure one ECG export (any format `ingest` reads); ReadError when it cannot be read."""
    from lvsdctl.io.detect import read_ecg
    from lvsdctl.measure import statements

    if not sha256:  # the record id `ingest` would give this file
        from lvsdctl.hdf5 import sha256_file

        try:
            sha256 = sha256_file(path)
        except OSError as exc:
            raise ReadError(f"{path}: cannot read the file ({exc.strerror or type(exc).__name__})") from None
    record = read_ecg(Path(path), data=data) if data is not None else read_ecg(Path(path))
    statement = StatementMatch()
    if record.source_format in ("muse", "philips", "hl7aecg"):
        try:
            statement = statements.from_bytes(data) if data is not None else statements.from_file(path)
        except ReadError:
            statement = StatementMatch()
    cart = record.extra.get("qrs_ms")
    return measure_leads(from_segments(record.segments), sex=record.sex, statement=statement,
                         record_id=sha256[:16], source=str(path), index=index,
                         source_format=record.source_format,
                         cart_qrs_ms=float(cart) if isinstance(cart, (int, float)) else None)


def _measure_one(task: tuple[int, str]) -> tuple[int, str, Measured | None, str, bool]:
    """(index, path, result or None, rejection reason, synthetic) of one export (worker-safe)."""
    from lvsdctl.ingest.worker import read_and_hash

    index, path = task
    sha, synthetic, err, data = read_and_hash(path)
    if err:
        return index, path, None, err, False
    try:
        return index, path, _compact(measure_export(path, data, sha, index)), sha, synthetic
    except ReadError as exc:
        return index, path, None, str(exc), synthetic
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop a batch of thousands
        log.debug("measuring %s failed", path, exc_info=True)
        return index, path, None, f"measurement failed ({type(exc).__name__})", synthetic


def _exports(paths: list[str], jobs: int, progress) -> list[tuple[int, str, Measured | None, str, bool]]:
    tasks = list(enumerate(paths))
    if jobs <= 1 or len(tasks) < 8:
        out = []
        for t in tasks:
            out.append(_measure_one(t))
            if progress:
                progress(len(out), len(tasks))
        return out
    from concurrent.futures import ProcessPoolExecutor

    out = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for r in pool.map(_measure_one, tasks, chunksize=8):
            out.append(r)
            if progress:
                progress(len(out), len(tasks))
    return out


def _guarded(lm: Callable[[], LeadMatrix], meta: dict, normalised: bool = False) -> Measured:
    """One record of an HDF5 file measured (compacted); an unexpected failure gives a `failed` row
    (with its record_id and the reason) rather than stopping a file of thousands."""
    try:
        return _compact(measure_leads(lm(), normalised=normalised, **meta))
    except Exception as exc:  # noqa: BLE001 - one odd record must not stop the file
        log.debug("measuring %s row %d failed", meta["source"], meta["index"], exc_info=True)
        empty = LeadMatrix(np.full((12, 2), np.nan), "continuous", None,
                           [f"measurement failed ({type(exc).__name__})"])
        return _compact(measure_leads(empty, **meta))


def _from_hdf5(path: str, progress) -> tuple[list[Measured], bool]:
    """Every ECG of an `ecg-raw` or `ecg` file."""
    from lvsdctl.hdf5 import open_input, read_records

    out: list[Measured] = []
    with open_input(path, kind={"ecg-raw", "ecg"}) as f:
        kind = f.attrs["lvsdctl_kind"]
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        records = read_records(f)
        synthetic = bool(f.attrs.get("synthetic", False))
        n = len(records)

        def meta(i: int) -> dict:
            r = records.iloc[i]
            sex = str(r.get("sex", "")) or None
            qrs = r.get("qrs_ms", np.nan)
            return {"sex": sex, "record_id": str(r.get("record_id", "")), "source": str(path), "index": i,
                    "source_format": str(r.get("source_format", "")),
                    "cart_qrs_ms": float(qrs) if np.isfinite(qrs) else None}

        if kind == "ecg-raw":
            from lvsdctl.hdf5.raw import iter_raw_records

            for i, segments in iter_raw_records(f):
                out.append(_guarded(lambda: from_segments(segments), meta(i)))
                if progress:
                    progress(i + 1, n)
        else:
            signals = f["signals"]
            layout = str(signals.attrs.get("layout", ""))
            fs = float(signals.attrs.get("fs", 500.0))
            normalised = str(signals.attrs.get("normalisation", "none")) != "none"
            if layout not in ("4x5000", "12x5000") and signals.shape[1] not in (4, 12):
                raise InputError(f"{path}: layout {layout!r} cannot be measured (4x5000 or 12x5000 only)")
            four = signals.shape[1] == 4
            for i in range(n):
                x = np.asarray(signals[i], dtype=np.float64)
                if not np.isfinite(x).all():  # a damaged row: a failed row that says so, the file goes on
                    out.append(_guarded(lambda: LeadMatrix(np.full((12, 2), np.nan), "continuous", None,
                                                           ["non-finite samples (NaN or infinity) in /signals"]),
                                        meta(i)))
                else:
                    out.append(_guarded(lambda: from_four_channel(x, fs) if four else from_twelve(x, fs), meta(i),
                                        normalised))
                if progress:
                    progress(i + 1, n)
    return out, synthetic


@claims_outputs("output")
def measure(inputs: str | list[str], output: str | None = None, *, jobs: int = 1,
            progress: Callable[[int, int], None] | None = None) -> MeasureSummary:
    """Measure every ECG of `inputs` and write the table to `output` (.csv, .h5 or '-' for CSV on
    stdout; None writes nothing). Returns the summary with every ECG's result (rows, beats and the
    analysis without its signals: `Analysis.compact`)."""
    t0 = time.perf_counter()
    inputs = [inputs] if isinstance(inputs, (str, Path)) else [str(i) for i in inputs]
    if not inputs:
        raise InputError("no input: give ECG exports, folders, or an lvsdctl HDF5 file")
    if output is not None and output != "-" and not output.lower().endswith((".csv", ".h5", ".hdf5")):
        raise InputError(f"{output}: measures are written as .csv or .h5 (or '-' for CSV on stdout)")
    summary = MeasureSummary()
    import h5py

    hdf5 = [p for p in inputs if p == "-" or (Path(p).is_file() and h5py.is_hdf5(p))]
    if hdf5 and len(inputs) > 1:
        raise InputError("give either one lvsdctl HDF5 file or ECG exports, not both")
    if hdf5:
        summary.inputs = 1
        summary.ecgs, summary.synthetic = _from_hdf5(hdf5[0], progress)
        source_inputs: list = [hdf5[0]]
    else:
        from lvsdctl.ingest.inputs import expand_inputs

        exclude = [output] if output and output != "-" else []
        files, _ = expand_inputs(inputs, exclude=exclude)
        summary.inputs = len(files)
        for f in files:
            if f.missing:
                summary.rejected.append({"path": f.path, "reason": f.missing})
        seen: set[str] = set()
        for index, path, result, info, synthetic in _exports([f.path for f in files if not f.missing], jobs,
                                                            progress):
            if result is None:
                summary.rejected.append({"path": path, "reason": info})
                continue
            if info in seen:
                summary.duplicates += 1
                continue
            seen.add(info)
            summary.synthetic |= synthetic
            result.row["row"] = len(summary.ecgs)
            result.beats["record"][:] = len(summary.ecgs)
            summary.ecgs.append(result)
        source_inputs = []
    summary.measured = len(summary.ecgs)
    for m in summary.ecgs:
        summary.statuses[m.row["status"]] = summary.statuses.get(m.row["status"], 0) + 1
    for name, column in table.CRITERION_COLUMNS.items():
        values = [m.row[column] for m in summary.ecgs]
        summary.lbbb[name] = sum(v == "complete" if name == "statement" else v is True for v in values)
    for r in summary.rejected:
        log.warning("rejected %s: %s", r["path"], r["reason"])
    if output is not None:
        from lvsdctl.measure import store

        rows = [m.row for m in summary.ecgs]
        if output.lower().endswith((".h5", ".hdf5")):
            store.write_h5(rows, [m.beats for m in summary.ecgs], output, inputs=source_inputs,
                           parameters={"inputs": len(inputs), "measured": summary.measured},
                           synthetic=summary.synthetic)
        else:
            store.write_csv(rows, output)
        summary.output = output
    summary.seconds = time.perf_counter() - t0
    return summary
