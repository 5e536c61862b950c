"""`lvsdctl train`: a baseline (FCN, LSTM-FCN, ResNet, InceptionTime) trained from scratch."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import (
    Device,
    DeviceOpt,
    Json,
    LoaderJobs,
    MicroBatch,
    Output,
    Quiet,
    Resume,
    Seed,
    TrainSet,
    TuneSet,
)


class Baseline(str, Enum):
    fcn = "fcn"
    lstm_fcn = "lstm-fcn"
    resnet = "resnet"
    inceptiontime = "inceptiontime"


def _parse_model_options(items: list[str]) -> dict:
    """`--model-option lstm_cells=64 --model-option kernels=[39,19,9]`: values parsed as JSON."""
    import json

    from lvsdctl.errors import InputError

    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InputError(f"--model-option {item!r}: expected KEY=VALUE (e.g. lstm_cells=64)")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = {"true": True, "false": False}.get(raw.lower(), raw)
    return out


@app.command(
    "train",
    short_help="Train a baseline from scratch: fcn, lstm-fcn, resnet, inceptiontime.",
    help=(
        "Train a baseline from scratch on the 'train' set of a split ECG file, scoring the 'tune' set "
        "after every epoch, and write one model file (weights, config, history, the preprocessing it expects).\n\n"
        "Defaults are the article's: Adam, cross-entropy, lr 5e-6, 100 epochs, batch 16, no class weights, "
        "last epoch kept. --preset sktime is what the authors ran (balanced class weights, sktime's "
        "InceptionTime kernels and LSTM-FCN); --preset published each model's own paper. Options given "
        "explicitly override the preset.\n\n"
        "--select best keeps the epoch with the best --metric on the tuning set (recorded in the file).\n\n"
        "Interrupted? Run the same command with --resume: training continues from the last finished epoch "
        "and ends with the same weights (on CPU) as an uninterrupted run.\n\n"
        "Several GPUs: torchrun --nproc-per-node 4 -m lvsdctl.cli.main train split.h5 ... (DDP, one output).\n\n"
        "Example: lvsdctl train split.h5 --model inceptiontime --ensemble 5 -o incep.h5"
    ),
)
def train_cmd(
    data: Annotated[str, typer.Argument(help="Preprocessed, split ECG file (kind 'ecg') with labelled train/tune sets.")],
    output: Output,
    model: Annotated[Baseline, typer.Option("--model", "-m", help="Baseline family.")] = Baseline.inceptiontime,
    preset: Annotated[Optional[str], typer.Option("--preset", metavar="[article|sktime|published]", help="Recipe: article (default), sktime, published.")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Epochs (article: 100).")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (article: 5e-6).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Global batch size (authors: 16).")] = None,
    micro_batch: MicroBatch = None,
    class_weight: Annotated[Optional[str], typer.Option("--class-weight", metavar="[none|balanced]", help="none (article) or balanced.")] = None,
    weight_decay: Annotated[Optional[float], typer.Option("--weight-decay", min=0.0, help="L2 penalty (Adam) / decoupled decay (adamw).")] = None,
    optimizer: Annotated[Optional[str], typer.Option("--optimizer", metavar="[adam|adamw|sgd]", help="adam (article), adamw or sgd.")] = None,
    schedule: Annotated[Optional[str], typer.Option("--schedule", metavar="[constant|cosine|plateau]", help="Learning-rate schedule: constant, cosine, plateau.")] = None,
    select: Annotated[Optional[str], typer.Option("--select", metavar="[last|best]", help="Epoch kept: last (article) or best.")] = None,
    metric: Annotated[Optional[str], typer.Option("--metric", metavar="METRIC", help="Metric for --select best: auroc, auprc, accuracy, loss, train_loss.")] = None,
    ensemble: Annotated[Optional[int], typer.Option("--ensemble", min=1, help="InceptionTime: train N networks, average their softmax (published: 5).")] = None,
    model_option: Annotated[list[str], typer.Option("--model-option", metavar="KEY=VALUE", help="Model setting KEY=VALUE, e.g. lstm_cells=64, shuffle=false, convs_per_block=[4,4,3].")] = [],
    train_split: TrainSet = "train",
    tune_split: TuneSet = "tune",
    resume: Resume = False,
    workers: LoaderJobs = 0,
    device: DeviceOpt = Device.auto,
    seed: Seed = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, line
    from lvsdctl.cli.progress import reporting
    from lvsdctl.train import train
    from lvsdctl.train.distributed import from_env

    with reporting("train", quiet=quiet) as progress:
        summary = train(
            data,
            model.value,
            output,
            preset=preset,
            ensemble=ensemble,
            model_options=_parse_model_options(model_option),
            train_split=train_split,
            tune_split=tune_split or None,
            resume=resume,
            progress=progress,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            micro_batch=micro_batch,
            class_weight=class_weight,
            weight_decay=weight_decay,
            optimizer=optimizer,
            schedule=schedule,
            select=select,
            metric=metric,
            workers=workers,
            device=device.value,
            seed=seed,
        )
    if not from_env().is_main:  # under torchrun one process reports, not N
        return
    if not quiet:
        kept = summary.kept_epoch_metrics
        kept = kept if isinstance(kept, dict) else {}
        auroc = kept.get("tune_auroc")
        line(
            f"{summary.model}{' x' + str(summary.ensemble) if summary.ensemble > 1 else ''}: "
            f"{summary.epochs} epochs on {summary.n_train} ECGs ({summary.device}, {summary.seconds:.0f} s); "
            f"kept epoch {summary.selection.get('epoch', '-')}"
            + (f", tune AUROC {auroc:.3f}" if auroc is not None else "")
            + f" -> {summary.output}"
        )
    if json_out:
        emit_json(summary)
