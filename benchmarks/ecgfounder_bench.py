"""ECGFounder beside ECG-FM: size, FLOPs per ECG and speed of the two LVSD models; its chain's speed.

1. Parameters and FLOPs of one forward pass per ECG (``lvsdctl.models.flops``, a multiply-add
   counted as 2 FLOPs) of both LVSD models at their real size, on the study's 4 x 5000 input (the
   4 -> 12 projection, then the 12-lead network) and for ECGFounder also on 12 x 5000 (no projection).
2. Speed, the two models side by side in one process, their steps interleaved so that load from other
   processes hits both alike: inference (eval, no_grad) ECGs/s and full fine-tuning (FF, Adam,
   cross-entropy) samples/s, wall clock and CPU time. ECG-FM's figure is the baseline of the ratio.
3. ECGFounder's preprocessing chain: lvsdctl's batch chain (``--chain ecgfounder``) vs its authors'
   way (``filtfilt`` notch and band-pass then ``medfilt``, lead by lead, then the z-score) on the same
   synthetic 12-lead records; the outputs must agree within 1e-6 of the largest value. The study's
   chain (neurokit) is timed beside them for scale.

    python benchmarks/ecgfounder_bench.py                      # CPU: batch 2, 3 timed steps, 200 ECGs
    python benchmarks/ecgfounder_bench.py --device cuda --batch 64 --steps 10 --what models

Memory: both full models with Adam state at batch 2 need about 3 GB on CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.signal
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lvsdctl.models.ecgfm_lvsd import ECGFMLVSD, ECGFMLVSDConfig  # noqa: E402
from lvsdctl.models.ecgfounder_lvsd import ECGFounderLVSD, ECGFounderLVSDConfig  # noqa: E402
from lvsdctl.signal.chain import ChainConfig, process_batch  # noqa: E402
from preprocess_bench import native_record  # noqa: E402

T = 5000


def models(device: torch.device) -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {"ECG-FM base": ECGFMLVSD(ECGFMLVSDConfig(size="base", in_channels=4)).to(device),
            "ECGFounder": ECGFounderLVSD(ECGFounderLVSDConfig(size="full", in_channels=4)).to(device)}


def flops_per_ecg(model: torch.nn.Module, channels: int) -> float:
    """Forward FLOPs of one ECG (``lvsdctl.models.flops``: attention included, which torch's own counter
    leaves out on CPU)."""
    from lvsdctl.models.flops import forward_flops

    return forward_flops(model, torch.zeros(1, channels, T))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device) -> tuple[float, float]:
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    _sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def speed(nets: dict, device: torch.device, batch: int, steps: int, amp: bool) -> dict[str, dict[str, float]]:
    x = torch.randn(batch, 4, T, device=device)
    y = torch.arange(batch, device=device) % 2
    opts = {name: torch.optim.Adam(m.parameters(), lr=1e-6) for name, m in nets.items()}
    ctx = (lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp))

    def infer(m):
        def run():
            with torch.no_grad(), ctx():
                m.eval()(x)
        return run

    def train(name, m):
        def run():
            m.train()
            opts[name].zero_grad(set_to_none=True)
            with ctx():
                loss = F.cross_entropy(m(x), y)
            loss.backward()
            opts[name].step()
        return run

    times = {name: {"infer": [], "train": []} for name in nets}
    for step in range(steps + 1):  # the first round warms up and is not counted
        for name, m in nets.items():
            for kind, fn in (("infer", infer(m)), ("train", train(name, m))):
                if step:
                    times[name][kind].append(_timed(fn, device))
                else:
                    fn()
    out = {}
    for name, t in times.items():
        out[name] = {f"{kind}_{what}": batch / statistics.median(s[i] for s in t[kind])
                     for kind in ("infer", "train") for i, what in enumerate(("wall", "cpu"))}
    return out


def authors_chain(x: np.ndarray, fs: int = 500) -> np.ndarray:
    """ECGFounder's published recipe, lead by lead (its dataset code's loops), then one z-score."""
    b, a = scipy.signal.iirnotch(50, 30, fs)
    y = np.zeros_like(x)
    for c in range(x.shape[0]):
        y[c] = scipy.signal.filtfilt(b, a, x[c])
    b, a = scipy.signal.butter(N=4, Wn=[0.67, 40], btype="bandpass", fs=fs)
    for c in range(x.shape[0]):
        y[c] = scipy.signal.filtfilt(b, a, y[c])
    k = int(0.4 * fs) + 1
    k += 1 - k % 2
    y = y - np.stack([scipy.signal.medfilt(row, k) for row in y])
    return (y - y.mean()) / (y.std() + 1e-8)


def chain_speed(n: int, jobs: int) -> None:
    rng = np.random.default_rng(0)
    records = [native_record(rng) for _ in range(n)]
    ours_cfg = ChainConfig.make(layout="12x5000", chain="ecgfounder")
    study_cfg = ChainConfig.make(layout="12x5000")
    rows = []
    for name, fn in (
        ("lvsdctl, --chain ecgfounder", lambda: np.concatenate(
            [process_batch(records[i:i + 256], ours_cfg, jobs=jobs).signals for i in range(0, n, 256)])),
        ("its authors' way (per lead)", lambda: np.stack(
            [authors_chain(np.stack([s.signal.astype(np.float64) for s in r])) for r in records])),
        ("lvsdctl, the study's chain", lambda: np.concatenate(
            [process_batch(records[i:i + 256], study_cfg, jobs=jobs).signals for i in range(0, n, 256)])),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        rows.append((name, n / (time.perf_counter() - wall), (time.process_time() - cpu) / n * 1e3, result))
    err = max(float(np.abs(a - b).max() / np.abs(b).max()) for a, b in zip(rows[0][3], rows[1][3]))
    base = rows[1][1]
    print(f"\nECGFounder chain on {n} synthetic 12 x 5000 ECGs (jobs={jobs}); baseline: its authors' way")
    print(f"{'':32s} {'ECGs/s':>9s} {'CPU ms/ECG':>11s} {'ratio':>7s}")
    for name, rate, cpu_ms, _ in rows:
        print(f"{name:32s} {rate:9.1f} {cpu_ms:11.2f} {rate / base:6.2f}x")
    print(f"largest difference, lvsdctl vs the authors' way: {err:.1e} of the largest value (limit 1e-6)")
    if err > 1e-6:
        raise SystemExit("the chain disagrees with its authors' way")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--what", choices=("all", "models", "chain"), default="all")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--n", type=int, default=200, help="ECGs for the chain benchmark")
    ap.add_argument("--jobs", type=int, default=2, help="preprocessing threads")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.what in ("all", "models"):
        nets = models(device)
        print(f"{'model (LVSD, real size)':24s} {'parameters':>12s} {'GFLOPs/ECG 4x5000':>18s} {'12x5000':>9s}")
        cpu_nets = models(torch.device("cpu")) if device.type != "cpu" else nets
        for name, m in cpu_nets.items():
            twelve = "" if name.startswith("ECG-FM") else f"{flops_per_ecg(m.backbone, 12) / 1e9:9.2f}"
            print(f"{name:24s} {sum(p.numel() for p in m.parameters()):12,d} "
                  f"{flops_per_ecg(m, 4) / 1e9:18.2f} {twelve:>9s}")
        amp = device.type == "cuda"
        res = speed(nets, device, args.batch, args.steps, amp)
        base = res["ECG-FM base"]
        print(f"\nspeed on {device} ({'bf16 autocast' if amp else 'fp32'}, batch {args.batch}, {args.steps} timed "
              f"steps each, median; threads {torch.get_num_threads()}); baseline: ECG-FM base")
        print(f"{'':14s} {'infer ECGs/s':>13s} {'(CPU time)':>11s} {'train samples/s':>16s} {'(CPU time)':>11s}")
        for name, r in res.items():
            print(f"{name:14s} {r['infer_wall']:13.2f} {r['infer_cpu']:11.2f} {r['train_wall']:16.2f} "
                  f"{r['train_cpu']:11.2f}")
        f = res["ECGFounder"]
        print(f"{'ratio':14s} {f['infer_wall'] / base['infer_wall']:12.2f}x {f['infer_cpu'] / base['infer_cpu']:10.2f}x "
              f"{f['train_wall'] / base['train_wall']:15.2f}x {f['train_cpu'] / base['train_cpu']:10.2f}x")
    if args.what in ("all", "chain"):
        chain_speed(args.n, args.jobs)


if __name__ == "__main__":
    main()
