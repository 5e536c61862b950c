"""Two CPU processes (gloo) under DDP give the weights of one process with the same global batch.

The model has no BatchNorm: DDP normalises each rank's batch statistics over its own half batch,
so a BN model cannot match a single process exactly (on CUDA the engine switches to SyncBatchNorm,
which gloo/CPU does not support). Gradients are all-reduced, so sums differ from the single
process only in float rounding: compared to 1e-6.
"""

from __future__ import annotations

import dataclasses
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from lvsdctl.train.engine import TrainConfig, fit, seed_everything
from lvsdctl.train.tasks import Classification

CFG = TrainConfig(epochs=2, batch_size=8, lr=1e-2, device="cpu", seed=11)


def weighted_task() -> Classification:
    """Class-weighted loss (weights set directly: the children then need not import sklearn).

    Weighted losses are where a naive DDP mean goes wrong: each rank's weight sum differs."""
    task = Classification("none")
    task.weights = torch.tensor([1.0, 3.0])
    return task


class Tiny(torch.utils.data.Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(24, 4, 32, generator=g)
        self.labels = torch.tensor([0, 1, 1] * 8)
        self.x[self.labels == 1, 0] += 1.0

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.x[i], self.labels[i]


def make_model() -> nn.Module:
    seed_everything(CFG.seed)
    return nn.Sequential(nn.Conv1d(4, 8, 5), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 2))


def _worker(rank: int, world: int, port: int, out: str, micro_batch: int | None = None) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    data = Tiny()
    cfg = dataclasses.replace(CFG, micro_batch=micro_batch)
    res = fit(make_model(), data, None, cfg, task=weighted_task())
    if rank == 0:
        np.savez(out, **{k: v.numpy() for k, v in res.state_dict.items()}, world=res.world_size)
    import torch.distributed as dist

    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("micro_batch", [None, 3])
def test_two_gloo_processes_match_one_process(tmp_path, micro_batch):
    """Also with micro-batches (each rank's 4 ECGs as 3 + 1, gradients all-reduced once, after no_sync)."""
    out = str(tmp_path / "ddp.npz")
    # fork: the children inherit the imported torch (a fresh import costs ~10 s on a busy machine)
    mp.start_processes(_worker, args=(2, _free_port(), out, micro_batch), nprocs=2, join=True, start_method="fork")
    single = fit(make_model(), Tiny(), None, CFG, task=weighted_task())
    ddp = np.load(out)
    assert int(ddp["world"]) == 2
    for key, value in single.state_dict.items():
        assert np.allclose(ddp[key], value.numpy(), atol=1e-6), key
    # and the weights did move: the comparison is not between two untrained models
    assert not np.allclose(ddp["4.weight"], make_model()[4].weight.detach().numpy())
