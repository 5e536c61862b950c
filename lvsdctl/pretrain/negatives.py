"""Distractors for the contrastive loss: fairseq's `sample_negatives` (no cross-sample negatives).

For each masked step of a segment, `n` indices drawn uniformly with replacement among the OTHER
masked steps of the same segment (draw in [0, M-1), then shift indices >= the step by one, so the
positive's own index is never drawn). On small data a segment holds fewer than 100 masked steps:
`n` is then reduced to M - 1, what the segment holds.
"""

from __future__ import annotations

import numpy as np
import torch

NUM_NEGATIVES = 100


def negatives_count(masked_steps: int, wanted: int = NUM_NEGATIVES) -> int:
    n = min(wanted, masked_steps - 1)
    if n < 1:
        raise ValueError(f"a segment with {masked_steps} masked step(s) has no other step to draw negatives from")
    return n


def negative_indices(rngs: list[np.random.Generator], masked_steps: int, n: int) -> np.ndarray:
    """(segments, M, n) int64 indices into each segment's own masked steps, never the step itself."""
    idx = np.stack([rng.integers(0, masked_steps - 1, size=(masked_steps, n)) for rng in rngs])
    idx += idx >= np.arange(masked_steps)[None, :, None]
    return idx


def gather_negatives(y: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
    """y (B, M, D), idx (B, M, n) -> negatives (n, B, M, D) (fairseq's layout)."""
    b, m, d = y.shape
    flat = torch.from_numpy(idx).to(y.device) + (torch.arange(b, device=y.device) * m)[:, None, None]
    return y.reshape(b * m, d)[flat.reshape(-1)].view(b, m, -1, d).permute(2, 0, 1, 3)
