"""InceptionTime: Ismail Fawaz et al. (Data Min. Knowl. Disc. 2020).

One network: 6 Inception modules, a residual shortcut around every 3, global average pooling, a
linear head. An Inception module: a 1x1 "bottleneck" convolution to 32 channels (skipped when the
input has a single channel), three convolutions of 32 filters on it with long kernels, and a
max-pool(3) branch with a 1x1 convolution on the module's input; the four are concatenated to 128
channels, then BatchNorm and ReLU. Convolutions have no bias (BN follows), shortcuts are a 1x1
convolution + BN, added, then ReLU, all as the reference code (hfawaz/InceptionTime).

Kernel sizes: the reference code is called with kernel_size 41 and uses `41 - 1 = 40` halved twice:
40/20/10, the article's figures, our default. sktime's InceptionTimeClassifier, which the study's
authors ran, defaults to kernel_size 40 and applies the same `- 1`: 39/19/9. `--preset sktime`
selects those. Even kernels pad 'same' like Keras (one more sample on the right).

The max-pool branch is computed with two ReLUs (`layers.MaxPool3`, same values as MaxPool1d(3)),
because captum's DeepLIFT max-pool rule is not exact for overlapping windows.

The published model is an ensemble of 5 such networks trained independently from different random
initialisations, whose softmax outputs are averaged (`ensemble=5`). The ensemble returns the log of
the averaged probabilities as its logits, so `softmax(logits)` is the ensemble's probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lvsdctl.models.init import initialise
from lvsdctl.models.layers import MaxPool3, SameConv1d
from lvsdctl.models.registry import register_model


@dataclass
class InceptionTimeConfig:
    in_channels: int = 4
    n_classes: int = 2
    depth: int = 6
    filters: int = 32
    bottleneck: int = 32
    kernels: tuple[int, ...] = (40, 20, 10)
    residual: bool = True
    ensemble: int = 1
    init: str = "keras"


class InceptionModule(nn.Module):
    def __init__(self, cin: int, filters: int, bottleneck: int, kernels: tuple[int, ...]):
        super().__init__()
        use_bottleneck = bottleneck > 0 and cin > 1
        self.bottleneck = nn.Conv1d(cin, bottleneck, 1, bias=False) if use_bottleneck else nn.Identity()
        width = bottleneck if use_bottleneck else cin
        self.convs = nn.ModuleList(SameConv1d(width, filters, k, bias=False) for k in kernels)
        self.maxpool = MaxPool3()  # = MaxPool1d(3, stride=1, 'same'), DeepLIFT-exact (see layers.py)
        self.pool_conv = nn.Conv1d(cin, filters, 1, bias=False)
        self.bn = nn.BatchNorm1d(filters * (len(kernels) + 1))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.bottleneck(x)
        branches = [conv(z) for conv in self.convs] + [self.pool_conv(self.maxpool(x))]
        return self.relu(self.bn(torch.cat(branches, dim=1)))


class Shortcut(nn.Module):
    """1x1 conv + BN on the block input, added to the block output, then its own ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm1d(cout)
        self.relu = nn.ReLU()

    def forward(self, block_in: torch.Tensor, block_out: torch.Tensor) -> torch.Tensor:
        return self.relu(block_out + self.bn(self.conv(block_in)))


class InceptionNetwork(nn.Module):
    """One InceptionTime network (one member of the ensemble)."""

    def __init__(self, c: InceptionTimeConfig):
        super().__init__()
        width = c.filters * (len(c.kernels) + 1)
        self.modules_ = nn.ModuleList(
            InceptionModule(c.in_channels if d == 0 else width, c.filters, c.bottleneck, c.kernels)
            for d in range(c.depth)
        )
        self.residual = c.residual
        # A shortcut closes every block of 3 modules, from the block's input.
        self.shortcuts = nn.ModuleList(
            Shortcut(c.in_channels if d == 2 else width, width) for d in range(c.depth) if c.residual and d % 3 == 2
        )
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(width, c.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        block_in = x
        for d, module in enumerate(self.modules_):
            x = module(x)
            if self.residual and d % 3 == 2:
                x = self.shortcuts[d // 3](block_in, x)
                block_in = x
        return self.head(self.flatten(self.pool(x)))


@register_model(
    "inceptiontime", InceptionTimeConfig, "InceptionTime (Ismail Fawaz et al. 2020): 6 Inception modules, ensemble option"
)
class InceptionTime(nn.Module):
    """`ensemble` InceptionTime networks; with one, its logits; with several, log of mean softmax."""

    def __init__(self, config: InceptionTimeConfig):
        super().__init__()
        if config.ensemble < 1:
            raise ValueError("ensemble must be at least 1")
        self.config = config
        self.members = nn.ModuleList(InceptionNetwork(config) for _ in range(config.ensemble))
        # Only an ensemble applies softmax (one module per member: DeepLIFT wants no unused or shared ones).
        self.softmaxes = nn.ModuleList(nn.Softmax(dim=1) for _ in range(config.ensemble if config.ensemble > 1 else 0))
        initialise(self, config.init)

    @property
    def deeplift_exact(self) -> bool:
        """One network: yes. An ensemble's softmax/mean/log is not: attribute each member instead."""
        return len(self.members) == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.members) == 1:
            return self.members[0](x)
        probs = torch.stack([sm(m(x)) for m, sm in zip(self.members, self.softmaxes)]).mean(0)
        return probs.clamp_min(torch.finfo(probs.dtype).tiny).log()
