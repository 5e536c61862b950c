"""Model FLOPs per sample, computed analytically from the layers' shapes (for MFU and feed rates).

A multiply-add counts 2 FLOPs. Counted: the matrix products and convolutions, which are nearly all of
the work; normalisations, activations, pooling and the optimizer are not (the usual MFU convention).

- ``Linear(i -> o)`` on n positions: ``2 i o n``
- ``Conv1d(c_in -> c_out, kernel k, groups g)`` with output length L: ``2 (c_in / g) k c_out L``
- attention over n tokens of width d (scores q k^T, then weights v): ``4 n^2 d``
- ``LSTM`` (4 gates), per layer and direction, over T steps: ``8 h (i + h) T``

Training (forward + backward, every parameter trainable) counts ``3 x`` the forward: the backward
computes the gradients of the activations and of the weights, each about one forward's work. For
ECG-FM base on 4 x 5000 input (312 tokens, d = 768, FFN 3072, 12 layers) this gives a forward of
60.3 GFLOP (docs/ecgfm.md has the term by term sum) and 181 GFLOP per training sample. The same hooks
count ECGFounder (convolutions, the squeeze-excite gates' linear layers, the head): its LVSD model on
4 x 5000 input does 2.34 GFLOP forward, 26 times fewer than ECG-FM base (docs/ecgfounder.md).
"""

from __future__ import annotations

import torch
from torch import nn


def _attention_modules() -> tuple[type, ...]:
    from lvsdctl.models.ecgfm import SelfAttention

    return (SelfAttention,)


def forward_flops(model: nn.Module, example: torch.Tensor) -> int:
    """FLOPs of one forward pass of ``example`` (a batch), from forward hooks that read the shapes."""
    total = 0
    attention = _attention_modules()

    def hook(module, inputs, output):
        nonlocal total
        out = output[0] if isinstance(output, tuple) else output
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features * (out.numel() // module.out_features)
        elif isinstance(module, nn.Conv1d):
            total += 2 * (module.in_channels // module.groups) * module.kernel_size[0] * out.numel()
        elif isinstance(module, nn.LSTM):
            x = inputs[0]
            steps_batch = x.shape[0] * x.shape[1]  # (T, B) or (B, T): the product either way
            dirs = 2 if module.bidirectional else 1
            size_in = module.input_size
            for _ in range(module.num_layers):
                total += dirs * 8 * module.hidden_size * (size_in + module.hidden_size) * steps_batch
                size_in = module.hidden_size * dirs
        elif isinstance(module, attention):
            b, n, d = inputs[0].shape
            total += 4 * b * n * n * d

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Linear, nn.Conv1d, nn.LSTM, *attention))]
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(example)
        model.train(was_training)
    finally:
        for h in handles:
            h.remove()
    return int(total)


def flops_per_sample(model: nn.Module, channels: int, samples: int, *, training: bool = True) -> int:
    """Forward FLOPs of one ECG of ``channels x samples`` (x 3 for a training step when ``training``)."""
    device = next(model.parameters()).device
    fwd = forward_flops(model, torch.zeros(1, channels, samples, device=device))
    return 3 * fwd if training else fwd


def ecgfm_forward_flops(*, tokens: int = 312, d: int = 768, ffn: int = 3072, layers: int = 12, conv_pos: int = 128,
                        pos_groups: int = 16, in_ch: int = 12, conv_dim: int = 256, samples: int = 5000,
                        data_ch: int = 4) -> dict:
    """The same count for the ECG-FM LVSD model written out term by term (docs/ecgfm.md)."""
    lengths = [samples // 2, samples // 4, samples // 8, samples // 16]
    terms = {
        "input projection (4 -> 12)": 2 * data_ch * in_ch * samples,
        "conv feature extractor": 2 * in_ch * 2 * conv_dim * lengths[0]
        + sum(2 * conv_dim * 2 * conv_dim * n for n in lengths[1:]),
        "post_extract_proj": 2 * conv_dim * d * tokens,
        "positional conv": 2 * (d // pos_groups) * conv_pos * d * (tokens + 1),
        "attention projections (q, k, v, out)": layers * 8 * tokens * d * d,
        "attention scores and sums": layers * 4 * tokens * tokens * d,
        "feed-forward": layers * 4 * tokens * d * ffn,
        "head": 2 * d * 2,
    }
    terms["total"] = sum(terms.values())
    return terms


#: Dense (no sparsity) bf16 tensor-core peaks in TFLOP/s from the vendors' data sheets, matched
#: against ``torch.cuda.get_device_name()`` in this order (more specific names first).
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),  # SXM5 (torch names it "NVIDIA H100 80GB HBM3")
    ("GH200", 989.0),
    ("H200", 989.0),
    ("H20", 148.0),
    ("B200", 2250.0),
    ("A100", 312.0),  # SXM4 and PCIe alike
    ("A800", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("A6000", 155.0),
    ("RTX 4090", 165.0),
)


def peak_bf16_tflops(device_name: str) -> float | None:
    """The card's bf16 dense peak, or None for a card not in the table (then no MFU is printed)."""
    import re

    for key, value in PEAK_BF16_TFLOPS:
        if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w])", device_name):
            return value
    return None
