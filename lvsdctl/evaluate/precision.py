"""Faster inference on a CPU: int8 dynamic quantization of the Linear layers, or bf16 autocast.

fp32 inference of the full-size ECG-FM spends about 70-80 % of its time in the Linear layers' matrix
products (`addmm`), already at the speed of the CPU's float units. Two ways past that, both opt-in
(`--precision`), because scores move a little:

- `int8`: `torch.ao.quantization.quantize_dynamic` on the `nn.Linear` layers of the transformer blocks:
  weights stored as int8 (one scale per output channel), activations quantized on the fly per batch, products in int8 with int32 sums (fbgemm:
  AVX2's byte multiply-adds, AVX-512 VNNI where present). Measured on the synthetic validation sets
  (`benchmarks/cpu_inference_bench.py`): scores within 0.01 of fp32, AUROC within 0.002. Inference only:
  quantized layers have no gradients, so attribution (`explain`) cannot use it.
- `bf16`: `torch.autocast("cpu", torch.bfloat16)`: fast only on CPUs with bf16 arithmetic (AVX-512 BF16,
  AMX); elsewhere emulated and several times slower than fp32, which `describe` says.

On a GPU, `--precision` is ignored: the CUDA paths use bf16 autocast where they help already.
"""

from __future__ import annotations

import contextlib
import re
import warnings

import torch
from torch import nn

PRECISIONS = ("fp32", "int8", "bf16")


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX), from /proc/cpuinfo on Linux."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def describe(precision: str) -> str:
    """The note printed when a precision other than fp32 is used on a CPU."""
    if precision == "int8":
        return ("int8: the transformer's Linear layers quantized (dynamic, per channel); scores may differ "
                "from fp32 by up to about 0.01")
    if precision == "bf16":
        base = "bf16 autocast: scores may differ from fp32 by up to about 0.01"
        return base if cpu_has_bf16() else base + "; this CPU has no bf16 arithmetic, so it is SLOWER than fp32"
    return ""


def prepare(model: nn.Module, precision: str, device: torch.device | str = "cpu"
            ) -> tuple[nn.Module, contextlib.AbstractContextManager]:
    """(model to run, context to run it in) for inference at `precision` on `device` (eval mode).

    int8 returns a quantized copy (the original is left as it is); fp32 and non-CPU devices change
    nothing.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: use {', '.join(PRECISIONS)}")
    model.eval()
    if torch.device(device).type != "cpu" or precision == "fp32":
        return model, contextlib.nullcontext()
    if precision == "bf16":
        return model, torch.autocast("cpu", dtype=torch.bfloat16)
    engines = torch.backends.quantized.supported_engines
    if "fbgemm" in engines:  # the x86 int8 kernels (measured fastest here, of x86, fbgemm and onednn)
        torch.backends.quantized.engine = "fbgemm"
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        from torch.ao.quantization import per_channel_dynamic_qconfig

        spec = {name: per_channel_dynamic_qconfig for name in quantized_layers(model)}
        quantized = torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8, inplace=False)
    return quantized, contextlib.nullcontext()


def quantized_layers(model: nn.Module) -> list[str]:
    """The Linear layers int8 quantizes: those of the transformer blocks (`...layers.N...`), where the
    time is. Projections in and out (the classification head) stay fp32: small products, and the score
    is closest to fp32's without them. A model without transformer blocks (the CNN baselines) has none."""
    return [name for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and re.search(r"(^|\.)layers\.\d+\.", name)]
