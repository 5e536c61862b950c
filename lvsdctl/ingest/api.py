"""`ingest`: ECG exports + an echo table -> one `ecg-raw` HDF5 file, with nothing lost and nothing silent.

The steps, in order:
1. expand the inputs (files, directories recursively, globs, a file list) in a stable order;
2. SHA-256 and parse every file (in `jobs` worker processes, results taken back in input order, so
   any `jobs` gives the same file): byte-identical files are ingested once (the others are reported as
   duplicates); a file that cannot be read is rejected with a one-line reason and the batch goes on.
   With `resume`, every file is hashed first, so the files an interrupted run finished are not
   parsed again;
3. pseudonymise each patient id (HMAC-SHA256 with the site's secret), pair each ECG with an echo and
   label it, block by block, committing each block to the resumable state (lvsdctl.ingest.state);
4. write the output atomically, then the rejects report (CSV + JSON).

Always: inputs = accepted + rejected + duplicates.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError, StrictRejectError
from lvsdctl.outputs import claims_outputs, private_temp
from lvsdctl.ingest.echo import EchoTable, read_echo_table
from lvsdctl.ingest.handover import TASKS_AHEAD, close_slots, make_transfer_dir, open_slots, ordered_map, receive
from lvsdctl.ingest.inputs import InputFile, expand_inputs
from lvsdctl.ingest.options import IngestOptions
from lvsdctl.ingest.output import side_paths, write_output, write_rejects
from lvsdctl.ingest.pairing import pair_echoes
from lvsdctl.ingest.pseudonym import Secret, load_secret, pseudonymise
from lvsdctl.ingest.state import IngestState, state_dir_for
from lvsdctl.ingest.worker import hash_chunk, hash_one, init_pool_worker, init_worker, parse_chunk
from lvsdctl.record import ECGRecord
from lvsdctl.summary import Summary

__all__ = ["Duplicate", "IngestOptions", "IngestSummary", "Reject", "expand_inputs", "ingest"]


# ---------------------------------------------------------------------------------------------
# results


@dataclass
class Reject:
    path: str
    reason: str
    sha256: str = ""


@dataclass
class Duplicate:
    path: str
    duplicate_of: str
    sha256: str


@dataclass
class IngestSummary(Summary):
    """What an ingest did; `inputs == accepted + rejected + duplicates` always holds."""

    output: str
    inputs: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    written: int = 0  # records in the output (accepted minus dropped unpaired)
    dropped_unpaired: int = 0
    resumed: int = 0  # files whose result came from the interrupted run's state
    parsed: int = 0  # files parsed by this run
    skipped: int = 0  # files a directory walk passed over (hidden files, WFDB data files)
    synthetic: bool = False
    synthetic_records: int = 0  # accepted ECGs carrying the lvsdctl synth marker
    pairing: dict = field(default_factory=dict)
    echo: dict | None = None
    rejects_csv: str | None = None
    rejects_json: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rejects: list[Reject] = field(default_factory=list)
    duplicate_files: list[Duplicate] = field(default_factory=list)
    #: SHA-256 -> path of each accepted file (not in `to_dict`: `predict` names the files it scored)
    sources: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def files_per_second(self) -> float:
        return self.inputs / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["sources"]
        d["files_per_second"] = self.files_per_second
        return d


@dataclass(frozen=True)
class _Settings:
    """What turns a parsed ECG into a record: the pseudonym key, the echoes, the options."""

    key: Secret
    echoes: pd.DataFrame | None  # pseudonymised echo table; None when none was given
    options: IngestOptions


# ---------------------------------------------------------------------------------------------
# the API


@claims_outputs("output", "rejects")
def ingest(
    inputs: Iterable[str | os.PathLike],
    output: str | os.PathLike,
    echo: str | os.PathLike | None = None,
    options: IngestOptions | None = None,
    *,
    secret: Secret | str | os.PathLike | None = None,
    demo_secret: bool = False,
    from_list: str | os.PathLike | None = None,
    rejects: str | os.PathLike | None = None,
    jobs: int = 1,
    resume: bool = False,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    reader: Callable[[str], ECGRecord] | None = None,
    commit_every: int = 64,
    **settings,
) -> IngestSummary:
    """Ingest ECG exports into an `ecg-raw` HDF5 file; see docs/ingest.md.

    `options`: pairing, labelling and output settings (`IngestOptions`), or give its fields as
    keywords (`window_days=14, policy="before-only"`). `secret`: a `Secret`, or a path to the secret
    file; None reads `LVSDCTL_PSEUDONYM_SECRET` (`demo_secret=True` allows the public demo key, for
    synthetic data only). `progress(done, total)` is called as files are accounted for. `reader`
    replaces the format-detecting reader (tests, benchmarks; it must be picklable when `jobs > 1`).
    Raises StrictRejectError (exit 4) after writing everything when `strict` and a file was rejected.
    """
    if options is None:
        options = IngestOptions(**settings)
    elif settings:
        raise TypeError(f"give IngestOptions or its fields as keywords, not both ({', '.join(settings)})")
    started = time.perf_counter()
    if options.drop_unpaired and echo is None:
        raise InputError("--drop-unpaired needs an echo table (--echo)")
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, not {jobs}")
    out_name = os.fspath(output)
    to_stdout = out_name == "-"
    if resume and to_stdout:
        raise InputError("--resume needs an output file (not '-'): the state is kept beside it")
    rej_csv, rej_json = side_paths(out_name, rejects)  # checked (the output: by claims_outputs) before any work
    key = secret if isinstance(secret, Secret) else load_secret(secret, demo=demo_secret)

    summary = IngestSummary(output=out_name)
    echo_table: EchoTable | None = None
    echoes: pd.DataFrame | None = None  # None: no echo table at all
    if echo is not None:
        echo_table = read_echo_table(echo, patient_col=options.echo_patient_col, date_col=options.echo_date_col,
                                     lvef_col=options.echo_lvef_col, date_format=options.echo_date_format)
        frame = echo_table.frame
        echoes = pd.DataFrame({"patient": pseudonymise(frame["patient_id"], key), "echo_date": frame["echo_date"],
                               "lvef": frame["lvef"]})
        summary.echo = echo_table.counts()
        if echo_table.rows == 0:
            summary.notes.append(f"{echo}: the echo table has a header but no rows: no ECG can be paired or labelled")
        elif len(frame) == 0:
            summary.notes.append(f"{echo}: none of the echo table's {echo_table.rows} rows is usable (see the "
                                 "rejects report): no ECG can be paired or labelled")

    if to_stdout:
        state_path = Path(private_temp("lvsdctl-ingest-state", directory=True)) / "state"
    else:
        state_path = state_dir_for(out_name)

    exclude = [p for p in (None if to_stdout else out_name, state_path, rej_csv, rej_json) if p is not None]
    items, summary.skipped = expand_inputs(inputs, from_list, exclude=exclude)
    summary.inputs = len(items)

    # what a resumed run must share with the interrupted one
    header = {"key_id": key.key_id, "echo_sha256": _sha256_path(echo) if echo is not None else None,
              "echo_columns": options.echo_columns, **options.output_settings()}
    state = IngestState.open(state_path, header, resume=resume)
    state.threads = jobs
    if state.discarded:
        summary.notes.append(state.discarded)
    cfg = _Settings(key, echoes, options)
    try:
        try:
            _run(items, state, summary, cfg, jobs=jobs, progress=progress, reader=reader,
                 commit_every=commit_every)
        except InputError:  # a refusal (e.g. the demo key on real data), not an interruption: nothing to resume
            state.remove()
            raise
        nothing = _nothing_to_write(state, summary)
        if not nothing:
            write_output(out_name, state, summary, key, echo, options)
        state.remove()
    finally:
        state.close()
        if to_stdout:
            state.remove()
            shutil.rmtree(state_path.parent, ignore_errors=True)

    if rej_csv is not None:
        write_rejects(rej_csv, rej_json, summary, echo_table)
        summary.rejects_csv, summary.rejects_json = str(rej_csv), str(rej_json)
    summary.seconds = time.perf_counter() - started
    assert summary.inputs == summary.accepted + summary.rejected + summary.duplicates
    if nothing:
        exc = InputError(f"{nothing}; no output written" + (f" (reasons in {rej_csv})" if summary.rejected and rej_csv
                                                             else ""))
        exc.summary = summary
        raise exc
    if strict and summary.rejected:
        exc = StrictRejectError(
            f"{summary.rejected} of {summary.inputs} input files were rejected (--strict)"
            + (f"; see {rej_csv}" if rej_csv is not None else "")
        )
        exc.summary = summary  # the output and the reports are complete: callers may still want the counts
        raise exc
    return summary


def _nothing_to_write(state: IngestState, summary: IngestSummary) -> str:
    """Why the output would hold no ECG ('' when it would hold some): an empty dataset is an error."""
    if any(e["status"] == "accepted" for e in state.entries):
        return ""
    if summary.accepted:
        return f"all {summary.accepted} accepted ECGs were unpaired and dropped (--drop-unpaired)"
    return (f"no ECG was accepted: {summary.inputs} input(s) = {summary.rejected} rejected + "
            f"{summary.duplicates} duplicate(s)")


def _sha256_path(path: str | os.PathLike) -> str:
    sha, _, err = hash_one(os.fspath(path))
    if err:
        raise InputError(f"{path}: {err}")
    return sha


def _run(items: list[InputFile], state: IngestState, summary: IngestSummary, cfg: _Settings, *, jobs: int,
         progress: Callable[[int, int], None] | None, reader, commit_every: int) -> None:
    """Hash, classify, parse, pair and commit every input; fills the counts of `summary`."""
    done = {e["sha256"]: e for e in state.entries}
    pool = transfer = slots = None
    if jobs > 1 and len(items) > 1:
        transfer = make_transfer_dir()
        slots = open_slots(TASKS_AHEAD * jobs)  # before the fork: the workers share these pages
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        # forked before the first progress report: a caller's progress bar starts its thread only then
        pool = ctx.Pool(jobs, initializer=init_pool_worker, initargs=(reader, transfer))
    init_worker(reader)
    bar = _Counter(len(items), progress)
    block: list[tuple[str, str, bool, tuple]] = []
    try:
        seen: dict[str, tuple[int, str]] = {}  # sha -> (input number, path) of the first input with it
        to_parse = [(i, it.path) for i, it in enumerate(items) if not it.missing]
        for it in items:
            if it.missing:
                _reject(summary, it.path, it.missing, "")
                bar.advance()
        if done:  # resuming: hash everything first, so finished files and their duplicates are not parsed
            hashes = ordered_map(hash_chunk, [path for _, path in to_parse], pool, chunk=32)
            to_parse = [(i, path) for (i, path), hashed in zip(to_parse, hashes)
                        if _classify(i, path, *hashed, seen, done, summary, bar)]
        # hash and parse in input order, commit block by block
        paths = [path for _, path in to_parse]
        results = ordered_map(parse_chunk, paths, pool, chunk=_task_size(len(paths), jobs), slots=slots)
        for (i, path), (sha, marker, err, result) in zip(to_parse, results):
            if not _classify(i, path, sha, marker, err, seen, {}, summary, bar):
                continue
            if result[0] == "ok":  # samples out of the worker's slot now: the slot is reused after this task
                result = (*result[:2], receive(result[2]), *result[3:])
            block.append((path, sha, marker, result))
            summary.parsed += 1
            bar.advance()
            if len(block) >= commit_every:
                full, block = block, []  # emptied first: a block whose commit fails is not retried below
                _commit(full, state, summary, cfg)
        full, block = block, []
        _commit(full, state, summary, cfg)
    except BaseException:
        # keep what was parsed: a resumed run starts after it
        try:
            _commit(block, state, summary, cfg)
        except BaseException:  # noqa: BLE001 - the first error is the one to report
            pass
        if pool is not None:
            pool.terminate()
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        if transfer is not None:
            shutil.rmtree(transfer, ignore_errors=True)
        close_slots()
    synthetic = cfg.options.synthetic
    summary.synthetic = summary.synthetic_records > 0 if synthetic is None else bool(synthetic)
    _check_demo_key(summary, cfg)


#: Files per parse task, at most. Large tasks matter on few cores: the pool's hand-off threads compete with
#: the writer for the interpreter, and 64-file tasks instead of 8 took ingest from about 1,250 to 1,500
#: files/s on 2 cores (10,000 MUSE files). One task's samples fit its shared slot (64 x 134 kB for MUSE).
TASK_FILES = 64


def _task_size(n: int, jobs: int) -> int:
    """Files per task: up to TASK_FILES, fewer for small batches so every worker gets several tasks."""
    return max(1, min(TASK_FILES, -(-n // (4 * jobs))))


def _classify(number: int, path: str, sha: str, marker: bool, err: str, seen: dict[str, tuple[int, str]],
              done: dict[str, dict], summary: IngestSummary, bar: _Counter) -> bool:
    """Count input `number` (hashed) when it is unreadable, a duplicate of an earlier input, or finished by
    an interrupted run (in `done`); True when it is still to be parsed. An input classified before
    (resuming: hashed first, then again as it is parsed) is not its own duplicate."""
    if err:
        _reject(summary, path, err, "")
    elif seen.setdefault(sha, (number, path))[0] != number:
        summary.duplicates += 1
        summary.duplicate_files.append(Duplicate(path, seen[sha][1], sha))
    elif sha in done:  # finished by the interrupted run
        entry = done[sha]
        summary.resumed += 1
        if entry["status"] == "rejected":
            _reject(summary, path, entry["reason"], sha)
        else:
            _accept(summary, entry)
    else:
        return True
    bar.advance()
    return False


def _check_demo_key(summary: IngestSummary, cfg: _Settings) -> None:
    """The public demo key protects nothing: refuse it as soon as a real (non-synthetic) ECG shows up."""
    if cfg.key.is_demo and not cfg.options.synthetic and summary.synthetic_records < summary.accepted:
        raise InputError(
            f"--demo-secret is for synthetic data only, and {summary.accepted - summary.synthetic_records} of "
            f"the accepted ECGs are not from lvsdctl synth; give the site's secret (--secret-file or "
            f"LVSDCTL_PSEUDONYM_SECRET), or --synthetic if these are not real patients")


def _reject(summary: IngestSummary, path: str, reason: str, sha: str) -> None:
    summary.rejected += 1
    summary.rejects.append(Reject(path, reason, sha))


def _accept(summary: IngestSummary, entry: dict) -> None:
    summary.accepted += 1
    summary.sources[entry["sha256"]] = entry["path"]
    summary.synthetic_records += bool(entry["row"].get("synthetic"))
    if entry["status"] == "dropped":
        summary.dropped_unpaired += 1


def _commit(block, state: IngestState, summary: IngestSummary, cfg: _Settings) -> None:
    """Pseudonymise, pair and label a block of parse results, then make it durable."""
    if not block:
        return
    ok = [(path, sha, marker, r) for path, sha, marker, r in block if r[0] == "ok"]
    pairing = None
    if ok:
        metas = [r[1] for _, _, _, r in ok]
        ids = [m["patient_id"] for m in metas]
        patients = pseudonymise(ids, cfg.key)
        frame = pd.DataFrame({"patient": patients, "acquired": [m["acquired"] for m in metas]})
        if cfg.echoes is None:
            pairing = pd.DataFrame({"lvef": np.nan, "echo_delta_days": np.nan, "label": np.int8(-1),
                                    "unpaired_reason": "no echo table"}, index=frame.index)
        else:
            opts = cfg.options
            pairing = pair_echoes(frame, cfg.echoes, window_days=opts.window_days, policy=opts.policy,
                                  threshold=opts.threshold)
    if pairing is not None:  # plain arrays: row access through pandas would cost more than the pairing
        p_lvef = pairing["lvef"].to_numpy(dtype=np.float64)
        p_delta = pairing["echo_delta_days"].to_numpy(dtype=np.float64)
        p_label = pairing["label"].to_numpy()
        p_reason = pairing["unpaired_reason"].to_numpy()
    entries: list[dict] = []
    samples: list[list[np.ndarray]] = []  # the arrays of each kept ECG
    j = 0
    for path, sha, marker, r in block:
        if r[0] != "ok":
            entries.append({"sha256": sha, "path": path, "status": "rejected", "reason": r[1]})
            _reject(summary, path, r[1], sha)
            continue
        _, meta, sig, segments = r
        is_synthetic = bool(meta["synthetic"] or marker)
        row = {
            "record_id": sha[:16],
            "patient": patients[j],
            "site": cfg.options.site if cfg.options.site is not None else meta["site"],
            "acquired": meta["acquired"],
            "source_sha256": sha,
            "source_format": meta["source_format"],
            "fs": meta["fs"],
            "age": meta["age"],
            "sex": meta["sex"],
            "lvef": float(p_lvef[j]),
            "echo_delta_days": float(p_delta[j]),
            "label": int(p_label[j]),
            "split": "",
            "quality": 0,
            "qrs_ms": meta["qrs_ms"],
            "unpaired_reason": str(p_reason[j]),
            "synthetic": is_synthetic,
        }
        if cfg.options.keep_patient_id:
            row["patient_id"] = "" if meta["patient_id"] is None else str(meta["patient_id"])
        j += 1
        if cfg.options.drop_unpaired and row["label"] < 0:
            entry = {"sha256": sha, "path": path, "status": "dropped", "row": _jsonable(row)}
        else:
            entry = {"sha256": sha, "path": path, "status": "accepted", "row": _jsonable(row), "segments": segments}
            samples.append(sig)
        entries.append(entry)
        _accept(summary, entry)
    _check_demo_key(summary, cfg)  # before anything of a real patient is written with the public key
    state.commit(entries, samples)


def _jsonable(row: dict) -> dict:
    """NaN -> None so the journal is strict JSON; read back as NaN."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}


# ---------------------------------------------------------------------------------------------
# progress


class _Counter:
    """Files accounted for so far, reported to the caller's `progress(done, total)`."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None):
        self.total, self.done, self.progress = total, 0, progress

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None and n:
            self.progress(self.done, self.total)
