"""The pretraining loss terms (wav2vec 2.0 + CMSC), each a small pure function on tensors.

Weights and normalisation follow fairseq-signals' `wav2vec2_with_cmsc` criterion: the contrastive
cross-entropy is summed over masked steps, the diversity, feature and CMSC terms are each multiplied
by the number of masked steps (the "sample size"), and the total is divided by that number (the
gradient denominator). So per masked step:

    loss = CE_sum / S + 0.1 * (V - perplexity) / V + 10 * mean(features^2) + 1 * CMSC
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOGIT_TEMP = 0.1
DIVERSITY_WEIGHT = 0.1
FEATURE_WEIGHT = 10.0
CMSC_WEIGHT = 1.0
CMSC_TEMP = 0.1
# Gumbel temperature: max(2 * 0.999995 ** updates, 0.5).
TEMP_MAX, TEMP_MIN, TEMP_DECAY = 2.0, 0.5, 0.999995


def gumbel_temperature(num_updates: int, max_temp: float = TEMP_MAX, min_temp: float = TEMP_MIN,
                       decay: float = TEMP_DECAY) -> float:
    return max(max_temp * decay**num_updates, min_temp)


def contrastive_logits(x: torch.Tensor, y: torch.Tensor, negatives: torch.Tensor,
                       temp: float = LOGIT_TEMP) -> torch.Tensor:
    """Cosine similarity / temp of context x (B, M, D) with its target y (B, M, D) and negatives (N, B, M, D).

    Returns (B * M, 1 + N) float32 logits, column 0 the positive. A negative identical to the
    positive (same quantized code) is not a distractor: its logit is -inf, as fairseq does.
    """
    neg_is_pos = (y.unsqueeze(0) == negatives).all(-1)  # (N, B, M)
    targets = torch.cat([y.unsqueeze(0), negatives], dim=0)
    logits = torch.cosine_similarity(x.float().unsqueeze(0), targets.float(), dim=-1) / temp
    if neg_is_pos.any():
        logits = torch.cat([logits[:1], logits[1:].masked_fill(neg_is_pos, float("-inf"))], dim=0)
    return logits.permute(1, 2, 0).reshape(-1, logits.shape[0])  # (B*M, 1+N)


def contrastive_logits_indexed(x: torch.Tensor, y: torch.Tensor, neg_idx: torch.Tensor, codes: torch.Tensor,
                               temp: float = LOGIT_TEMP, eps: float = 1e-8) -> torch.Tensor:
    """`contrastive_logits` without materialising the negatives (N x B x M x D).

    All cosine similarities of a segment's context steps with its own targets form a (B, M, M)
    matrix; the positive is its diagonal and the negatives are gathered from it by `neg_idx`
    (B, M, N). A negative equals its positive exactly when their quantizer codes (B, M) agree, since
    a target is a function of its codes. Same values as `contrastive_logits` (a test checks).
    """
    xn = x.float() / x.float().norm(dim=-1, keepdim=True).clamp_min(eps)
    yn = y.float() / y.float().norm(dim=-1, keepdim=True).clamp_min(eps)
    sim = torch.einsum("bmd,bjd->bmj", xn, yn) / temp
    pos = sim.diagonal(dim1=1, dim2=2).unsqueeze(-1)  # (B, M, 1)
    neg = sim.gather(2, neg_idx)
    same = codes.unsqueeze(-1) == codes.gather(1, neg_idx.flatten(1)).view_as(neg_idx)
    neg = neg.masked_fill(same, float("-inf"))
    return torch.cat([pos, neg], dim=-1).reshape(-1, 1 + neg_idx.shape[-1])


def infonce(logits: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy with the positive at index 0."""
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits.float(), target, reduction="sum")


def perplexity(avg_probs: torch.Tensor) -> torch.Tensor:
    """Sum over codebook groups of exp(entropy) of the average code distribution (G, V)."""
    return torch.exp(-(avg_probs * torch.log(avg_probs + 1e-7)).sum(-1)).sum()


def diversity_penalty(prob_perplexity: torch.Tensor, num_vars: int) -> torch.Tensor:
    """(V - perplexity) / V with V = groups x entries: 0 when every code is used equally."""
    return (num_vars - prob_perplexity) / num_vars


def feature_penalty(features: torch.Tensor) -> torch.Tensor:
    """mean(features^2) of the conv extractor's output (keeps it from growing without bound)."""
    return features.float().pow(2).mean()


def cmsc_loss(z0: torch.Tensor, z1: torch.Tensor, ids0: torch.Tensor | None = None, ids1: torch.Tensor | None = None,
              temp: float = CMSC_TEMP, eps: float = 1e-8) -> torch.Tensor:
    """Symmetric contrastive loss between first (z0) and second (z1) segments' pooled outputs.

    Rows are L2-normalised; logits = z0 z1^T / temp; positives are the pairs from the same ECG
    (ids0[i] == ids1[j], the diagonal by default). Loss = mean over positives of the row-wise
    cross-entropy / 2 + the same column-wise / 2 (fairseq-signals' CMSC).
    """
    z0 = z0.float() / torch.clamp(z0.detach().float().norm(dim=-1, keepdim=True), min=eps)
    z1 = z1.float() / torch.clamp(z1.detach().float().norm(dim=-1, keepdim=True), min=eps)
    logits = z0 @ z1.T / temp
    if ids0 is None:
        positive = torch.eye(len(z0), dtype=torch.bool, device=logits.device)
    else:
        positive = ids0[:, None] == ids1[None, :]
    rows = -F.log_softmax(logits, dim=-1)[positive].mean()
    cols = -F.log_softmax(logits.T, dim=-1)[positive.T].mean()
    return rows / 2 + cols / 2
