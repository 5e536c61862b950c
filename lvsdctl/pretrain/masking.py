"""Time masking with the semantics of wav2vec 2.0's `compute_mask_indices` (fairseq).

Static span lengths: a batch draws `int(mask_prob * frames / span + u)` spans (u ~ U[0, 1) once per
batch, at least `min_masks`); each segment picks that many distinct start frames among
`frames - span` and masks `span` frames from each (spans may overlap, so fewer distinct frames are
masked than spans x span). Every segment of a batch then keeps the same number of masked frames (the
batch minimum, chosen at random among its own), so context and targets reshape to (B, M, D).

The draws come from explicit generators (one per batch, one per segment) so that a run under DDP
draws exactly what one process with the same global batch draws; the batch minimum is then taken
over all ranks by the caller.
"""

from __future__ import annotations

import numpy as np

MASK_PROB = 0.65
MASK_LENGTH = 10
MIN_MASKS = 2


def num_spans(frames: int, u: float, mask_prob: float = MASK_PROB, mask_length: int = MASK_LENGTH,
              min_masks: int = MIN_MASKS) -> int:
    """Number of spans for segments of `frames` frames (u: the batch's uniform draw)."""
    return max(min_masks, int(mask_prob * frames / float(mask_length) + u))


def sample_spans(frames: int, n_spans: int, rng: np.random.Generator, mask_length: int = MASK_LENGTH) -> np.ndarray:
    """Sorted unique masked frame indices of one segment: n distinct starts, `mask_length` frames each."""
    span = mask_length
    if frames - span <= n_spans:  # fairseq: shorten the start range so n distinct starts still fit
        span = frames - n_spans - 1
    if span < 1:
        raise ValueError(f"{frames} frames are too few for {n_spans} masked spans")
    starts = rng.choice(frames - span, n_spans, replace=False)
    idx = (starts[:, None] + np.arange(mask_length)[None, :]).ravel()
    return np.unique(idx[idx < frames])


def trim(idx: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Keep `count` of the masked frames, chosen at random (fairseq's require_same_masks)."""
    if len(idx) <= count:
        return idx
    return np.sort(rng.choice(idx, count, replace=False))


def to_bool(indices: list[np.ndarray], frames: int) -> np.ndarray:
    mask = np.zeros((len(indices), frames), dtype=bool)
    for i, idx in enumerate(indices):
        mask[i, idx] = True
    return mask


def compute_mask_indices(batch: int, frames: int, *, batch_rng: np.random.Generator,
                         rngs: list[np.random.Generator] | None = None, mask_prob: float = MASK_PROB,
                         mask_length: int = MASK_LENGTH, min_masks: int = MIN_MASKS,
                         same_count: bool = True) -> np.ndarray:
    """(batch, frames) bool mask for one process (the pieces above, in fairseq's order)."""
    rngs = rngs if rngs is not None else [batch_rng] * batch
    n = num_spans(frames, batch_rng.random(), mask_prob, mask_length, min_masks)
    spans = [sample_spans(frames, n, rng, mask_length) for rng in rngs]
    if same_count:
        count = min(len(s) for s in spans)
        spans = [trim(s, count, rng) for s, rng in zip(spans, rngs)]
    return to_bool(spans, frames)


def expected_coverage(frames: int, n_spans: int, mask_length: int = MASK_LENGTH) -> float:
    """Exact expected fraction of masked frames before trimming (hand formula, for tests and docs).

    Frame t is unmasked iff none of the n distinct starts (uniform without replacement among
    N = frames - span positions) lies in [t - span + 1, t]: probability C(N - k, n) / C(N, n).
    """
    from scipy.special import comb

    big_n = frames - mask_length
    t = np.arange(frames)
    k = np.minimum(t, big_n - 1) - np.maximum(0, t - mask_length + 1) + 1  # starts covering t
    k = np.clip(k, 0, None)
    p_free = comb(big_n - k, n_spans, exact=False) / comb(big_n, n_spans, exact=False)
    return float(np.mean(1.0 - p_free))
