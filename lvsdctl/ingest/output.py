"""What ingest writes: the `ecg-raw` file from the resumable state, and the rejects report."""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.ingest.echo import EchoTable
from lvsdctl.ingest.options import IngestOptions
from lvsdctl.ingest.pairing import pairing_counts
from lvsdctl.ingest.pseudonym import Secret
from lvsdctl.ingest.state import IngestState, state_dir_for
from lvsdctl.outputs import check_output
from lvsdctl.tables import write_json, write_text

_ROW_COLUMNS = ("record_id", "patient", "site", "acquired", "source_sha256", "source_format", "fs", "age", "sex",
                "lvef", "echo_delta_days", "label", "split", "quality", "qrs_ms")


def records_frame(state: IngestState, keep_patient_id: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows written to /records, rows of every accepted file incl. dropped) in commit order."""
    rows = [e["row"] for e in state.entries if e["status"] in ("accepted", "dropped")]
    cols = list(_ROW_COLUMNS) + ["unpaired_reason", "synthetic"] + (["patient_id"] if keep_patient_id else [])
    every = pd.DataFrame(rows, columns=cols)
    for c in ("fs", "age", "lvef", "echo_delta_days", "qrs_ms"):
        every[c] = pd.to_numeric(every[c], errors="coerce").astype("float64")
    every["label"] = every["label"].astype("int8") if len(every) else every["label"]
    kept = every[np.array([e["status"] == "accepted" for e in state.entries if e["status"] in ("accepted", "dropped")],
                          dtype=bool)]
    written = kept[list(_ROW_COLUMNS) + (["patient_id"] if keep_patient_id else [])].reset_index(drop=True)
    return written, every


def write_output(out_name: str, state: IngestState, summary, key: Secret, echo, options: IngestOptions) -> None:
    """The `ecg-raw` file: the state's sample store becomes it (no sample is copied), with /records and
    the provenance (options, pseudonym key id, counts, pairing, echo table counts)."""
    from lvsdctl.hdf5 import PSEUDONYM_KEYS_ATTR, atomic_output, write_json_attr, write_records

    written, every = records_frame(state, options.keep_patient_id)
    summary.pairing = pairing_counts(every)
    summary.written = len(written)
    accepted_shas = sorted(e["sha256"] for e in state.entries if e["status"] in ("accepted", "dropped"))
    parameters = {
        **options.output_settings(),
        "pseudonym": {"method": "HMAC-SHA256, first 16 hex digits", "key_id": key.key_id, "key_source": key.source},
        "echo_columns": options.echo_columns,
        "counts": {"inputs": summary.inputs, "accepted": summary.accepted, "rejected": summary.rejected,
                   "duplicates": summary.duplicates, "written": summary.written,
                   "dropped_unpaired": summary.dropped_unpaired, "resumed": summary.resumed},
        "pairing": summary.pairing,
        "echo": summary.echo,
        # the ECG files themselves: their hashes are /records/source_sha256; one digest names the set
        "ecg_inputs_sha256": hashlib.sha256("\n".join(accepted_shas).encode()).hexdigest(),
    }
    inputs = [os.fspath(echo)] if echo is not None else []
    state.close()  # the sample store becomes the output: no sample is copied
    with atomic_output(out_name, kind="ecg-raw", inputs=inputs, parameters=parameters,
                       synthetic=summary.synthetic, start_from=state.samples_file) as f:
        state.write_segments(f)
        write_records(f, written)
        write_json_attr(f, PSEUDONYM_KEYS_ATTR, [key.key_id])  # which secret: `merge` links patients by it


def side_paths(output: str, rejects: str | os.PathLike | None) -> tuple[Path | None, Path | None]:
    """(CSV, JSON) of the rejects report: `rejects` and the .json beside it, else beside the output (none
    with `-o -`). Checked, with the state folder beside the output, before any work: a report that could
    not be written must not fail the run after its output is complete."""
    if rejects is not None:
        csv = Path(rejects)
        paths = (csv, csv.with_suffix(".json") if csv.suffix.lower() == ".csv" else Path(f"{rejects}.json"))
    elif output != "-":
        paths = (Path(f"{output}.rejects.csv"), Path(f"{output}.rejects.json"))
    else:
        return None, None
    for report in paths:
        check_output(report, what="rejects report")
    if output != "-":
        check_output(state_dir_for(output), directory=True, what="ingest state")
    return paths


def write_rejects(csv_path: Path, json_path: Path, summary, echo_table: EchoTable | None) -> None:
    """The rejects report: CSV (path, reason, sha256) and JSON (the same plus duplicates and echo rows)."""
    rows = pd.DataFrame([asdict(r) for r in summary.rejects], columns=["path", "reason", "sha256"])
    write_text(csv_path, rows.to_csv(index=False))  # CSV whatever the name (--rejects)
    write_json({
        "output": summary.output,
        "inputs": summary.inputs,
        "accepted": summary.accepted,
        "rejected": summary.rejected,
        "duplicates": summary.duplicates,
        "synthetic": summary.synthetic,  # the inputs were synthetic ECGs (lvsdctl synth)
        "rejects": [asdict(r) for r in summary.rejects],
        "duplicate_files": [asdict(d) for d in summary.duplicate_files],
        "echo_table_issues": [asdict(i) for i in echo_table.issues] if echo_table is not None else [],
    }, json_path)
