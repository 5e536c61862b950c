"""The commands as users launch them on several GPUs: `torchrun --nproc-per-node 2 -m lvsdctl.cli.main ...`,
here on CPU with the gloo backend. One checkpoint is written (by rank 0), it records the world size,
the summary is printed once, and `finetune` starts from what `pretrain` wrote under torchrun.

The numerical equivalence of 2 processes and 1 is proved in test_distributed.py and
test_pretrain_ddp.py; this test proves the launch path end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py

from tests.train.conftest import make_ecg_file
from tests.pretrain.pretrain_data import make_12lead_file

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]


def _torchrun(args: list[str], tmp_path: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.run(TORCHRUN + ["-m", "lvsdctl.cli.main", *args, "--device", "cpu", "--json", "-q"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)  # exactly one JSON document: only rank 0 speaks


def test_train_pretrain_finetune_under_torchrun(tmp_path):
    data = make_ecg_file(tmp_path / "split.h5", splits={"train": 32, "tune": 16}, samples=256)
    summary = _torchrun(["train", str(data), "--model", "fcn", "--epochs", "2", "--lr", "1e-2",
                         "--batch-size", "8", "--model-option", "filters=[8,8,8]", "-o", "fcn.h5"], tmp_path)
    assert summary["world_size"] == 2
    with h5py.File(tmp_path / "fcn.h5", "r") as f:
        assert f.attrs["lvsdctl_kind"] == "model"
        history = json.loads(f.attrs["history"])
        assert len(history) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fcn.h5", "split.h5"]  # no temp or resume files left

    archive = make_12lead_file(tmp_path / "archive.h5", n=16)
    summary = _torchrun(["pretrain", str(archive), "--size", "tiny", "--epochs", "1", "--batch-size", "8",
                         "-o", "fm.h5"], tmp_path)
    assert summary["world_size"] == 2
    ft = make_ecg_file(tmp_path / "split12.h5", channels=12, samples=5000, splits={"train": 16, "tune": 8})
    summary = _torchrun(["finetune", str(ft), "--weights", "fm.h5", "--freeze", "0", "--epochs", "1",
                         "--batch-size", "8", "--lr", "1e-3", "-o", "ft.h5"], tmp_path)
    assert summary["world_size"] == 2
    with h5py.File(tmp_path / "ft.h5", "r") as f:
        assert f.attrs["lvsdctl_kind"] == "model"
