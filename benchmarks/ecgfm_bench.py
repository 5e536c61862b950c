"""ECG-FM fine-tuning speed: lvsdctl's encoder vs a naive implementation of the same architecture.

Both are the full LVSD model (Conv1d 4->12, the full-size 12 x 768 ECG-FM encoder, mean pooling,
linear head), fully trainable (FF, the heaviest strategy), trained with Adam on random 4 x 5000
batches in the same process with the same weights:

- lvsdctl: attention through ``scaled_dot_product_attention``; on CUDA, bf16 autocast;
- naive: the same modules with textbook attention (softmax(q k^T / sqrt(d)) v materialised), fp32.

Prints training samples/s of both and the ratio; on CUDA also the achieved TFLOP/s (FLOPs counted by
``torch.utils.flop_counter``) and their share of the GPU's bf16 dense peak.

    python benchmarks/ecgfm_bench.py                   # CPU, batch 2, 4 timed steps each
    python benchmarks/ecgfm_bench.py --device cuda --batch 64 --steps 10

Both models live in memory at once (2 x 90 M parameters + Adam state: ~3 GB at batch 2 on CPU).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import types
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lvsdctl.models.ecgfm import SelfAttention  # noqa: E402
from lvsdctl.models.ecgfm_lvsd import ECGFMLVSD, ECGFMLVSDConfig, apply_freeze  # noqa: E402
from lvsdctl.models.flops import peak_bf16_tflops  # noqa: E402


def naive_attention(self: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    b, t, d = x.shape
    h = self.num_heads
    q, k, v = (p(x).view(b, t, h, -1).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
    weights = torch.softmax((q * (d // h) ** -0.5) @ k.transpose(-1, -2), dim=-1)
    weights = F.dropout(weights, self.dropout, self.training)
    return self.out_proj((weights @ v).transpose(1, 2).reshape(b, t, d))


def make_naive(model: ECGFMLVSD) -> ECGFMLVSD:
    for module in model.modules():
        if isinstance(module, SelfAttention):
            module.forward = types.MethodType(naive_attention, module)
    return model


def build(size: str, device: torch.device, checkpointing: bool) -> ECGFMLVSD:
    torch.manual_seed(0)
    model = ECGFMLVSD(ECGFMLVSDConfig(size=size, checkpoint_activations=checkpointing)).to(device)
    apply_freeze(model, 0)
    return model.train()


def make_step(model, x, y, amp: bool):
    """One training step (Adam, cross-entropy) as a closure returning its duration in seconds."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-6, betas=(0.9, 0.98))

    def step() -> float:
        _sync(x.device)
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        _sync(x.device)
        return time.perf_counter() - start

    return step


def time_interleaved(steps: dict, n: int) -> dict[str, float]:
    """Median seconds per step of each closure, alternating them (A B, then B A: neither always
    runs first) so load from other processes on a shared machine hits both alike; one untimed
    warm-up step each."""
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    order = list(steps)
    for i in range(n):
        for name in order if i % 2 == 0 else order[::-1]:
            times[name].append(steps[name]())
    return {name: statistics.median(t) for name, t in times.items()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def flops_per_step(model, x, y) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="base", choices=["tiny", "base", "large"])
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--checkpoint-activations", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    amp = device.type == "cuda"

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 4, args.samples, generator=g).to(device)
    y = torch.randint(0, 2, (args.batch,), generator=g).to(device)

    ours = build(args.size, device, args.checkpoint_activations)
    naive = make_naive(build(args.size, device, False))
    ours.eval(), naive.eval()
    with torch.no_grad():  # same weights, same architecture: same logits (fp32)
        diff = (ours(x) - naive(x)).abs().max().item()
    ours.train(), naive.train()
    params = sum(p.numel() for p in ours.parameters())
    print(f"ECG-FM {args.size} ({params:,} parameters), fine-tuning (FF), batch {args.batch} x 4 x {args.samples}, "
          f"{args.steps} timed steps each (interleaved, median), device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
             f" ({torch.get_num_threads()} threads)"))
    print(f"  max |logit difference| lvsdctl vs naive (fp32, eval): {diff:.2e}")

    t = time_interleaved({"naive": make_step(naive, x, y, amp=False), "ours": make_step(ours, x, y, amp=amp)},
                         args.steps)
    t_naive, t_ours = t["naive"], t["ours"]
    mode = "sdpa + bf16 autocast" if amp else "sdpa, fp32"
    print(f"  naive (eager attention, fp32): {args.batch / t_naive:8.2f} samples/s  ({t_naive:.2f} s/step)")
    print(f"  lvsdctl ({mode}):{' ' * max(1, 21 - len(mode))}{args.batch / t_ours:8.2f} samples/s  "
          f"({t_ours:.2f} s/step)  x{t_naive / t_ours:.2f}")
    if device.type == "cuda":
        flops = flops_per_step(ours, x, y)
        achieved = flops / t_ours / 1e12
        name = torch.cuda.get_device_name(device)
        peak = peak_bf16_tflops(name) or math.nan
        print(f"  {flops / args.batch / 1e9:.1f} GFLOP per training sample; lvsdctl reaches {achieved:.1f} TFLOP/s "
              f"= {100 * achieved / peak:.1f}% of the {name}'s {peak:.0f} TFLOP/s bf16 dense peak")
        print(f"  peak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
