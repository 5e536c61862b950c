"""The `finetune` stage: a foundation model fine-tuned for LVSD, one strategy or the study's models.

`finetune(path, output, freeze=4, sequential=True)` reads the training and tuning sets of a split
`ecg` file, builds the LVSD model around an ECG-FM checkpoint (single-step: the self-supervised
file; sequential: the PhysioNet-2021 fine-tuned one), freezes what `freeze` says, trains it with
the shared engine (`lvsdctl.train.engine.fit`: devices, DDP, resume, history, progress) and writes
one `model` checkpoint. `all_strategies` runs the 14 models of the study, each to its own file.
`backbone="ecgfounder"` does the same around ECGFounder (`lvsdctl.finetune.ecgfounder`): the model
is built by its own `build_lvsd_model`, the weights found by the same catalog (`lvsdctl.weights`).

Defaults follow the study: 60 epochs, Adam (betas 0.9/0.98, the authors' recipe), cross-entropy,
batch 256, the last epoch kept, full 10 s input; learning rate per strategy (`STRATEGY_LR`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.outputs import claims_outputs
from lvsdctl.summary import Summary
from lvsdctl.train.engine import TrainConfig, defined, fit, seed_everything
from lvsdctl.train.resume import check_resumable, resume_path

log = logging.getLogger(__name__)

BACKBONES = ("ecgfm", "ecgfounder")
DISPLAY = {"ecgfm": "ECG-FM", "ecgfounder": "ECGFounder"}

#: Learning rate by number of frozen transformer layers (of 12). The article gives only the range
#: "1e-3 to 5e-7, depending on the model"; 5e-7 is the authors' released SS-FF recipe, 1e-3 the
#: upper bound, used where only the projection and a linear head train; PF in between, larger as
#: fewer layers train. Deeper/shallower encoders use the entry of the same frozen fraction.
STRATEGY_LR = {0: 5e-7, 2: 1e-6, 4: 5e-6, 6: 1e-5, 8: 5e-5, 10: 1e-4, 12: 1e-3}

#: The study's strategies (frozen layers of 12) and starting points: 2 x 7 = 14 models.
STUDY_FREEZES = (0, 2, 4, 6, 8, 10, 12)
STARTS = {"ss": False, "sq": True}  # name -> sequential

#: The study's recipe; explicit options override it.
STUDY_DEFAULTS = {"epochs": 60, "batch_size": 256, "optimizer": "adam", "betas": (0.9, 0.98),
                  "class_weight": "none", "select": "last"}


def strategy_name(freeze: int, num_layers: int = 12) -> str:
    """ff (nothing frozen), pfN (N layers frozen), af (the whole encoder frozen)."""
    return "ff" if freeze == 0 else "af" if freeze >= num_layers else f"pf{freeze}"


def default_lr(freeze: int, num_layers: int = 12) -> float:
    """The `STRATEGY_LR` entry whose frozen fraction is nearest ``freeze / num_layers``."""
    key = min(STRATEGY_LR, key=lambda k: abs(k / 12 - freeze / max(num_layers, 1)))
    return STRATEGY_LR[key]


def segment_samples(segments: str, fs: float, samples: int) -> int:
    """'10s' (the study: the whole input) -> 0; '5s' -> 5 s of samples, which must divide the input."""
    value = str(segments).strip().lower().removesuffix("s")
    try:
        seconds = float(value)
    except ValueError:
        raise InputError(f"--segments must be like 10s or 5s, got {segments!r}") from None
    n = int(round(seconds * fs))
    if n <= 0:
        raise InputError(f"--segments {segments}: segments must be longer than 0 s")
    if n >= samples:
        return 0
    if samples % n:
        raise MismatchError(f"--segments {segments}: {samples} samples at {fs:g} Hz do not split into {n}-sample segments")
    return n


def build_train_config(freeze: int, num_layers: int, options: dict[str, Any],
                       defaults: dict[str, Any] | None = None) -> TrainConfig:
    """``options`` over ``defaults`` (default: the study's recipe with the strategy's learning rate)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise InputError(f"unknown training option(s): {', '.join(unknown)}")
    defaults = defaults or {**STUDY_DEFAULTS, "lr": default_lr(freeze, num_layers)}
    values = {**defaults, **{k: v for k, v in options.items() if v is not None}}
    return TrainConfig(**values)


@dataclass
class FinetuneSummary(Summary):
    """What `finetune` did: the strategy, its learning rate, the epoch kept and the last epoch's scores.
    In `all_strategies`, a model whose file existed is `skipped` (its other fields None)."""

    output: str
    backbone: str | None = None  # ecgfm, ecgfounder
    model: str | None = None
    start: str | None = None  # ss (self-supervised weights), sq (sequential), pretrained (ECGFounder), scratch
    strategy: str | None = None  # ff, pfN, af
    freeze: int | None = None
    lr: float | None = None
    epochs: int | None = None
    trainable_parameters: int | None = None
    n_train: int | None = None
    n_tune: int | None = None
    selection: dict | None = None
    last_epoch: dict | None = None
    seconds: float | None = None
    device: str | None = None
    world_size: int | None = None
    resumed_from_epoch: int | None = None
    skipped: str | None = None

    def to_dict(self) -> dict:
        if self.skipped:
            return {"output": self.output, "skipped": self.skipped}
        return {k: v for k, v in super().to_dict().items() if k != "skipped"}


@claims_outputs("output")
def finetune(
    path: str | os.PathLike,
    output: str | os.PathLike = "ecgfm.h5",
    *,
    backbone: str = "ecgfm",
    weights: str | os.PathLike | None = None,
    sequential: bool = False,
    freeze: int | str = 0,
    size: str | None = None,
    from_scratch: bool = False,
    segments: str = "10s",
    zscore: bool | None = None,
    proj_kernel: int = 1,
    final_dropout: float = 0.0,
    checkpoint_activations: bool = False,
    train_split: str = "train",
    tune_split: str | None = "tune",
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    shutdown: bool = True,
    **train_options: Any,
) -> FinetuneSummary:
    """Fine-tune one model; write the checkpoint (rank 0 under torchrun); return what was done.

    ``weights``: a catalog name (``lvsdctl.weights``) or a path; None -> the study's starting point in
    the weights directory (``sequential`` picks which; for ECGFounder the data's leads:
    ``ecgfounder-1lead`` for 1 channel, else ``ecgfounder-12lead``). Never downloads.
    ``size`` None -> sizes from the weights file; a named size refuses a file of another size.
    ``zscore`` None -> on for ECG-FM; for ECGFounder only for data in millivolts (its chain z-scores).
    ``train_options`` are TrainConfig fields (epochs, lr, batch_size, seed, device, workers, ...).
    """
    from lvsdctl.data.dataset import labelled_sets
    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.models.ecgfm_lvsd import build_lvsd_model
    from lvsdctl.models.registry import model_config
    from lvsdctl.train import distributed as dist_
    from lvsdctl.weights.local import describe

    path, output = str(path), str(output)
    if backbone not in BACKBONES:
        raise InputError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    if output == "-":
        raise InputError("finetune writes its checkpoint to a file: give -o PATH (stdout cannot hold resume state)")
    if from_scratch and weights is not None:
        raise InputError("--from-scratch and --weights contradict each other")
    founder = backbone == "ecgfounder"
    if founder:
        from lvsdctl.finetune import ecgfounder

        ecgfounder.check_options(sequential=sequential, segments=segments, size=size)
    rpath = resume_path(output)
    if resume:
        check_resumable(output, [rpath])

    # Everything that can be wrong with the data is found before the model is built.
    train_set, tune_set = labelled_sets(path, train_split, tune_split)
    pre = train_set.preprocessing
    channels, samples = train_set.shape
    if zscore is None:
        zscore = ecgfounder.default_zscore(pre) if founder else True

    model_opts: dict[str, Any] = {"in_channels": channels, "proj_kernel": proj_kernel, "zscore": zscore,
                                  "final_dropout": final_dropout, "checkpoint_activations": checkpoint_activations}
    if size is not None or from_scratch:
        model_opts["size"] = size or ("full" if founder else "base")
    seed = int(train_options.get("seed") or 0)
    seed_everything(seed)  # the new projection and head come from the seed
    # The weights file is found (or reported missing) here, once, by the backbone's own builder.
    if founder:
        model, info = ecgfounder.build(weights, data_path=path, pre=pre, pretrained=not from_scratch, freeze=freeze,
                                       seed=seed, **model_opts)
        num_layers = info["units"]  # the network's stages
        start = "scratch" if from_scratch else "pretrained"
        defaults = ecgfounder.recipe(strategy_name(info["freeze"], num_layers))
    else:
        model_opts["segment_samples"] = segment_samples(segments, float(pre.get("fs") or 500.0), samples)
        try:
            model, info = build_lvsd_model(weights, sequential=sequential, pretrained=not from_scratch,
                                           freeze=freeze, seed=seed, **model_opts)
        except ValueError as exc:  # a bad --freeze / --proj-kernel
            raise InputError(str(exc)) from None
        if sequential and info.get("origin") == "official-pretrained":
            log.warning("--sequential with %s, a self-supervised checkpoint without a fine-tuned head: the run is "
                        "named sequential but starts as single-step does", info["weights"])
        num_layers = len(model.encoder.encoder.layers)
        # With --weights the file is the user's choice; --sequential then only names the run.
        start = "scratch" if from_scratch else ("sq" if sequential else "ss")
        defaults = None
    weights_path = info["weights"]
    n_frozen = info["freeze"]
    cfg = build_train_config(n_frozen, num_layers, train_options, defaults)
    name = strategy_name(n_frozen, num_layers)
    label = f"{backbone} {start}-{name}"
    model_name = model.model_name

    result = fit(model, train_set, tune_set, cfg, resume_path=rpath, resume=resume, progress=progress, label=label)

    parameters = {
        "backbone": backbone,
        "weights": weights_path,
        "weights_origin": info.get("origin"),
        "weights_catalog": describe(weights_path) if weights_path else None,
        "start": start,
        "sequential": sequential,
        "freeze": n_frozen,
        "strategy": name,
        "trainable_parameters": info["trainable"],
        "frozen_parameters": info["frozen"],
        "segments": segments,
        "zscore": zscore,
        "proj_kernel": proj_kernel,
        "chain": pre.get("chain"),
        "train": cfg.to_json(),
        "task": result.task,
        "train_split": train_split,
        "tune_split": tune_split,
        "n_train": len(train_set),
        "n_tune": len(tune_set) if tune_set is not None else 0,
        "class_counts_train": train_set.class_counts().tolist(),
        "world_size": result.world_size,
        "device": result.device,
    }
    dist = dist_.from_env()
    if dist.is_main:
        # The weights file is hashed into the provenance: which checkpoint a model came from matters.
        inputs = [path] + ([weights_path] if weights_path else [])
        save_checkpoint(
            output, result.model, model_name=model_name, config=model_config(result.model),
            history=result.history,
            preprocessing={k: v for k, v in pre.items() if k != "shape"} | {"shape": [channels, samples]},
            inputs=inputs, parameters=parameters,
            extra={"selection": result.selection, "training": parameters},
        )
        rpath.unlink(missing_ok=True)
    dist_.barrier(dist)
    if shutdown:
        dist_.shutdown(dist)

    last = result.history[-1] if result.history else {}
    return FinetuneSummary(
        output=output, backbone=backbone, model=model_name, start=start, strategy=name, freeze=n_frozen, lr=cfg.lr, epochs=cfg.epochs,
        trainable_parameters=info["trainable"], n_train=len(train_set),
        n_tune=len(tune_set) if tune_set is not None else 0, selection=result.selection,
        last_epoch=defined(last),
        seconds=result.seconds, device=result.device, world_size=result.world_size,
        resumed_from_epoch=result.resumed_from_epoch,
    )


def study_runs(output_dir: str | os.PathLike) -> list[dict]:
    """The 14 (start, freeze, output) runs of the study, in the article's order."""
    out = Path(output_dir)
    return [{"start": start, "sequential": sequential, "freeze": freeze,
             "output": str(out / f"{start}-{strategy_name(freeze)}.h5")}
            for start, sequential in STARTS.items() for freeze in STUDY_FREEZES]


@claims_outputs(dirs=("output_dir",))
def all_strategies(path: str | os.PathLike, output_dir: str | os.PathLike, *, skip_existing: bool = True,
                   **options: Any) -> list[FinetuneSummary]:
    """Fine-tune the study's 14 models (SS and Sq x FF, PF 2/4/6/8/10, AF) into ``output_dir``; with
    ``backbone="ecgfounder"`` its FF, PF 1-6 and AF (``ecgfounder-ff.h5`` ...) from one weights file
    (``weights`` may name it; None: ``ecgfounder-12lead``).

    The official checkpoints must be in the weights directory (checked before any training).
    With ``skip_existing`` a model whose file exists is not trained again (a stopped run continues).
    ``options`` go to every ``finetune`` call (``lr`` would override every strategy's default).
    """
    from lvsdctl.train import distributed as dist_

    founder = options.get("backbone") == "ecgfounder"  # one starting point: --weights may choose it
    weights = options.pop("weights", None) if founder else None
    for key in ("weights", "sequential", "freeze", "from_scratch", "resume"):
        if options.get(key) not in (None, False):
            raise InputError(f"--all-strategies chooses {key} itself; drop that option")
        options.pop(key, None)
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --all-strategies writes one file per model: -o must be a directory")
    if founder:
        from lvsdctl.finetune import ecgfounder

        # Reading the stages resolves the file: missing weights stop here, before any training.
        runs = [{**run, "weights": weights} for run in ecgfounder.study_runs(out, ecgfounder.stages_of(weights))]
    else:
        _require_both_starts()  # both present, or stop now
        runs = study_runs(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries = []
    for run in runs:
        if skip_existing and Path(run["output"]).exists():
            summaries.append(FinetuneSummary(output=run["output"], skipped="exists"))
            continue
        resume = resume_path(run["output"]).exists()  # an interrupted model continues where it stopped
        start = {k: run[k] for k in ("sequential", "weights") if k in run}
        summaries.append(finetune(path, run["output"], freeze=run["freeze"], resume=resume, shutdown=False,
                                  **start, **options))
    dist_.shutdown(dist_.from_env())
    return summaries


def _require_both_starts() -> None:
    """The study's two starting points must both be in the weights directory; one message for what is not."""
    from lvsdctl.errors import MissingResourceError
    from lvsdctl.weights import PRETRAINED, SEQUENTIAL, lookup, resolve, weights_dir

    missing = []
    for name in (PRETRAINED, SEQUENTIAL):
        try:
            resolve(name)
        except MissingResourceError as exc:
            missing.append(exc)
    if len(missing) == 1:
        raise missing[0]
    if missing:
        files = " and ".join(f"{lookup(n).filename} ({lookup(n).repo}, revision {lookup(n).revision[:12]})"
                             for n in (PRETRAINED, SEQUENTIAL))
        raise MissingResourceError(
            f"--all-strategies needs the study's two starting points; neither is in the weights directory "
            f"{weights_dir()}.\n  Fetch them (on a machine with internet): lvsdctl weights fetch {PRETRAINED} "
            f"{SEQUENTIAL}\n  Offline: copy {files} into that directory, or set LVSDCTL_WEIGHTS_DIR to the folder "
            "holding them.")
