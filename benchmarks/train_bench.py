"""Training throughput: lvsdctl's engine vs a plain PyTorch loop, per baseline, on 4 x 5000 ECGs.

    python benchmarks/train_bench.py                      # CPU, 32 ECGs, 1 epoch, batch 16
    python benchmarks/train_bench.py --device cuda --n 512 --epochs 2 --workers 4

The engine reads an `ecg` HDF5 file through lvsdctl.data.ECGDataset (preloaded in blocks or
streamed) and runs lvsdctl.train.engine.fit (no tuning set); the reference trains the same model
with a naive DataLoader over a numpy array (one item at a time, default collation) and a bare
Adam / cross-entropy loop. Both see the same data, batch size and model. Printed: samples/s of
each and their ratio. On CUDA the engine uses bf16 autocast, the reference fp32, and GPU
utilisation is sampled with pynvml when it is installed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lvsdctl.data.dataset import ECGDataset
from lvsdctl.hdf5 import atomic_output, write_records
from lvsdctl.models.registry import create_model
from lvsdctl.train.devices import resolve_device
from lvsdctl.train.engine import TrainConfig, fit, seed_everything

MODELS = ("fcn", "lstm-fcn", "resnet", "inceptiontime")


def write_data(path: Path, n: int, c: int, t: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, c, t)).astype(np.float32)
    labels = np.arange(n) % 2
    with atomic_output(path, kind="ecg", synthetic=True, parameters={"benchmark": True}) as f:
        ds = f.create_dataset("signals", data=x, chunks=(1, c, t), compression="gzip", compression_opts=1)
        ds.attrs.update(layout=f"{c}x{t}", fs=500.0, normalisation="none", filter="{}")
        write_records(f, pd.DataFrame({"record_id": [str(i) for i in range(n)], "label": labels,
                                       "split": ["train"] * n}))
    return x


class NumpyItems(torch.utils.data.Dataset):
    """The naive reference: one numpy row at a time."""

    def __init__(self, x: np.ndarray):
        self.x, self.y = x, np.arange(len(x)) % 2

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return torch.from_numpy(self.x[i]), int(self.y[i])


def make(name: str, c: int, t: int, seed: int):
    seed_everything(seed)
    return create_model(name, in_channels=c, **({"in_samples": t} if name == "lstm-fcn" else {}))


def reference(name, x, args, device) -> float:
    model = make(name, x.shape[1], x.shape[2], 0).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=5e-6)
    loader = torch.utils.data.DataLoader(NumpyItems(x), batch_size=args.batch, shuffle=True,
                                         num_workers=args.workers)
    seen, t0 = 0, time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(xb)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - t0)


class GpuSampler(threading.Thread):
    """Mean GPU utilisation (%) while the engine trains, if pynvml is available."""

    def __init__(self, index: int):
        super().__init__(daemon=True)
        self.samples: list[int] = []
        self.stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handle, self.nvml = pynvml.nvmlDeviceGetHandleByIndex(index), pynvml
        except Exception:  # noqa: BLE001 - utilisation is optional information
            self.handle = None

    def run(self):
        while self.handle is not None and not self.stop.wait(0.2):
            self.samples.append(self.nvml.nvmlDeviceGetUtilizationRates(self.handle).gpu)

    def mean(self):
        return float(np.mean(self.samples)) if self.samples else None


def engine(name, path, x, args, device) -> tuple[float, float | None]:
    data = ECGDataset(path, "train")
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch, lr=5e-6, device=str(device),
                      workers=args.workers, seed=0)
    sampler = GpuSampler(device.index or 0) if device.type == "cuda" else None
    if sampler:
        sampler.start()
    res = fit(make(name, x.shape[1], x.shape[2], 0), data, None, cfg)
    util = None
    if sampler:
        sampler.stop.set()
        util = sampler.mean()
    seen = sum(h["samples_per_s"] * h["seconds"] for h in res.history)
    return seen / sum(h["seconds"] for h in res.history), util


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--n", type=int, default=32, help="ECGs per epoch")
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=1, help="alternate the two contenders N times, keep each one's best")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.h5"
        x = write_data(path, args.n, args.channels, args.samples)
        for name in args.models:
            # one untimed batch: allocator and kernel warm-up for both contenders
            make(name, args.channels, args.samples, 0).to(device)(torch.from_numpy(x[:2]).to(device)).sum().backward()
            # Alternating and keeping the best of each damps the noise of a shared machine.
            ref, eng, util = 0.0, 0.0, None
            for _ in range(args.repeats):
                ref = max(ref, reference(name, x, args, device))
                e, u = engine(name, path, x, args, device)
                if e > eng:
                    eng, util = e, u
            rows.append({"model": name, "engine_samples_per_s": eng, "reference_samples_per_s": ref,
                         "ratio": eng / ref, "gpu_util_percent": util})
            print(f"{name:14s} engine {eng:8.2f} samples/s   reference loop {ref:8.2f} samples/s   "
                  f"ratio {eng / ref:5.2f}" + (f"   GPU util {util:.0f}%" if util is not None else ""), flush=True)
    print(f"({args.n} ECGs of {args.channels}x{args.samples}, batch {args.batch}, {args.epochs} epoch(s), "
          f"{device}, {torch.get_num_threads()} threads)")
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
