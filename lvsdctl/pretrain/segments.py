"""Unlabelled 12-lead ECGs cut into non-overlapping 5 s segments, kept together per ECG.

One item is one ECG: its segments (S, 12, 2500) and its row index (the key of its random draws and
of its CMSC pairs). Keeping an ECG's segments in one item is what keeps both halves of a CMSC pair
in the same batch, and on the same rank under DDP, whatever the sampler does.

Each lead of each recording is z-scored (ECG-FM's convention; a flat lead becomes 0) when read,
so data already z-scored by `preprocess` pass through essentially unchanged.
"""

from __future__ import annotations

import os
from typing import Sequence

import torch
from torch.utils.data import Dataset

from lvsdctl.errors import InputError, MismatchError

SEGMENT_SAMPLES = 2500  # 5 s at 500 Hz
LEADS = 12
FS = 500.0


def zscore_leads(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Per recording and lead over time (last axis): (x - mean) / std; flat leads become 0."""
    mean = x.mean(dim=-1, keepdim=True)
    std = x.std(dim=-1, keepdim=True, unbiased=False)
    flat = std <= eps
    return torch.where(flat, torch.zeros_like(x), (x - mean) / torch.where(flat, torch.ones_like(std), std))


def split_segments(x: torch.Tensor, segment: int = SEGMENT_SAMPLES) -> torch.Tensor:
    """(B, C, T) -> (B, S, C, segment), S the even number of whole segments (pairs for CMSC)."""
    n = (x.shape[-1] // segment) // 2 * 2
    if n < 2:
        raise ValueError(f"{x.shape[-1]} samples hold fewer than two {segment}-sample segments")
    b, c, _ = x.shape
    return x[..., : n * segment].reshape(b, c, n, segment).transpose(1, 2)


class SegmentPairs(Dataset):
    """(segments (S, 12, 2500), row key) per ECG of an `ecg` file; labels are never read."""

    def __init__(self, path: str | os.PathLike, split: str | Sequence[str] | None = None, *,
                 segment: int = SEGMENT_SAMPLES):
        from lvsdctl.data.dataset import ECGDataset

        self.path = str(path)
        self.segment = segment
        self.ecgs = ECGDataset(self.path, split, require_labels=False)
        pre = self.ecgs.preprocessing
        channels, samples = self.ecgs.shape
        if channels != LEADS:
            raise MismatchError(
                f"{self.path}: /signals holds {channels} channels; pretraining needs the 12 standard leads "
                f"(layout 12x5000 at 500 Hz): preprocess the ECGs with `lvsdctl preprocess --layout 12x5000`"
            )
        fs = pre.get("fs")
        if fs is not None and abs(float(fs) - FS) > 1e-6:
            raise MismatchError(f"{self.path}: signals are at {float(fs):g} Hz; pretraining needs {FS:g} Hz")
        if samples < 2 * segment:
            raise MismatchError(
                f"{self.path}: ECGs of {samples} samples hold fewer than two {segment}-sample (5 s) segments; "
                "CMSC needs at least 10 s per ECG"
            )
        if len(self.ecgs) == 0:
            raise InputError(f"{self.path}: no ECG to pretrain on")
        self.preprocessing = pre
        self.segments_per_ecg = (samples // segment) // 2 * 2

    def __len__(self) -> int:
        return len(self.ecgs)

    def _read(self, indices: Sequence[int]) -> torch.Tensor:
        return split_segments(zscore_leads(self.ecgs._read(indices)), self.segment)

    def __getitem__(self, i: int):
        return self._read([i])[0], torch.tensor(int(self.ecgs.rows[i]))

    def __getitems__(self, indices: Sequence[int]):
        x = self._read(indices)
        keys = torch.as_tensor(self.ecgs.rows[list(indices)], dtype=torch.long)
        return list(zip(x, keys))
