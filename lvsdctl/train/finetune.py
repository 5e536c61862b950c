"""`lvsdctl finetune`: a foundation model fine-tuned for LVSD, one strategy or the study's models.

`finetune(path, output, freeze=4, sequential=True)` reads the training and tuning sets of a split
`ecg` file, builds the LVSD model around an ECG-FM checkpoint (single-step: the self-supervised
file; sequential: the PhysioNet-2021 fine-tuned one), freezes what `freeze` says, trains it with
the shared engine (`lvsdctl.train.engine.fit`: devices, DDP, resume, history, progress) and writes
one `model` checkpoint. `all_strategies` runs the 14 models of the study, each to its own file.
`backbone="ecgfounder"` does the same around ECGFounder (`lvsdctl.train.finetune_ecgfounder`).

Defaults follow the study: 60 epochs, Adam (betas 0.9/0.98, the authors' recipe), cross-entropy,
batch 256, the last epoch kept, full 10 s input; learning rate per strategy (`STRATEGY_LR`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.train.engine import TrainConfig, fit, seed_everything

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


def resume_path(output: str) -> Path:
    out = Path(output)
    return out.parent / f".{out.name}.resume.h5"


def build_train_config(freeze: int, num_layers: int, options: dict[str, Any],
                       defaults: dict[str, Any] | None = None) -> TrainConfig:
    """``options`` over ``defaults`` (default: the study's recipe with the strategy's learning rate)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise InputError(f"unknown training option(s): {', '.join(unknown)}")
    defaults = defaults or {**STUDY_DEFAULTS, "lr": default_lr(freeze, num_layers)}
    values = {**defaults, **{k: v for k, v in options.items() if v is not None}}
    cfg = TrainConfig(**values)
    try:
        cfg.validate()
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return cfg


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
    progress: bool = True,
    shutdown: bool = True,
    **train_options: Any,
) -> dict:
    """Fine-tune one model; write the checkpoint (rank 0 under torchrun); return a summary dict.

    ``weights`` None -> the official file in the weights directory (``sequential`` picks which; for
    ECGFounder the data's leads: ``ecgfounder-1lead`` for 1 channel, else ``ecgfounder-12lead``);
    ECGFounder also takes those catalog names. ``size`` None -> sizes from the weights file; a named
    size refuses a file of another size. ``zscore`` None -> on for ECG-FM; for ECGFounder only for
    data in millivolts (its own chain z-scores).
    ``train_options`` are TrainConfig fields (epochs, lr, batch_size, seed, device, workers, ...).
    """
    from lvsdctl.data.dataset import labelled_sets
    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.models.ecgfm_lvsd import build_lvsd_model, parse_freeze
    from lvsdctl.models.ecgfm_weights import resolve_weights
    from lvsdctl.models.registry import model_config
    from lvsdctl.train import distributed as dist_

    path, output = str(path), str(output)
    if backbone not in BACKBONES:
        raise InputError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    if output == "-":
        raise InputError("finetune writes its checkpoint to a file: give -o PATH (stdout cannot hold resume state)")
    if from_scratch and weights is not None:
        raise InputError("--from-scratch and --weights contradict each other")
    founder = backbone == "ecgfounder"
    if founder:
        from lvsdctl.train import finetune_ecgfounder as ecgfounder

        ecgfounder.check_options(sequential=sequential, segments=segments, size=size)
        weights_path = None  # resolved once the data's leads are known
    else:
        weights_path = None if from_scratch else resolve_weights(weights, sequential=sequential)  # fail fast

    # Everything that can be wrong with the data is found before the model is built.
    train_set, tune_set = labelled_sets(path, train_split, tune_split)
    pre = train_set.preprocessing
    channels, samples = train_set.shape
    seed = int(train_options.get("seed") or 0)
    seed_everything(seed)  # the new projection and head come from the seed
    if founder:
        built = ecgfounder.build(weights, data_path=path, pre=pre, channels=channels, from_scratch=from_scratch,
                                 size=size, freeze=freeze, zscore=zscore, proj_kernel=proj_kernel,
                                 final_dropout=final_dropout, checkpoint_activations=checkpoint_activations,
                                 seed=seed)
        model, info, weights_path, zscore = built.model, built.info, built.weights_path, built.zscore
        n_frozen, num_layers, start = built.n_frozen, built.n_stages, built.start
        name = strategy_name(n_frozen, num_layers)
        cfg = build_train_config(n_frozen, num_layers, train_options, ecgfounder.recipe(name))
    else:
        zscore = True if zscore is None else zscore
        seg = segment_samples(segments, float(pre.get("fs") or 500.0), samples)
        model_opts: dict[str, Any] = {"in_channels": channels, "proj_kernel": proj_kernel, "zscore": zscore,
                                      "segment_samples": seg, "final_dropout": final_dropout,
                                      "checkpoint_activations": checkpoint_activations}
        if size is not None or from_scratch:
            model_opts["size"] = size or "base"
        try:
            model, info = build_lvsd_model(weights_path, pretrained=not from_scratch, freeze=freeze, seed=seed,
                                           **model_opts)
        except ValueError as exc:  # a bad --freeze / --proj-kernel
            raise InputError(str(exc)) from None
        num_layers = len(model.encoder.encoder.layers)
        n_frozen = parse_freeze(freeze, num_layers)
        cfg = build_train_config(n_frozen, num_layers, train_options)
        name = strategy_name(n_frozen, num_layers)
        # With --weights the file is the user's choice; --sequential then only names the run.
        start = "scratch" if from_scratch else ("sq" if sequential else "ss")
    label = f"{backbone} {start}-{name}"
    model_name = model.model_name

    rpath = resume_path(output)
    if resume and not rpath.exists():
        raise InputError(f"--resume: no resume state for {output} (looked for {rpath}); run without --resume")
    result = fit(model, train_set, tune_set, cfg, resume_path=rpath, resume=resume, progress=progress, label=label)

    parameters = {
        "backbone": backbone,
        "weights": str(weights_path) if weights_path else None,
        "weights_origin": info.get("origin"),
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
        inputs = [path] + ([str(weights_path)] if weights_path else [])
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
    return {
        "output": output,
        "backbone": backbone,
        "model": model_name,
        "start": start,
        "strategy": name,
        "freeze": n_frozen,
        "lr": cfg.lr,
        "epochs": cfg.epochs,
        "trainable_parameters": info["trainable"],
        "n_train": len(train_set),
        "n_tune": len(tune_set) if tune_set is not None else 0,
        "selection": result.selection,
        "last_epoch": {k: v for k, v in last.items() if not (isinstance(v, float) and math.isnan(v))},
        "seconds": result.seconds,
        "device": result.device,
        "world_size": result.world_size,
        "resumed_from_epoch": result.resumed_from_epoch,
    }


def study_runs(output_dir: str | os.PathLike) -> list[dict]:
    """The 14 (start, freeze, output) runs of the study, in the article's order."""
    out = Path(output_dir)
    return [{"start": start, "sequential": sequential, "freeze": freeze,
             "output": str(out / f"{start}-{strategy_name(freeze)}.h5")}
            for start, sequential in STARTS.items() for freeze in STUDY_FREEZES]


def all_strategies(path: str | os.PathLike, output_dir: str | os.PathLike, *, skip_existing: bool = True,
                   **options: Any) -> list[dict]:
    """Fine-tune the study's 14 models (SS and Sq x FF, PF 2/4/6/8/10, AF) into ``output_dir``; with
    ``backbone="ecgfounder"`` its FF, PF 1-6 and AF (``ecgfounder-ff.h5`` ...) from one weights file.

    The official checkpoints must be in the weights directory (checked before any training).
    With ``skip_existing`` a model whose file exists is not trained again (a stopped run continues).
    ``options`` go to every ``finetune`` call (``lr`` would override every strategy's default).
    """
    from lvsdctl.models.ecgfm_weights import resolve_weights
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
        from lvsdctl.train import finetune_ecgfounder as ecgfounder

        # Reading the stages resolves the file: missing weights stop here, before any training.
        runs = [{**run, "weights": weights} for run in ecgfounder.study_runs(out, ecgfounder.stages_of(weights))]
    else:
        resolve_weights(sequential=False), resolve_weights(sequential=True)  # both present, or stop now
        runs = study_runs(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries = []
    for run in runs:
        if skip_existing and Path(run["output"]).exists():
            summaries.append({"output": run["output"], "skipped": "exists"})
            continue
        resume = resume_path(run["output"]).exists()  # an interrupted model continues where it stopped
        start = {k: run[k] for k in ("sequential", "weights") if k in run}
        summaries.append(finetune(path, run["output"], freeze=run["freeze"], resume=resume, shutdown=False,
                                  **start, **options))
    dist_.shutdown(dist_.from_env())
    return summaries
