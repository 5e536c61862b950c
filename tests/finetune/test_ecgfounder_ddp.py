"""ECGFounder under DDP (two gloo processes): the BatchNorm tensors its published models never apply must
not require gradients, else DDP stops on unused parameters; the result equals one process's."""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.multiprocessing as mp

from lvsdctl.models.ecgfounder_lvsd import ECGFounderLVSD, ECGFounderLVSDConfig, apply_freeze
from lvsdctl.train.engine import TrainConfig, fit, seed_everything
from tests.train.test_distributed import Tiny, _free_port

CFG = TrainConfig(epochs=2, batch_size=8, lr=1e-3, device="cpu", seed=3)


def make_model() -> ECGFounderLVSD:
    seed_everything(CFG.seed)
    model = ECGFounderLVSD(ECGFounderLVSDConfig(size="tiny", in_channels=4))
    apply_freeze(model, 1)
    return model


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    res = fit(make_model(), Tiny(), None, CFG)
    if rank == 0:
        np.savez(out, **{k: v.numpy() for k, v in res.state_dict.items()})
    import torch.distributed as dist

    dist.destroy_process_group()


def test_two_gloo_processes_match_one_process(tmp_path):
    out = str(tmp_path / "ddp.npz")
    mp.start_processes(_worker, args=(2, _free_port(), out), nprocs=2, join=True, start_method="fork")
    single = fit(make_model(), Tiny(), None, CFG)
    ddp = np.load(out)
    for key, value in single.state_dict.items():
        assert np.allclose(ddp[key], value.numpy(), atol=1e-5), key
    assert not np.allclose(ddp["backbone.dense.weight"], make_model().backbone.dense.weight.detach().numpy())
