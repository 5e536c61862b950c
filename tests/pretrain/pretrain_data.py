"""Small synthetic 12-lead, 10 s ECG files for the pretraining tests (heart rate is the probed property)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.hdf5 import atomic_output, write_records

FS = 500.0


def synthetic_12lead(n: int, seed: int = 0, samples: int = 5000, overlap: float = 0.0,
                     noise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(n, 12, samples) beats as Gaussian QRS + T waves at a per-ECG heart rate; returns (x, fast).

    `fast` ECGs beat at 100-130 bpm, the others at 45-65; `overlap` widens both ranges towards
    each other by that many bpm (a harder property to probe).
    """
    rng = np.random.default_rng(seed)
    fast = np.arange(n) % 2
    rng.shuffle(fast)
    hr = np.where(fast == 1, rng.uniform(100 - overlap, 130, n), rng.uniform(45, 65 + overlap, n))
    t = np.arange(samples) / FS
    gains = rng.normal(1.0, 0.3, size=12)
    x = np.empty((n, 12, samples), dtype=np.float32)
    for i in range(n):
        rr = 60.0 / hr[i]
        beats = np.arange(rng.uniform(0, rr), t[-1] + rr, rr)
        d = t[None, :] - beats[:, None]
        qrs = np.exp(-(d**2) / (2 * 0.012**2)).sum(0)
        twave = 0.3 * np.exp(-((d - 0.25) ** 2) / (2 * 0.04**2)).sum(0)
        lead_gain = gains * rng.normal(1.0, 0.1, size=12)
        x[i] = (lead_gain[:, None] * (qrs + twave)[None, :] + rng.normal(0, noise, (12, samples))).astype(np.float32)
    return x, fast.astype(np.int8)


def make_12lead_file(path: Path, n: int = 32, seed: int = 0, samples: int = 5000, channels: int = 12,
                     signals: np.ndarray | None = None) -> Path:
    x = signals if signals is not None else synthetic_12lead(n, seed, samples)[0]
    n, _, samples = x.shape
    x = x[:, :channels]
    records = pd.DataFrame({
        "record_id": [f"r{i:04d}" for i in range(n)],
        "patient": [f"p{i:04d}" for i in range(n)],
        "label": np.full(n, -1, dtype=np.int8),
        "split": ["train"] * (n - n // 4) + ["test"] * (n // 4),
    })
    with atomic_output(path, kind="ecg", parameters={"test": True}, synthetic=True) as f:
        ds = f.create_dataset("signals", data=x, chunks=(1, channels, samples), compression="gzip")
        ds.attrs["layout"] = f"{channels}x{samples}"
        ds.attrs["fs"] = FS
        ds.attrs["channels"] = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"][:channels]
        ds.attrs["filter"] = json.dumps({"method": "none"})
        ds.attrs["normalisation"] = "none"
        write_records(f, records)
    return path


def synth_cohort_12lead(n: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(n, 12, 5000) LBBB ECGs from lvsdctl.synth's generative model (one patient each) and their
    properties: `qrs_ms`, `hr`, `driver` (the latent LV dysfunction behind LVEF)."""
    from lvsdctl.synth.ecg_model import LEADS12, draw_params, draw_patient, simulate, twelve_leads

    rng = np.random.default_rng(seed)
    x = np.empty((n, 12, 5000), dtype=np.float32)
    props = {"qrs_ms": np.empty(n), "hr": np.empty(n), "driver": rng.normal(0.0, 1.0, n)}
    for i in range(n):
        params = draw_params(rng, draw_patient(rng), props["driver"][i])
        ecg = simulate(params, rng)
        leads = twelve_leads(ecg.rhythm)
        x[i] = np.stack([leads[name] for name in LEADS12])
        props["qrs_ms"][i], props["hr"][i] = params.qrs_s * 1000.0, params.hr
    return x, props
