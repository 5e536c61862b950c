"""GPU training throughput of ECG-FM base (batch 256) and the four baselines (batch 16), fp32 and bf16.

For each model: training samples/s in fp32 (TF32 off) and under bf16 autocast, the peak GPU memory of
each, the model FLOPs per training sample computed from the layers' shapes (lvsdctl.models.flops: 3 x
the forward's matrix products and convolutions), and the share of the card's bf16 dense peak reached
(MFU); then bf16 against fp32 logits of the same weights on the same ECGs (eval mode). With --ddp
(under torchrun, one process per GPU) it times ECG-FM with DDP over all GPUs at the same global batch.

    bash benchmarks/gpu.sh                  # this, then the DDP run when 2 GPUs are visible
    python benchmarks/gpu_bench.py --device cpu   # tiny sizes, a few seconds: keeps the code path working

Imports only torch and lvsdctl's model code (no neurokit2, captum, wfdb, pydicom, ...): it runs on a
bare GPU image with torch alone. Random weights and random ECGs: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lvsdctl.models.flops import flops_per_sample, peak_bf16_tflops  # noqa: E402

#: bf16 vs fp32: the LVSD probability of every ECG within this (absolute).
PROB_TOLERANCE = 0.01

# (name, batch, samples) per device kind; ECG-FM at the study's batch, the baselines at the article's.
SIZES = {
    "cuda": {"ecgfm": ("base", 256, 5000), "fcn": (None, 16, 5000), "resnet": (None, 16, 5000),
             "inceptiontime": (None, 16, 5000), "lstm-fcn": (None, 16, 5000)},
    "cpu": {"ecgfm": ("tiny", 2, 500), "fcn": (None, 2, 250), "resnet": (None, 2, 250),
            "inceptiontime": (None, 2, 250), "lstm-fcn": (None, 2, 250)},
}


def build(name: str, size: str | None, samples: int, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "ecgfm":
        from lvsdctl.models.ecgfm_lvsd import ECGFMLVSD, ECGFMLVSDConfig

        model = ECGFMLVSD(ECGFMLVSDConfig(size=size))
    else:
        from lvsdctl.models.registry import create_model

        model = create_model(name, in_channels=4, **({"in_samples": samples} if name == "lstm-fcn" else {}))
    return model.to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _precision(device: torch.device, bf16: bool):
    if device.type == "cuda":  # fp32 means fp32: no TF32 in matrix products or convolutions
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def train_rate(model, x, y, *, bf16: bool, steps: int, warmup: int, micro: int | None, ddp=None) -> dict:
    """Samples/s of Adam steps on (x, y), run as micro-batches of ``micro`` (None: whole batch)."""
    device = x.device
    net = ddp or model
    opt = torch.optim.Adam(model.parameters(), lr=1e-6, betas=(0.9, 0.98))
    chunks = [(x[i:i + micro], y[i:i + micro]) for i in range(0, len(x), micro)] if micro else [(x, y)]

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        for i, (xb, yb) in enumerate(chunks):
            sync = ddp.no_sync() if ddp is not None and i < len(chunks) - 1 else _null()
            with sync, _precision(device, bf16):
                loss = F.cross_entropy(model(xb) if ddp is None else net(xb), yb, reduction="sum") / len(x)
            loss.backward()
        opt.step()

    model.train()
    for _ in range(warmup):
        step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = (time.perf_counter() - start) / steps
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    del opt
    return {"samples_per_s": len(x) / seconds, "seconds_per_step": seconds, "peak_gib": peak}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fit_rate(model, x, y, *, bf16: bool, steps: int, warmup: int, micro: int | None, ddp=None) -> dict:
    """``train_rate``, halving the micro-batch on out-of-memory (reported) until it fits."""
    while True:
        try:
            return {**train_rate(model, x, y, bf16=bf16, steps=steps, warmup=warmup, micro=micro, ddp=ddp),
                    "micro_batch": micro or len(x)}
        except torch.cuda.OutOfMemoryError:
            model.zero_grad(set_to_none=True)
            torch.cuda.empty_cache()
            micro = (micro or len(x)) // 2
            if micro < 1:
                raise


@torch.no_grad()
def bf16_agreement(model, x) -> dict:
    model.eval()
    with _precision(x.device, False):
        ref = model(x).float()
    with _precision(x.device, True):
        low = model(x).float()
    dp = (torch.softmax(low, 1)[:, 1] - torch.softmax(ref, 1)[:, 1]).abs().max().item()
    return {"max_abs_logit_diff": (low - ref).abs().max().item(), "max_abs_prob_diff": dp,
            "within_tolerance": dp <= PROB_TOLERANCE}


def single(args, device: torch.device) -> list[dict]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak = peak_bf16_tflops(name) if device.type == "cuda" else None
    rows = []
    for model_name in args.models:
        size, batch, samples = SIZES[device.type][model_name]
        batch = args.batch or batch
        model = build(model_name, size, samples, device)
        g = torch.Generator().manual_seed(0)
        x = torch.randn(batch, 4, samples, generator=g).to(device)
        y = torch.randint(0, 2, (batch,), generator=g).to(device)
        flops = flops_per_sample(model, 4, samples)
        row = {"model": model_name + (f" {size}" if size else ""), "batch": batch, "samples": samples,
               "gflop_per_sample": flops / 1e9, "device": name}
        t0 = time.perf_counter()
        for mode in ("fp32", "bf16"):
            try:
                r = fit_rate(model, x, y, bf16=mode == "bf16", steps=args.steps, warmup=args.warmup,
                             micro=args.micro_batch if model_name == "ecgfm" else None)
            except RuntimeError as exc:  # e.g. no bf16 LSTM kernel on this device
                row[mode] = {"error": str(exc).splitlines()[0][:120]}
                continue
            tflops = r["samples_per_s"] * flops / 1e12
            row[mode] = {**r, "tflops": tflops, "mfu": tflops / peak if peak else None}
        try:
            row["bf16_vs_fp32"] = bf16_agreement(model, x[: min(len(x), 32)])
        except RuntimeError as exc:
            row["bf16_vs_fp32"] = {"error": str(exc).splitlines()[0][:120]}
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def ddp_run(args) -> dict | None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local) if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    world = dist.get_world_size()
    size, batch, samples = SIZES[device.type]["ecgfm"]
    batch = args.batch or batch
    model = build("ecgfm", size, samples, device)
    ddp = DDP(model, device_ids=[local] if device.type == "cuda" else None)
    g = torch.Generator().manual_seed(dist.get_rank())
    x = torch.randn(batch // world, 4, samples, generator=g).to(device)
    y = torch.randint(0, 2, (batch // world,), generator=g).to(device)
    r = fit_rate(model, x, y, bf16=True, steps=args.steps, warmup=args.warmup, micro=args.micro_batch, ddp=ddp)
    rate = torch.tensor([r["samples_per_s"]], device=device)
    dist.all_reduce(rate)
    out = None
    if dist.get_rank() == 0:
        out = {"world": world, "global_batch": batch, "samples_per_s": float(rate), "per_rank": r}
    dist.destroy_process_group()
    return out


def _single_rate(path: str | None) -> float | None:
    if not path or not Path(path).is_file():
        return None
    rows = [r for r in json.loads(Path(path).read_text()) if r["model"].startswith("ecgfm")]
    return rows[0]["bf16"].get("samples_per_s") if rows else None


def _fmt(v, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def print_table(rows: list[dict]) -> None:
    dev = rows[0]["device"] if rows else "?"
    print(f"device: {dev}; fp32 = TF32 off; MFU = model TFLOP/s / bf16 dense peak "
          f"({_fmt(peak_bf16_tflops(dev), '.0f')} TFLOP/s); bf16 check: max |dP(LVSD)| <= {PROB_TOLERANCE}")
    head = (f"{'model':<15}{'batch':>6}{'GFLOP/ECG':>10} | {'fp32 ECG/s':>10}{'GiB':>6}{'MFU':>5} | "
            f"{'bf16 ECG/s':>10}{'GiB':>6}{'MFU':>5}{'micro':>6} | {'max|dP|':>8} ok")
    print(head)
    print("-" * len(head))
    for r in rows:
        cells = []
        for mode in ("fp32", "bf16"):
            m = r[mode]
            if "error" in m:
                cells.append(f"{'n/a':>10}{'':>11}" + ("" if mode == "fp32" else f"{'':>6}"))
                continue
            mfu = f"{100 * m['mfu']:.0f}%" if m["mfu"] is not None else "-"
            cell = f"{m['samples_per_s']:>10.1f}{_fmt(m['peak_gib'], '.1f'):>6}{mfu:>5}"
            cells.append(cell + (f"{m['micro_batch']:>6}" if mode == "bf16" else ""))
        c = r["bf16_vs_fp32"]
        check = "n/a" if "error" in c else f"{c['max_abs_prob_diff']:>8.1e} {'yes' if c['within_tolerance'] else 'NO'}"
        print(f"{r['model']:<15}{r['batch']:>6}{r['gflop_per_sample']:>10.2f} | {cells[0]} | {cells[1]} | {check}")
    errors = {f"{r['model']} {m}": r[m]["error"] for r in rows for m in ("fp32", "bf16") if "error" in r[m]}
    for what, message in errors.items():
        print(f"n/a: {what}: {message}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cuda", "cpu"])
    ap.add_argument("--models", nargs="+", default=list(SIZES["cuda"]), choices=list(SIZES["cuda"]))
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 10 on cuda, 1 on cpu)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3 on cuda, 1 on cpu)")
    ap.add_argument("--batch", type=int, default=None, help="override every model's batch")
    ap.add_argument("--micro-batch", type=int, default=None, help="ECG-FM micro-batch (default: whole batch, "
                    "halved automatically on out-of-memory)")
    ap.add_argument("--ddp", action="store_true", help="time ECG-FM under DDP (run under torchrun)")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    ap.add_argument("--single-json", default=None, help="with --ddp: the one-GPU results, for the scaling")
    args = ap.parse_args(argv)
    cuda = args.device == "cuda"
    args.steps = args.steps or (10 if cuda else 1)
    args.warmup = args.warmup if args.warmup is not None else (3 if cuda else 1)
    if args.ddp:
        out = ddp_run(args)
        if out is not None:
            print(f"DDP x{out['world']} ({'NCCL' if cuda else 'gloo'}), ECG-FM at global batch {out['global_batch']}, "
                  f"bf16: {out['samples_per_s']:.1f} samples/s in all (micro-batch {out['per_rank']['micro_batch']}, "
                  f"peak {_fmt(out['per_rank']['peak_gib'], '.1f')} GiB per GPU)")
            one = _single_rate(args.single_json)
            if one:
                print(f"  x{out['samples_per_s'] / one:.2f} the one-GPU bf16 rate ({one:.1f} ECGs/s): "
                      f"{100 * out['samples_per_s'] / one / out['world']:.0f}% scaling efficiency")
            if args.json:
                Path(args.json).write_text(json.dumps(out, indent=2))
        return
    if not cuda:
        torch.set_num_threads(1)  # tiny sizes: more threads only contend on a shared machine
    device = torch.device("cuda" if cuda else "cpu")
    rows = single(args, device)
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
