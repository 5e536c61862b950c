"""The study's grid: which models, where their files go, and the lvsdctl call that makes each file.

19 models: the four baselines from scratch (FCN, LSTM-FCN, ResNet, InceptionTime), ECG-FM fine-tuned
from its two starting points (SS: the self-supervised checkpoint; Sq: the one fine-tuned on PhysioNet
2021) with seven strategies each (FF; PF2, PF4, PF6, PF8, PF10: that many transformer layers frozen from
the input side; AF: only the input projection and the head train), and ECG-FM from scratch (Table 3).
Every model is evaluated on every validation set; the article's Fig. 4 models are explained.
Beyond the article, `founder_steps` adds ECGFounder fine-tuned with the same strategies counted in its
stages (FF, PF1-PF6, AF of 7), when the script is asked for it (`study script --ecgfounder`).

A step is a list of words (an lvsdctl call) whose `-o` output is a file under the run directory;
shell variables (`$SPLIT`, `$RUNS`, ...) stay symbolic so the script reads and edits as plain shell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lvsdctl.study.flags import COMMANDS, flag

BASELINES = ("fcn", "lstm-fcn", "resnet", "inceptiontime")
#: Frozen transformer layers (of 12) of the seven strategies, and the starting points.
STUDY_FREEZES = (0, 2, 4, 6, 8, 10, 12)
STARTS = ("ss", "sq")
SCRATCH = "ecgfm-scratch"


def strategy(freeze: int) -> str:
    """ff, pfN, af: the study's name for N of 12 layers frozen (as `lvsdctl finetune` names its runs)."""
    return "ff" if freeze == 0 else "af" if freeze >= 12 else f"pf{freeze}"


FAMILIES: dict[str, tuple[str, ...]] = {
    "baselines": BASELINES,
    "ss": tuple(f"ss-{strategy(k)}" for k in STUDY_FREEZES),
    "sq": tuple(f"sq-{strategy(k)}" for k in STUDY_FREEZES),
    "scratch": (SCRATCH,),
}
MODELS: tuple[str, ...] = tuple(m for names in FAMILIES.values() for m in names)

#: ECGFounder's stages (the published network); PF N freezes its stem and first N stages.
FOUNDER_STAGES = 7
FOUNDER = tuple(f"ecgfounder-{'ff' if n == 0 else 'af' if n == FOUNDER_STAGES else f'pf{n}'}"
                for n in range(FOUNDER_STAGES + 1))

#: Display names, as the article prints them.
LABELS = {"fcn": "FCN", "lstm-fcn": "LSTM-FCN", "resnet": "ResNet", "inceptiontime": "InceptionTime",
          SCRATCH: "ECG-FM scratch", **{f"{s}-{strategy(k)}": f"{s.upper() if s == 'ss' else 'Sq'}-"
                                        f"{strategy(k).upper()}" for s in STARTS for k in STUDY_FREEZES},
          **{m: "ECGFounder " + m.removeprefix("ecgfounder-").upper() for m in FOUNDER}}


def model_file(name: str) -> str:
    return f"$RUNS/models/{name}.h5"


def eval_file(name: str) -> str:
    return f"$RUNS/eval/{name}-eval.h5"


def explain_file(name: str, vset: str) -> str:
    return f"$RUNS/explain/{name}-{vset}.h5"


def freeze_for(freeze12: int, layers: int) -> int:
    """The study's N of 12 frozen layers on an encoder of ``layers`` layers: the same share, and a PF
    strategy stays partial (at least one layer frozen, at least one trained) when the encoder allows."""
    if layers == 12 or freeze12 == 0:
        return freeze12
    if freeze12 >= 12:
        return layers
    n = round(freeze12 * layers / 12)
    return min(max(n, 1), layers - 1) if layers >= 2 else n


@dataclass
class Step:
    kind: str  # train, finetune, evaluate, explain
    model: str
    words: list[str]  # after "lvsdctl"
    output: str
    comment: str = ""
    extra: dict = field(default_factory=dict)


def _opt(command: str, idea: str, value) -> list[str]:
    return [flag(command, idea), str(value)]


def _fmt(x: float) -> str:
    return f"{x:g}"


def training_steps(preset, *, layers: dict[str, int | None] | None = None) -> list[Step]:
    """The 19 trainings, in the article's order. ``layers``: transformer layers of each starting
    point's encoder (None: 12, the official files)."""
    layers = layers or {}
    steps = []
    for m in BASELINES:
        words = [COMMANDS["train"], "$SPLIT", *_opt("train", "model", m),
                 *_opt("train", "epochs", preset.baseline_epochs), *_opt("train", "lr", _fmt(preset.baseline_lr)),
                 *_opt("train", "batch_size", preset.baseline_batch)]
        for item in preset.baseline_options.get(m, ()):
            words += [flag("train", "model_option"), item]
        words += [*_opt("train", "seed", "$SEED"), *_opt("train", "device", "$DEVICE"),
                  *_opt("train", "output", model_file(m))]
        steps.append(Step("train", m, words, model_file(m)))
    for start in STARTS:
        for k in STUDY_FREEZES:
            name = f"{start}-{strategy(k)}"
            words = [COMMANDS["finetune"], "$SPLIT", *_opt("finetune", "weights", "$SS_WEIGHTS" if start == "ss" else "$SQ_WEIGHTS")]
            if start == "sq":
                words.append(flag("finetune", "sequential"))
            depth = layers.get(start) or 12
            n = freeze_for(k, depth)
            note = "" if depth == 12 else (f"{LABELS[name]}: the article freezes {k} of 12 layers; this {depth}-layer "
                                           f"backbone freezes {n}")
            words += [*_opt("finetune", "freeze", n), *_opt("finetune", "epochs", preset.finetune_epochs),
                      *_opt("finetune", "lr", _fmt(preset.finetune_lr[k])),
                      *_opt("finetune", "batch_size", preset.finetune_batch), *_opt("finetune", "seed", "$SEED"),
                      *_opt("finetune", "device", "$DEVICE"), *_opt("finetune", "output", model_file(name))]
            steps.append(Step("finetune", name, words, model_file(name), note, extra={"freeze": n, "freeze_of_12": k}))
    words = [COMMANDS["finetune"], "$SPLIT", flag("finetune", "from_scratch"), *_opt("finetune", "size", preset.scratch_size),
             *_opt("finetune", "freeze", 0), *_opt("finetune", "epochs", preset.finetune_epochs),
             *_opt("finetune", "lr", _fmt(preset.scratch_lr)), *_opt("finetune", "batch_size", preset.finetune_batch),
             *_opt("finetune", "seed", "$SEED"), *_opt("finetune", "device", "$DEVICE"),
             *_opt("finetune", "output", model_file(SCRATCH))]
    steps.append(Step("finetune", SCRATCH, words, model_file(SCRATCH)))
    return steps


def founder_steps(preset) -> list[Step]:
    """ECGFounder fine-tuned on ``$FOUNDER_SPLIT`` from ``$FOUNDER_WEIGHTS``: FF, PF1-PF6, AF, each with
    its authors' learning rate (``lvsdctl.finetune.ecgfounder``) and the preset's epochs and batch."""
    from lvsdctl.finetune.ecgfounder import STRATEGY_LR

    steps = []
    for n, name in enumerate(FOUNDER):
        lr = STRATEGY_LR["af" if n == FOUNDER_STAGES else "ff" if n == 0 else "pf"]
        words = [COMMANDS["finetune"], "$FOUNDER_SPLIT", *_opt("finetune", "backbone", "ecgfounder"),
                 *_opt("finetune", "weights", "$FOUNDER_WEIGHTS"), *_opt("finetune", "freeze", n),
                 *_opt("finetune", "epochs", preset.finetune_epochs), *_opt("finetune", "lr", _fmt(lr)),
                 *_opt("finetune", "batch_size", preset.finetune_batch), *_opt("finetune", "seed", "$SEED"),
                 *_opt("finetune", "device", "$DEVICE"), *_opt("finetune", "output", model_file(name))]
        steps.append(Step("finetune", name, words, model_file(name), extra={"freeze": n, "backbone": "ecgfounder"}))
    return steps


def evaluation_steps(preset, models: tuple[str, ...] = MODELS, split: str = "$SPLIT") -> list[Step]:
    return [Step("evaluate", m, [COMMANDS["evaluate"], model_file(m), split,
                                 *_opt("evaluate", "threshold", preset.threshold),
                                 *_opt("evaluate", "bootstrap", preset.bootstrap), *_opt("evaluate", "seed", "$SEED"),
                                 *_opt("evaluate", "device", "$DEVICE"), *_opt("evaluate", "output", eval_file(m))],
                 eval_file(m)) for m in models]


def explain_steps(preset, validation_sets: list[str]) -> list[Step]:
    """DeepLIFT over each validation set for the article's Fig. 4 model(s)."""
    steps = []
    for m in preset.explain_models:
        for vset in validation_sets:
            out = explain_file(m, vset)
            words = [COMMANDS["explain"], "$SPLIT", *_opt("explain", "set", vset), *_opt("explain", "model", model_file(m))]
            if preset.explain_limit:
                words += _opt("explain", "limit", preset.explain_limit)
            words += [*_opt("explain", "figure", out.removesuffix(".h5") + ".png"), *_opt("explain", "output", out)]
            steps.append(Step("explain", m, words, out, extra={"set": vset}))
    return steps
