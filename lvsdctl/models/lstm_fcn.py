"""LSTM-FCN: Karim, Majumdar, Darabi & Harford (IEEE Access 2018; multivariate: Neural Netw. 2019).

Two branches read the same ECG and are concatenated before the linear head:
- the FCN branch (see fcn.py): conv blocks 128/256/128, kernels 8/5/3, global average pooling;
  optionally with the squeeze-and-excite blocks of the multivariate paper (`squeeze_excite=True`);
- an LSTM branch followed by dropout 0.8.

"Dimension shuffle" (the published model, default `shuffle=True`): the LSTM reads the *channels*
as its time steps, each step being a whole channel (4 steps of 5,000 values for the study's
input), which is what Karim et al.'s code does (`LSTM` on the (variables, timesteps) input, the
conv branch on its transpose). sktime's LSTMFCNClassifier, which the study's authors ran, has no
shuffle: its LSTM runs over the 5,000 time steps with 4 features (`shuffle=False`, slower).

Cells: the papers grid-search 8, 64 and 128 LSTM cells; 8 is their released default and sktime's,
so it is ours (`lstm_cells`). PyTorch's LSTM has two bias vectors where Keras has one, so it has
4 x cells more parameters than the Keras model; the function is the same.

DeepLIFT's rules do not cover the LSTM's internal gates (captum treats them by their gradient):
explain this model with integrated gradients, or accept an approximate DeepLIFT.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lvsdctl.models.fcn import ConvBlock
from lvsdctl.models.init import initialise
from lvsdctl.models.registry import register_model


@dataclass
class LSTMFCNConfig:
    in_channels: int = 4
    in_samples: int = 5000  # the LSTM's input width with the dimension shuffle
    n_classes: int = 2
    lstm_cells: int = 8
    dropout: float = 0.8
    shuffle: bool = True
    squeeze_excite: bool = False
    se_ratio: int = 16
    filters: tuple[int, ...] = (128, 256, 128)
    kernels: tuple[int, ...] = (8, 5, 3)
    init: str = "keras"


class SqueezeExcite(nn.Module):
    """Channel re-weighting of the multivariate LSTM-FCN (Hu et al.'s block, ratio 16, no biases)."""

    def __init__(self, channels: int, ratio: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()
        self.reduce = nn.Linear(channels, max(1, channels // ratio), bias=False)
        self.relu = nn.ReLU()
        self.expand = nn.Linear(max(1, channels // ratio), channels, bias=False)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.gate(self.expand(self.relu(self.reduce(self.flatten(self.pool(x))))))
        return x * w.unsqueeze(-1)


@register_model(
    "lstm-fcn", LSTMFCNConfig, "LSTM-FCN (Karim et al.): FCN branch + LSTM branch (dimension shuffle)"
)
class LSTMFCN(nn.Module):
    deeplift_exact = False  # the LSTM's gates are not modules: prefer integrated gradients

    def __init__(self, config: LSTMFCNConfig):
        super().__init__()
        self.config = config
        c = config
        if len(c.filters) != len(c.kernels):
            raise ValueError("LSTM-FCN needs one kernel size per conv block")
        chans = (c.in_channels, *c.filters)
        layers: list[nn.Module] = []
        for i, k in enumerate(c.kernels):
            layers.append(ConvBlock(chans[i], chans[i + 1], k))
            # The multivariate paper puts squeeze-and-excite after every block but the last.
            if c.squeeze_excite and i < len(c.kernels) - 1:
                layers.append(SqueezeExcite(chans[i + 1], c.se_ratio))
        self.conv = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()
        lstm_in = c.in_samples if c.shuffle else c.in_channels
        self.lstm = nn.LSTM(lstm_in, c.lstm_cells, batch_first=True)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.lstm_cells + c.filters[-1], c.n_classes)
        initialise(self, c.init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.shuffle and x.shape[-1] != self.config.in_samples:
            raise ValueError(
                f"this LSTM-FCN reads {self.config.in_samples} samples per channel, got {x.shape[-1]}"
            )
        # (B, C, T) is already "channels as steps" for the shuffled LSTM; sktime's reads (B, T, C).
        seq = x if self.config.shuffle else x.transpose(1, 2)
        _, (h, _) = self.lstm(seq)
        lstm_out = self.dropout(h[-1])
        conv_out = self.flatten(self.pool(self.conv(x)))
        return self.head(torch.cat([lstm_out, conv_out], dim=1))
