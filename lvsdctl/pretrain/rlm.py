"""Random lead masking (RLM, Oh et al. 2022): each lead of each segment zeroed with probability p.

No rescaling of the kept leads (unlike dropout): the model must work with any subset of leads.
"""

from __future__ import annotations

import numpy as np
import torch

RLM_PROB = 0.5


def lead_keep_mask(rngs: list[np.random.Generator], leads: int, p: float = RLM_PROB) -> np.ndarray:
    """(segments, leads) bool: True where a lead is kept; one generator per segment."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"lead masking probability must be in [0, 1), got {p}")
    return np.stack([rng.random(leads) >= p for rng in rngs]) if rngs else np.zeros((0, leads), bool)


def random_lead_masking(x: torch.Tensor, keep: np.ndarray) -> torch.Tensor:
    """Zero the dropped leads of x (segments, leads, samples); kept leads are left exactly as they were."""
    mask = torch.from_numpy(keep).to(device=x.device, dtype=x.dtype)
    return x * mask.unsqueeze(-1)
