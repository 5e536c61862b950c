"""The training loop every lvsdctl model shares (`train`, `finetune`, `pretrain`).

`fit(model, train_set, tune_set, config)` trains with Adam (or AdamW/SGD) on mini-batches, scores
the tuning set after every epoch, keeps the history, selects the epoch to keep (the last, as the
article, or the best by a tuning metric) and returns the model holding it. It reads as its steps:
`_setup` (device, DDP, optimiser, loaders), `resume.restore` (an interrupted run's state), `_epoch`
(one pass and its tuning scores), `_select` (the epoch kept). What differs between tasks (the loss,
the tuning metrics) is a `Task` (`lvsdctl.train.tasks`); what differs in the optimiser (parameter
groups, frozen layers) is an `optimizer_factory` (default: `lvsdctl.train.optim`). With
`micro_batch` each step's batch runs as micro-batches whose gradients add up to the whole batch's
(`lvsdctl.train.accumulate`).

Reproducibility: every epoch reseeds torch/numpy/random from (seed, epoch, rank) and shuffles with
a sampler seeded by (seed, epoch), so an epoch's result depends only on the state at its start.
With `resume_path` the full state is written after every epoch (`lvsdctl.train.resume`); a run
resumed from it ends with exactly the weights of an uninterrupted run on CPU.

Distributed: under torchrun (WORLD_SIZE > 1) the model is wrapped in DDP, each rank reads its
share of every global batch through a DistributedSampler and the loss is normalised by the global
batch weight, so gradients equal those of one process with the same global batch (BatchNorm aside:
on CUDA it becomes SyncBatchNorm). Every rank scores the whole tuning set, so all take the same
selection decision; only rank 0 writes files, reports progress and logs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from lvsdctl.errors import InputError
from lvsdctl.train import accumulate
from lvsdctl.train import distributed as dist_
from lvsdctl.train import resume as resume_
from lvsdctl.train.devices import configure_determinism, loader_settings, resolve_device
from lvsdctl.train.optim import default_optimizer, make_scheduler
from lvsdctl.train.tasks import Classification, Context, Task

log = logging.getLogger(__name__)

#: Tuning metrics and whether larger is better. `train_loss` selects as Fawaz et al.'s and Karim
#: et al.'s code did (checkpoint on the lowest training loss).
METRICS = {"auroc": True, "auprc": True, "accuracy": True, "loss": False, "train_loss": False}


@dataclass
class TrainConfig:
    """Everything that shapes a training run. Defaults are the article's baselines recipe."""

    epochs: int = 100
    batch_size: int = 16  # global batch; split evenly over DDP ranks
    lr: float = 5e-6
    optimizer: str = "adam"  # adam | adamw | sgd
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    class_weight: str = "none"  # none | balanced (sklearn's n / (2 * count))
    schedule: str = "constant"  # constant | cosine | plateau (on the training loss, as the papers)
    plateau_factor: float = 0.5
    plateau_patience: int = 50
    min_lr: float = 0.0
    select: str = "last"  # last | best
    metric: str = "auroc"  # see METRICS
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bf16 autocast on CUDA
    workers: int = 0  # DataLoader worker processes
    grad_clip: float | None = None
    eval_batch_size: int | None = None
    micro_batch: int | None = None  # samples per forward/backward, gradients accumulated (None: whole batch)

    def __post_init__(self) -> None:
        """Checked once, where the config is made: a bad option is the user's error (exit 3)."""
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch size must be at least 1"),
            (self.micro_batch is None or self.micro_batch >= 1, "micro-batch must be at least 1"),
            (self.lr > 0, "learning rate must be positive"),
            (self.weight_decay >= 0, "weight decay must be >= 0"),
            (self.optimizer in ("adam", "adamw", "sgd"), f"unknown optimizer {self.optimizer!r}"),
            (self.class_weight in ("none", "balanced"), "class weight must be none or balanced"),
            (self.schedule in ("constant", "cosine", "plateau"), f"unknown lr schedule {self.schedule!r}"),
            (self.select in ("last", "best"), "select must be last or best"),
            (self.metric in METRICS, f"unknown metric {self.metric!r}; use one of {', '.join(METRICS)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass
class FitResult:
    model: nn.Module  # unwrapped, holding the selected epoch's weights
    history: list[dict]
    selection: dict
    config: TrainConfig
    task: dict
    device: str
    world_size: int
    seconds: float
    resumed_from_epoch: int = 0
    state_dict: dict = field(default_factory=dict)


def defined(record: dict) -> dict:
    """A history record without its undefined (NaN) values, as the summaries show it."""
    return {k: v for k, v in record.items() if not (isinstance(v, float) and math.isnan(v))}


# --------------------------------------------------------------------------------------------
# seeds


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------------------------
# the loop


def _better(value: float, best: float | None, larger: bool) -> bool:
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value > best if larger else value < best


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


@dataclass
class _Run:
    """Everything `_setup` builds and the epochs use."""

    model: nn.Module  # unwrapped
    net: nn.Module  # what the steps call: the model, or its DDP wrapper
    optimizer: torch.optim.Optimizer
    scheduler: Any
    sampler: DistributedSampler
    train_loader: DataLoader
    tune_loader: DataLoader | None
    ctx: Context


def _setup(model: nn.Module, train_set: Dataset, tune_set: Dataset | None, cfg: TrainConfig, task: Task,
           optimizer_factory) -> _Run:
    """Device and process group, the model on it (DDP-wrapped under torchrun), optimiser, schedule, loaders."""
    info = dist_.from_env()
    device = resolve_device(cfg.device, info.local_rank)
    dist_.init(info, device)
    configure_determinism(device)
    if cfg.batch_size % info.world_size:
        raise InputError(f"batch size {cfg.batch_size} does not split evenly over {info.world_size} processes")
    if cfg.micro_batch and cfg.micro_batch < cfg.batch_size // info.world_size and not task.supports_accumulation:
        raise InputError(f"--micro-batch: this task ({type(task).__name__}) cannot split its batches")
    if cfg.select == "best" and cfg.metric != "train_loss" and tune_set is None:
        raise InputError("--select best needs a tuning set (or --metric train_loss)")
    seed_everything(cfg.seed)
    task.setup(train_set, cfg)
    model.to(device)
    if info.enabled and device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    net = model
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = optimizer_factory(model, cfg) if optimizer_factory else default_optimizer(model.parameters(), cfg)
    # One sampler code path for 1 or N processes: the same (seed, epoch) permutation, each rank
    # taking every world_size-th index, so a rank's batch k is its share of global batch k.
    sampler = DistributedSampler(train_set, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=cfg.seed)
    settings = loader_settings(device, cfg.workers)
    train_loader = DataLoader(train_set, batch_size=cfg.batch_size // info.world_size, sampler=sampler,
                              generator=torch.Generator().manual_seed(cfg.seed), **settings)
    tune_loader = None
    if tune_set is not None:
        tune_loader = DataLoader(tune_set, batch_size=cfg.eval_batch_size or max(64, cfg.batch_size), shuffle=False,
                                 **settings)
    return _Run(model, net, optimizer, make_scheduler(optimizer, cfg), sampler, train_loader, tune_loader,
                Context(device=device, dist=info, amp=cfg.amp))


def _epoch(run: _Run, epoch: int, cfg: TrainConfig, task: Task, step: Callable[[], None]) -> dict[str, Any]:
    """One pass over the training set, then the tuning scores and the schedule's step: the epoch's record."""
    t0 = time.perf_counter()
    ctx, info = run.ctx, run.ctx.dist
    seed_everything(epoch_seed(cfg.seed, epoch, info.rank))
    run.sampler.set_epoch(epoch)
    run.net.train()
    loss_sum = torch.zeros((), device=ctx.device)
    n_seen = 0
    for batch in run.train_loader:
        run.optimizer.zero_grad(set_to_none=True)
        reported = accumulate.backward(run.net, task, batch, ctx, cfg.micro_batch)
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
        run.optimizer.step()
        loss_sum += reported
        n_seen += len(batch[0]) if isinstance(batch, (list, tuple)) else 0
        step()
    totals = dist_.all_reduce_sum(torch.stack([loss_sum, torch.tensor(float(n_seen), device=ctx.device)]), info)
    train_loss = float(totals[0] / totals[1].clamp_min(1))
    record: dict[str, Any] = {"epoch": epoch + 1, "train_loss": train_loss}
    record.update(task.epoch_summary())
    if run.tune_loader is not None:
        metrics = task.evaluate(run.net, run.tune_loader, ctx)
        record.update({f"tune_{k}": v for k, v in metrics.items()})
    record["lr"] = run.optimizer.param_groups[0]["lr"]
    if isinstance(run.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        run.scheduler.step(train_loss)
    elif run.scheduler is not None:
        run.scheduler.step()
    record["seconds"] = time.perf_counter() - t0
    record["samples_per_s"] = float(totals[1]) / record["seconds"]
    return record


def _select(run: _Run, cfg: TrainConfig, best: dict) -> dict:
    """Load the kept epoch's weights (the best, with select=best) and say which and why."""
    larger = METRICS[cfg.metric]
    selection = {"select": cfg.select, "metric": cfg.metric if cfg.select == "best" else None}
    if cfg.select == "best" and best["weights"] is not None:
        run.model.load_state_dict({k: v.to(run.ctx.device) for k, v in best["weights"].items()})
        selection.update(epoch=best["epoch"], value=best["value"])
    else:
        if cfg.select == "best":
            selection["note"] = f"metric {cfg.metric} was never defined (one class in the tuning set?): kept the last epoch"
        selection["epoch"] = cfg.epochs
    selection["rule"] = (
        f"epoch with the {'highest' if larger else 'lowest'} {cfg.metric} on the tuning set"
        if cfg.select == "best" and cfg.metric != "train_loss"
        else "epoch with the lowest training loss" if cfg.select == "best" else "last epoch (as the article)"
    )
    return selection


def _log_epoch(label: str, record: dict, epochs: int, task: Task) -> None:
    tune = record.get("tune_auroc")
    extra = task.progress_text()
    log.info("%s epoch %d/%d: train loss %.4f%s%s (%.1f s)", label, record["epoch"], epochs, record["train_loss"],
             f", tune AUROC {tune:.3f}" if tune is not None and not math.isnan(tune) else "",
             f", {extra}" if extra else "", record["seconds"])


def fit(
    model: nn.Module,
    train_set: Dataset,
    tune_set: Dataset | None = None,
    config: TrainConfig | None = None,
    *,
    task: Task | None = None,
    optimizer_factory: Callable[[nn.Module, TrainConfig], torch.optim.Optimizer] | None = None,
    resume_path: str | os.PathLike | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    label: str = "train",
    on_epoch_end: Callable[[dict], None] | None = None,
) -> FitResult:
    """Train `model`; return it holding the selected epoch's weights (see module docstring).

    `progress(done, total)` counts optimisation steps over all epochs; each epoch is logged.
    """
    cfg = config or TrainConfig()
    task = task or Classification(cfg.class_weight)
    t_start = time.perf_counter()
    run = _setup(model, train_set, tune_set, cfg, task, optimizer_factory)
    info = run.ctx.dist
    fingerprint = resume_.fingerprint(run.model, cfg, train_set, tune_set, task)
    history: list[dict] = []
    best: dict = {"epoch": None, "value": None, "weights": None}
    start_epoch = 0
    rpath = Path(resume_path) if resume_path else None
    if resume:
        if rpath is None:
            raise InputError("--resume: no resume state given (nothing to resume; run without --resume)")
        history, best, start_epoch = resume_.restore(rpath, fingerprint, model=run.model, optimizer=run.optimizer,
                                                     scheduler=run.scheduler, device=run.ctx.device,
                                                     epochs=cfg.epochs)

    larger = METRICS[cfg.metric]
    steps_per_epoch = len(run.train_loader)
    total = cfg.epochs * steps_per_epoch
    done = start_epoch * steps_per_epoch
    report = progress if progress is not None and info.is_main else None

    def step() -> None:
        nonlocal done
        done += 1
        if report is not None:
            report(done, total)

    if info.is_main:
        log.info("%s: %d epochs of %d steps on %s%s", label, cfg.epochs, steps_per_epoch, run.ctx.device,
                 f", resumed after epoch {start_epoch}" if start_epoch else "")
    for epoch in range(start_epoch, cfg.epochs):
        record = _epoch(run, epoch, cfg, task, step)
        history.append(record)
        if cfg.select == "best":
            key = "train_loss" if cfg.metric == "train_loss" else f"tune_{cfg.metric}"
            if _better(record.get(key, math.nan), best["value"], larger):
                best = {"epoch": epoch + 1, "value": record[key], "weights": _cpu_state(run.model)}
        if info.is_main:
            _log_epoch(label, record, cfg.epochs, task)
        if rpath is not None and info.is_main:
            resume_.save_resume(rpath, model=run.model, optimizer=run.optimizer, scheduler=run.scheduler,
                                epoch=epoch + 1, history=history, best=best, fingerprint=fingerprint)
        dist_.barrier(info)
        if on_epoch_end is not None:
            on_epoch_end(record)

    selection = _select(run, cfg, best)
    return FitResult(
        model=run.model,
        history=history,
        selection=selection,
        config=cfg,
        task=task.describe(),
        device=str(run.ctx.device),
        world_size=info.world_size,
        seconds=time.perf_counter() - t_start,
        resumed_from_epoch=start_epoch,
        state_dict=_cpu_state(run.model),
    )
