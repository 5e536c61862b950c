"""Small `ecg` HDF5 files for training tests, written through lvsdctl's own HDF5 API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lvsdctl.hdf5 import atomic_output, write_records

# Tiny tensors: threads only add OpenMP contention on a shared machine.
torch.set_num_threads(1)


def planted_signals(n: int, channels: int, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise plus a wide bump per ECG; LVSD ECGs (label 1) carry a taller bump in channel 0."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    t = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    bump = np.exp(-((t - 0.5) ** 2) / 0.01).astype(np.float32)
    x = rng.normal(0.0, 0.3, size=(n, channels, samples)).astype(np.float32)
    x[:, 0, :] += (0.5 + 1.5 * labels)[:, None].astype(np.float32) * bump
    return x, labels.astype(np.int8)


def make_ecg_file(
    path: Path,
    *,
    splits: dict[str, int] | None = None,
    channels: int = 4,
    samples: int = 128,
    seed: int = 0,
    layout: str | None = None,
    labels: np.ndarray | None = None,
    nan_row: int | None = None,
) -> Path:
    """Write an `ecg` file with /signals (N, C, T) and /records (label, split), like `lvsdctl split`."""
    splits = splits or {"train": 32, "tune": 16}
    n = sum(splits.values())
    x, y = planted_signals(n, channels, samples, seed)
    if labels is not None:
        y = np.asarray(labels, dtype=np.int8)
    if nan_row is not None:
        x[nan_row, 0, 3] = np.nan
    split_col = np.concatenate([[name] * k for name, k in splits.items()])
    records = pd.DataFrame({
        "record_id": [f"r{i:04d}" for i in range(n)],
        "patient": [f"p{i // 2:04d}" for i in range(n)],
        "label": y,
        "lvef": np.where(y == 1, 30.0, 55.0),
        "split": split_col,
    })
    with atomic_output(path, kind="ecg", parameters={"test": True}, synthetic=True) as f:
        ds = f.create_dataset("signals", data=x, chunks=(1, channels, samples), compression="gzip")
        ds.attrs["layout"] = layout or f"{channels}x{samples}"
        ds.attrs["fs"] = 500.0
        ds.attrs["channels"] = [f"c{i}" for i in range(channels)]
        ds.attrs["filter"] = json.dumps({"method": "neurokit", "highpass_hz": 0.5})
        ds.attrs["normalisation"] = "none"
        write_records(f, records)
    return path


@pytest.fixture
def ecg_file(tmp_path) -> Path:
    return make_ecg_file(tmp_path / "split.h5")
