"""`lvsdctl finetune`: ECG-FM or ECGFounder fine-tuned for LVSD (one strategy, or the study's models)."""

from __future__ import annotations

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


@app.command("finetune", short_help=(
    "Fine-tune ECG-FM or ECGFounder for LVSD: the study's strategies (--freeze)."
), help=(
    "Fine-tune the ECG-FM foundation model for LVSD: a 4->12 channel projection, the ECG-FM encoder, mean "
    "pooling and a linear head, trained with Adam for 60 epochs (the study's recipe).\n\n"
    "Weights (never downloaded here; `lvsdctl weights fetch` gets them): the study's starting points in the "
    "weights directory ($LVSDCTL_WEIGHTS_DIR, default ~/.cache/lvsdctl/weights): ecgfm-pretrained "
    "(mimic_iv_ecg_physionet_pretrained.pt, single-step, the default) and ecgfm-physionet-finetuned "
    "(physionet_finetuned.pt, --sequential); or --weights NAME|PATH: a name from `lvsdctl weights list` (e.g. "
    "--sequential --weights ecgfm-mimic-finetuned), an official-layout .pt or an lvsdctl model file.\n\n"
    "--freeze N freezes the conv feature extractor, the feature projection, the positional conv and the N "
    "transformer layers nearest the input: 0 trains everything (FF), 2-10 is PF, 12/all trains only the input "
    "projection and the head (AF). The input projection always trains.\n\n"
    "Learning rate by strategy unless --lr: FF 5e-7, PF2 1e-6, PF4 5e-6, PF6 1e-5, PF8 5e-5, PF10 1e-4, AF 1e-3 "
    "(docs/ecgfm.md).\n\n"
    "Example: lvsdctl finetune split.h5 --backbone ecgfm --freeze 4 --sequential -o sq-pf4.h5\n\n"
    "The study's 14 models: lvsdctl finetune split.h5 --all-strategies -o models/\n\n"
    "--backbone ecgfounder: ECGFounder (ecgfounder-12lead, or ecgfounder-1lead for 1-lead data, from the same "
    "weights directory: `lvsdctl weights fetch ecgfounder-12lead`; or --weights NAME|PATH), a "
    "convolutional network of 7 stages: --freeze N freezes its stem and first N stages (7/all: AF). Data "
    "preprocessed with --chain ecgfounder (4x5000: a 4->12 projection is added; 12x5000: none). Adam lr 1e-4, "
    "weight decay 1e-5 (its authors' recipe), AF 1e-3 (docs/ecgfounder.md)."))
def finetune_cmd(
    data: Annotated[str, typer.Argument(help="Preprocessed, split ECG file (kind 'ecg') with train/tune sets.")],
    output: Output,
    backbone: Annotated[str, typer.Option("--backbone", metavar="[ecgfm|ecgfounder]", help="Foundation model to fine-tune: ecgfm or ecgfounder.")] = "ecgfm",
    freeze: Annotated[str, typer.Option("--freeze", metavar="[N|all]", help="Frozen from the input side: ECG-FM transformer layers 0-12, ECGFounder stages 0-7, or 'all'.")] = "0",
    sequential: Annotated[bool, typer.Option("--sequential", help="Start from the multi-label fine-tuned checkpoint (Sq) instead of the self-supervised one (SS).")] = False,
    weights: Annotated[Optional[str], typer.Option("--weights", metavar="NAME|FILE", help="Catalog name (`lvsdctl weights list`; ECGFounder: ecgfounder-12lead, ecgfounder-1lead) or weights file (official .pt/.pth or lvsdctl .h5).")] = None,
    size: Annotated[Optional[str], typer.Option("--size", metavar="SIZE", help="Require this backbone size (ECG-FM: tiny, base, large; ECGFounder: tiny, full); with --from-scratch, the size to build.")] = None,
    from_scratch: Annotated[bool, typer.Option("--from-scratch", help="Random initial weights (an ablation; no weights file).")] = False,
    all_strategies: Annotated[bool, typer.Option("--all-strategies", help="Train the study's 14 models (SS/Sq x FF, PF2-10, AF; ECGFounder: FF, PF1-6, AF) into the -o directory; existing files are kept.")] = False,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Training epochs (the study: 60).")] = 60,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (default: by strategy, see above).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Global batch size (the authors: 256).")] = 256,
    segments: Annotated[str, typer.Option("--segments", metavar="[10s|5s]", help="10s: the whole ECG (the study); 5s: two halves, logits averaged (ECG-FM's convention).")] = "10s",
    zscore: Annotated[Optional[bool], typer.Option("--zscore/--no-zscore", help="Z-score inside the model: each channel (ECG-FM, default on) or the whole ECG (ECGFounder, default on only for data in mV).", show_default=False)] = None,
    proj_kernel: Annotated[int, typer.Option("--proj-kernel", min=1, help="Kernel size of the input projection (the study: 1).")] = 1,
    micro_batch: MicroBatch = None,
    checkpoint_activations: Annotated[bool, typer.Option("--checkpoint-activations", help="Recompute activations in backward: less memory for large batches.")] = False,
    class_weight: Annotated[str, typer.Option("--class-weight", metavar="[none|balanced]", help="none (the article) or balanced.")] = "none",
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
    from lvsdctl.finetune import all_strategies as run_all, finetune
    from lvsdctl.finetune.api import DISPLAY
    from lvsdctl.train.distributed import from_env

    options = dict(backbone=backbone, size=size, segments=segments, zscore=zscore, proj_kernel=proj_kernel,
                   checkpoint_activations=checkpoint_activations, train_split=train_split,
                   tune_split=tune_split or None, epochs=epochs, lr=lr, batch_size=batch_size,
                   micro_batch=micro_batch, class_weight=class_weight, workers=workers, device=device.value,
                   seed=seed)
    if all_strategies:
        if freeze != "0" or sequential or (weights and backbone != "ecgfounder") or from_scratch or resume:
            from lvsdctl.errors import InputError

            raise InputError("--all-strategies picks --freeze/--sequential/weights itself and resumes on its own; "
                             "drop those options")
        with reporting("finetune", quiet=quiet) as progress:
            summaries = run_all(data, output, progress=progress, **options,
                                **({"weights": weights} if weights else {}))
        if not from_env().is_main:  # under torchrun one process reports, not N
            return
        if not quiet:
            for s in summaries:
                line(f"{s.output}: " + ("kept (exists)" if s.skipped else
                          f"{s.start}-{s.strategy}, lr {s.lr:g}, {s.epochs} epochs, {s.seconds:.0f} s"))
        if json_out:
            emit_json(summaries)
        return
    with reporting("finetune", quiet=quiet) as progress:
        summary = finetune(data, output, weights=weights, sequential=sequential, freeze=freeze,
                           from_scratch=from_scratch, resume=resume, progress=progress, **options)
    if not from_env().is_main:  # under torchrun one process reports, not N
        return
    if not quiet:
        last = summary.last_epoch
        line(f"{DISPLAY[summary.backbone]} {summary.start}-{summary.strategy} (freeze {summary.freeze}, "
                  f"{summary.trainable_parameters:,} trainable parameters), lr {summary.lr:g}, "
                  f"{summary.epochs} epochs on {summary.device}: train loss {last.get('train_loss', float('nan')):.4f}, "
                  f"tune AUROC {last.get('tune_auroc', float('nan')):.3f} -> {summary.output}")
    if json_out:
        emit_json(summary)
