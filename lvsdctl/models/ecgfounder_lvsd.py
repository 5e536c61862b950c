"""ECGFounder fine-tuned for LVSD, with the study's freezing strategies.

    (B, C, T) -> [one z-score over the whole ECG] -> [Conv1d C -> 12, when C != 12]
              -> ECGFounder network -> mean over time -> dropout -> dense -> (B, 2) logits (1 = LVSD)

Names: ``input_proj`` (only when the data's channels differ from the network's: the study's 4 x 5000
layout gets the study's 4 -> 12 projection; 12 x 5000 goes in directly), ``backbone`` (an
``ECGFounder`` whose keys are the official checkpoint's; its ``dense`` is the new 2-output head, as
the authors' own fine-tuning replaces it).

ECGFounder's authors z-score in preprocessing (``lvsdctl preprocess --chain ecgfounder``); the model
does it only when asked (``zscore``, for data preprocessed otherwise). A z-score inside the model is a
ratio of the input to its own SD, for which DeepLIFT has no rule: `explain` then attributes on the
z-scored input (``lvsdctl.explain.attribute``), so its maps are exact either way.

Freezing is decided only by ``requires_grad`` (``apply_freeze``): N frozen stages are the stem
(first_conv) and the first N of the network's stages (7 in the published model); all of them is AF
(only the projection and the head train). BatchNorm tensors the network never applies never train.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch
from torch import nn

from lvsdctl.models.ecgfm_lvsd import parse_freeze
from lvsdctl.models.ecgfounder import ECGFounder, ECGFounderConfig, config_for_size, unused_modules
from lvsdctl.models.registry import register_model


@dataclass
class ECGFounderLVSDConfig:
    size: str = "full"  # tiny / full; ignored when `backbone` is given
    backbone: dict | None = None  # every ECGFounderConfig field (checkpoints store it: any size rebuilds)
    in_channels: int = 4  # the data's channels
    proj_kernel: int = 1  # the study: a pointwise (1 x 1) projection
    n_classes: int = 2
    final_dropout: float = 0.0
    zscore: bool = False  # one z-score over the whole ECG inside the model (the chain usually did it)
    checkpoint_activations: bool = False

    def backbone_config(self) -> ECGFounderConfig:
        cfg = ECGFounderConfig(**self.backbone) if self.backbone else config_for_size(self.size)
        return replace(cfg, n_classes=self.n_classes, return_features=False,
                       checkpoint_activations=self.checkpoint_activations)


class ECGZScore(nn.Module):
    """One mean and SD over all channels and samples of each ECG: (x - mean) / (SD + 1e-8), ECGFounder's
    ``z_score_normalization`` (a flat ECG becomes zeros)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T) -> (B, C, T)
        mean = x.mean(dim=(1, 2), keepdim=True)
        sd = x.std(dim=(1, 2), keepdim=True, unbiased=False)
        return (x - mean) / (sd + self.eps)


@register_model("ecgfounder-lvsd", ECGFounderLVSDConfig,
                "ECGFounder fine-tuned for LVSD: [Conv1d C->12], ECGFounder network, mean pooling, linear head")
class ECGFounderLVSD(nn.Module):
    def __init__(self, config: ECGFounderLVSDConfig = ECGFounderLVSDConfig()):
        super().__init__()
        if config.proj_kernel < 1:
            raise ValueError(f"proj_kernel must be >= 1, got {config.proj_kernel}")
        net_cfg = config.backbone_config()
        self.config = replace(config, backbone=net_cfg.to_dict())  # self-describing for checkpoints
        self.normalise = ECGZScore() if config.zscore else nn.Identity()
        self.input_proj = (nn.Conv1d(config.in_channels, net_cfg.in_channels, config.proj_kernel, padding="same")
                           if config.in_channels != net_cfg.in_channels else nn.Identity())
        self.backbone = ECGFounder(net_cfg)
        self.dropout = nn.Dropout(config.final_dropout)

    # With --zscore, `explain` attributes on the z-scored input (lvsdctl.explain.attribute): the rules of
    # lvsdctl.explain.rules keep DeepLIFT exact either way.
    deeplift_exact = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, samples) -> (batch, n_classes) logits."""
        if x.ndim != 3 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"expected (batch, {self.config.in_channels}, samples), got {tuple(x.shape)}")
        x = self.input_proj(self.normalise(x))  # (B, 12, T)
        return self.backbone.dense(self.dropout(self.backbone.features(x)))  # (B, n_classes)


def n_stages(model: ECGFounderLVSD) -> int:
    return len(model.backbone.stage_list)


def frozen_modules(net: ECGFounder, n: int) -> list[nn.Module]:
    """What ``--freeze n`` freezes: the stem and the first n stages."""
    return [] if n == 0 else [net.first_conv, net.first_bn, *net.stage_list[:n]]


def apply_freeze(model: ECGFounderLVSD, n: int | str) -> dict[str, int]:
    """Set ``requires_grad``: n = 0 trains all (FF), 0 < n < stages freezes the stem and the first n
    stages (PF), n = stages or 'all' trains only ``input_proj`` and the head ``dense`` (AF).

    Idempotent (everything is first made trainable). Returns parameter counts; ``frozen`` includes
    the BatchNorm tensors the network never applies (``ecgfounder.unused_modules``).
    """
    n = parse_freeze(n, n_stages(model), unit="stage network")
    model.requires_grad_(True)
    for module in frozen_modules(model.backbone, n) + unused_modules(model.backbone):
        module.requires_grad_(False)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"freeze": n, "trainable": trainable, "frozen": total - trainable, "total": total}


def build_lvsd_model(weights: str | os.PathLike | None = None, *, pretrained: bool = True,
                     freeze: int | str = 0, seed: int | None = None, **config) -> tuple[ECGFounderLVSD, dict]:
    """The LVSD model around an ECGFounder checkpoint (sizes from the file), frozen as ``freeze`` says.

    ``weights``: a path or a name (``ecgfounder-12lead``, ``ecgfounder-1lead``); None -> the official
    file whose leads fit the data (1-lead data: the 1-lead model, else 12-lead). A ``size`` in
    ``config`` is required of the file (another size: ``MismatchError``). ``pretrained=False`` builds
    a randomly initialised network of ``config["size"]`` (from scratch). The projection and the new
    head come from ``seed``. Returns (model, info).
    """
    from lvsdctl.models.ecgfounder_weights import load_backbone

    if seed is not None:
        torch.manual_seed(seed)
    info: dict = {"weights": None, "origin": "random"}
    cfg = ECGFounderLVSDConfig(**config)
    if pretrained:
        net, loaded = load_backbone(weights, size=config.get("size"), n_classes=cfg.n_classes, leads=cfg.in_channels)
        model = ECGFounderLVSD(replace(cfg, backbone=net.config.to_dict()))
        model.backbone.load_state_dict(net.state_dict(), strict=True)
        info.update(weights=loaded["weights"], origin=loaded["origin"])
    else:
        model = ECGFounderLVSD(cfg)
    info.update(apply_freeze(model, freeze))
    return model, info
