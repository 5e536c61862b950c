"""`lvsdctl study done -- COMMAND...`: is this step's output done, so a script may skip the step?

A step is an lvsdctl command with an `-o OUTPUT`. Its output is done when

1. it exists and is a complete lvsdctl file (outputs are written atomically: a file under its final
   name was finished) of the kind the command writes;
2. the command that made it (its last provenance entry) is this command, ignoring flags that change
   only where or how verbosely it runs (`--device`, `-j`, `-q`, `--json`, `--resume`);
3. every input it was made from still has the SHA-256 it had then (a re-made split file or a
   retrained model makes the evaluations after it stale, as in make).

Otherwise the step must run; for a training (`train`, `finetune`) whose interrupted run left its
per-epoch state beside the output, `resumable` says it can continue with `--resume`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lvsdctl.errors import InputError
from lvsdctl.study.flags import NEUTRAL_FLAGS, OUTPUT_FLAGS
from lvsdctl.summary import Summary

#: The kind of file each command writes.
OUTPUT_KINDS = {"train": "model", "finetune": "model", "pretrain": "model", "evaluate": "evaluation",
                "predict": "predictions", "explain": "attributions", "preprocess": "ecg", "split": "ecg",
                "ingest": "ecg-raw"}


@dataclass
class DoneStatus(Summary):
    """Whether a step's output is done, whether an interrupted training can resume, and why."""

    output: str
    done: bool
    resumable: bool
    reason: str


def normalise(words: list[str]) -> list[str]:
    """The words of a command without the flags that do not change its result (see NEUTRAL_FLAGS)."""
    out, skip = [], False
    for w in " ".join(words).split():
        if skip:
            skip = False
            continue
        name = w.split("=", 1)[0]
        if name in NEUTRAL_FLAGS:
            skip = NEUTRAL_FLAGS[name] and "=" not in w
            continue
        out.append(w)
    return out


def output_of(words: list[str]) -> str:
    for i, w in enumerate(words):
        if w in OUTPUT_FLAGS and i + 1 < len(words):
            return words[i + 1]
        for f in OUTPUT_FLAGS:
            if f.startswith("--") and w.startswith(f + "="):
                return w.split("=", 1)[1]
    raise InputError("the step has no -o OUTPUT: `study done` decides on a command's output file")


def _resumable(command: str, words: list[str], output: str) -> bool:
    """A training's per-epoch state is beside the output (the trainers' own naming, imported lazily:
    only when the step is about to run anyway)."""
    if command == "train":
        from lvsdctl.train.baseline import resume_paths

        members = 1
        if "--ensemble" in words and words.index("--ensemble") + 1 < len(words):
            try:
                members = int(words[words.index("--ensemble") + 1])
            except ValueError:
                pass
        return any(p.exists() for p in resume_paths(output, members))
    if command == "finetune":
        from lvsdctl.train.resume import resume_path

        return resume_path(output).exists()
    return False


def done(words: list[str]) -> DoneStatus:
    """Decide for the command ``words`` (without the leading `lvsdctl`); see the module docstring."""
    import h5py

    from lvsdctl.hdf5 import KINDS, provenance, sha256_file

    if not words:
        raise InputError("give the step's command after --, e.g. `lvsdctl study done -- train split.h5 -o fcn.h5`")
    command, output = words[0], output_of(words)
    expected = OUTPUT_KINDS.get(command)

    def not_done(reason: str) -> DoneStatus:
        return DoneStatus(output, False, _resumable(command, words, output), reason)

    path = Path(output)
    if output == "-":
        return DoneStatus(output, False, False, "writes to stdout")
    if not path.is_file():
        return not_done("missing")
    try:
        with h5py.File(path, "r") as f:
            kind = f.attrs.get("lvsdctl_kind")
            kind = kind.decode() if isinstance(kind, bytes) else kind
            history = provenance(f)
    except OSError:
        return not_done("not a readable HDF5 file")
    except InputError:  # a damaged provenance: the step makes the file again
        return not_done("its provenance is not readable")
    if kind is None:
        return not_done("not an lvsdctl file")
    if expected and kind != expected:  # the file's own text is quoted only when it is a kind lvsdctl knows
        shown = f"a '{kind}' file" if kind in KINDS else "a file of another kind"
        return not_done(f"{shown} where `{command}` writes '{expected}'")
    if not history or not isinstance(history[-1], dict):
        return not_done("no provenance")
    last = history[-1]
    made_by = normalise(str(last.get("command", "")).split()[1:])
    wanted = normalise(words)
    if made_by != wanted:
        return not_done("made by another command: " + _first_difference(made_by, wanted))
    inputs = last.get("inputs", [])
    for item in inputs if isinstance(inputs, list) else [None]:
        if not isinstance(item, dict):
            return not_done("its provenance lists its inputs in an unknown form")
        recorded, where = item.get("sha256"), item.get("path")
        if not recorded or not where or where == "-" or not isinstance(where, str):
            continue
        if not Path(where).is_file():
            return not_done(f"its input {where} is gone")
        if sha256_file(where) != recorded:
            return not_done(f"its input {where} changed since")
    return DoneStatus(output, True, False, "done")


def _first_difference(made_by: list[str], wanted: list[str]) -> str:
    for i, (a, b) in enumerate(zip(made_by, wanted)):
        if a != b:  # this step's words are quoted, never the file's
            return f"word {i + 1} differs: this step has '{b}'"
    if len(made_by) != len(wanted):
        if len(made_by) > len(wanted):
            return f"that command has more words than this step ({len(made_by)} against {len(wanted)})"
        return f"this command goes on with '{wanted[len(made_by)]}'"
    return "identical"  # unreachable: the lists differ
