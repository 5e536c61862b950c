"""`lvsdctl preprocess`: raw ECGs at their native rates -> uniform, filtered model input arrays."""

from __future__ import annotations

import os
from enum import Enum
from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Compression, Jobs, Json, Output, Quiet, Strict


class Layout(str, Enum):
    four = "4x5000"
    twelve = "12x5000"


class Resampling(str, Enum):
    linear = "linear"
    polyphase = "polyphase"
    fft = "fft"


class Normalisation(str, Enum):
    none = "none"
    zscore = "zscore"
    zscore_ecg = "zscore-ecg"


class Chain(str, Enum):
    study = "study"
    ecgfounder = "ecgfounder"


HELP = """Filter, resample and lay out every ECG of an `ecg-raw` file (from `lvsdctl ingest`) as a model-ready `ecg` file: /signals (N, channels, 5000) float32 at 500 Hz, 10 s.

Example:

  lvsdctl preprocess raw.h5 -o pre.h5

  lvsdctl preprocess raw.h5 -o pre12.h5 --layout 12x5000 --filter notch60 --normalise zscore

  lvsdctl preprocess raw.h5 -o founder.h5 --layout 12x5000 --chain ecgfounder

By default this is the study's chain: each segment is filtered at its own rate with neurokit2's ecg_clean ("neurokit": 0.5 Hz Butterworth high-pass + the 50 Hz moving average), then linearly interpolated to 500 Hz, and laid out as 4 x 5000 (I|aVR|V1|V4, II|aVL|V2|V5, III|aVF|V3|V6, 10 s lead II). Digitised printouts only fit 4x5000. --chain ecgfounder is the chain ECGFounder's authors require (their filter, then one z-score over each whole ECG), for `finetune --backbone ecgfounder`. Every record is kept (possibly with quality flags), or dropped with a counted reason: inputs = kept + dropped. The chain is recorded in the file. """


@app.command("preprocess", help=HELP,
             short_help="ecg-raw -> model-ready ecg file: the study's filters, 500 Hz, 4x5000 or 12x5000.")
def preprocess_command(
    input: Annotated[str, typer.Argument(help="An ecg-raw HDF5 file ('-' reads stdin).", show_default=False)],
    output: Output = ...,  # type: ignore[assignment]
    layout: Annotated[Layout, typer.Option("--layout", help="4x5000: the study's printout format (3 channels of "
                                           "four 2.5 s pieces + a 10 s lead II strip); 12x5000: all 12 leads.")]
    = Layout.four,
    fs: Annotated[float, typer.Option("--fs", metavar="HZ", min=50, help="Target sampling rate (Hz); 10 s per channel.")] = 500.0,
    chain: Annotated[Chain, typer.Option("--chain", help="A named filter + normalisation: study (neurokit, "
                                         "mV) or ecgfounder (the chain ECGFounder's weights need: 50 Hz notch, "
                                         "0.67-40 Hz band-pass, minus a median baseline; zscore-ecg).")]
    = Chain.study,
    filter: Annotated[Optional[str], typer.Option("--filter", metavar="FILTER", help="neurokit (the study's: 0.5 Hz "
                                                  "high-pass + 50 Hz moving average), neurokit60, notch50 / notch60 "
                                                  "(high-pass + IIR notch), bandpass (0.5-40 Hz) or "
                                                  "bandpass:LOW-HIGH, ecgfounder, none. Default: the chain's.",
                                                  show_default=False)] = None,
    resample: Annotated[Resampling, typer.Option("--resample", help="linear (the study's), polyphase "
                                                 "(anti-aliased) or fft.")] = Resampling.linear,
    normalise: Annotated[Optional[Normalisation], typer.Option(
        "--normalise", help="none (mV, the study's), zscore (per record and channel; ECG-FM's convention) or "
        "zscore-ecg (one over each whole ECG; ECGFounder's). Default: the chain's.", show_default=False)] = None,
    drop_flagged: Annotated[bool, typer.Option("--drop-flagged", help="Leave records with quality flags out "
                                               "(counted); default: keep and mark them.")] = False,
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="Records processed at once (memory ~ chunk).")]
    = 256,
    compression: Annotated[Compression, typer.Option("--compression", help="Compression of /signals: gzip "
                                                     "(level 1 + shuffle, in threads; every HDF5 tool reads it), "
                                                     "lzf (h5py's filter, one thread) or none.")]
    = Compression.gzip,
    jobs: Jobs = os.cpu_count() or 1,
    strict: Strict = False,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, err
    from lvsdctl.cli.progress import reporting
    from lvsdctl.errors import InputError, StrictRejectError
    from lvsdctl.signal import preprocess

    if json_out and output == "-":
        raise InputError("--json and -o - both write to stdout; choose one")
    # Only a chain given on the command line constrains --filter / --normalise.
    named = chain.value if chain is not Chain.study or (filter is None and normalise is None) else None
    with reporting("preprocess", quiet=quiet) as progress:
        summary = preprocess(input, output, layout=layout.value, fs=fs, filter=filter, resample=resample.value,
                             normalise=normalise.value if normalise else None, drop_flagged=drop_flagged,
                             chunk=chunk, progress=progress, jobs=jobs, compression=compression.value, chain=named)
    if not quiet:
        err.print(_summary_table(summary))
    if json_out:
        emit_json(summary)
    if strict and summary.rejected:
        raise StrictRejectError(f"{summary.rejected} of {summary.inputs} records were rejected (--strict)")


def _summary_table(s):
    from rich.table import Table

    t = Table(title=f"preprocess -> {s.output}", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("records in", str(s.inputs))
    t.add_row("kept", str(s.kept))
    t.add_row("dropped", str(s.dropped))
    for reason, n in s.rejected_reasons.items():
        t.add_row(f"  rejected: {reason}", str(n))
    if s.dropped_flagged:
        t.add_row("  flagged (--drop-flagged)", str(s.dropped_flagged))
    t.add_row("flagged", str(s.flagged))
    for name, n in s.flags.items():
        t.add_row(f"  {name}", str(n))
    t.add_row("layout", f"{s.layout} @ {s.fs:g} Hz")
    t.add_row("chain", f"{s.chain} (filter {s.filter['name']}, normalisation {s.normalisation})")
    t.add_row("speed", f"{s.ecgs_per_s} ECGs/s")
    return t
