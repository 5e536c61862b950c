"""FCN: the fully convolutional baseline of Wang, Yan & Oates (IJCNN 2017).

Three blocks of Conv1d + BatchNorm + ReLU (128/256/128 filters, kernels 8/5/3, 'same' padding, no
pooling so the time axis keeps its length), global average pooling, one linear layer. The study
uses it unchanged. Every ReLU is its own module, used once, so captum's DeepLIFT rules apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lvsdctl.models.init import initialise
from lvsdctl.models.layers import SameConv1d
from lvsdctl.models.registry import register_model


@dataclass
class FCNConfig:
    in_channels: int = 4
    n_classes: int = 2
    filters: tuple[int, ...] = (128, 256, 128)
    kernels: tuple[int, ...] = (8, 5, 3)
    init: str = "keras"  # "keras" (the study's sktime) or "torch"


class ConvBlock(nn.Module):
    """Conv1d ('same' padding) -> BatchNorm -> ReLU (optional, for residual blocks)."""

    def __init__(self, cin: int, cout: int, kernel: int, relu: bool = True):
        super().__init__()
        self.conv = SameConv1d(cin, cout, kernel)
        self.bn = nn.BatchNorm1d(cout)
        self.relu = nn.ReLU() if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class FCNBody(nn.Module):
    """The convolutional blocks and the global average pooling: (B, C, T) -> (B, filters[-1])."""

    def __init__(self, in_channels: int, filters: tuple[int, ...], kernels: tuple[int, ...]):
        super().__init__()
        if len(filters) != len(kernels):
            raise ValueError("FCN needs one kernel size per block")
        chans = (in_channels, *filters)
        self.blocks = nn.Sequential(*(ConvBlock(chans[i], chans[i + 1], k) for i, k in enumerate(kernels)))
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.flatten(self.pool(self.blocks(x)))


@register_model("fcn", FCNConfig, "FCN (Wang et al. 2017): 3 conv blocks 128/256/128, kernels 8/5/3, GAP")
class FCN(nn.Module):
    #: captum's DeepLIFT rules hold exactly (every nonlinearity a module used once): see explain.
    deeplift_exact = True

    def __init__(self, config: FCNConfig):
        super().__init__()
        self.config = config
        self.body = FCNBody(config.in_channels, config.filters, config.kernels)
        self.head = nn.Linear(config.filters[-1], config.n_classes)
        initialise(self, config.init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
