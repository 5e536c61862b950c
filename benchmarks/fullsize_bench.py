"""One optimizer step of the full-size ECG-FM at the study's batch (256) on CPU, per micro-batch size.

The model is built the way `lvsdctl finetune --weights` builds it, from a full-size random checkpoint
in the official layout (lvsdctl.weights.synthetic; 90,373,248 encoder parameters), fully trainable
(FF, the heaviest strategy), trained with Adam through the engine's accumulation code
(lvsdctl.train.accumulate). Each configuration runs in a fresh process, so its peak resident memory is
its own: time per micro-batch, the step's time at 256 (every micro-batch with --full, else extrapolated
from --measure micro-batches plus the optimizer step), and peak memory. From two micro-batch sizes the
script fits memory = fixed + per-sample x micro-batch and prints what 24, 40 and 80 GB GPUs need at
batch 256 (docs/train.md explains the conversion from CPU fp32 to GPU bf16).

    python benchmarks/fullsize_bench.py                      # micro-batches 2 4 8, and 8 with checkpointing
    python benchmarks/fullsize_bench.py --micro 2 8 --full   # the whole step of 256 (tens of minutes on CPU)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 256
#: Share of the CPU-measured fp32 activation memory per ECG that a GPU keeps under bf16 autocast, when
#: not measured by this run (`--saved` counts it: 0.51 for ECG-FM base, docs/train.md): matrix products'
#: outputs are stored in bf16, layer-norm outputs and the residual stream stay fp32.
GPU_BF16_SHARE = 0.51


def one(args) -> dict:
    """Run in a fresh process: build, step, report (printed as JSON on the last line)."""
    import torch

    from lvsdctl.models.ecgfm_lvsd import build_lvsd_model
    from lvsdctl.train import accumulate
    from lvsdctl.train.distributed import DistInfo
    from lvsdctl.train.tasks import Classification, Context

    torch.set_num_threads(args.threads)
    rss0 = _rss_gib()
    model, info = build_lvsd_model(args.weights, freeze=0, seed=0, checkpoint_activations=args.ckpt)
    model.train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=5e-7, betas=(0.9, 0.98))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, 4, 5000, generator=g)
    y = torch.randint(0, 2, (BATCH,), generator=g)
    n = BATCH if args.full else min(BATCH, args.measure * args.micro_one)
    ctx = Context(device=torch.device("cpu"), dist=DistInfo(), amp=False)
    # Steady state, as from a run's second step on: Adam's moments exist (a step on zero gradients
    # leaves the weights as they are and allocates them); the engine frees the gradients between steps.
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    opt.zero_grad(set_to_none=True)
    sampler = RSSPeak()  # the step's own peak (loading the checkpoint peaks too, earlier)
    t0, c0 = time.perf_counter(), time.process_time()
    accumulate.backward(model, Classification(), (x[:n], y[:n]), ctx, args.micro_one)  # the engine's code
    t_micro = (time.perf_counter() - t0) / math.ceil(n / args.micro_one)
    c_micro = (time.process_time() - c0) / math.ceil(n / args.micro_one)
    t1 = time.perf_counter()
    opt.step()
    t_opt = time.perf_counter() - t1
    step_peak = sampler.stop()
    steps = math.ceil(BATCH / args.micro_one)
    return {"micro": args.micro_one, "checkpointing": args.ckpt, "parameters": info["total"],
            "micro_batches_run": math.ceil(n / args.micro_one), "seconds_per_micro_batch": t_micro,
            "cpu_seconds_per_micro_batch": c_micro, "optimizer_seconds": t_opt,
            "step_seconds_at_256": t_micro * steps + t_opt, "extrapolated": not args.full,
            "step_peak_rss_gib": step_peak, "process_peak_rss_gib": _rss_gib(peak=True),
            "rss_before_model_gib": rss0}


def saved_activations(args) -> dict:
    """Bytes autograd keeps per ECG for the backward, in fp32 and under bf16 autocast (exact counts).

    Counted with ``saved_tensors_hooks`` (each storage once) at micro-batches of 1 and 2: the difference
    is one ECG's share, free of the weights and of autocast's bf16 copies of them. The attention kernel
    (flash-style, keeping its output and log-sum-exp) is what CUDA's flash attention keeps too.
    """
    import torch

    from lvsdctl.models.ecgfm_lvsd import build_lvsd_model

    torch.set_num_threads(args.threads)
    model, _ = build_lvsd_model(args.weights, freeze=0, seed=0, checkpoint_activations=args.ckpt)
    model.train()
    out = {}
    for mode in ("fp32", "bf16"):
        sizes = []
        for n in (1, 2):
            seen: dict[int, int] = {}

            def pack(t):
                storage = t.untyped_storage()
                seen[storage.data_ptr()] = storage.nbytes()
                return t

            x = torch.randn(n, 4, 5000)
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
                    torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
                graph = model(x).float().sum()  # the forward builds the graph: what it saves is counted
            del graph
            sizes.append(sum(seen.values()))
        out[mode] = (sizes[1] - sizes[0]) / 2**30
    return out


class RSSPeak:
    """The highest resident memory of this process while it runs, sampled every 2 ms by a thread."""

    def __init__(self):
        import threading

        self.peak = _rss_gib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_gib())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, _rss_gib())


def _rss_gib(peak: bool = False) -> float:
    if peak:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def fit_memory(rows: list[dict]) -> dict | None:
    """step peak = fixed + per_sample x micro: least squares over the micro sizes without checkpointing."""
    import numpy as np

    plain = [r for r in rows if not r["checkpointing"]]
    if len({r["micro"] for r in plain}) < 2:
        return None
    m = np.array([r["micro"] for r in plain], dtype=float)
    peak = np.array([r["step_peak_rss_gib"] for r in plain])
    per, fixed = np.polyfit(m, peak, 1)
    return {"per_sample_gib": float(per), "fixed_gib": float(fixed)}


def gpu_advice(per_sample_gib: float, params: int, ckpt_per_sample: float | None,
               share: float = GPU_BF16_SHARE) -> list[str]:
    """Micro-batch sizes for 24/40/80 GB cards at batch 256 from the measured memory per sample."""
    fixed = 16 * params / 2**30 + 1.0  # fp32 weights, grads, Adam's two moments + ~1 GiB CUDA context
    act = per_sample_gib * share
    lines = [f"GPU estimate (bf16 autocast, flash attention): {act * 1024:.0f} MiB of activations per ECG, "
             f"{fixed:.1f} GiB fixed"]
    for card in (24, 40, 80):
        usable = 0.9 * card - fixed
        micro = max(1, 2 ** int(math.log2(max(usable / act, 1))))
        if micro >= BATCH:
            lines.append(f"  {card} GB: batch 256 at once (no --micro-batch needed)")
            continue
        text = f"  {card} GB: --micro-batch {micro} ({math.ceil(BATCH / micro)} passes per step)"
        if ckpt_per_sample is not None:
            c = ckpt_per_sample * share
            cm = max(1, 2 ** int(math.log2(max(usable / c, 1))))
            text += (", or --checkpoint-activations with --micro-batch " + str(min(cm, BATCH))
                     + (" (the whole batch)" if cm >= BATCH else ""))
        lines.append(text)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--micro", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--ckpt-micro", type=int, nargs="*", default=[8], help="micro sizes also run with "
                    "--checkpoint-activations")
    ap.add_argument("--measure", type=int, default=2, help="micro-batches timed per configuration")
    ap.add_argument("--full", action="store_true", help="run all of the step's micro-batches")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", help="a full-size checkpoint (default: a random one, written first)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--micro-one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ckpt", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--saved", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(saved_activations(args) if args.saved else one(args)))
        return
    with tempfile.TemporaryDirectory(prefix="lvsdctl-fullsize-") as tmp:
        weights = args.weights
        if weights is None:
            from lvsdctl.weights.synthetic import write_random_checkpoint

            weights = str(Path(tmp) / "mimic_iv_ecg_physionet_pretrained.pt")
            info = write_random_checkpoint(weights, size="base")
            print(f"random full-size checkpoint: {info['encoder_parameters']:,} encoder parameters, "
                  f"{info['bytes'] / 1e6:.0f} MB")
        rows = []
        configs = [(m, False) for m in args.micro] + [(m, True) for m in args.ckpt_micro]
        print(f"one Adam step of ECG-FM base (FF) at batch {BATCH} of 4 x 5000 on CPU, {args.threads} threads, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"{'micro':>6}{'ckpt':>6}{'s/micro':>9}{'CPU-s':>8}{'step@256 s':>12}{'peak GiB':>10}  (peak: the step's "
              "resident memory)")
        for micro, ckpt in configs:
            cmd = [sys.executable, __file__, "--one", "--micro-one", str(micro), "--weights", weights,
                   "--measure", str(args.measure), "--threads", str(args.threads)]
            cmd += (["--ckpt"] if ckpt else []) + (["--full"] if args.full else [])
            out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
            r = json.loads(out.strip().splitlines()[-1])
            rows.append(r)
            print(f"{micro:>6}{'yes' if ckpt else 'no':>6}{r['seconds_per_micro_batch']:>9.1f}"
                  f"{r['cpu_seconds_per_micro_batch']:>8.1f}{r['step_seconds_at_256']:>11.0f}"
                  f"{'*' if r['extrapolated'] else ' '}{r['step_peak_rss_gib']:>10.2f}")
        if any(r["extrapolated"] for r in rows):
            print(f"* extrapolated from {args.measure} micro-batches + the optimizer step (--full runs them all)")
        fit = fit_memory(rows)
        if fit:
            ck = [r for r in rows if r["checkpointing"]]
            ck_per = ((ck[0]["step_peak_rss_gib"] - fit["fixed_gib"]) / ck[0]["micro"]) if ck else None
            print(f"memory fit (CPU, fp32): {fit['fixed_gib']:.2f} GiB fixed + {fit['per_sample_gib'] * 1024:.0f} MiB "
                  f"per ECG in the micro-batch" + (f"; with checkpointing {ck_per * 1024:.0f} MiB per ECG"
                                                      if ck_per is not None else ""))
            cmd = [sys.executable, __file__, "--one", "--saved", "--weights", weights, "--threads", str(args.threads)]
            saved = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                              env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.splitlines()[-1])
            share = saved["bf16"] / saved["fp32"]
            fit["saved_per_ecg_gib"], fit["bf16_share"] = saved, share
            print(f"autograd keeps {saved['fp32'] * 1024:.0f} MiB per ECG in fp32, {saved['bf16'] * 1024:.0f} MiB "
                  f"under bf16 autocast ({share:.2f}x; counted with saved_tensors_hooks)")
            for line in gpu_advice(fit["per_sample_gib"], rows[0]["parameters"], ck_per, share):
                print(line)
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": rows, "fit": fit}, indent=2))


if __name__ == "__main__":
    main()
