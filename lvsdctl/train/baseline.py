"""The `train` stage: a baseline (FCN, LSTM-FCN, ResNet, InceptionTime) trained from scratch.

`train(path, model=..., output=...)` reads the training and tuning sets of a split `ecg` file,
builds the model for the data's channels and length, runs the shared engine and writes one `model`
checkpoint that records the preprocessing it expects. Callable from a notebook; the CLI is a thin
layer over it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.outputs import claims_outputs
from lvsdctl.summary import Summary
from lvsdctl.train.engine import FitResult, TrainConfig, defined, fit, seed_everything
from lvsdctl.train.presets import get_preset
from lvsdctl.train.resume import check_resumable, resume_path

BASELINES = ("fcn", "lstm-fcn", "resnet", "inceptiontime")


def resume_paths(output: str, members: int) -> list[Path]:
    """Where each network's per-epoch resume state lives (beside the output, hidden)."""
    return [resume_path(output, i if members > 1 else None) for i in range(members)]


@dataclass
class TrainSummary(Summary):
    """What `train` did: the model, its data, the epoch kept and its tuning scores."""

    output: str
    model: str
    ensemble: int
    epochs: int
    n_train: int
    n_tune: int
    selection: dict  # which epoch was kept and why (per member for an ensemble)
    kept_epoch_metrics: dict | list[dict]  # the kept epoch's history record (per member for an ensemble)
    last_epoch: dict
    seconds: float
    device: str
    world_size: int
    rank: int
    resumed_from_epoch: int | list[int]


def build_config(preset: str | None, model: str, overrides: dict[str, Any]) -> tuple[TrainConfig, dict, int]:
    """TrainConfig, model options and ensemble size: defaults <- preset <- explicit options."""
    p = get_preset(preset or "article", model)
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {**p.train, **{k: v for k, v in overrides.items() if k in train_fields and v is not None}}
    return TrainConfig(**values), dict(p.model), p.ensemble


def _data_options(model: str, shape: tuple[int, int], options: dict) -> dict:
    """Fill the model's input size from the data; refuse options that contradict it."""
    from lvsdctl.models.registry import get_spec

    fields = {f.name for f in dataclasses.fields(get_spec(model).config_cls)}
    opts = dict(options)
    for key, value in (("in_channels", shape[0]), ("in_samples", shape[1])):
        if key in fields:
            if key in opts and int(opts[key]) != value:
                raise MismatchError(f"model option {key}={opts[key]} but the data have {value}")
            opts[key] = value
    return opts


@claims_outputs("output")
def train(
    path: str | os.PathLike,
    model: str = "inceptiontime",
    output: str | os.PathLike = "model.h5",
    *,
    preset: str | None = None,
    ensemble: int | None = None,
    model_options: dict | None = None,
    train_split: str = "train",
    tune_split: str | None = "tune",
    expect_layout: str | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    **train_options: Any,
) -> TrainSummary:
    """Train a baseline; write the checkpoint (rank 0 under torchrun); return what was done.

    `train_options` are TrainConfig fields (epochs, lr, batch_size, class_weight, weight_decay,
    schedule, select, metric, seed, device, workers, ...); None means "preset/default".
    `progress(done, total)` counts training steps (of each network of an ensemble in turn).
    """
    from lvsdctl.data.dataset import labelled_sets
    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.models.registry import check_model_options, create_model, model_config
    from lvsdctl.train import distributed as dist_

    path, output = str(path), str(output)
    if model not in BASELINES:
        raise InputError(f"unknown baseline {model!r}; choose one of {', '.join(BASELINES)} (ECG-FM: lvsdctl finetune)")
    try:
        cfg, preset_model, preset_ensemble = build_config(preset, model, train_options)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    members = ensemble if ensemble is not None else preset_ensemble
    if members < 1 or (members > 1 and model != "inceptiontime"):
        raise InputError("--ensemble N applies to inceptiontime only (N >= 1)")
    if output == "-":
        raise InputError("train writes its checkpoint to a file: give -o PATH (stdout cannot hold resume state)")

    # Everything that can be wrong with the data is found here, before any training.
    train_set, tune_set = labelled_sets(path, train_split, tune_split)
    pre = train_set.preprocessing
    if expect_layout and pre.get("layout") != expect_layout:
        raise MismatchError(f"{path}: layout {pre.get('layout')!r}, but this model needs {expect_layout!r}")
    shape = train_set.shape
    opts = _data_options(model, shape, {**preset_model, **(model_options or {})})
    check_model_options(model, opts)  # bounded and built on the meta device first: no 48 GB surprise
    try:
        create_model(model, **opts)  # validate options before training
    except (TypeError, ValueError) as exc:
        raise InputError(f"--model-option: {exc}") from None

    info = dist_.from_env()
    if cfg.select == "best" and cfg.metric != "train_loss" and tune_set is None:
        raise InputError("--select best needs a tuning set (--tune-set) or --metric train_loss")
    if cfg.batch_size % info.world_size:
        raise InputError(f"--batch-size {cfg.batch_size} does not split evenly over {info.world_size} processes")

    paths = resume_paths(output, members)
    if resume:
        check_resumable(output, paths)
    results: list[FitResult] = []
    for i in range(members):
        member_cfg = dataclasses.replace(cfg, seed=cfg.seed + i)
        seed_everything(member_cfg.seed)  # the initial weights come from the seed too
        net = create_model(model, **opts)
        label = f"{model}" if members == 1 else f"{model} {i + 1}/{members}"
        results.append(
            fit(net, train_set, tune_set, member_cfg, resume_path=paths[i], resume=resume and paths[i].exists(),
                progress=progress, label=label)
        )

    final = create_model(model, **opts, **({"ensemble": members} if members > 1 else {}))
    if members == 1:
        final.load_state_dict(results[0].state_dict)
        history = results[0].history
        selection = results[0].selection
    else:
        for i, res in enumerate(results):
            final.members[i].load_state_dict({k.removeprefix("members.0."): v for k, v in res.state_dict.items()})
        history = [{"member": i, **h} for i, res in enumerate(results) for h in res.history]
        selection = {"members": [res.selection for res in results], "combine": "mean of the members' softmax"}

    parameters = {
        "model": model,
        "preset": preset or "article",
        "train": cfg.to_json(),
        "task": results[0].task,
        "ensemble": members,
        "train_split": train_split,
        "tune_split": tune_split,
        "n_train": len(train_set),
        "n_tune": len(tune_set) if tune_set is not None else 0,
        "class_counts_train": train_set.class_counts().tolist(),
        "world_size": results[0].world_size,
        "device": results[0].device,
    }
    if info.is_main:
        save_checkpoint(
            output,
            final,
            model_name=model,
            config=model_config(final),
            history=history,
            preprocessing={k: v for k, v in pre.items() if k != "shape"} | {"shape": list(shape)},
            inputs=[path],
            parameters=parameters,
            extra={"selection": selection, "training": parameters},
        )
        for p in paths:
            p.unlink(missing_ok=True)
    dist_.barrier(info)
    dist_.shutdown(info)

    last = results[-1].history[-1] if results[-1].history else {}
    kept = [_kept_record(r) for r in results]
    return TrainSummary(
        output=output, model=model, ensemble=members, epochs=cfg.epochs, n_train=len(train_set),
        n_tune=len(tune_set) if tune_set is not None else 0, selection=selection,
        kept_epoch_metrics=kept if members > 1 else kept[0], last_epoch=last, seconds=sum(r.seconds for r in results),
        device=results[0].device, world_size=results[0].world_size, rank=info.rank,
        resumed_from_epoch=[r.resumed_from_epoch for r in results] if members > 1 else results[0].resumed_from_epoch,
    )


def _kept_record(result: FitResult) -> dict:
    epoch = result.selection.get("epoch")
    for record in result.history:
        if record.get("epoch") == epoch:
            return defined(record)
    return {}
