"""ResNet: the residual baseline of Wang, Yan & Oates (IJCNN 2017), as in Fawaz et al.'s dl-4-tsc.

Three residual blocks of 64, 128 and 128 filters. Each block: Conv(8) BN ReLU, Conv(5) BN ReLU,
Conv(3) BN, plus a shortcut, then ReLU. The shortcut is a 1x1 Conv + BN where the channel count
changes (blocks 1 and 2) and BN alone where it does not (block 3), exactly as the reference code.

The article counts "4 + 4 + 3 = 11" Conv1D layers: that is this very network with the two 1x1
shortcut convolutions counted (3 + 1, 3 + 1, 3), so the default *is* the article's model.
`convs_per_block=(4, 4, 3)` gives the other reading (four main-path convolutions in the first two
blocks, the extra ones with the last kernel size) for anyone who wants to test it.
Residual additions are followed by their own ReLU module (DeepLIFT-friendly).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lvsdctl.models.fcn import ConvBlock
from lvsdctl.models.init import initialise
from lvsdctl.models.registry import register_model


@dataclass
class ResNetConfig:
    in_channels: int = 4
    n_classes: int = 2
    filters: tuple[int, ...] = (64, 128, 128)
    convs_per_block: tuple[int, ...] = (3, 3, 3)
    kernels: tuple[int, ...] = (8, 5, 3)  # per conv in a block; extra convs reuse the last
    init: str = "keras"


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, kernels: list[int]):
        super().__init__()
        chans = [cin] + [cout] * len(kernels)
        last = len(kernels) - 1
        self.convs = nn.Sequential(
            *(ConvBlock(chans[i], chans[i + 1], k, relu=i < last) for i, k in enumerate(kernels))
        )
        if cin != cout:
            self.shortcut = nn.Sequential(nn.Conv1d(cin, cout, 1), nn.BatchNorm1d(cout))
        else:
            self.shortcut = nn.Sequential(nn.BatchNorm1d(cout))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.convs(x) + self.shortcut(x))


@register_model("resnet", ResNetConfig, "ResNet (Wang et al. 2017): 3 residual blocks 64/128/128, kernels 8/5/3")
class ResNet(nn.Module):
    deeplift_exact = True  # every nonlinearity is a module used once (tests/models/test_deeplift_rules.py)

    def __init__(self, config: ResNetConfig):
        super().__init__()
        self.config = config
        c = config
        if len(c.filters) != len(c.convs_per_block):
            raise ValueError("ResNet needs one filter count per block")
        chans = (c.in_channels, *c.filters)
        blocks = []
        for i, n in enumerate(c.convs_per_block):
            kernels = [c.kernels[min(j, len(c.kernels) - 1)] for j in range(n)]
            blocks.append(ResidualBlock(chans[i], chans[i + 1], kernels))
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(c.filters[-1], c.n_classes)
        initialise(self, c.init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.pool(self.blocks(x))))
