"""The training loop every lvsdctl model shares (`train`, `finetune`, `pretrain`).

`fit(model, train_set, tune_set, config)` trains with Adam (or AdamW/SGD) on mini-batches, scores
the tuning set after every epoch, keeps the history, selects the epoch to keep (the last, as the
article, or the best by a tuning metric) and returns the model holding it. What differs between
tasks (the loss, the tuning metrics) is a `Task`; what differs in the optimiser (parameter groups,
frozen layers) is an `optimizer_factory`.

Reproducibility: every epoch reseeds torch/numpy/random from (seed, epoch, rank) and shuffles with
a sampler seeded by (seed, epoch), so an epoch's result depends only on the state at its start.
With `resume_path` the full state (weights, optimiser, scheduler, best weights so far, RNG states,
history) is written atomically after every epoch; a run resumed from it ends with exactly the
weights of an uninterrupted run on CPU.

Distributed: under torchrun (WORLD_SIZE > 1) the model is wrapped in DDP, each rank reads its
share of every global batch through a DistributedSampler and the loss is normalised by the global
batch weight, so gradients equal those of one process with the same global batch (BatchNorm aside:
on CUDA it becomes SyncBatchNorm). Every rank scores the whole tuning set, so all take the same
selection decision; only rank 0 writes files.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.train import accumulate
from lvsdctl.train import distributed as dist_
from lvsdctl.train.devices import autocast, configure_determinism, loader_settings, resolve_device

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

    def validate(self) -> None:
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
                raise ValueError(message)

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass
class Context:
    device: torch.device
    dist: dist_.DistInfo
    amp: bool
    batch_weight: torch.Tensor | None = None  # set for micro-batches: the whole step's global weight


class Task:
    """How to turn a batch into a loss and a model into tuning metrics (override for other tasks)."""

    #: True when the loss is a per-sample sum over a normaliser taken from `ctx.batch_weight` when set
    #: (`lvsdctl.train.accumulate`): the batch may then run as micro-batches.
    supports_accumulation = False

    def batch_weight(self, batch: Any, ctx: Context) -> torch.Tensor:
        """This rank's total sample weight of a batch (the normaliser of its loss)."""
        return torch.tensor(float(len(batch[0])), device=ctx.device)

    def setup(self, train_set: Dataset, config: TrainConfig) -> None:
        """Called once before training (e.g. to compute class weights from the training labels)."""

    def loss(self, model: nn.Module, batch: Any, ctx: Context) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to backpropagate, this rank's summed per-sample loss for reporting)."""
        raise NotImplementedError

    def evaluate(self, model: nn.Module, loader: DataLoader, ctx: Context) -> dict[str, float]:
        return {}

    def describe(self) -> dict:
        return {}

    def progress_text(self) -> str:
        """Extra text for the progress bar (e.g. each loss term); read every 20 steps."""
        return ""

    def epoch_summary(self) -> dict[str, float]:
        """Extra per-epoch history fields (e.g. mean loss terms); called once at each epoch's end."""
        return {}


class Classification(Task):
    """Cross-entropy on (B, 2) logits, optionally class-weighted, with AUROC/AUPRC/accuracy tuning."""

    supports_accumulation = True

    def __init__(self, class_weight: str = "none", n_classes: int = 2):
        self.class_weight = class_weight
        self.n_classes = n_classes
        self.weights: torch.Tensor | None = None

    def setup(self, train_set: Dataset, config: TrainConfig) -> None:
        if self.class_weight == "balanced":
            from sklearn.utils.class_weight import compute_class_weight

            labels = np.asarray(train_set.labels)
            present = np.unique(labels)
            w = compute_class_weight("balanced", classes=present, y=labels)
            full = np.ones(self.n_classes)
            full[present] = w
            self.weights = torch.tensor(full, dtype=torch.float32)

    def _per_sample(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        losses = F.cross_entropy(logits.float(), y, reduction="none")
        w = self.weights.to(logits.device)[y] if self.weights is not None else torch.ones_like(losses)
        return losses, w

    def loss(self, model, batch, ctx):
        x, y = (t.to(ctx.device, non_blocking=True) for t in batch)
        with autocast(ctx.device, ctx.amp):
            logits = model(x)
        losses, w = self._per_sample(logits, y)
        # Normalise by the global batch's weight: DDP averages gradients over ranks, so scaling by
        # the world size makes the step equal to one process's weighted mean over the global batch.
        # A micro-batch is normalised by its whole step's weight (ctx.batch_weight).
        total_w = ctx.batch_weight if ctx.batch_weight is not None else dist_.all_reduce_sum(
            w.sum().detach().clone(), ctx.dist)
        loss = (losses * w).sum() * ctx.dist.world_size / total_w
        return loss, (losses * w).sum().detach()

    def batch_weight(self, batch, ctx) -> torch.Tensor:
        y = batch[1].to(ctx.device)
        return self.weights.to(ctx.device)[y].sum() if self.weights is not None else torch.tensor(
            float(len(y)), device=ctx.device)

    @torch.no_grad()
    def predict(self, model, loader, ctx) -> tuple[np.ndarray, np.ndarray, float]:
        model.eval()
        scores, labels, loss_sum, w_sum = [], [], 0.0, 0.0
        for x, y in loader:
            x, y = x.to(ctx.device, non_blocking=True), y.to(ctx.device, non_blocking=True)
            with autocast(ctx.device, ctx.amp):
                logits = model(x)
            losses, w = self._per_sample(logits, y)
            loss_sum += float((losses * w).sum())
            w_sum += float(w.sum())
            scores.append(torch.softmax(logits.float(), dim=1)[:, 1].cpu())
            labels.append(y.cpu())
        return torch.cat(scores).numpy(), torch.cat(labels).numpy(), loss_sum / max(w_sum, 1e-12)

    def evaluate(self, model, loader, ctx):
        from sklearn.metrics import average_precision_score, roc_auc_score

        score, y, loss = self.predict(model, loader, ctx)
        two_classes = len(np.unique(y)) == 2
        return {
            "loss": loss,
            "auroc": float(roc_auc_score(y, score)) if two_classes else math.nan,
            "auprc": float(average_precision_score(y, score)) if two_classes else math.nan,
            "accuracy": float(np.mean((score >= 0.5) == (y == 1))),
        }

    def describe(self):
        return {
            "loss": "cross-entropy",
            "class_weight": self.class_weight,
            "class_weights": None if self.weights is None else self.weights.tolist(),
        }


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


# --------------------------------------------------------------------------------------------
# seeds


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------------------------
# optimiser and schedule


def default_optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameter")
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def make_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig):
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs, eta_min=cfg.min_lr)
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=cfg.plateau_factor, patience=cfg.plateau_patience, min_lr=cfg.min_lr
        )
    return None


# --------------------------------------------------------------------------------------------
# resume state


def _fingerprint(model: nn.Module, cfg: TrainConfig, train_set: Dataset, tune_set: Dataset | None, task: Task) -> dict:
    """What must not change between an interrupted run and its resumption (epochs may grow)."""
    from lvsdctl.models.registry import model_config

    try:
        mcfg = model_config(model)
    except TypeError:
        mcfg = type(model).__name__
    keep = {k: v for k, v in cfg.to_json().items() if k not in ("epochs", "device", "workers", "amp", "micro_batch")}
    return {
        "model": getattr(model, "model_name", type(model).__name__),
        "model_config": mcfg,
        "train": keep,
        "task": task.describe(),
        "n_train": len(train_set),
        "n_tune": len(tune_set) if tune_set is not None else 0,
        "train_data": getattr(train_set, "path", None),
    }


def _rng_states() -> dict:
    states = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_resume(path: Path, *, model, optimizer, scheduler, epoch, history, best, fingerprint) -> None:
    """Atomically write the full state after `epoch` epochs (a valid `model` file as well)."""
    from lvsdctl.hdf5 import atomic_output, write_json_attr, write_state_dict
    from lvsdctl.train.state import write_state

    with atomic_output(path, kind="model", parameters={"resume_state": True}, command="lvsdctl train (resume state)") as f:
        write_state_dict(f, model.state_dict())
        f.attrs["model_name"] = getattr(model, "model_name", type(model).__name__)
        f.attrs["task"] = "resume-state"
        try:  # lets load_checkpoint open the state like any model file
            from lvsdctl.models.registry import model_config

            write_json_attr(f, "config", model_config(model))
        except TypeError:
            pass
        write_json_attr(f, "history", history)
        write_json_attr(f, "fingerprint", fingerprint)
        f.attrs["epochs_done"] = epoch
        g = f.create_group("resume")
        write_state(g, "optimizer", optimizer.state_dict())
        write_state(g, "scheduler", scheduler.state_dict() if scheduler is not None else None)
        write_state(g, "rng", _rng_states())
        write_state(g, "best", best)


def load_resume(path: Path) -> dict:
    from lvsdctl.hdf5 import read_json_attr, read_state_dict
    from lvsdctl.train.state import read_state

    try:
        with h5py.File(path, "r") as f:
            if "resume" not in f:
                raise InputError(f"{path}: not a resume state written by lvsdctl training")
            return {
                "weights": {k: torch.as_tensor(np.asarray(v)) for k, v in read_state_dict(f).items()},
                "history": read_json_attr(f, "history", []),
                "fingerprint": read_json_attr(f, "fingerprint", {}),
                "epochs_done": int(f.attrs["epochs_done"]),
                "optimizer": read_state(f["resume"], "optimizer"),
                "scheduler": read_state(f["resume"], "scheduler"),
                "rng": read_state(f["resume"], "rng"),
                "best": read_state(f["resume"], "best"),
            }
    except OSError as exc:
        raise InputError(f"{path}: unreadable resume state ({exc.__class__.__name__})") from None


def _check_fingerprint(path: Path, saved: dict, now: dict) -> None:
    diffs = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += [f"{key}.{k}: {a.get(k)!r} then, {b.get(k)!r} now" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            diffs.append(f"{key}: {a!r} then, {b!r} now")
    if diffs:
        raise MismatchError(
            f"{path}: the resume state was written by a run with other settings ({'; '.join(diffs[:4])}); "
            "resume with the same options, or delete the resume state to start afresh"
        )


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


class _Progress:
    """A rich progress bar on stderr (rank 0 only): epoch, loss, tuning AUROC, ETA."""

    def __init__(self, enabled: bool, label: str, epochs: int, steps_per_epoch: int, start_epoch: int,
                 tune: bool = True):
        self.bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            TextColumn("loss {task.fields[loss]}"),
            *([TextColumn("tune AUROC {task.fields[auroc]}")] if tune else []),  # none without a tuning set
            TextColumn("{task.fields[extra]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        # Logs and pipes get no live bar: one line per epoch instead (see epoch_done).
        self.lines = not self.bar.console.is_terminal
        self.label = label
        self.bar.start()
        self.task = self.bar.add_task(
            label,
            total=epochs * steps_per_epoch,
            completed=start_epoch * steps_per_epoch,
            epoch=start_epoch,
            epochs=epochs,
            loss="-",
            auroc="-",
            extra="",
        )

    def step(self, **fields) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, **fields)

    def update(self, **fields) -> None:
        if self.bar is not None:
            self.bar.update(self.task, **fields)

    def epoch_done(self, record: dict, epochs: int) -> None:
        if self.bar is not None and self.lines:
            tune = record.get("tune_auroc")
            self.bar.console.print(
                f"{self.label} epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}"
                + (f", tune AUROC {tune:.3f}" if tune is not None else "")
                + f" ({record['seconds']:.1f} s)"
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


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
    progress: bool = True,
    label: str = "train",
    on_epoch_end: Callable[[dict], None] | None = None,
) -> FitResult:
    """Train `model`; return it holding the selected epoch's weights (see module docstring)."""
    cfg = config or TrainConfig()
    cfg.validate()
    task = task or Classification(cfg.class_weight)
    info = dist_.from_env()
    device = resolve_device(cfg.device, info.local_rank)
    dist_.init(info, device)
    configure_determinism(device)
    if cfg.batch_size % info.world_size:
        raise ValueError(f"batch size {cfg.batch_size} does not split evenly over {info.world_size} processes")
    if cfg.micro_batch and cfg.micro_batch < cfg.batch_size // info.world_size and not task.supports_accumulation:
        raise ValueError(f"--micro-batch: this task ({type(task).__name__}) cannot split its batches")
    if cfg.select == "best" and cfg.metric != "train_loss" and tune_set is None:
        raise ValueError("--select best needs a tuning set (or --metric train_loss)")
    ctx = Context(device=device, dist=info, amp=cfg.amp)
    t_start = time.perf_counter()

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
    scheduler = make_scheduler(optimizer, cfg)

    # One sampler code path for 1 or N processes: the same (seed, epoch) permutation, each rank
    # taking every world_size-th index, so a rank's batch k is its share of global batch k.
    sampler = DistributedSampler(train_set, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=cfg.seed)
    loader_gen = torch.Generator().manual_seed(cfg.seed)
    settings = loader_settings(device, cfg.workers)
    train_loader = DataLoader(train_set, batch_size=cfg.batch_size // info.world_size, sampler=sampler,
                              generator=loader_gen, **settings)
    tune_loader = None
    if tune_set is not None:
        tune_loader = DataLoader(tune_set, batch_size=cfg.eval_batch_size or max(64, cfg.batch_size), shuffle=False,
                                 **settings)

    fingerprint = _fingerprint(model, cfg, train_set, tune_set, task)
    history: list[dict] = []
    best: dict = {"epoch": None, "value": None, "weights": None}
    start_epoch = 0
    rpath = Path(resume_path) if resume_path else None
    if resume:
        if rpath is None or not rpath.exists():
            raise InputError(f"--resume: no resume state at {rpath} (nothing to resume; run without --resume)")
        saved = load_resume(rpath)
        _check_fingerprint(rpath, saved["fingerprint"], fingerprint)
        model.load_state_dict({k: v.to(device) for k, v in saved["weights"].items()})
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None and saved["scheduler"] is not None:
            scheduler.load_state_dict(saved["scheduler"])
        _set_rng_states(saved["rng"])
        history, best, start_epoch = saved["history"], saved["best"], saved["epochs_done"]
        if start_epoch > cfg.epochs:
            raise InputError(f"{rpath}: already trained {start_epoch} epochs, more than --epochs {cfg.epochs}")

    larger = METRICS[cfg.metric]
    bar = _Progress(progress and info.is_main, label, cfg.epochs, len(train_loader), start_epoch,
                    tune=tune_loader is not None)
    try:
        for epoch in range(start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            seed_everything(epoch_seed(cfg.seed, epoch, info.rank))
            sampler.set_epoch(epoch)
            net.train()
            loss_sum = torch.zeros((), device=device)
            n_seen = 0
            for step, batch in enumerate(train_loader):
                optimizer.zero_grad(set_to_none=True)
                reported = accumulate.backward(net, task, batch, ctx, cfg.micro_batch)
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                loss_sum += reported
                n_seen += len(batch[0]) if isinstance(batch, (list, tuple)) else 0
                # Reading the loss synchronises a GPU: only every 20 steps.
                if step % 20 == 0:
                    bar.step(epoch=epoch + 1, loss=f"{float(reported) / max(len(batch[0]), 1):.4f}",
                             extra=task.progress_text())
                else:
                    bar.step(epoch=epoch + 1)
            totals = dist_.all_reduce_sum(torch.stack([loss_sum, torch.tensor(float(n_seen), device=device)]), info)
            train_loss = float(totals[0] / totals[1].clamp_min(1))
            record: dict[str, Any] = {"epoch": epoch + 1, "train_loss": train_loss}
            record.update(task.epoch_summary())
            if tune_loader is not None:
                metrics = task.evaluate(net, tune_loader, ctx)
                record.update({f"tune_{k}": v for k, v in metrics.items()})
            record["lr"] = optimizer.param_groups[0]["lr"]
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(train_loss)
            elif scheduler is not None:
                scheduler.step()
            record["seconds"] = time.perf_counter() - t0
            record["samples_per_s"] = float(totals[1]) / record["seconds"]
            history.append(record)
            if cfg.select == "best":
                key = "train_loss" if cfg.metric == "train_loss" else f"tune_{cfg.metric}"
                if _better(record.get(key, math.nan), best["value"], larger):
                    best = {"epoch": epoch + 1, "value": record[key], "weights": _cpu_state(model)}
            bar.update(auroc=f"{record.get('tune_auroc', math.nan):.3f}", loss=f"{train_loss:.4f}")
            bar.epoch_done(record, cfg.epochs)
            if rpath is not None and info.is_main:
                save_resume(rpath, model=model, optimizer=optimizer, scheduler=scheduler, epoch=epoch + 1,
                            history=history, best=best, fingerprint=fingerprint)
            dist_.barrier(info)
            if on_epoch_end is not None:
                on_epoch_end(record)
    finally:
        bar.close()

    selection = {"select": cfg.select, "metric": cfg.metric if cfg.select == "best" else None}
    if cfg.select == "best" and best["weights"] is not None:
        model.load_state_dict({k: v.to(device) for k, v in best["weights"].items()})
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
    return FitResult(
        model=model,
        history=history,
        selection=selection,
        config=cfg,
        task=task.describe(),
        device=str(device),
        world_size=info.world_size,
        seconds=time.perf_counter() - t_start,
        resumed_from_epoch=start_epoch,
        state_dict=_cpu_state(model),
    )
