"""Where training runs: `--device auto|cpu|cuda|mps` resolved to a torch device, with its settings.

bf16 autocast is used on CUDA (Ampere and newer compute bf16 at full speed and need no loss
scaling); CPU and MPS train in float32, which is also what makes CPU runs reproducible bit for bit.
"""

from __future__ import annotations

import os
from contextlib import nullcontext

import torch

from lvsdctl.errors import MissingResourceError


def resolve_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    name = str(getattr(name, "value", name))
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise MissingResourceError("--device cuda: no CUDA GPU is visible to PyTorch (use --device cpu)")
        if name == "cuda":
            rank = local_rank if local_rank is not None else int(os.environ.get("LOCAL_RANK", 0))
            name = f"cuda:{rank % torch.cuda.device_count()}"
        dev = torch.device(name)
        torch.cuda.set_device(dev)
        return dev
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise MissingResourceError("--device mps: Apple's MPS backend is not available here (use --device cpu)")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or mps")


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA, nothing elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def configure_determinism(device: torch.device, deterministic: bool = True) -> None:
    """Reproducible kernels where it costs little (cuDNN autotuning picks kernels by timing)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not deterministic
        torch.backends.cudnn.deterministic = deterministic
        torch.backends.cuda.matmul.allow_tf32 = not deterministic
        torch.backends.cudnn.allow_tf32 = not deterministic


def loader_settings(device: torch.device, workers: int) -> dict:
    """DataLoader arguments that keep an accelerator fed."""
    return {
        "num_workers": workers,
        "pin_memory": device.type == "cuda",
        "persistent_workers": workers > 0,
        "prefetch_factor": 4 if workers > 0 else None,
    }
