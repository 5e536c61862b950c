"""A small synthetic cohort, tiny ECG-FM starting points, and a fork server that runs lvsdctl commands
(and whole study scripts) without paying torch's import time per command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture(scope="session")
def fork_env():
    """Environment under which `$LVSDCTL` (the client) runs lvsdctl commands in the fork server."""
    sock_dir = tempfile.mkdtemp(prefix="lvsdfs-")
    sock = os.path.join(sock_dir, "s")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    server = subprocess.Popen([sys.executable, str(HERE / "forkserver.py"), sock], env=env, stdout=subprocess.PIPE,
                              text=True)
    try:
        line = server.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"fork server did not start: {line!r}")
        yield {**env, "LVSDCTL_FORKSERVER": sock, "LVSDCTL": f"{sys.executable} -S {HERE / 'forkclient.py'}"}
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(sock_dir, ignore_errors=True)


def run_lvsdctl(env: dict, *args, check: bool = True, cwd=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([*env["LVSDCTL"].split(), *map(str, args)], env=env, capture_output=True, text=True, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"lvsdctl {' '.join(map(str, args))} -> {proc.returncode}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def study_cohort(tmp_path_factory, fork_env) -> Path:
    """synth -> ingest -> preprocess (50 Hz: 4 x 500, cheap) -> split: every validation set two-class."""
    import h5py
    import numpy as np

    d = tmp_path_factory.mktemp("study-cohort")
    run_lvsdctl(fork_env, "synth", "-o", d / "cohort", "--n-ecgs", 100, "--n-patients", 50, "--seed", 3, "-q")
    run_lvsdctl(fork_env, "ingest", d / "cohort" / "ecg", "--echo", d / "cohort" / "echo.csv", "--demo-secret",
                "-o", d / "raw.h5", "-q")
    run_lvsdctl(fork_env, "preprocess", d / "raw.h5", "--fs", 50, "-o", d / "pre.h5", "-q")
    run_lvsdctl(fork_env, "split", d / "pre.h5", "-o", d / "split.h5", "--seed", 1, "-q")
    with h5py.File(d / "split.h5") as f:
        split = f["records/split"].asstr()[()]
        label = f["records/label"][()]
    for s in ("train", "tune", "internal", "external1", "external2"):
        assert set(np.unique(label[split == s])) == {0, 1}, f"set {s} of the test cohort lost a class"
    return d / "split.h5"


@pytest.fixture(scope="session")
def tiny_starts(tmp_path_factory) -> tuple[Path, Path]:
    """Random tiny ECG-FM files in the official layouts: a 4-layer self-supervised encoder (SS) and a
    classifier fine-tuned on 5 labels (Sq). Four layers, so the study's PF2-PF10 are mapped."""
    from dataclasses import replace

    import torch

    from lvsdctl.models.ecgfm import SIZES, ECGFMClassifier, ECGFMEncoder
    from lvsdctl.models.ecgfm_weights import save_official

    d = tmp_path_factory.mktemp("starts")
    cfg = replace(SIZES["tiny"], num_layers=4, embed_dim=32, ffn_dim=64)
    torch.manual_seed(0)
    save_official(d / "ss.pt", ECGFMEncoder(cfg))
    save_official(d / "sq.pt", ECGFMClassifier(cfg, num_labels=5))
    return d / "ss.pt", d / "sq.pt"
