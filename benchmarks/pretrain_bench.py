"""ECG-FM pretraining speed (W2V + CMSC + RLM): training segments/s per model size.

One step = the full `PretrainNet` forward (RLM, span masks, quantizer, negatives, both losses),
backward and an AdamW update, on random 12 x 5000 ECGs (two 5 s segments each). Beside each
training figure the benchmark prints the same backbone's inference-only segments/s (the ceiling a
training step cannot reach: it also runs backward, the quantizer and the optimiser). On CUDA
(bf16 autocast) it also prints the achieved TFLOP/s, counted by `torch.utils.flop_counter`, and
their share of the GPU's bf16 dense peak.

    python benchmarks/pretrain_bench.py                        # CPU: tiny and base, few steps
    python benchmarks/pretrain_bench.py --device cuda --sizes base --batch 64 --steps 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lvsdctl.train.devices import autocast  # noqa: E402
from lvsdctl.pretrain.api import build_model  # noqa: E402
from lvsdctl.pretrain.model import PretrainNet  # noqa: E402

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(size: str, batch: int, steps: int, device: torch.device) -> dict:
    net = PretrainNet(build_model(size, seed=0), seed=0).to(device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=5e-5, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
    x = torch.randn(batch, 2, 12, 2500, device=device)
    keys = torch.arange(batch)

    def step():
        with autocast(device):
            out = net(x, keys)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()

    step()  # warm-up (allocations, kernel selection)
    flops = None
    if device.type == "cuda":
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            step()
        flops = counter.get_total_flops()
    times = []
    for _ in range(steps):
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    enc = net.w2v.eval()
    with torch.no_grad(), autocast(device):
        enc(x.view(-1, 12, 2500))
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(max(1, steps // 2)):
            enc(x.view(-1, 12, 2500))
        _sync(device)
        t_inf = (time.perf_counter() - t0) / max(1, steps // 2)
    result = {"size": size, "params": sum(p.numel() for p in net.parameters()), "segments": 2 * batch,
              "train_seg_s": 2 * batch / t, "infer_seg_s": 2 * batch / t_inf, "step_s": t}
    if flops:
        result["tflops"] = flops / t / 1e12
        name = torch.cuda.get_device_name(device)
        peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
        result["peak_share"] = result["tflops"] / peak if peak else None
        result["gpu"] = name
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", nargs="+", default=["tiny", "base"])
    ap.add_argument("--batch", type=int, default=2, help="ECGs per step (x2 segments)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads (default 1: on a shared machine more threads oversubscribe the cores; 0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"pretraining step (W2V + CMSC + RLM), batch {args.batch} ECGs = {2 * args.batch} segments of 12 x 2500, "
          f"{args.steps} timed steps, device {device}{' (bf16)' if device.type == 'cuda' else ''}")
    for size in args.sizes:
        r = bench(size, args.batch, args.steps, device)
        line = (f"  {size:5s} {r['params'] / 1e6:7.2f} M params: train {r['train_seg_s']:8.1f} segments/s "
                f"(step {r['step_s'] * 1e3:.0f} ms) | baseline, inference only: {r['infer_seg_s']:8.1f} segments/s")
        if "tflops" in r:
            share = f", {100 * r['peak_share']:.1f}% of the bf16 peak" if r.get("peak_share") else ""
            line += f" | {r['tflops']:.1f} TFLOP/s on {r['gpu']}{share}"
        print(line)


if __name__ == "__main__":
    main()
