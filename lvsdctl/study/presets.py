"""How big the study script's runs are: `paper` (the article's recipe) or `quick` (a CPU trial).

`paper` takes its numbers from the stages' own study defaults, so there is one source for each:
the baselines' `article` recipe (`lvsdctl.train.presets`: Adam, lr 5e-6, 100 epochs, batch 16, full
width) and ECG-FM's (`lvsdctl.finetune`: 60 epochs, batch 256, learning rate by strategy from
5e-7 for FF to 1e-3 for AF, the range the article gives). The article does not give the learning rate
of its ECG-FM trained from scratch (Table 3); the script uses FF's and says so.

`quick` runs every step of the grid in minutes on a CPU: 2 epochs, narrow baselines (the demo's
widths), one learning rate for the fine-tunes, a small bootstrap, and SS-FF explained on 8 ECGs per set. Its numbers
say nothing about the models; it checks that the pipeline runs on a site's data end to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lvsdctl.errors import InputError


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    baseline_epochs: int
    baseline_lr: float
    baseline_batch: int
    baseline_options: dict[str, tuple[str, ...]]  # model -> --model-option KEY=VALUE items
    finetune_epochs: int
    finetune_lr: dict[int, float]  # frozen layers (of 12) -> learning rate
    finetune_batch: int
    scratch_size: str  # ECG-FM from scratch (Table 3)
    scratch_lr: float
    bootstrap: int
    threshold: str = "0.5"  # the study's
    explain_limit: int | None = None  # ECGs explained per set (None: all)
    explain_models: tuple[str, ...] = ("ss-ff", "sq-pf4")  # the article's Fig. 4 model, and its Sq-PF
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["finetune_lr"] = {str(k): v for k, v in self.finetune_lr.items()}
        d["baseline_options"] = {k: list(v) for k, v in self.baseline_options.items()}
        return d


def _paper() -> Preset:
    from lvsdctl.finetune.api import STRATEGY_LR, STUDY_DEFAULTS
    from lvsdctl.train.presets import PRESETS

    article = PRESETS["article"]["fcn"].train  # the same recipe for the four baselines
    return Preset(
        name="paper",
        summary="the article's recipe: baselines 100 epochs at lr 5e-6, batch 16, full width; ECG-FM 60 epochs, "
                "batch 256, lr by strategy (5e-7 FF ... 1e-3 AF)",
        baseline_epochs=article["epochs"], baseline_lr=article["lr"], baseline_batch=article["batch_size"],
        baseline_options={},
        finetune_epochs=STUDY_DEFAULTS["epochs"], finetune_lr=dict(STRATEGY_LR),
        finetune_batch=STUDY_DEFAULTS["batch_size"],
        scratch_size="base", scratch_lr=STRATEGY_LR[0], bootstrap=1000,
        notes=("The article gives ECG-FM's learning rates only as a range (1e-3 to 5e-7 by model); the per-strategy "
               "values are lvsdctl's defaults (docs/ecgfm.md).",
               "The article does not give the learning rate of ECG-FM trained from scratch; FF's is used."),
    )


def _quick() -> Preset:
    lr = 3e-4
    return Preset(
        name="quick",
        summary="a CPU trial: 2 epochs, narrow baselines, lr 1e-3 (baselines) and 3e-4 (ECG-FM; 1e-3 for AF), "
                "bootstrap 100, SS-FF explained on 8 ECGs per set; NOT the article's recipe",
        baseline_epochs=2, baseline_lr=1e-3, baseline_batch=16,
        baseline_options={"fcn": ("filters=[32,64,32]",), "lstm-fcn": ("filters=[32,64,32]",),
                          "resnet": ("filters=[16,32,32]",), "inceptiontime": ("filters=8", "bottleneck=8")},
        finetune_epochs=2, finetune_lr={0: lr, 2: lr, 4: lr, 6: lr, 8: lr, 10: lr, 12: 1e-3}, finetune_batch=16,
        scratch_size="tiny", scratch_lr=lr, bootstrap=100, explain_limit=8, explain_models=("ss-ff",),
        notes=("Quick preset: a trial of the pipeline on this site's data. Its numbers say nothing about the models; "
               "run `--preset paper` on a GPU for the study.",),
    )


PRESETS = {"paper": _paper, "quick": _quick}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()
