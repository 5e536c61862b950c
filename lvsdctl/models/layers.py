"""Small layers the baseline families share."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SameConv1d(nn.Conv1d):
    """Stride-1 Conv1d with Keras 'same' padding: output length = input length, for any kernel.

    Even kernels pad (k - 1) // 2 zeros on the left and the rest on the right, as Keras does. The
    padding is done here rather than by `padding="same"` to avoid PyTorch's per-call warning and
    copy for even kernels. Zero padding is linear, so DeepLIFT's rules are unaffected.
    """

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True):
        super().__init__(cin, cout, kernel, padding=0, bias=bias)
        self.pads = ((kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pads != (0, 0):
            x = F.pad(x, self.pads)
        return super().forward(x)


class MaxPool3(nn.Module):
    """Max over each sample and its two neighbours (stride 1, 'same'), built from two ReLUs.

    Same values (to float rounding) as `nn.MaxPool1d(3, stride=1, padding=1)` (edges replicate, which leaves the max
    unchanged just as Keras' ignored padding does), written as max(a, b) = b + relu(a - b) so
    that DeepLIFT's Rescale rule applies and attributions sum exactly to the output difference.
    captum's own max-pool rule loses contributions when pooling windows overlap (stride < kernel),
    as InceptionTime's do.
    """

    def __init__(self):
        super().__init__()
        self.relu_left = nn.ReLU()
        self.relu_right = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (1, 1), mode="replicate")
        left, right = padded[..., :-2], padded[..., 2:]
        m = x + self.relu_left(left - x)
        return right + self.relu_right(m - right)
