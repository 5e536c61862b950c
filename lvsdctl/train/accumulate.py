"""Gradient accumulation: one optimizer step's batch run as micro-batches (``--micro-batch N``).

A batch of B samples is cut into micro-batches of at most N; each runs forward and backward on its
own, so activations are held for N samples at a time, and the gradients add up in ``.grad``. Each
micro-batch's loss is normalised by the weight of the whole (global) batch, not by its own, so the
summed gradient is exactly the one of the unsplit batch (up to float rounding), class weights and
DDP included. Under DDP the gradient all-reduce runs once, on the last micro-batch (``no_sync``
before it).

A task supports this when its loss is a sum over samples divided by a normaliser it can take from
``Context.batch_weight`` (``Task.supports_accumulation``); a loss that couples the samples of a batch
(e.g. contrastive pretraining) does not, and is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import torch
from torch import nn

from lvsdctl.train import distributed as dist_


def split_batch(batch: Any, size: int) -> list:
    """A (x, y, ...) batch of tensors as consecutive micro-batches of at most ``size`` samples."""
    if not isinstance(batch, (list, tuple)):
        raise TypeError("micro-batches need a batch that is a tuple of tensors")
    chunks = []
    for i in range(0, len(batch[0]), size):
        part = [t[i:i + size] for t in batch]
        chunks.append(tuple(part) if isinstance(batch, tuple) else part)
    return chunks


def backward(net: nn.Module, task, batch: Any, ctx, micro_batch: int | None) -> torch.Tensor:
    """Forward and backward of one optimizer step's batch; returns the summed per-sample loss to report.

    ``micro_batch`` None (or at least the batch) runs the batch at once, as without accumulation.
    """
    n = len(batch[0]) if isinstance(batch, (list, tuple)) else 0
    if not micro_batch or micro_batch >= n:
        loss, reported = task.loss(net, batch, ctx)
        loss.backward()
        return reported
    if not getattr(task, "supports_accumulation", False):
        raise ValueError(f"{type(task).__name__} couples the samples of a batch: it cannot run in micro-batches")
    total = dist_.all_reduce_sum(task.batch_weight(batch, ctx).detach().clone(), ctx.dist)
    step_ctx = dataclasses.replace(ctx, batch_weight=total)
    chunks = split_batch(batch, micro_batch)
    reported = torch.zeros((), device=ctx.device)
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sync = contextlib.nullcontext() if last or not hasattr(net, "no_sync") else net.no_sync()
        with sync:
            loss, part = task.loss(net, chunk, step_ctx)
            loss.backward()
        reported = reported + part
    return reported
