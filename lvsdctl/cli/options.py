"""Options shared by every command, spelled the same everywhere.

Use these aliases instead of declaring the flags again, e.g. `output: Output` (required) or
`output: OptionalOutput = None`.
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


Output = Annotated[
    str, typer.Option("-o", "--output", help="Output file; '-' writes to stdout (for pipes).", show_default=False)
]
OptionalOutput = Annotated[
    Optional[str], typer.Option("-o", "--output", help="Output file; '-' writes to stdout (for pipes).")
]
Json = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="No progress bars or summary tables (errors still show).")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same result on CPU.")]
Jobs = Annotated[int, typer.Option("-j", "--jobs", min=1, help="Worker processes.")]
DeviceOpt = Annotated[Device, typer.Option("--device", help="Where to compute: auto picks cuda, then mps, then cpu.")]
Strict = Annotated[bool, typer.Option("--strict", help="Exit with code 4 if any input is rejected.")]
PrecisionOpt = Annotated[Precision, typer.Option(
    "--precision", help="Arithmetic on a CPU (ignored on a GPU): fp32 (exact), int8 (Linear layers quantized: about "
    "2x faster for ECG-FM, scores within ~0.01; no gradients, so not for explain) or bf16 (fast only with "
    "AVX-512 BF16 or AMX).")]

def split_list(text: Optional[str]) -> Optional[list[str]]:
    """A comma-separated option (`--sets internal,external1`) as a list; None when not given."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


# Options of the three training commands (train, finetune, pretrain).
TrainSplit = Annotated[str, typer.Option("--train-split", help="Set to train on.")]
TuneSplit = Annotated[str, typer.Option("--tune-split", help="Set scored after every epoch ('' for none).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its per-epoch state.")]
LoaderJobs = Annotated[
    int, typer.Option("-j", "--jobs", min=0, help="DataLoader worker processes (0: read in the main process).")
]
MicroBatch = Annotated[
    Optional[int],
    typer.Option("--micro-batch", min=1, help="ECGs per forward/backward pass: the batch runs in pieces and "
                 "their gradients add up to the whole batch's (less memory, same step). Per process under "
                 "torchrun. Default: the whole batch at once."),
]
