"""The training input pipeline alone: an `ecg` HDF5 file -> shuffled batches of 256, as the engine reads them.

Times `ECGDataset` (in memory, and streamed from the file) through the same `DataLoader` the training
engine builds (DistributedSampler shuffle, `loader_settings`: workers, pinned memory on CUDA) for
`--jobs 0 1 2`, and prints ECGs/s beside the rate ECG-FM base consumes when fine-tuned at 40% of an
H100's bf16 dense peak (from its FLOPs per training ECG, lvsdctl.models.flops): the loader must not be
the bottleneck. Baseline beside lvsdctl's streamed read: h5py fancy indexing of each batch's rows (what
the dataset did before). Goal (issue 14): streamed >= 2,500 ECGs/s of 4 x 5000 on a 2-core machine.

    python benchmarks/loader_bench.py                     # a synthetic cohort through ingest + preprocess
    python benchmarks/loader_bench.py --data pre.h5       # an `ecg` file of your own (real exports)
    python benchmarks/loader_bench.py --device cuda       # batches land in pinned memory, then the GPU

Wall-clock rates on a shared machine move with its load; CPU seconds are printed beside them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lvsdctl.data.dataset import ECGDataset  # noqa: E402
from lvsdctl.models.flops import ecgfm_forward_flops, peak_bf16_tflops  # noqa: E402
from lvsdctl.train.devices import loader_settings  # noqa: E402

GOAL = 2500
MFU = 0.40


def model_rate() -> float:
    """ECGs/s that ECG-FM base fine-tuning (FF, 3 x forward FLOPs) consumes at 40% of an H100's bf16 peak."""
    return MFU * peak_bf16_tflops("NVIDIA H100 80GB HBM3") * 1e12 / (3 * ecgfm_forward_flops()["total"])


def make_data(workdir: Path, n: int) -> Path:
    """A synthetic cohort through the real pipeline (synth -> ingest -> preprocess): real compression."""
    run = [sys.executable, "-m", "lvsdctl"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    steps = [
        ["synth", "-o", str(workdir / "cohort"), "--n-ecgs", str(n), "--n-patients", str(max(4, n // 2)), "-q"],
        ["ingest", str(workdir / "cohort" / "ecg"), "--echo", str(workdir / "cohort" / "echo.csv"), "--demo-secret",
         "-o", str(workdir / "raw.h5"), "-q"],
        ["preprocess", str(workdir / "raw.h5"), "-o", str(workdir / "pre.h5"), "-q"],
    ]
    for step in steps:
        subprocess.run(run + step, check=True, env=env)
    return workdir / "pre.h5"


class FancyIndexing(ECGDataset):
    """The baseline: one h5py fancy-indexing read of the batch's sorted rows (the previous `_read`)."""

    def _read(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        rows = self.rows[idx]
        order = np.argsort(rows, kind="stable")
        uniq, inverse = np.unique(rows[order], return_inverse=True)
        block = self._signals()[uniq]
        x = torch.empty((len(idx), *self.shape), dtype=torch.float32)
        x[torch.from_numpy(order)] = torch.from_numpy(np.ascontiguousarray(block[inverse], dtype=np.float32))
        return x


def time_loader(data: ECGDataset, jobs: int, batch: int, device: torch.device, epochs: int) -> tuple[float, float]:
    """(ECGs/s wall over ``epochs`` epochs after a warm-up one, ECGs per CPU second over the whole run).

    CPU seconds are this process's and its workers' (counted once the loader has shut them down),
    start-up and warm-up included.
    """
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    c_start = _cpu()
    sampler = DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=batch, sampler=sampler, **loader_settings(device, jobs))
    seen = total = 0
    for epoch in range(epochs + 1):  # epoch 0 warms up: workers start, file handles open, caches fill
        sampler.set_epoch(epoch)
        if epoch == 1:
            t0 = time.perf_counter()
        for x, _ in loader:
            x = x.to(device, non_blocking=True)
            total += len(x)
            seen += len(x) if epoch else 0
        if device.type == "cuda":
            torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    del loader  # joins the workers, so that their CPU time is counted
    return seen / wall, total / max(_cpu() - c_start, 1e-9)


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (DataLoader workers end with the loader)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="an `ecg` HDF5 file (default: a synthetic cohort run through the pipeline)")
    ap.add_argument("--n", type=int, default=2000, help="ECGs of the synthetic cohort")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--jobs", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs (after one warm-up epoch)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory(prefix="lvsdctl-loader-") as tmp:
        path = Path(args.data) if args.data else make_data(Path(tmp), args.n)
        mem = ECGDataset(path, None, require_labels=False, preload=True)
        stream = ECGDataset(path, None, require_labels=False, preload=False)
        fancy = FancyIndexing(path, None, require_labels=False, preload=False)
        need = model_rate()
        print(f"{path.name}: {len(stream)} ECGs of {stream.shape[0]} x {stream.shape[1]}, batch {args.batch}, "
              f"device {device}, load average {os.getloadavg()[0]:.1f}")
        print(f"ECG-FM base fine-tuning at {MFU:.0%} of an H100's bf16 peak consumes {need:,.0f} ECGs/s "
              f"({3 * ecgfm_forward_flops()['total'] / 1e9:.0f} GFLOP per training ECG)")
        print(f"{'pipeline':<34}{'jobs':>5}{'ECGs/s':>9}{'per CPU-s':>11}{'x model':>9}")
        results = {}
        for label, data in (("in memory", mem), ("streamed (lvsdctl)", stream),
                            ("streamed, fancy indexing (before)", fancy)):
            for jobs in args.jobs:
                rate, per_cpu = time_loader(data, jobs, args.batch, device, args.epochs)
                results[(label, jobs)] = rate
                print(f"{label:<34}{jobs:>5}{rate:>9,.0f}{per_cpu:>11,.0f}{rate / need:>8.2f}x")
        best = max(v for (label, _), v in results.items() if label == "streamed (lvsdctl)")
        base = max(v for (label, _), v in results.items() if label.startswith("streamed, fancy"))
        print(f"streamed, best: {best:,.0f} ECGs/s = {best / base:.1f}x the fancy-indexing baseline; goal "
              f"{GOAL:,} ECGs/s: {'met' if best >= GOAL else 'not met (see benchmarks/README.md)'}")


if __name__ == "__main__":
    main()
