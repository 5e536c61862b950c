"""ECG-FM fine-tuned for LVSD: the study's model, with its freezing strategies done right.

    (B, 4, T) -> [z-score per channel] -> Conv1d 4->12 -> ECG-FM encoder -> mean over time
              -> dropout -> Linear -> (B, 2) logits (index 1 = LVSD)

Optionally the input is cut into equal segments (5 s = 2500 samples, ECG-FM's own convention) whose
logits are averaged; the study fed the full 10 s. Names: ``input_proj``, ``encoder`` (an
``ECGFMEncoder``, so its keys are a fine-tuned official file's ``encoder.*`` keys) and ``proj``.

Freezing is decided only by ``requires_grad`` (``apply_freeze``). Unlike fairseq-signals'
``feature_grad_mult=0``, nothing runs under ``no_grad``: gradients always reach the input projection,
through frozen layers if need be.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch
from torch import nn

from lvsdctl.models.ecgfm import ECGFMConfig, ECGFMEncoder, config_for_size
from lvsdctl.models.registry import register_model


@dataclass
class ECGFMLVSDConfig:
    size: str = "base"  # tiny / base / large; ignored when `encoder` is given
    encoder: dict | None = None  # every ECGFMConfig field (checkpoints store it, so any size rebuilds)
    in_channels: int = 4
    proj_kernel: int = 1  # the study: a pointwise (1x1) projection
    n_classes: int = 2
    final_dropout: float = 0.0
    zscore: bool = True  # ECG-FM was pretrained on per-lead z-scored input
    segment_samples: int = 0  # 0 = whole input (the study's 10 s); 2500 = 5 s segments, logits averaged
    checkpoint_activations: bool = False

    def encoder_config(self) -> ECGFMConfig:
        cfg = ECGFMConfig.from_dict(dict(self.encoder)) if self.encoder else config_for_size(self.size)
        return replace(cfg, checkpoint_activations=self.checkpoint_activations)


class ChannelZScore(nn.Module):
    """Per recording and channel: (x - mean) / std; a flat channel becomes 0 (no division by ~0)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1, keepdim=True)
        std = x.std(dim=-1, keepdim=True, unbiased=False)
        flat = std <= self.eps
        return torch.where(flat, torch.zeros_like(x), (x - mean) / torch.where(flat, torch.ones_like(std), std))


@register_model("ecgfm-lvsd", ECGFMLVSDConfig,
                "ECG-FM fine-tuned for LVSD: Conv1d 4->12, ECG-FM encoder, mean pooling, linear head")
class ECGFMLVSD(nn.Module):
    def __init__(self, config: ECGFMLVSDConfig = ECGFMLVSDConfig()):
        super().__init__()
        if config.proj_kernel < 1:
            raise ValueError(f"proj_kernel must be >= 1, got {config.proj_kernel}")
        enc_cfg = config.encoder_config()
        self.config = replace(config, encoder=enc_cfg.to_dict())  # self-describing for checkpoints
        self.normalise = ChannelZScore() if config.zscore else nn.Identity()
        self.input_proj = nn.Conv1d(config.in_channels, enc_cfg.in_channels, config.proj_kernel, padding="same")
        self.encoder = ECGFMEncoder(enc_cfg)
        self.dropout = nn.Dropout(config.final_dropout)
        self.proj = nn.Linear(enc_cfg.embed_dim, config.n_classes)

    # What `explain` says with DeepLIFT maps of this model (lvsdctl.explain.attribute; docs/explain.md).
    deeplift_note = ("DeepLIFT is not complete for ECG-FM: its attributions do not sum to the log-odds minus the "
                     "all-zero reference's (the convergence delta shows the gap, about the whole difference). "
                     "The z-score is applied outside the attribution, but the first convolution's GroupNorm makes "
                     "the network nearly scale-invariant, so gradient x input from an all-zero reference sums to "
                     "about zero, and captum has no rules for its attention and GELUs; read the map as relative "
                     "saliency (which samples matter more), not as each sample's share of the score. Integrated "
                     "Gradients (--method ig) is not complete for it either at 64 steps")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, samples) -> (batch, n_classes) logits."""
        if x.ndim != 3 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"expected (batch, {self.config.in_channels}, samples), got {tuple(x.shape)}")
        x = self.input_proj(self.normalise(x))
        b, c, t = x.shape
        seg = self.config.segment_samples
        if seg:
            if t % seg:
                raise ValueError(f"input of {t} samples does not split into segments of {seg}")
            n = t // seg  # (B, C, n*seg) -> (B*n, C, seg): the segments run as one batch
            x = x.reshape(b, c, n, seg).transpose(1, 2).reshape(b * n, c, seg)
        logits = self.proj(self.dropout(self.encoder(x).mean(dim=1)))
        return logits.view(b, -1, logits.shape[-1]).mean(dim=1) if seg else logits


FREEZE_CHOICES = "0..num_layers or 'all'"


def parse_freeze(value: int | str, num_layers: int, unit: str = "layer encoder") -> int:
    """``--freeze`` value -> the number of transformer layers (or ``unit``s) to freeze ('all' = every one)."""
    if isinstance(value, str):
        if value.strip().lower() == "all":
            return num_layers
        if not value.strip().isdigit():
            raise ValueError(f"--freeze must be an integer 0..{num_layers} or 'all', got {value!r}")
        value = int(value)
    if not 0 <= value <= num_layers:
        raise ValueError(f"--freeze must be 0..{num_layers} or 'all' for this {num_layers}-{unit}, got {value}")
    return value


def frozen_modules(encoder: ECGFMEncoder, n: int) -> list[nn.Module]:
    """What ``--freeze n`` freezes: the input side of the encoder and its n lowest transformer layers."""
    if n == 0:
        return []
    return [encoder.feature_extractor, encoder.layer_norm, encoder.post_extract_proj, encoder.conv_pos,
            encoder.encoder.layer_norm, *encoder.encoder.layers[:n]]


def apply_freeze(model: ECGFMLVSD, n: int | str) -> dict[str, int]:
    """Set ``requires_grad``: n = 0 trains all (FF), 0 < n < L freezes the input side and the n
    layers nearest the input (PF), n = L or 'all' trains only ``input_proj`` and ``proj`` (AF).

    Idempotent (everything is first made trainable). Returns parameter counts.
    """
    n = parse_freeze(n, len(model.encoder.encoder.layers))
    model.requires_grad_(True)
    for module in frozen_modules(model.encoder, n):
        module.requires_grad_(False)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"freeze": n, "trainable": trainable, "frozen": total - trainable, "total": total}


def build_lvsd_model(weights: str | os.PathLike | None = None, *, sequential: bool = False,
                     pretrained: bool = True, freeze: int | str = 0, seed: int | None = None,
                     **config) -> tuple[ECGFMLVSD, dict]:
    """The LVSD model with the encoder taken from a checkpoint (sizes from the file) and frozen.

    ``weights``: a catalog name (``lvsdctl.weights``) or a path (official ``.pt`` or lvsdctl ``.h5``);
    None -> the official file in the weights directory, ``sequential`` choosing ``physionet_finetuned.pt``
    (resolved by ``lvsdctl.weights.resolve``, never downloaded). Sizes come from the file
    unless ``config`` names a ``size``: then a file of another size raises ``MismatchError``.
    ``pretrained=False`` builds a randomly initialised model of ``config["size"]`` (from scratch).
    The new input projection and head are initialised from ``seed``. Returns (model, info).
    """
    from lvsdctl.models.ecgfm_weights import check_and_load, check_fits, read_weights, resolve_weights

    if seed is not None:
        torch.manual_seed(seed)
    info: dict = {"weights": None, "origin": "random"}
    if pretrained:
        path = resolve_weights(weights, sequential=sequential)
        w = read_weights(path)  # sizes from the file; dropouts are lvsdctl's fine-tuning defaults
        if "size" in config:  # the user fixed the size: a file of another size is refused
            cfg = ECGFMLVSDConfig(**config)
            with torch.device("meta"):  # shapes only: refuse before allocating a full model
                check_fits(ECGFMEncoder(cfg.encoder_config()), w.encoder, str(path), f"ECG-FM {cfg.size} encoder")
            model = ECGFMLVSD(cfg)
        else:
            model = ECGFMLVSD(ECGFMLVSDConfig(**{**config, "encoder": w.config.to_dict()}))
        check_and_load(model.encoder, w.encoder, str(path), "ECG-FM encoder")
        info.update(weights=str(path), origin=w.origin)
    else:
        model = ECGFMLVSD(ECGFMLVSDConfig(**config))
    info.update(apply_freeze(model, freeze))
    return model, info
