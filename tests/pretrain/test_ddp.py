"""Two gloo processes on CPU compute the loss and the gradients of one process with the same global batch.

This is what keeps negatives and CMSC pairs correct under DDP: keyed random draws, the masked count
and codebook usage reduced over ranks, CMSC embeddings gathered with gradients.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lvsdctl.pretrain.api import build_model
from lvsdctl.pretrain.model import PretrainNet

NO_DROPOUT = dict(dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, dropout_input=0.0, dropout_features=0.0)
WORLD = 2


def _step(net: PretrainNet, x: torch.Tensor, keys: torch.Tensor) -> tuple[float, dict[str, torch.Tensor]]:
    out = net(x, keys)
    out["loss"].backward()
    return float(out["total"]), {k: p.grad.clone() for k, p in net.named_parameters() if p.grad is not None}


def _batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 2, 12, 2500, generator=g), torch.tensor([5, 9, 2, 7])


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        net = PretrainNet(build_model("tiny", seed=0, **NO_DROPOUT), seed=0).train()
        x, keys = _batch()
        # The engine's sampler: rank r holds global positions r, r + W, ... of each global batch.
        total, grads = _step(net, x[rank::WORLD], keys[rank::WORLD])
        for g in grads.values():  # what DDP does: average the gradients over ranks
            dist.all_reduce(g)
            g /= WORLD
        if rank == 0:
            torch.save({"total": total, "grads": grads}, os.path.join(out_dir, "ddp.pt"))
    finally:
        dist.destroy_process_group()


def test_two_processes_equal_one(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    ddp = torch.load(tmp_path / "ddp.pt", weights_only=True)
    net = PretrainNet(build_model("tiny", seed=0, **NO_DROPOUT), seed=0).train()
    total, grads = _step(net, *_batch())
    assert abs(ddp["total"] - total) < 1e-5 * max(1.0, abs(total))
    assert grads.keys() == ddp["grads"].keys()
    for k, g in grads.items():
        assert torch.allclose(ddp["grads"][k], g, rtol=1e-4, atol=1e-6), k
