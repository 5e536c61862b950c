"""`lvsdctl study script`: the whole study as a readable, editable, resumable bash script.

The script is ordinary lvsdctl calls, one per line, grouped as the article's experiment: the four
baselines, the 14 ECG-FM strategies, ECG-FM from scratch, every model evaluated on every validation
set, the Fig. 4 models explained, then `lvsdctl study report`. Each call goes through a small `step`
function that asks `lvsdctl study done` whether its `-o` output is already done (complete, made by
this very command from the current inputs): done steps are kept, an interrupted training continues
with `--resume`, anything else runs. Paths and settings are shell variables at the top, overridable
from the environment (`DEVICE=cuda bash study.sh`); trainings go through `$TRAIN`, which `--torchrun N`
sets to `torchrun --nproc-per-node N -m lvsdctl.cli.main` for several GPUs.

With `ecgfounder=True` a seventh section (beyond the article) fine-tunes ECGFounder with the same
strategies (FF, PF1-PF6, AF of its 7 stages) and evaluates it like every other model; its data are
`$FOUNDER_SPLIT`, by default the study's split (ECGFounder then takes the 4x5000 layout through its
4->12 projection), better the same split preprocessed with `--chain ecgfounder` (`ecgfounder_split`).

Beside the script, `RUNS/study.json` records the grid (preset, models, files, frozen layers) for
`lvsdctl study report`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from lvsdctl import __version__
from lvsdctl.errors import InputError
from lvsdctl.outputs import claims_outputs
from lvsdctl.study import grid
from lvsdctl.study.flags import COMMANDS, flag
from lvsdctl.study.presets import get_preset
from lvsdctl.summary import Summary

MANIFEST = "study.json"


@dataclass
class ScriptSummary(Summary):
    """What `script` wrote: the script, the grid's size, the validation sets, warnings (`text`: the script)."""

    script: str
    runs: str
    preset: str
    steps: int
    trainings: int
    evaluations: int
    explanations: int
    validation_sets: list[str]
    synthetic: bool
    encoder_layers: dict[str, int | None]
    torchrun: int | None
    warnings: list[str] = field(default_factory=list)
    text: str = field(default="", repr=False)  # the script itself (what `-o -` prints)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "text"}


#: A validation set's name as the study can use it in file names and script words.
_SET_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,63}")
_PLAIN = re.compile(r"[A-Za-z0-9_./:=@%+,-]+")


def shell_word(word: str) -> str:
    """A word as the script writes it: variables in double quotes, anything unusual single-quoted."""
    if word.startswith("$"):
        return f'"{word}"'
    return word if _PLAIN.fullmatch(word) else shlex.quote(word)


def literal(text: str) -> str:
    """Text for inside a double-quoted shell word, read literally (no expansion)."""
    return re.sub(r'([\\"$`])', r"\\\1", text)


def _split_info(split: str) -> tuple[list[str], bool, dict[str, dict]]:
    """Validation sets (file order as `evaluate` reports them), the synthetic flag, and counts per set."""
    import numpy as np

    from lvsdctl.evaluate.evaluation import validation_sets_of
    from lvsdctl.hdf5 import open_input, read_records

    with open_input(split, kind={"ecg"}) as f:
        if "signals" not in f:
            raise InputError(f"{split}: has no /signals (run `lvsdctl preprocess` and `lvsdctl split` first)")
        records = read_records(f)
        synthetic = bool(f.attrs.get("synthetic", False))
    if "split" not in records or "label" not in records:
        raise InputError(f"{split}: its records have no split or label column (run `lvsdctl split` first)")
    splits = records["split"].astype(str)
    sets = validation_sets_of(splits)
    if not all(_SET_NAME.fullmatch(s) for s in sets):  # set names become file names and script words
        raise InputError(f"{split}: a validation set's name is not 1-64 letters, digits, '.', '_', '+' or '-' (the "
                         "study names files after each set): rename it in the split design")
    counts = {}
    for s in ("train", "tune", *sets):
        lab = records.loc[splits == s, "label"].to_numpy()
        counts[s] = {"ecgs": int(lab.size), "lvsd": int(np.sum(lab == 1)), "no_lvsd": int(np.sum(lab == 0))}
    return sets, synthetic, counts


def _start(weights: str | None, default: str) -> tuple[str, Path | None, str | None]:
    """A starting point as the script names it: (its shell value, the local file given or None, the
    catalog name that `lvsdctl weights fetch` gets, or None for a file of the user's).

    None is the catalog entry `default`; a catalog name (`lvsdctl weights list`, e.g.
    ecgfm-mimic-finetuned) is its official file in $WEIGHTS_DIR, as `finetune --weights NAME` finds it;
    anything else is a path, written absolute."""
    from lvsdctl.weights import lookup

    entry = lookup(weights or default)
    if weights is None or (entry is not None and not (os.sep in weights or Path(weights).is_file())):
        return f"$WEIGHTS_DIR/{entry.filename}", None, entry.name
    path = Path(weights).resolve()
    return literal(str(path)), path, None


def _encoder_layers(weights: Path | None) -> int | None:
    """Transformer layers of an ECG-FM checkpoint, when the file is here to read (else None: 12 assumed)."""
    if weights is None or not weights.is_file():
        return None
    from lvsdctl.models.ecgfm_weights import read_weights

    return int(read_weights(weights).config.num_layers)


def render(steps_by_section: list[tuple[str, list[grid.Step]]], *, header: str, variables: list[tuple[str, str, str]],
           checks: list[str], report: list[str]) -> str:
    lines = [header, "set -euo pipefail", ""]
    width = max(len(f'{n}="${{{n}:-{v}}}"') for n, v, _ in variables)
    for name, value, comment in variables:
        assignment = f'{name}="${{{name}:-{value}}}"'
        lines.append(f"{assignment:<{width}}  # {comment}" if comment else assignment)
    done = " ".join([*COMMANDS["done"].split(), flag("done", "quiet")])
    lines += [
        "",
        "# step ARGS...: run `lvsdctl ARGS...` unless its -o output is already done (`lvsdctl study done`:",
        "# complete, and made by this same command from the same inputs). A training that was interrupted",
        "# continues from its per-epoch state (--resume). Trainings go through $TRAIN, the rest through $LVSDCTL.",
        "step() {",
        '    local launch=$LVSDCTL rc=0',
        f'    case $1 in {COMMANDS["train"]}|{COMMANDS["finetune"]}) launch=$TRAIN ;; esac',
        f'    $LVSDCTL {done} -- "$@" || rc=$?',
        '    case $rc in',
        '        0) echo "== kept (done): lvsdctl $*" >&2 ;;',
        f'        11) echo "== resuming: lvsdctl $*" >&2; $launch "$@" {flag("train", "resume")} ;;',
        '        *) echo "== running: lvsdctl $*" >&2; $launch "$@" ;;',
        '    esac',
        "}",
        "",
        *checks,
        'mkdir -p "$RUNS/models" "$RUNS/eval" "$RUNS/explain"',
    ]
    for title, steps in steps_by_section:
        lines += ["", *[f"# {t}" if t else "#" for t in title.split("\n")]]
        for s in steps:
            if s.comment:
                lines.append(f"# {s.comment}")
            lines.append("step " + " ".join(shell_word(w) for w in s.words))
    lines += ["", "# The reproduction report: this site's Table 2, Table 3, S1/S2, Fig. 3, attributions, beside the article.",
              " ".join(["$LVSDCTL", *report]), ""]
    return "\n".join(lines)


@claims_outputs("output", dirs=("runs",))
def script(split: str | os.PathLike, runs: str | os.PathLike, *, preset: str = "quick", output: str | None = None,
           torchrun: int | None = None, ss_weights: str | None = None, sq_weights: str | None = None,
           ecgfounder: bool = False, ecgfounder_weights: str | None = None, ecgfounder_split: str | None = None,
           seed: int = 0, device: str = "auto", progress: Callable[[int, int], None] | None = None) -> ScriptSummary:
    """Write the study script (default ``RUNS/study.sh``; ``output='-'`` returns it in the summary only)
    and ``RUNS/study.json``; nothing is trained. ``ecgfounder`` adds ECGFounder's strategies (beyond the
    article) from ``ecgfounder_weights`` (default ``ecgfounder-12lead``) on ``ecgfounder_split``
    (default: ``split``)."""
    from lvsdctl.tables import write_text
    from lvsdctl.weights import PRETRAINED, SEQUENTIAL, WEIGHTS_DIR_ENV

    p = get_preset(preset)
    split_abs, runs_abs = str(Path(split).resolve()), str(Path(runs).resolve())
    if Path(runs_abs).exists() and not Path(runs_abs).is_dir():
        raise InputError(f"{runs}: --runs must be a directory (it holds every model, evaluation and the report)")
    if torchrun is not None:
        if torchrun < 1:
            raise InputError("--torchrun N needs N >= 1 processes")
        for what, batch in (("baseline", p.baseline_batch), ("fine-tuning", p.finetune_batch)):
            if batch % torchrun:
                raise InputError(f"--torchrun {torchrun}: the preset's {what} batch of {batch} does not split over "
                                 f"{torchrun} processes; use a divisor of {batch}")
    sets, synthetic, counts = _split_info(split_abs)
    if not sets:
        raise InputError(f"{split}: no validation set (run `lvsdctl split` first)")
    warnings = [f"set '{s}' has one class only: its AUROC, and sensitivity or specificity, are undefined"
                for s in sets if min(counts[s]["lvsd"], counts[s]["no_lvsd"]) == 0]
    starts = {"ss": _start(ss_weights, PRETRAINED), "sq": _start(sq_weights, SEQUENTIAL)}
    layers = {key: _encoder_layers(local) for key, (_, local, _) in starts.items()}
    steps_train = grid.training_steps(p, layers=layers)
    steps_eval = grid.evaluation_steps(p)
    if (ecgfounder_weights or ecgfounder_split) and not ecgfounder:
        raise InputError("--ecgfounder-weights / --ecgfounder-split only mean something with --ecgfounder")
    founder_train, founder_eval, founder_start = [], [], None
    if ecgfounder:
        founder_start = _start(ecgfounder_weights, "ecgfounder-12lead")
        founder_train = grid.founder_steps(p)
        founder_eval = grid.evaluation_steps(p, grid.FOUNDER, "$FOUNDER_SPLIT")
    steps_explain = grid.explain_steps(p, sets)
    all_train, all_eval = steps_train + founder_train, steps_eval + founder_eval
    total = len(all_train) + len(all_eval) + len(steps_explain)
    if progress:
        progress(0, total)

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    command = ["lvsdctl", "study", "script", str(split), "--runs", str(runs), "--preset", preset]
    if torchrun:
        command += ["--torchrun", str(torchrun)]
    if ecgfounder:
        command.append("--ecgfounder")
    header = "\n".join([
        "#!/usr/bin/env bash",
        "# The study of Sci Rep 2025, doi 10.1038/s41598-025-34911-6 (LVSD in LBBB, fine-tuned ECG-FM), on this",
        "# site's data, as ordinary lvsdctl calls: edit anything. Run it again after a stop: finished steps are",
        "# kept, interrupted trainings resume; delete an output file to redo its step.",
        f"# Written by `{' '.join(shlex.quote(w) for w in command)}` (lvsdctl {__version__}, {now}).".replace("\n", "?"),
        f"# Preset {p.name}: {p.summary}.",
        *[f"# {n}" for n in p.notes],
        *(["# SYNTHETIC data: no real patient is in it, and its results say nothing about real patients."]
          if synthetic else []),
        *[f"# warning: {w}" for w in warnings],
    ])
    weights_dir = f"${{{WEIGHTS_DIR_ENV}:-$HOME/.cache/lvsdctl/weights}}"
    train_launch = f"torchrun --nproc-per-node {torchrun} -m lvsdctl.cli.main" if torchrun else "$LVSDCTL"
    variables = [
        ("SPLIT", literal(split_abs), "the split ECG file (lvsdctl split)"),
        ("RUNS", literal(runs_abs), "every output goes here"),
        ("LVSDCTL", "lvsdctl", "how lvsdctl is called"),
        ("TRAIN", train_launch, "trainings; N GPUs: torchrun --nproc-per-node N -m lvsdctl.cli.main"),
        ("DEVICE", device, "auto, cuda, cpu or mps"),
        ("SEED", str(seed), "every training, bootstrap and data order"),
        ("WEIGHTS_DIR", weights_dir, "the official ECG-FM files (lvsdctl weights fetch; docs/weights.md)"),
        ("SS_WEIGHTS", starts["ss"][0], "single-step (SS) start"),
        ("SQ_WEIGHTS", starts["sq"][0], "sequential (Sq) start"),
    ]
    if ecgfounder:
        split_value = literal(str(Path(ecgfounder_split).resolve())) if ecgfounder_split else "$SPLIT"
        variables += [("FOUNDER_SPLIT", split_value, "ECGFounder's data: best the same split preprocessed --chain ecgfounder"),
                      ("FOUNDER_WEIGHTS", founder_start[0], "ECGFounder's pretrained start (beyond the article)")]
    checks = ["# ECG-FM's two starting points must be here before anything trains."]
    for key, variable in (("ss", "SS_WEIGHTS"), ("sq", "SQ_WEIGHTS")):
        name = starts[key][2]
        how = f"get it: lvsdctl weights fetch {name}; or set {variable}" if name else f"or set {variable}"
        checks.append(f'[ -f "${variable}" ] || {{ echo "missing ECG-FM weights: ${variable} ({how})" >&2; exit 6; }}')
    if ecgfounder:
        name = founder_start[2]
        how = f"get it: lvsdctl weights fetch {name}; or set FOUNDER_WEIGHTS" if name else "or set FOUNDER_WEIGHTS"
        checks.append(f'[ -f "$FOUNDER_WEIGHTS" ] || {{ echo "missing ECGFounder weights: $FOUNDER_WEIGHTS ({how})" >&2; '
                      'exit 6; }')
    by_model = {s.model: s for s in steps_train}
    sections = [
        (f"1. The four baselines, trained from scratch (Table 2): {p.baseline_epochs} epochs, lr {p.baseline_lr:g}, "
         f"batch {p.baseline_batch}.", [by_model[m] for m in grid.BASELINES]),
        ("2. ECG-FM fine-tuned for LVSD, single-step (SS: from the self-supervised checkpoint): FF trains\n"
         "everything, PF2-PF10 freeze that many transformer layers from the input side, AF trains only the\n"
         f"input projection and the head (Supplementary Table S1). {p.finetune_epochs} epochs, batch {p.finetune_batch}.",
         [by_model[m] for m in grid.FAMILIES["ss"]]),
        ("3. The same seven strategies, sequential (Sq: from the checkpoint fine-tuned on PhysioNet 2021; S2).",
         [by_model[m] for m in grid.FAMILIES["sq"]]),
        ("4. ECG-FM trained from scratch (Table 3).", [by_model[grid.SCRATCH]]),
        *([("4b. Beyond the article: ECGFounder fine-tuned with the same strategies, counted in its 7 stages (FF;\n"
            "PF1-PF6 freeze its stem and that many stages; AF trains only the projection and the head), its authors'\n"
            "learning rates (1e-4; AF 1e-3), then evaluated on $FOUNDER_SPLIT's validation sets.",
            founder_train + founder_eval)] if ecgfounder else []),
        (f"5. Every model on every validation set ({', '.join(sets)}): Table 2's metrics, patient-bootstrap CIs.",
         steps_eval),
        ("6. Where the models look (Fig. 4): DeepLIFT over each validation set, summarised by lead and wave.",
         steps_explain),
    ]
    report_words = [*COMMANDS["report"].split(), "$RUNS", flag("report", "output"), "$RUNS/report.md"]
    text = render(sections, header=header, variables=variables, checks=checks,
                  report=[shell_word(w) for w in report_words])

    manifest = {
        "lvsdctl_version": __version__, "created": now, "command": command, "preset": p.to_dict(),
        "split": split_abs, "synthetic": synthetic, "validation_sets": sets, "counts": counts,
        "torchrun": torchrun, "encoder_layers": layers, "warnings": warnings,
        "models": {s.model: {"file": s.output.replace("$RUNS/", ""), "kind": s.kind, **s.extra} for s in all_train},
        "evaluations": {s.model: s.output.replace("$RUNS/", "") for s in all_eval},
        "explanations": [{"model": s.model, "set": s.extra["set"], "file": s.output.replace("$RUNS/", "")}
                         for s in steps_explain],
    }
    Path(runs_abs).mkdir(parents=True, exist_ok=True)
    write_text(Path(runs_abs) / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    target = output or str(Path(runs_abs) / "study.sh")
    if target != "-":
        write_text(Path(target), text, executable=True)
    if progress:
        progress(total, total)
    return ScriptSummary(target, runs_abs, p.name, total, len(all_train), len(all_eval), len(steps_explain),
                         sets, synthetic, layers, torchrun, warnings, text)
