"""`benchmarks/gpu.sh --device cpu`: the GPU check's code path, kept working on CPU.

Run as the GPU machine runs it: the packages its image lacks (neurokit2, captum, wfdb, pydicom, isal,
pybase64, defusedxml, openpyxl) are made unimportable, so an import of any of them fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MISSING_ON_GPU = ("neurokit2", "captum", "wfdb", "pydicom", "isal", "pybase64", "defusedxml", "openpyxl")


def test_gpu_sh_on_cpu_without_the_packages_the_gpu_image_lacks(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Block:\n"
        f"    names = {MISSING_ON_GPU!r}\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in self.names:\n"
        "            raise ImportError(f'{name} is not on the GPU image')\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(tmp_path)}
    res = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--device", "cpu", "--steps", "1",
                          "--warmup", "0", "--json", str(tmp_path / "out.json")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.splitlines()
    for model in ("ecgfm tiny", "fcn", "resnet", "inceptiontime", "lstm-fcn"):
        assert any(line.startswith(model) for line in lines), res.stdout
    import json

    rows = json.loads((tmp_path / "out.json").read_text())
    ecgfm = rows[0]
    assert ecgfm["fp32"]["samples_per_s"] > 0 and ecgfm["bf16_vs_fp32"]["within_tolerance"]
    assert ecgfm["gflop_per_sample"] > 0
