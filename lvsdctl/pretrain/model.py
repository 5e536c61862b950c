"""The pretraining forward pass: RLM -> conv features -> span masks -> transformer -> W2V + CMSC losses.

`PretrainNet` wraps an `ECGFMPretrainModel` (official key names, under `w2v.`) and keeps the update
counter that drives the Gumbel temperature as a buffer, so resume restores the schedule.

Randomness and DDP. Every random draw except dropout comes from generators keyed by (seed, update,
ECG key, segment), never by rank, and every batch-wide quantity (the number of spans, the common
masked count, the codebook usage, the CMSC logits) is reduced over all ranks. So N processes that
each hold a share of a global batch compute exactly the loss one process computes on that batch:
negatives are drawn within a segment (always local), an ECG's two halves are one dataset item
(always on one rank), and the pooled CMSC embeddings are gathered with gradients across ranks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from lvsdctl.models.ecgfm_pretrain import ECGFMPretrainModel
from lvsdctl.pretrain import losses, masking, negatives, rlm


@dataclass(frozen=True)
class ObjectiveConfig:
    """Every constant of ECG-FM's pretraining objective (docs/pretrain.md)."""

    mask_prob: float = masking.MASK_PROB
    mask_length: int = masking.MASK_LENGTH
    min_masks: int = masking.MIN_MASKS
    num_negatives: int = negatives.NUM_NEGATIVES
    logit_temp: float = losses.LOGIT_TEMP
    rlm_prob: float = rlm.RLM_PROB
    diversity_weight: float = losses.DIVERSITY_WEIGHT
    feature_weight: float = losses.FEATURE_WEIGHT
    cmsc_weight: float = losses.CMSC_WEIGHT
    cmsc_temp: float = losses.CMSC_TEMP
    feature_grad_mult: float = 0.1
    temp_max: float = losses.TEMP_MAX
    temp_min: float = losses.TEMP_MIN
    temp_decay: float = losses.TEMP_DECAY

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ autograd helpers
class GradMultiply(torch.autograd.Function):
    """Identity forward; gradient scaled by `scale` (fairseq's feature_grad_mult, NOT no_grad)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks. Every rank uses the same global value, so the gradient is summed back."""

    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad


class _AllGather(torch.autograd.Function):
    """Concatenate equal-sized rank shares; a rank's gradient is the sum over ranks of its slice."""

    @staticmethod
    def forward(ctx, x):
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.rank, ctx.n = dist.get_rank(), x.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    return _AllReduceSum.apply(x) if _distributed() else x


def all_gather(x: torch.Tensor) -> torch.Tensor:
    return _AllGather.apply(x) if _distributed() else x


def _reduce_no_grad(x: torch.Tensor, op=None) -> torch.Tensor:
    if _distributed():
        x = x.clone()
        dist.all_reduce(x, op=op or dist.ReduceOp.SUM)
    return x


def gumbel_noise(rngs: list[np.random.Generator], shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """(len(rngs), *shape) standard Gumbel noise drawn on `device`, one keyed stream per segment.

    Each segment's numpy generator only seeds a torch generator on the device: the noise itself
    (base size: 64 k values per segment) never crosses from host memory.
    """
    u = torch.empty((len(rngs), *shape), device=device)
    for i, rng in enumerate(rngs):
        gen = torch.Generator(device=device)
        gen.manual_seed(int(rng.integers(2**62)))
        u[i].uniform_(generator=gen)
    return -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))


# ------------------------------------------------------------------ the network
class PretrainNet(nn.Module):
    """`forward(segments (B, S, 12, L), keys (B,))` -> dict with the loss to backpropagate and each term."""

    def __init__(self, model: ECGFMPretrainModel, objective: ObjectiveConfig = ObjectiveConfig(), seed: int = 0):
        super().__init__()
        self.w2v = model
        self.objective = objective
        self.seed = int(seed)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    def _rngs(self, step: int, keys: torch.Tensor, segments: int, stream: int) -> list[np.random.Generator]:
        return [np.random.default_rng([self.seed, step, stream, int(k), s]) for k in keys.tolist() for s in range(segments)]

    def quantize(self, y: torch.Tensor, rngs: list[np.random.Generator], temp: float) -> tuple[torch.Tensor, dict]:
        """Gumbel vector quantizer on (B, M, C) features with explicitly drawn noise (hard, straight-through)."""
        q = self.w2v.quantizer
        b, m, _ = y.shape
        logits = q.weight_proj(y).float().view(b * m, q.groups, q.num_vars)
        count = _reduce_no_grad(torch.tensor(float(b * m), device=y.device))
        avg_probs = all_reduce_sum(logits.softmax(-1).sum(0)) / count
        hard_counts = _reduce_no_grad(F.one_hot(logits.detach().argmax(-1), q.num_vars).float().sum(0))
        stats = {"prob_perplexity": losses.perplexity(avg_probs),
                 "code_perplexity": losses.perplexity(hard_counts / count)}
        if self.training:
            noise = gumbel_noise(rngs, (m, q.groups, q.num_vars), logits.device).view_as(logits)
            soft = ((logits + noise) / temp).softmax(-1)
            picks = soft.argmax(-1)
            onehot = F.one_hot(picks, q.num_vars).to(soft.dtype) - soft.detach() + soft
        else:
            picks = logits.argmax(-1)
            onehot = F.one_hot(picks, q.num_vars).float()
        # One integer per step naming its code combination: equal targets <=> equal codes.
        base = q.num_vars ** torch.arange(q.groups, device=picks.device)
        stats["codes"] = (picks * base).sum(-1).view(b, m)
        codebooks = q.vars.view(q.groups, q.num_vars, -1)
        out = torch.einsum("ngv,gvd->ngd", onehot.to(codebooks.dtype), codebooks).reshape(b, m, -1)
        return out.to(y.dtype), stats

    def forward(self, segments: torch.Tensor, keys: torch.Tensor) -> dict[str, torch.Tensor]:
        o, m = self.objective, self.w2v
        b, n_seg, c, length = segments.shape
        step = int(self.num_updates)
        temp = losses.gumbel_temperature(step, o.temp_max, o.temp_min, o.temp_decay)
        m.quantizer.curr_temp = temp
        keys = keys.cpu()
        x = segments.reshape(b * n_seg, c, length)
        if self.training and o.rlm_prob > 0:
            x = rlm.random_lead_masking(x, rlm.lead_keep_mask(self._rngs(step, keys, n_seg, 0), c, o.rlm_prob))

        feats = m.feature_extractor(x)
        if o.feature_grad_mult != 1.0:
            feats = GradMultiply.apply(feats, o.feature_grad_mult)
        features_pen = losses.feature_penalty(feats)
        normed = m.layer_norm(feats.transpose(1, 2))
        unmasked = m.dropout_features(normed)
        h = m.dropout_input(m.post_extract_proj(normed))
        frames = h.shape[1]

        mask_np = self._mask(step, keys, n_seg, frames, h.device)
        mask = torch.from_numpy(mask_np).to(h.device)
        h = torch.where(mask.unsqueeze(-1), m.mask_emb.to(h.dtype), h)
        context = m.contextualise(h)

        steps = int(mask_np[0].sum())
        y = unmasked[mask].view(b * n_seg, steps, -1)
        q, stats = self.quantize(y, self._rngs(step, keys, n_seg, 2), temp)
        y = m.project_q(q)
        xm = m.final_proj(context[mask].view(b * n_seg, steps, -1))
        n_neg = negatives.negatives_count(steps, o.num_negatives)
        neg_idx = negatives.negative_indices(self._rngs(step, keys, n_seg, 3), steps, n_neg)
        neg_idx = torch.from_numpy(neg_idx).to(y.device)
        logits = losses.contrastive_logits_indexed(xm, y, neg_idx, stats["codes"], o.logit_temp)
        ce_sum = losses.infonce(logits)

        pooled = context.float().mean(dim=1).view(b, n_seg, -1)
        z0, z1 = pooled[:, 0::2].reshape(-1, pooled.shape[-1]), pooled[:, 1::2].reshape(-1, pooled.shape[-1])
        ids = keys.to(pooled.device).repeat_interleave(n_seg // 2)
        ids = _gather_ids(ids)
        cmsc = losses.cmsc_loss(all_gather(z0), all_gather(z1), ids, ids, o.cmsc_temp)

        world = dist.get_world_size() if _distributed() else 1
        local_size = torch.tensor(float(b * n_seg * steps), device=h.device)
        sample_size = _reduce_no_grad(local_size)
        num_vars = m.quantizer.groups * m.quantizer.num_vars
        diversity = losses.diversity_penalty(stats["prob_perplexity"], num_vars)
        # Local share of sum_r(CE_r + 10 fpen_r S_r) / S, times world size (DDP averages gradients);
        # diversity and CMSC are already global, so each rank carries them once.
        local = (ce_sum + o.feature_weight * features_pen * local_size) / sample_size
        loss = world * local + o.diversity_weight * diversity + o.cmsc_weight * cmsc
        if self.training:
            with torch.no_grad():
                self.num_updates += 1
        with torch.no_grad():
            contrastive = _reduce_no_grad(ce_sum.detach()) / sample_size
            feature = _reduce_no_grad(features_pen.detach() * local_size) / sample_size
            correct = _reduce_no_grad((logits.detach().argmax(-1) == 0).float().sum()) / sample_size
        total = contrastive + o.diversity_weight * diversity.detach() + o.feature_weight * feature + o.cmsc_weight * cmsc.detach()
        return {
            "loss": loss,
            "total": total,
            "contrastive": contrastive,
            "diversity": diversity.detach(),
            "features_pen": feature,
            "cmsc": cmsc.detach(),
            "code_perplexity": stats["code_perplexity"],
            "prob_perplexity": stats["prob_perplexity"].detach(),
            "accuracy": correct,
            "temperature": torch.tensor(temp),
            "masked_steps": torch.tensor(steps),
            "negatives": torch.tensor(n_neg),
        }

    def _mask(self, step: int, keys: torch.Tensor, n_seg: int, frames: int, device: torch.device) -> np.ndarray:
        """Span masks, the same count per segment across the global batch (fairseq's require_same_masks)."""
        o = self.objective
        rngs = self._rngs(step, keys, n_seg, 1)
        n = masking.num_spans(frames, np.random.default_rng([self.seed, step]).random(), o.mask_prob,
                              o.mask_length, o.min_masks)
        spans = [masking.sample_spans(frames, n, rng, o.mask_length) for rng in rngs]
        local_min = torch.tensor(min(len(s) for s in spans), device=device)
        count = int(_reduce_no_grad(local_min, dist.ReduceOp.MIN if _distributed() else None))
        return masking.to_bool([masking.trim(s, count, rng) for s, rng in zip(spans, rngs)], frames)


def _gather_ids(ids: torch.Tensor) -> torch.Tensor:
    if not _distributed():
        return ids
    parts = [torch.empty_like(ids) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, ids.contiguous())
    return torch.cat(parts)
