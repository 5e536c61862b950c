"""ECG-FM's encoder (wav2vec 2.0 style) in plain PyTorch, without fairseq-signals.

Module names equal the keys of the official checkpoints (``docs/ecgfm.md``), so a state dict from
``mimic_iv_ecg_physionet_pretrained.pt`` loads with ``strict=True`` once the documented key mapping
(``lvsdctl.models.ecgfm_weights``) is applied. The order of operations follows the reference exactly:

    conv extractor -> layer_norm -> post_extract_proj -> dropout_input
    -> x + GELU(pos_conv(x)) -> encoder.layer_norm -> post-LN transformer layers

Attention runs through ``scaled_dot_product_attention`` (flash / memory-efficient kernels where the
device has them). Nothing here runs under ``no_grad``: what is trained is decided only by
``requires_grad`` (see ``lvsdctl.models.ecgfm_lvsd.apply_freeze``).
"""

from __future__ import annotations

import ast
import math
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _WeightNorm, weight_norm
from torch.utils.checkpoint import checkpoint

ConvSpec = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class ECGFMConfig:
    """Sizes and dropouts of the encoder (and of the pretraining-only modules)."""

    in_channels: int = 12
    conv_layers: ConvSpec = ((256, 2, 2),) * 4  # (channels, kernel, stride) per block
    conv_bias: bool = False
    embed_dim: int = 768
    ffn_dim: int = 3072
    num_layers: int = 12
    num_heads: int = 12
    conv_pos: int = 128  # positional conv kernel
    conv_pos_groups: int = 16
    # Fine-tuning defaults reported by ECG-FM's authors: dropout 0 except activation dropout 0.1.
    dropout: float = 0.0
    attention_dropout: float = 0.0
    activation_dropout: float = 0.1
    dropout_input: float = 0.0
    dropout_features: float = 0.0
    checkpoint_activations: bool = False
    # Pretraining-only (Gumbel quantizer, projections); unused by the encoder itself.
    latent_vars: int = 320
    latent_groups: int = 2
    latent_dim: int = 0  # 0 = final_dim
    final_dim: int = 256

    def __post_init__(self) -> None:
        object.__setattr__(self, "conv_layers", tuple(tuple(int(v) for v in c) for c in self.conv_layers))
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if self.embed_dim % self.conv_pos_groups:
            raise ValueError(
                f"embed_dim {self.embed_dim} is not divisible by conv_pos_groups {self.conv_pos_groups}"
            )

    @property
    def feature_dim(self) -> int:
        return self.conv_layers[-1][0]

    @property
    def downsampling(self) -> int:
        return math.prod(stride for _, _, stride in self.conv_layers)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["conv_layers"] = [list(c) for c in self.conv_layers]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ECGFMConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ECG-FM config field(s): {', '.join(sorted(unknown))}")
        return cls(**d)


_TINY = ECGFMConfig(
    conv_layers=((32, 2, 2),) * 4, embed_dim=64, ffn_dim=128, num_layers=2, num_heads=4,
    conv_pos=16, conv_pos_groups=4, latent_vars=8, latent_groups=2, final_dim=32,
)
# base = the public ECG-FM checkpoints; large = the LVSD paper's own 24 x 1024 model.
SIZES: dict[str, ECGFMConfig] = {
    "tiny": _TINY,
    "base": ECGFMConfig(),
    "large": ECGFMConfig(embed_dim=1024, ffn_dim=4096, num_layers=24, num_heads=16),
}


def config_for_size(size: str, **overrides) -> ECGFMConfig:
    """The named size (tiny, base, large) with fields replaced by ``overrides``."""
    if size not in SIZES:
        raise ValueError(f"unknown ECG-FM size {size!r}; choose one of {', '.join(SIZES)}")
    return replace(SIZES[size], **overrides)


def parse_conv_layers(spec: str | list | tuple) -> ConvSpec:
    """Parse fairseq's ``conv_feature_layers`` string, e.g. ``"[(256, 2, 2)] * 4"``, without eval.

    Only list/tuple literals of integers, ``+`` (concatenation) and ``*`` (repetition) are accepted.
    """
    if not isinstance(spec, str):
        return tuple(tuple(int(v) for v in c) for c in spec)

    def ev(node: ast.AST):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [ev(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add)):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Mult):  # a file's `[(1, 1, 1)] * 10**9` must not build a billion items
                count = right if isinstance(right, int) else left if isinstance(left, int) else None
                items = left if isinstance(right, int) else right
                if count is None or not isinstance(items, (list, tuple)) or not 0 <= count * len(items) <= 4096:
                    raise ValueError("conv_feature_layers: a repetition that is not a short list times a count")
                return left * right
            return left + right
        raise ValueError(f"unsupported conv_feature_layers expression: {spec!r}")

    try:
        value = ev(ast.parse(spec, mode="eval").body)
    except SyntaxError as exc:
        raise ValueError(f"unparsable conv_feature_layers: {spec!r}") from exc
    layers = tuple(tuple(int(v) for v in c) for c in value)
    if not layers or any(len(c) != 3 for c in layers):
        raise ValueError(f"conv_feature_layers must be a list of (dim, kernel, stride): {spec!r}")
    return layers


class Fp32GroupNorm(nn.GroupNorm):
    """GroupNorm computed in float32 (as the reference), whatever the autocast dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.group_norm(x.float(), self.num_groups, self.weight.float(), self.bias.float(), self.eps)
        return out.type_as(x)


class ConvFeatureExtractor(nn.Module):
    """Strided conv blocks: block 0 is conv -> dropout -> GroupNorm -> GELU, the others conv -> dropout -> GELU."""

    def __init__(self, cfg: ECGFMConfig):
        super().__init__()
        blocks, in_d = [], cfg.in_channels
        for i, (dim, kernel, stride) in enumerate(cfg.conv_layers):
            conv = nn.Conv1d(in_d, dim, kernel, stride=stride, bias=cfg.conv_bias)
            if not conv.weight.is_meta:
                nn.init.kaiming_normal_(conv.weight)
            if i == 0:  # indices 0/2 are the checkpoint's conv_layers.0.0 / conv_layers.0.2
                blocks.append(nn.Sequential(conv, nn.Dropout(0.0), Fp32GroupNorm(dim, dim), nn.GELU()))
            else:
                blocks.append(nn.Sequential(conv, nn.Dropout(0.0), nn.GELU()))
            in_d = dim
        self.conv_layers = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        for i, block in enumerate(self.conv_layers):
            x = block(x)
            if trace is not None:
                trace[f"conv_block{i}"] = x
        return x


class TrimLast(nn.Module):
    """Drop the last frame: an even-kernel conv with padding k/2 yields one frame too many."""

    def __init__(self, kernel: int):
        super().__init__()
        self.remove = 1 if kernel % 2 == 0 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, : -self.remove] if self.remove else x


class _ShapeOnlyWeightNorm(_WeightNorm):
    """`weight_norm`'s parametrization without its norm computed: on the meta device torch computes it
    through its reference kernels, whose first use costs seconds of imports."""

    def forward(self, weight_g: torch.Tensor, weight_v: torch.Tensor) -> torch.Tensor:
        return weight_v  # the shape of the weight; a meta tensor holds no values anyway

    def right_inverse(self, weight: torch.Tensor):
        shape = [1] * weight.dim()
        shape[self.dim] = weight.shape[self.dim]
        return weight.new_empty(shape), weight


class ConvPositionalEmbedding(nn.Module):
    """Grouped conv over time, weight-normalised over dim 2 (one g per tap), then GELU."""

    def __init__(self, cfg: ECGFMConfig):
        super().__init__()
        conv = nn.Conv1d(cfg.embed_dim, cfg.embed_dim, cfg.conv_pos, padding=cfg.conv_pos // 2,
                         groups=cfg.conv_pos_groups)
        std = math.sqrt(4 * (1.0 - cfg.dropout) / (cfg.conv_pos * cfg.embed_dim))
        if not conv.weight.is_meta:
            nn.init.normal_(conv.weight, mean=0.0, std=std)
            nn.init.zeros_(conv.bias)
            conv = weight_norm(conv, name="weight", dim=2)
        else:  # shapes only (a model file's config checked against its weights): the same names and shapes
            parametrize.register_parametrization(conv, "weight", _ShapeOnlyWeightNorm(2))
        self.pos_conv = nn.Sequential(conv, TrimLast(cfg.conv_pos), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, time, dim) -> (batch, time, dim)."""
        return self.pos_conv(x.transpose(1, 2)).transpose(1, 2)


class SelfAttention(nn.Module):
    def __init__(self, cfg: ECGFMConfig):
        super().__init__()
        d = cfg.embed_dim
        self.num_heads, self.dropout = cfg.num_heads, cfg.attention_dropout
        self.k_proj, self.v_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.q_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (p(x).view(b, t, self.num_heads, -1).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        # Default scale 1/sqrt(head_dim) is the reference's q scaling.
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(y.transpose(1, 2).reshape(b, t, d))


class TransformerLayer(nn.Module):
    """Post-LN layer: x = LN(x + attn(x)); x = LN(x + fc2(gelu(fc1(x))))."""

    def __init__(self, cfg: ECGFMConfig):
        super().__init__()
        self.self_attn = SelfAttention(cfg)
        self.self_attn_layer_norm = nn.LayerNorm(cfg.embed_dim)
        self.fc1 = nn.Linear(cfg.embed_dim, cfg.ffn_dim)
        self.fc2 = nn.Linear(cfg.ffn_dim, cfg.embed_dim)
        self.final_layer_norm = nn.LayerNorm(cfg.embed_dim)
        self.dropout, self.activation_dropout = cfg.dropout, cfg.activation_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.self_attn_layer_norm(x + F.dropout(self.self_attn(x), self.dropout, self.training))
        h = F.dropout(F.gelu(self.fc1(x)), self.activation_dropout, self.training)
        return self.final_layer_norm(x + F.dropout(self.fc2(h), self.dropout, self.training))


class TransformerStack(nn.Module):
    """``encoder.layer_norm`` is applied BEFORE layer 0 (layer_norm_first=False); none after the last."""

    def __init__(self, cfg: ECGFMConfig):
        super().__init__()
        self.layers = nn.ModuleList(TransformerLayer(cfg) for _ in range(cfg.num_layers))
        self.layer_norm = nn.LayerNorm(cfg.embed_dim)
        self.dropout, self.checkpoint_activations = cfg.dropout, cfg.checkpoint_activations
        self.apply(_init_bert)

    def forward(self, x: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        x = F.dropout(self.layer_norm(x), self.dropout, self.training)
        if trace is not None:
            trace["encoder_in_ln"] = x
        for i, layer in enumerate(self.layers):
            if self.checkpoint_activations and self.training and torch.is_grad_enabled():
                x = checkpoint(layer, x, use_reentrant=False)  # recompute in backward: memory for time
            else:
                x = layer(x)
            if trace is not None:
                trace[f"layer{i}_out"] = x
        return x


def _init_bert(module: nn.Module) -> None:
    """BERT initialisation of the transformer's linears, as the reference.

    Meta tensors (parameter counting, shape checks) are skipped: they hold no values, and ``normal_``
    on the meta device costs seconds of imports.
    """
    if isinstance(module, nn.Linear) and not module.weight.is_meta:
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        nn.init.zeros_(module.bias)


class ECGFMEncoder(nn.Module):
    """(batch, 12, samples) z-scored leads at 500 Hz -> (batch, samples / 16, embed_dim) features."""

    def __init__(self, cfg: ECGFMConfig = ECGFMConfig()):
        super().__init__()
        self.cfg = cfg
        self.feature_extractor = ConvFeatureExtractor(cfg)
        self.layer_norm = nn.LayerNorm(cfg.feature_dim)
        self.post_extract_proj = nn.Linear(cfg.feature_dim, cfg.embed_dim)
        self.dropout_input = nn.Dropout(cfg.dropout_input)
        self.conv_pos = ConvPositionalEmbedding(cfg)
        self.encoder = TransformerStack(cfg)

    def embed(self, source: torch.Tensor, trace: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Conv features, layer-normed (B, T', C) and their projection (B, T', D), before positions."""
        if source.ndim != 3 or source.shape[1] != self.cfg.in_channels:
            raise ValueError(
                f"ECG-FM expects (batch, {self.cfg.in_channels}, samples), got {tuple(source.shape)}"
            )
        feats = self.feature_extractor(source, trace)
        normed = self.layer_norm(feats.transpose(1, 2))
        x = self.dropout_input(self.post_extract_proj(normed))
        if trace is not None:
            trace.update(conv_feats=feats, feat_layer_norm=normed, post_extract_proj=x)
        return normed, x

    def contextualise(self, x: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        """Add the positional conv and run the transformer on projected features (B, T', D)."""
        pos = self.conv_pos(x)
        x = x + pos
        if trace is not None:
            trace.update(pos_conv_out=pos, after_posconv=x)
        return self.encoder(x, trace)

    def forward(self, source: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        """``trace``, when a dict, receives every intermediate output (for tests and inspection)."""
        _, x = self.embed(source, trace)
        return self.contextualise(x, trace)


class ECGFMClassifier(nn.Module):
    """The reference's multi-label classifier: encoder, mean over time, dropout, ``proj`` head.

    Matches the fine-tuned files (``encoder.*`` + ``proj.*``) so their logits can be reproduced.
    """

    def __init__(self, cfg: ECGFMConfig = ECGFMConfig(), num_labels: int = 26, final_dropout: float = 0.0):
        super().__init__()
        self.encoder = ECGFMEncoder(cfg)
        self.dropout = nn.Dropout(final_dropout)
        self.proj = nn.Linear(cfg.embed_dim, num_labels)

    def forward(self, source: torch.Tensor) -> torch.Tensor:
        return self.proj(self.dropout(self.encoder(source).mean(dim=1)))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = [
    "ECGFMConfig", "SIZES", "config_for_size", "parse_conv_layers", "ECGFMEncoder", "ECGFMClassifier",
    "TransformerLayer", "SelfAttention", "count_parameters",
]
