"""Time to explain one ECG on CPU, end to end, against the issue's goals.

    python benchmarks/explain_bench.py              # InceptionTime (goal < 2 s) and full-size ECG-FM (goal < 15 s)
    python benchmarks/explain_bench.py --skip-ecgfm

One real MUSE export (the shared fixtures, else a synthetic one) is read, preprocessed with the
model's chain, attributed (DeepLIFT, all-zero reference), delineated, and drawn (PNG). Models have
random weights: the cost does not depend on what they learned. Printed: seconds per stage and in all,
next to the goal.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from lvsdctl.explain.api import explain
from lvsdctl.models.checkpoint import save_checkpoint
from lvsdctl.models.registry import create_model

PRE = {"layout": "4x5000", "fs": 500.0, "normalisation": "none",
       "filter": {"name": "neurokit", "highpass_hz": 0.5, "order": 5, "powerline_hz": 50.0, "design_rate": "floor"}}
FIXTURE = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "ecg" / "muse_xml" / "ecg2dcm" / "guangxi_teaching_sinus_rhythm.xml"


def an_export(tmp: Path) -> Path:
    if FIXTURE.exists():
        return FIXTURE
    from lvsdctl.synth import synthesise

    synthesise(tmp / "cohort", n_ecgs=4, n_patients=2, seed=0, digitised_share=0.0)
    return sorted((tmp / "cohort" / "ecg").glob("MUSE_*.xml"))[0]


def time_one(name: str, config: dict, goal: float, tmp: Path, src: Path, method: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, **config)
    ckpt = tmp / f"{name}.h5"
    save_checkpoint(ckpt, model, model_name=name, preprocessing=PRE)
    explain(str(src), model_path=str(ckpt), out=tmp / "warmup.png", method=method)  # imports, caches
    t = time.perf_counter()
    summary = explain(str(src), model_path=str(ckpt), out=tmp / f"{name}.png", method=method)
    seconds = time.perf_counter() - t
    verdict = "meets" if seconds < goal else "MISSES"
    print(f"{name:14s} {method:8s} {seconds:6.2f} s per ECG   goal < {goal:.0f} s: {verdict}   "
          f"(threads {torch.get_num_threads()}, delta {summary.convergence_delta:.1e})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-ecgfm", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src = an_export(tmp)
        print(f"explaining {src.name} on CPU")
        time_one("inceptiontime", {"in_channels": 4}, 2.0, tmp, src, "deeplift")
        if not args.skip_ecgfm:
            time_one("ecgfm-lvsd", {"size": "base"}, 15.0, tmp, src, "deeplift")


if __name__ == "__main__":
    main()
