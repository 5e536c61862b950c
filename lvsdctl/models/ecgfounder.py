"""ECGFounder (Li et al., NEJM AI 2025) in plain PyTorch: Net1D, the network of its checkpoints.

Module names equal the keys of the official checkpoints (``12_lead_ECGFounder.pth`` and
``1_lead_ECGFounder.pth`` on huggingface.co/PKUDigitalHealth/ECGFounder; its code is MIT), so their state
dict loads strictly (``lvsdctl.models.ecgfounder_weights``), and the forward pass follows the
reference implementation (``net1d.py``) operation for operation:

    (B, C, T) -> first_conv (kernel k, stride 2, "same") -> [first_bn] -> Swish
              -> 7 stages of M blocks; each stage's first block downsamples T by `stride`
              -> mean over time (the "features") -> dense -> (B, n_classes)

    block:  [bn1 -> Swish ->] conv1 (1 x 1) -> [bn2] -> Swish -> conv2 (k, grouped, strided)
            -> [bn3] -> Swish -> conv3 (1 x 1) -> x squeeze-excite gate
            + shortcut (max-pooled where the block downsamples, zero channels added where it widens)

With ``use_bn=False`` (the published models) the BatchNorm modules exist and their tensors are in
the checkpoint, but they are not applied; Dropout likewise with ``use_do=False``. The very first block
of the network starts directly with conv1 (the stem's Swish came just before).

Written for DeepLIFT (``lvsdctl.explain``): every nonlinearity is its own module, called once per
forward pass. Swish is ``nn.SiLU`` (DeepLIFT's Rescale rule), the gate's sigmoid an ``nn.Sigmoid``,
the gate multiplication a ``GateProduct`` (an exact product rule over the input/reference pair), and
the shortcut's max-pool is max(a, b) = b + relu(a - b), exact under the ReLU's Rescale rule. None of
this changes a value: outputs equal the reference's within float rounding (tests: 1e-5).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from lvsdctl.models.registry import register_model


@dataclass(frozen=True)
class ECGFounderConfig:
    """Net1D's constructor arguments, under the reference's names; defaults: the 12-lead model."""

    in_channels: int = 12  # 12 leads, or 1 (the 1-lead model)
    base_filters: int = 64  # channels of the stem convolution
    ratio: float = 1.0  # a block's middle channels = int(out_channels * ratio)
    filter_list: tuple[int, ...] = (64, 160, 160, 400, 400, 1024, 1024)  # output channels per stage
    m_blocks_list: tuple[int, ...] = (2, 2, 2, 3, 3, 4, 4)  # blocks per stage
    kernel_size: int = 16
    stride: int = 2  # of each stage's first block (the stem's stride is always 2)
    groups_width: int = 16  # the k-wide conv has out_channels // groups_width groups
    n_classes: int = 150  # the pretrained head: 150 ECG labels
    use_bn: bool = False
    use_do: bool = False  # dropout p = 0.5 before each conv
    return_features: bool = False  # forward returns (logits, features), like the reference's flag
    verbose: bool = False  # the reference's print switch: accepted so its arguments work unchanged
    checkpoint_activations: bool = False  # recompute each stage in backward: memory for compute

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_list", tuple(int(v) for v in self.filter_list))
        object.__setattr__(self, "m_blocks_list", tuple(int(v) for v in self.m_blocks_list))
        if not self.filter_list or len(self.filter_list) != len(self.m_blocks_list):
            raise ValueError("filter_list and m_blocks_list must be non-empty and of equal length")
        if min(self.m_blocks_list) < 1 or min(self.in_channels, self.base_filters, self.kernel_size, self.stride,
                                              self.groups_width) < 1:
            raise ValueError("channels, blocks, kernel size, stride and groups_width must be at least 1")
        for out in self.filter_list:
            groups, middle = out // self.groups_width, int(out * self.ratio)
            if groups < 1 or middle < 1 or middle % groups or out < 2:
                raise ValueError(
                    f"stage of {out} channels: groups_width {self.groups_width} and ratio {self.ratio} give "
                    f"{middle} middle channels in {groups} groups, which Conv1d cannot split"
                )

    @property
    def feature_dim(self) -> int:
        return self.filter_list[-1]

    @property
    def n_stages(self) -> int:
        return len(self.filter_list)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


# full = the published models; tiny = the test fixtures' architecture (4 stages, 16-32 channels).
SIZES: dict[str, ECGFounderConfig] = {
    "tiny": ECGFounderConfig(base_filters=16, filter_list=(16, 24, 24, 32), m_blocks_list=(1, 2, 1, 2),
                             groups_width=8),
    "full": ECGFounderConfig(),
}


def config_for_size(size: str, **overrides) -> ECGFounderConfig:
    """The named size (tiny, full) with fields replaced by ``overrides``."""
    if size not in SIZES:
        raise ValueError(f"unknown ECGFounder size {size!r}; choose one of {', '.join(SIZES)}")
    return replace(SIZES[size], **overrides)


class Conv1dPadSame(nn.Module):
    """Conv1d with "same" zero padding for any stride: (B, Cin, T) -> (B, Cout, ceil(T / stride)).

    p = max(0, (out - 1) * stride + k - T) zeros, p // 2 on the left and the rest on the right.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv1d(cin, cout, kernel, stride=stride, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[-1]
        out = (t + self.stride - 1) // self.stride
        p = max(0, (out - 1) * self.stride + self.kernel - t)
        return self.conv(F.pad(x, (p // 2, p - p // 2)) if p else x)


class MaxPool1dPadSame(nn.Module):
    """Max over windows of ``kernel`` samples (stride = kernel) after zero padding kernel - 1 samples
    ((kernel - 1) // 2 left, the rest right): (B, C, T) -> (B, C, ceil(T / kernel)).

    The reference uses ``nn.MaxPool1d``; here the max of a window is folded as m = b + relu(m - b),
    one ReLU module per comparison, so DeepLIFT's Rescale rule attributes it exactly.
    """

    def __init__(self, kernel: int):
        super().__init__()
        self.kernel = kernel
        self.relus = nn.ModuleList(nn.ReLU() for _ in range(kernel - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel
        if k == 1:
            return x
        x = F.pad(x, ((k - 1) // 2, k - 1 - (k - 1) // 2))
        n = x.shape[-1] // k
        windows = x[..., : n * k].unflatten(-1, (n, k))  # (B, C, n, k)
        m = windows[..., 0]
        for i, relu in enumerate(self.relus, start=1):
            b = windows[..., i]
            m = b + relu(m - b)  # max(m, b)
        return m


class _PairedProduct(torch.autograd.Function):
    """x * g whose backward is DeepLIFT's product rule for a batch [inputs; references].

    x * g - x0 * g0 = (x - x0) * (g + g0) / 2 + (g - g0) * (x + x0) / 2 exactly, so the multipliers
    are the pair means of the other factor. captum's DeepLift runs inputs and references as one
    batch, inputs first; ``GateProduct.deeplift_mode`` is switched on only while it does.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:  # (2B, C, T) * (2B, C, 1)
        ctx.save_for_backward(x, g)
        return x * g

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, g = ctx.saved_tensors
        if x.shape[0] % 2:
            raise RuntimeError("GateProduct in DeepLIFT mode needs a batch of input/reference pairs")
        return grad * _pair_mean(g), (grad * _pair_mean(x)).sum(-1, keepdim=True)


def _pair_mean(t: torch.Tensor) -> torch.Tensor:
    a, b = t.chunk(2)
    mid = (a + b) / 2
    return torch.cat([mid, mid])


class GateProduct(nn.Module):
    """The squeeze-excite gating: (B, C, T) x (B, C) -> (B, C, T)."""

    def __init__(self):
        super().__init__()
        self.deeplift_mode = False  # set by lvsdctl.explain.rules while captum's DeepLift runs

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        g = gate.unsqueeze(-1)
        return _PairedProduct.apply(x, g) if self.deeplift_mode else x * g


class BasicBlock(nn.Module):
    """conv1 (1 x 1) -> conv2 (k, grouped) -> conv3 (1 x 1), squeeze-excite, shortcut."""

    def __init__(self, cin: int, cout: int, config: ECGFounderConfig, downsample: bool, first: bool):
        super().__init__()
        middle, groups = int(cout * config.ratio), cout // config.groups_width
        stride = config.stride if downsample else 1
        self.first, self.use_bn, self.use_do = first, config.use_bn, config.use_do
        self.bn1 = nn.BatchNorm1d(cin)  # in every checkpoint, unused by the network's first block
        if not first:
            self.activation1 = nn.SiLU()
        self.do1 = nn.Dropout(0.5)
        self.conv1 = Conv1dPadSame(cin, middle, 1)
        self.bn2 = nn.BatchNorm1d(middle)
        self.activation2 = nn.SiLU()
        self.do2 = nn.Dropout(0.5)
        self.conv2 = Conv1dPadSame(middle, middle, config.kernel_size, stride, groups)
        self.bn3 = nn.BatchNorm1d(middle)
        self.activation3 = nn.SiLU()
        self.do3 = nn.Dropout(0.5)
        self.conv3 = Conv1dPadSame(middle, cout, 1)
        self.se_fc1 = nn.Linear(cout, cout // 2)
        self.se_activation = nn.SiLU()
        self.se_fc2 = nn.Linear(cout // 2, cout)
        self.se_sigmoid = nn.Sigmoid()
        self.se_gate = GateProduct()
        self.max_pool = MaxPool1dPadSame(stride) if downsample else None
        extra = cout - cin  # channels the shortcut gains: zeros, half before and half after
        self.shortcut_pad = (0, 0, extra // 2, extra - extra // 2)
        self.deeplift_mode = False  # set by lvsdctl.explain.rules while captum's DeepLift runs

    def _pre(self, x: torch.Tensor, bn: nn.Module, act: nn.Module, do: nn.Module) -> torch.Tensor:
        if self.use_bn:
            x = bn(x)
        x = act(x)
        return do(x) if self.use_do else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.first:
            # captum hooks a nonlinearity's input tensor and rescales its whole gradient, so under
            # DeepLIFT that tensor must have no other use: the shortcut reads x too, Swish gets a copy.
            out = self._pre(x.clone() if self.deeplift_mode else x, self.bn1, self.activation1, self.do1)
        else:
            out = x
        out = self.conv1(out)  # (B, M, T)
        out = self.conv2(self._pre(out, self.bn2, self.activation2, self.do2))  # (B, M, T / stride)
        out = self.conv3(self._pre(out, self.bn3, self.activation3, self.do3))  # (B, Cout, T / stride)
        gate = self.se_sigmoid(self.se_fc2(self.se_activation(self.se_fc1(out.mean(-1)))))  # (B, Cout)
        out = self.se_gate(out, gate)
        shortcut = self.max_pool(x) if self.max_pool is not None else x  # (B, Cin, T / stride)
        if self.shortcut_pad[2] or self.shortcut_pad[3]:
            shortcut = F.pad(shortcut, self.shortcut_pad)  # (B, Cout, T / stride)
        return out + shortcut


class BasicStage(nn.Module):
    """``m_blocks`` blocks; the first changes the width and downsamples."""

    def __init__(self, cin: int, cout: int, m_blocks: int, config: ECGFounderConfig, first_stage: bool):
        super().__init__()
        self.block_list = nn.ModuleList(
            BasicBlock(cin if i == 0 else cout, cout, config, downsample=i == 0, first=first_stage and i == 0)
            for i in range(m_blocks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.block_list:
            x = block(x)
        return x


@register_model("ecgfounder", ECGFounderConfig,
                "ECGFounder (Net1D): RegNet-style 1-D CNN pretrained on 10 M ECGs, 150-label head")
class ECGFounder(nn.Module):
    deeplift_exact = True  # every nonlinearity a module used once, with an exact rule (see above)

    def __init__(self, config: ECGFounderConfig = ECGFounderConfig()):
        super().__init__()
        self.config = config
        self.first_conv = Conv1dPadSame(config.in_channels, config.base_filters, config.kernel_size, stride=2)
        self.first_bn = nn.BatchNorm1d(config.base_filters)
        self.first_activation = nn.SiLU()
        self.stage_list = nn.ModuleList()
        cin = config.base_filters
        for i, (cout, m_blocks) in enumerate(zip(config.filter_list, config.m_blocks_list)):
            self.stage_list.append(BasicStage(cin, cout, m_blocks, config, first_stage=i == 0))
            cin = cout
        self.dense = nn.Linear(cin, config.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, T) -> (B, filter_list[-1]): the last stage averaged over time."""
        out = self.first_conv(x)  # (B, base_filters, ceil(T / 2))
        if self.config.use_bn:
            out = self.first_bn(out)
        out = self.first_activation(out)
        recompute = self.config.checkpoint_activations and self.training and torch.is_grad_enabled()
        for stage in self.stage_list:  # (B, filter_list[i], T / 2 / stride^(i + 1))
            out = checkpoint(stage, out, use_reentrant=False) if recompute else stage(out)
        return out.mean(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, in_channels, T) -> (B, n_classes) logits (and the features with ``return_features``)."""
        feats = self.features(x)
        logits = self.dense(feats)
        return (logits, feats) if self.config.return_features else logits


def unused_modules(net: ECGFounder) -> list[nn.Module]:
    """Modules whose tensors are in the checkpoint but which the forward pass never applies: every
    BatchNorm when ``use_bn=False``, and the first block's bn1 always. They never train."""
    first_bn1 = net.stage_list[0].block_list[0].bn1
    if net.config.use_bn:
        return [first_bn1]
    return [m for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
