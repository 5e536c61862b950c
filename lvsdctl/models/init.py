"""Keras-style weight initialisation, shared by the baselines.

The study trained its baselines with sktime (Keras) at lr 5e-6, where the starting weights matter:
Glorot-uniform kernels with zero biases, orthogonal recurrent kernels and a forget-gate bias of 1,
as Keras does by default. `init="torch"` keeps PyTorch's own defaults instead.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def keras_init_(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LSTM):
            for name, p in m.named_parameters():
                h = m.hidden_size
                if name.startswith("weight_ih"):
                    # Keras draws one Glorot matrix for the (input, 4 * hidden) kernel.
                    nn.init.xavier_uniform_(p)
                elif name.startswith("weight_hh"):
                    for gate in p.split(h, dim=0):
                        nn.init.orthogonal_(gate)
                elif name.startswith("bias"):
                    nn.init.zeros_(p)
                    if name.startswith("bias_ih"):
                        p[h : 2 * h] = 1.0  # gate order i, f, g, o: forget gate bias 1
    return model


def initialise(model: nn.Module, scheme: str) -> nn.Module:
    if scheme == "keras":
        return keras_init_(model)
    if scheme == "torch":
        return model
    raise ValueError(f"unknown init scheme {scheme!r}; use 'keras' or 'torch'")
