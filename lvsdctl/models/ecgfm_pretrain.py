"""ECG-FM's pretraining model: the encoder plus the modules only self-supervision needs.

Names equal the pretrained checkpoint's keys (``mask_emb``, ``quantizer.vars``,
``quantizer.weight_proj``, ``project_q``, ``final_proj``, the encoder's keys without prefix), so
``mimic_iv_ecg_physionet_pretrained.pt`` loads into it strictly and ``lvsdctl pretrain`` writes
checkpoints in the same layout. The losses (W2V + CMSC + RLM) belong to the training code; this
module computes what they consume.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lvsdctl.models.ecgfm import ECGFMConfig, ECGFMEncoder
from lvsdctl.models.registry import register_model

PRETRAINING_PREFIXES = ("mask_emb", "quantizer.", "project_q.", "final_proj.")


class GumbelVectorQuantizer(nn.Module):
    """wav2vec 2.0's product quantizer: ``groups`` codebooks of ``num_vars`` entries, Gumbel-softmax picks."""

    def __init__(self, dim: int, num_vars: int, groups: int, vq_dim: int,
                 temp: tuple[float, float, float] = (2.0, 0.5, 0.999995)):
        super().__init__()
        if vq_dim % groups:
            raise ValueError(f"quantizer dim {vq_dim} is not divisible by {groups} groups")
        self.groups, self.num_vars = groups, num_vars
        self.vars = nn.Parameter(torch.empty(1, groups * num_vars, vq_dim // groups))
        self.weight_proj = nn.Linear(dim, groups * num_vars)
        if not self.vars.is_meta:  # meta: shapes only (see ecgfm._init_bert)
            nn.init.uniform_(self.vars)
            nn.init.normal_(self.weight_proj.weight, mean=0.0, std=1.0)
            nn.init.zeros_(self.weight_proj.bias)
        self.max_temp, self.min_temp, self.temp_decay = temp
        self.curr_temp = self.max_temp

    def set_num_updates(self, num_updates: int) -> None:
        """Anneal the Gumbel temperature: max * decay**updates, floored at min."""
        self.curr_temp = max(self.max_temp * self.temp_decay**num_updates, self.min_temp)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T, dim) -> quantized (B, T, vq_dim) with code and softmax perplexities (diversity loss)."""
        b, t, _ = x.shape
        logits = self.weight_proj(x).reshape(b * t, self.groups, self.num_vars).float()
        hard = F.one_hot(logits.argmax(-1), self.num_vars).to(logits.dtype)
        hard_probs = hard.mean(dim=0)
        code_ppl = torch.exp(-(hard_probs * torch.log(hard_probs + 1e-7)).sum(-1)).sum()
        avg_probs = logits.softmax(-1).mean(dim=0)
        prob_ppl = torch.exp(-(avg_probs * torch.log(avg_probs + 1e-7)).sum(-1)).sum()
        onehot = F.gumbel_softmax(logits, tau=self.curr_temp, hard=True) if self.training else hard
        codebooks = self.vars.view(self.groups, self.num_vars, -1).to(x.dtype)
        q = torch.einsum("ngv,gvd->ngd", onehot.to(x.dtype), codebooks).reshape(b, t, -1)
        return {"x": q, "code_perplexity": code_ppl, "prob_perplexity": prob_ppl,
                "num_vars": torch.tensor(self.groups * self.num_vars)}


# Registered so that `load_checkpoint` rebuilds what `lvsdctl pretrain` writes (model_name + ECGFMConfig).
@register_model("ecgfm-pretrain", ECGFMConfig,
                "ECG-FM pretraining model (encoder + mask_emb, Gumbel quantizer, project_q, final_proj)")
class ECGFMPretrainModel(ECGFMEncoder):
    """Encoder (same, unprefixed names) + mask embedding, quantizer, ``project_q`` and ``final_proj``."""

    def __init__(self, cfg: ECGFMConfig = ECGFMConfig()):
        super().__init__(cfg)
        vq_dim = cfg.latent_dim or cfg.final_dim
        self.mask_emb = nn.Parameter(torch.empty(cfg.embed_dim))
        if not self.mask_emb.is_meta:
            nn.init.uniform_(self.mask_emb)
        self.dropout_features = nn.Dropout(cfg.dropout_features)
        self.quantizer = GumbelVectorQuantizer(cfg.feature_dim, cfg.latent_vars, cfg.latent_groups, vq_dim)
        self.project_q = nn.Linear(vq_dim, cfg.final_dim)
        self.final_proj = nn.Linear(cfg.embed_dim, cfg.final_dim)

    def encoder_only(self) -> ECGFMEncoder:
        """A plain encoder holding (copies of) this model's encoder weights."""
        enc = ECGFMEncoder(self.cfg)
        keys = set(enc.state_dict())
        enc.load_state_dict({k: v for k, v in self.state_dict().items() if k in keys}, strict=True)
        return enc

    def forward_pretrain(self, source: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Everything the wav2vec 2.0 + CMSC losses need.

        ``mask`` (B, T') bool marks time steps replaced by ``mask_emb`` before the positional conv.
        Returns ``x`` (context, B x T' x D), ``projected`` (final_proj(x)), ``targets``
        (project_q(quantized unmasked features)), perplexities and ``features_pen`` (mean squared conv
        features, the reference's feature penalty).
        """
        trace: dict = {}
        normed, x = self.embed(source, trace)
        unmasked = self.dropout_features(normed)
        if mask is not None:
            x = torch.where(mask.unsqueeze(-1), self.mask_emb.to(x.dtype), x)
        x = self.contextualise(x)
        q = self.quantizer(unmasked)
        return {
            "x": x,
            "projected": self.final_proj(x),
            "targets": self.project_q(q["x"]),
            "code_perplexity": q["code_perplexity"],
            "prob_perplexity": q["prob_perplexity"],
            "features_pen": trace["conv_feats"].float().pow(2).mean(),
        }
