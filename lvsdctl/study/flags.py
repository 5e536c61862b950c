"""How the study script spells lvsdctl's commands and flags: in this one place.

The script is plain lvsdctl calls, so when a command or flag is renamed, only this table changes.
`tests/study/test_flags.py` checks every entry against the command tree of this lvsdctl, so a rename
elsewhere fails that test instead of a user's six-hour run.
"""

from __future__ import annotations

#: Subcommands the script calls.
COMMANDS = {
    "train": "train",  # a baseline from scratch
    "finetune": "finetune",  # ECG-FM (or ECGFounder), one strategy
    "evaluate": "evaluate",
    "explain": "explain",
    "done": "study done",
    "report": "study report",
}

#: (command, idea) -> flag.
FLAGS = {
    ("train", "output"): "-o",
    ("train", "model"): "--model",
    ("train", "epochs"): "--epochs",
    ("train", "lr"): "--lr",
    ("train", "batch_size"): "--batch-size",
    ("train", "model_option"): "--model-option",
    ("train", "seed"): "--seed",
    ("train", "device"): "--device",
    ("train", "resume"): "--resume",
    ("finetune", "output"): "-o",
    ("finetune", "weights"): "--weights",
    ("finetune", "backbone"): "--backbone",
    ("finetune", "sequential"): "--sequential",
    ("finetune", "freeze"): "--freeze",
    ("finetune", "from_scratch"): "--from-scratch",
    ("finetune", "size"): "--size",
    ("finetune", "epochs"): "--epochs",
    ("finetune", "lr"): "--lr",
    ("finetune", "batch_size"): "--batch-size",
    ("finetune", "seed"): "--seed",
    ("finetune", "device"): "--device",
    ("finetune", "resume"): "--resume",
    ("evaluate", "output"): "-o",
    ("evaluate", "threshold"): "--threshold",
    ("evaluate", "bootstrap"): "--bootstrap",
    ("evaluate", "seed"): "--seed",
    ("evaluate", "device"): "--device",
    ("explain", "output"): "-o",
    ("explain", "set"): "--set",
    ("explain", "model"): "--model",
    ("explain", "figure"): "--figure",
    ("explain", "limit"): "--limit",
    ("done", "quiet"): "-q",
    ("report", "output"): "-o",
}

#: Flags that change where or how verbosely a step runs, not what it computes: `study done` ignores
#: them when it compares a step's command with the one that made its output. (flag, takes a value)
NEUTRAL_FLAGS = {"--resume": False, "-q": False, "--quiet": False, "--json": False, "--device": True,
                 "-j": True, "--jobs": True}

#: How every command names its output file.
OUTPUT_FLAGS = ("-o", "--output")


def flag(command: str, idea: str) -> str:
    return FLAGS[(command, idea)]
