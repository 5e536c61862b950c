"""`lvsdctl pretrain`: self-supervised ECG-FM pretraining on a site's own unlabelled ECGs."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import (
    Device,
    DeviceOpt,
    Json,
    LoaderJobs,
    Output,
    Quiet,
    Resume,
    Seed,
    Sets,
    split_list,
)


@app.command("pretrain", short_help=(
    "Self-supervised ECG-FM pretraining on unlabelled ECGs (wav2vec 2.0 + CMSC + RLM)."
), help=(
    "Pretrain an ECG-FM backbone on unlabelled ECGs with ECG-FM's own objective: wav2vec 2.0 contrastive loss "
    "on span-masked 5 s segments (Gumbel quantizer, 100 negatives), CMSC between the two halves of each "
    "10 s ECG, and random lead masking. Labels are not used.\n\n"
    "Input: an 'ecg' file with the 12x5000 layout at 500 Hz (`lvsdctl preprocess --layout 12x5000`); every ECG "
    "of the file unless --set is given. Each lead is z-scored per recording as it is read.\n\n"
    "Output: a 'model' file that `lvsdctl finetune --weights site-fm.h5` starts from; --export-fairseq also "
    "writes the fairseq-signals .pt layout that ECG-FM's own tools load.\n\n"
    "Start: a random backbone (--size), or --weights NAME|PATH to continue ECG-FM's own pretraining on the site's "
    "ECGs (`lvsdctl weights fetch ecgfm-pretrained` first; nothing is downloaded here).\n\n"
    "Sizes: tiny (CPU demos and tests), base (the public ECG-FM, 12 x 768), large (24 x 1024). Defaults follow "
    "ECG-FM: Adam (0.9, 0.98), eps 1e-6, weight decay 0.01, constant lr 5e-5. Multi-GPU: "
    "torchrun --nproc-per-node N -m lvsdctl pretrain ...\n\n"
    "Example: lvsdctl pretrain archive12.h5 -o site-fm.h5 --size base --epochs 50 --batch-size 64 "
    "--export-fairseq site-fm.pt"))
def pretrain_cmd(
    data: Annotated[str, typer.Argument(help="Preprocessed 12-lead ECG file (kind 'ecg', layout 12x5000 @ 500 Hz).")],
    output: Output,
    size: Annotated[Optional[str], typer.Option("--size", metavar="[tiny|base|large]", help="Backbone size: tiny (the default), base or large; with --weights, the size the file must have.")] = None,
    weights: Annotated[Optional[str], typer.Option("--weights", metavar="NAME|FILE", help="Continue pretraining this checkpoint (a name from `lvsdctl weights list`, e.g. ecgfm-pretrained, or a file); never downloaded.")] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the ECGs.")] = 10,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Global batch size in ECGs (each gives two 5 s segments).")] = 16,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate, constant (ECG-FM: 5e-5).")] = 5e-5,
    sets: Sets = None,
    export_fairseq: Annotated[Optional[str], typer.Option("--export-fairseq", metavar="FILE", help="Also write the weights in the fairseq-signals .pt layout.")] = None,
    resume: Resume = False,
    amp: Annotated[bool, typer.Option("--amp/--no-amp", help="bf16 autocast on CUDA.")] = True,
    workers: LoaderJobs = 0,
    device: DeviceOpt = Device.auto,
    seed: Seed = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    from lvsdctl.cli.console import emit_json, line
    from lvsdctl.cli.progress import reporting
    from lvsdctl.pretrain import pretrain
    from lvsdctl.train.distributed import from_env

    with reporting("pretrain", quiet=quiet) as progress:
        summary = pretrain(data, output, size=size, weights=weights, epochs=epochs, batch_size=batch_size, lr=lr,
                           seed=seed, device=device.value, resume=resume, export=export_fairseq, progress=progress,
                           split=split_list(sets), workers=workers, amp=amp)
    if not from_env().is_main:  # under torchrun one process reports, not N
        return
    if not quiet:
        first, last = summary.first_epoch, summary.last_epoch
        line(
            f"ECG-FM {summary.size} ({summary.parameters:,} parameters) pretrained on {summary.n_ecgs} ECGs, "
            f"{summary.epochs} epochs ({summary.num_updates} updates) on {summary.device}: "
            f"loss {first.get('train_loss', float('nan')):.3f} -> {last.get('train_loss', float('nan')):.3f}, "
            f"contrastive {last.get('contrastive', float('nan')):.3f}, CMSC {last.get('cmsc', float('nan')):.3f}, "
            f"codebook perplexity {last.get('code_perplexity', float('nan')):.1f} -> {summary.output}"
            + (f" (+ {summary.export})" if summary.export else "")
        )
    if json_out:
        emit_json(summary)
