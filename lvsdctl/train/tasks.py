"""What differs between training tasks: how a batch becomes a loss, how a model is scored on the tuning set.

`Classification` is the LVSD task of `train` and `finetune` (cross-entropy, AUROC/AUPRC/accuracy);
`lvsdctl.pretrain.task.PretrainTask` is pretraining's. The engine (`lvsdctl.train.engine.fit`) calls
`setup` once, `loss` per step, `evaluate` per epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lvsdctl.train import distributed as dist_
from lvsdctl.train.devices import autocast

if TYPE_CHECKING:
    from lvsdctl.train.engine import TrainConfig


@dataclass
class Context:
    """Where a step runs: the device, the process group, whether bf16 autocast is on."""

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
        """Extra text for the epoch's log line (e.g. each loss term of the last step)."""
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
