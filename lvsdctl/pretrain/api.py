"""`pretrain(...)`: ECG-FM's self-supervised objective on a site's own ECGs, through the shared engine."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lvsdctl.errors import InputError
from lvsdctl.outputs import claims_outputs
from lvsdctl.summary import Summary
from lvsdctl.train.resume import check_resumable, resume_path

#: ECG-FM's pretraining dropouts (wav2vec 2.0 base): they differ from the fine-tuning defaults.
PRETRAIN_DROPOUTS = {"dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.0,
                     "dropout_input": 0.1, "dropout_features": 0.1}


@dataclass
class PretrainSummary(Summary):
    """What `pretrain` did: the backbone, its data, the loss from the first to the last epoch."""

    output: str
    export: str | None  # the fairseq-signals .pt, when asked for
    model: str
    size: str
    parameters: int
    n_ecgs: int
    epochs: int
    num_updates: int
    first_epoch: dict
    last_epoch: dict
    seconds: float
    device: str
    world_size: int
    resumed_from_epoch: int


def build_model(size: str = "tiny", seed: int = 0, **overrides):
    """A randomly initialised `ECGFMPretrainModel` of a named size with pretraining dropouts."""
    from lvsdctl.models.ecgfm import config_for_size
    from lvsdctl.models.ecgfm_pretrain import ECGFMPretrainModel

    try:
        cfg = config_for_size(size, **{**PRETRAIN_DROPOUTS, **overrides})
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc)) from None
    torch.manual_seed(seed)
    return ECGFMPretrainModel(cfg)


def load_model(weights: str | os.PathLike, size: str | None = None, **overrides):
    """An `ECGFMPretrainModel` continuing from a checkpoint (a catalog name or a file; never downloaded).

    Sizes come from the file (``size``, when given, must match it); the dropouts are pretraining's.
    Returns (model, path, updates already done by the file's own training, for the Gumbel schedule).
    """
    from lvsdctl.models.ecgfm import ECGFMConfig, config_for_size
    from lvsdctl.models.ecgfm_pretrain import ECGFMPretrainModel
    from lvsdctl.models.ecgfm_weights import check_and_load, check_fits, read_weights, resolve_weights

    path = resolve_weights(weights)
    w = read_weights(path, base=ECGFMConfig(**PRETRAIN_DROPOUTS))
    if not w.pretraining:
        raise InputError(f"{path}: holds no pretraining modules (mask_emb, quantizer, ...): pretraining continues "
                         "from a self-supervised checkpoint (e.g. ecgfm-pretrained), not a fine-tuned one")
    state = {**w.encoder, **w.pretraining}
    if size is not None:  # the user fixed a size: a file of another size is refused before allocating
        with torch.device("meta"):
            check_fits(ECGFMPretrainModel(config_for_size(size, **PRETRAIN_DROPOUTS)), state, str(path),
                       f"ECG-FM {size} pretraining model")
    try:
        cfg = dataclasses.replace(w.config, **overrides)
    except TypeError as exc:
        raise InputError(str(exc)) from None
    model = ECGFMPretrainModel(cfg)
    check_and_load(model, state, str(path), "ECG-FM pretraining model")
    return model, path, w.num_updates


def _optimizer(weight_decay: float, eps: float):
    """fairseq's Adam: decoupled weight decay (= AdamW), betas (0.9, 0.98), eps 1e-6."""

    def make(model, cfg):
        params = [p for p in model.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, eps=eps, weight_decay=weight_decay)

    return make


@claims_outputs("output", "export")
def pretrain(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    size: str | None = None,
    weights: str | os.PathLike | None = None,
    epochs: int = 10,
    batch_size: int = 16,
    lr: float = 5e-5,
    seed: int = 0,
    device: str = "auto",
    resume: bool = False,
    export: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
    split: str | Sequence[str] | None = None,
    workers: int = 0,
    amp: bool = True,
    weight_decay: float = 0.01,
    model_overrides: dict[str, Any] | None = None,
    objective: dict[str, Any] | None = None,
    shutdown: bool = True,
) -> PretrainSummary:
    """Pretrain an ECG-FM backbone on the ECGs of `input` (kind `ecg`, 12x5000 @ 500 Hz; labels unused).

    ``weights`` (a catalog name such as ``ecgfm-pretrained``, or a file) continues the self-supervised
    pretraining of that checkpoint on these ECGs (domain adaptation), with its sizes; it is never
    downloaded (`lvsdctl weights fetch`). Without it, a random backbone of ``size`` (default tiny).

    Writes `output` (kind `model`, `model_name` "ecgfm-pretrain": `finetune --weights` reads it) and,
    with `export`, the fairseq-signals `.pt` layout. `split` restricts to sets of the file (default:
    every ECG). `progress(done, total)` counts training steps. Under torchrun only rank 0 writes.
    """
    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.train import distributed as dist_
    from lvsdctl.train.engine import TrainConfig, defined, fit
    from lvsdctl.pretrain.export import export_fairseq
    from lvsdctl.pretrain.model import ObjectiveConfig, PretrainNet
    from lvsdctl.pretrain.segments import SegmentPairs
    from lvsdctl.pretrain.task import PretrainTask

    input, output = str(input), str(output)
    if output == "-":
        raise InputError("pretrain writes its checkpoint to a file: give -o PATH (stdout cannot hold resume state)")
    rpath = resume_path(output)
    if resume:
        check_resumable(output, [rpath])
    data = SegmentPairs(input, split)
    try:
        obj = ObjectiveConfig(**(objective or {}))
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer="adamw", betas=(0.9, 0.98),
                      weight_decay=weight_decay, seed=seed, device=device, amp=amp, workers=workers,
                      select="last", metric="train_loss")
    start_updates, weights_path = 0, None
    if weights is not None:
        torch.manual_seed(seed)
        model, weights_path, start_updates = load_model(weights, size, **(model_overrides or {}))
        size = size or _size_name(model.cfg)
    else:
        size = size or "tiny"
        model = build_model(size, seed, **(model_overrides or {}))
    net = PretrainNet(model, obj, seed=seed)
    net.num_updates.fill_(start_updates)  # the Gumbel temperature goes on from where the file's run left it
    task = PretrainTask(obj.to_dict())
    result = fit(net, data, None, cfg, task=task, optimizer_factory=_optimizer(weight_decay, 1e-6),
                 resume_path=rpath, resume=resume, progress=progress, label=f"pretrain ecgfm-{size}")
    w2v = result.model.w2v
    num_updates = int(result.model.num_updates)
    parameters = {
        "size": size,
        "weights": str(weights_path) if weights_path else None,
        "start_updates": start_updates,
        "objective": obj.to_dict(),
        "train": cfg.to_json(),
        "n_ecgs": len(data),
        "segments_per_ecg": data.segments_per_ecg,
        "split": split,
        "num_updates": num_updates,
        "world_size": result.world_size,
        "device": result.device,
    }
    info = dist_.from_env()
    if info.is_main:
        pre = {k: v for k, v in data.preprocessing.items() if k != "shape"}
        pre["normalisation"] = "zscore"  # applied per lead and recording while reading
        save_checkpoint(output, w2v, model_name="ecgfm-pretrain", config=w2v.cfg.to_dict(),
                        history=result.history, preprocessing=pre,
                        inputs=[input] + ([str(weights_path)] if weights_path else []), parameters=parameters,
                        extra={"training": parameters}, task="pretrain")
        if export:
            export_fairseq(w2v, export, num_updates=num_updates, epoch=cfg.epochs)
        rpath.unlink(missing_ok=True)
    dist_.barrier(info)
    if shutdown:
        dist_.shutdown(info)
    last = result.history[-1] if result.history else {}
    return PretrainSummary(
        output=output, export=str(export) if export else None, model="ecgfm-pretrain", size=size,
        parameters=sum(p.numel() for p in w2v.parameters()), n_ecgs=len(data), epochs=cfg.epochs,
        num_updates=num_updates, first_epoch=defined(result.history[0]) if result.history else {},
        last_epoch=defined(last), seconds=result.seconds, device=result.device, world_size=result.world_size,
        resumed_from_epoch=result.resumed_from_epoch,
    )


def _size_name(cfg) -> str:
    """The named size a config has (tiny, base, large), or "custom"."""
    from lvsdctl.models.ecgfm import SIZES

    fields = ("embed_dim", "ffn_dim", "num_layers", "num_heads", "conv_layers")
    for name, ref in SIZES.items():
        if all(getattr(cfg, f) == getattr(ref, f) for f in fields):
            return name
    return "custom"
