"""Options shared by every command, spelled the same everywhere: one flag, one idea.

Use these aliases instead of declaring the flags again, e.g. `output: Output` (required) or
`output: OptionalOutput = None`, `sets: Sets = None` (then `split_list(sets)`). The spellings, and the
old ones that still work (RENAMED), are the table in docs/getting-started.md ("Flags").
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Compression(str, Enum):
    """HDF5 filters for the large arrays (the same choices in every command that writes them)."""

    gzip = "gzip"
    lzf = "lzf"
    none = "none"


class Precision(str, Enum):
    """Arithmetic of CPU inference (lvsdctl.evaluate.precision)."""

    fp32 = "fp32"
    int8 = "int8"
    bf16 = "bf16"


_OUTPUT_HELP = "Output file; '-' writes to stdout (for pipes)."
Output = Annotated[str, typer.Option("-o", "--output", metavar="FILE", help=_OUTPUT_HELP, show_default=False)]
OptionalOutput = Annotated[Optional[str], typer.Option("-o", "--output", metavar="FILE", help=_OUTPUT_HELP)]
Json = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="No progress bars or summary tables (errors still show).")]
Seed = Annotated[int, typer.Option("--seed", metavar="N", help="Random seed; the same seed gives the same result on CPU.")]
Jobs = Annotated[int, typer.Option("-j", "--jobs", min=1, metavar="N", help="Worker processes.")]
DeviceOpt = Annotated[Device, typer.Option("--device", help="Where to compute: auto picks cuda, then mps, then cpu.")]
Strict = Annotated[bool, typer.Option("--strict", help="Exit with code 4 if any input is rejected.")]
PrecisionOpt = Annotated[Precision, typer.Option(
    "--precision", metavar="[fp32|int8|bf16]", help="Arithmetic on a CPU (ignored on a GPU): fp32 (exact), int8 (Linear layers quantized: about "
    "2x faster for ECG-FM, scores within ~0.01; no gradients, so not for explain) or bf16 (fast only with "
    "AVX-512 BF16 or AMX).")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, metavar="N", help="ECGs per inference batch.")]

# Sets (the `split` column): one spelling everywhere. `--set` picks sets (repeatable, or comma-separated);
# `--train-set` and `--tune-set` name the sets a stage trains on and tunes on.
Sets = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="NAME", help="Only this set (or comma-separated sets: internal,external1).")]
TrainSet = Annotated[str, typer.Option("--train-set", metavar="NAME", help="Set to train on.")]
TuneSet = Annotated[str, typer.Option("--tune-set", metavar="NAME", help="Set scored after every epoch ('' for none).")]

# The decision threshold (a probability an LVSD score is compared with), never the LVEF cut-off of
# `ingest --lvef-cutoff`.
THRESHOLD_HELP = ("Decision threshold: a number in (0, 1) (the study: 0.5), 'youden' or 'sens:0.90' "
                  "(target sensitivity), the last two chosen on the tuning set only, then frozen.")
ThresholdFrom = Annotated[Optional[str], typer.Option(
    "--threshold-from", metavar="FILE", help="Use the operating point saved in this file: a MODEL.threshold.json, "
    "or an evaluation file of this model (`lvsdctl evaluate -o`).")]
LvefCutoff = Annotated[float, typer.Option(
    "--lvef-cutoff", metavar="PERCENT", help="LVSD when LVEF is strictly below this (the study: 40).")]


def split_list(values: str | list[str] | None) -> Optional[list[str]]:
    """A comma-separated option (`--set internal,external1`), or a repeated one (`--set a --set b,c`),
    as one list; None when not given."""
    if not values:
        return None
    items = [values] if isinstance(values, str) else values
    out = [t.strip() for item in items for t in str(item).split(",") if t.strip()]
    return out or None


# Options of the three training commands (train, finetune, pretrain).
TrainSplit = TrainSet  # former names of the aliases (the flags were --train-split / --tune-split)
TuneSplit = TuneSet
Resume = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its per-epoch state.")]
LoaderJobs = Annotated[
    int, typer.Option("-j", "--jobs", min=0, metavar="N", help="DataLoader worker processes (0: read in the main process).")
]

MicroBatch = Annotated[
    Optional[int],
    typer.Option("--micro-batch", min=1, metavar="N", help="ECGs per forward/backward pass: the batch runs in pieces and "
                 "their gradients add up to the whole batch's (less memory, same step). Per process under "
                 "torchrun. Default: the whole batch at once."),
]

#: Former spellings that still work, with a deprecation note: {command path or "*": {old: new}}. The
#: command line is rewritten before it is parsed (lvsdctl.cli.app), so a renamed flag keeps one
#: definition. "*" applies to every command that has the new flag.
RENAMED: dict[str, dict[str, str]] = {
    "*": {"--sets": "--set", "--train-split": "--train-set", "--tune-split": "--tune-set"},
    "ingest": {"--threshold": "--lvef-cutoff"},
    "explain": {"--out": "--output"},
    "study script": {"--out": "--runs"},
}


def renamed_in(command_path: str) -> dict[str, str]:
    """The former spellings accepted by a command (`"stats compare"`, `"ingest"`...)."""
    return {**RENAMED["*"], **RENAMED.get(command_path, {})}
