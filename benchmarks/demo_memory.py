"""Peak memory (RSS) of every `lvsdctl` command the demo runs, at the demo's sizes.

    python benchmarks/demo_memory.py             # runs scripts/demo.sh's steps into a temporary folder
    python benchmarks/demo_memory.py --keep out/ # and keeps the demo's outputs there

Each `lvsdctl ...` line of `scripts/demo.sh` runs as usual (same arguments, same order, same
environment knobs: DEMO_ECGS, DEMO_EPOCHS...), but through a wrapper that starts the command as a child
process and reads its peak resident memory and CPU time when it ends (`wait4`). Prints one line per
command and the largest. The goal (issue 19): no stage above 1.5 GB at the demo's sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MB = 1536


def wrapper(log: str, argv: list[str]) -> int:
    """Run `python -m lvsdctl argv` as a child; append its peak RSS and times to `log`."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "lvsdctl", *argv])
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(log, "a") as fh:
        fh.write(json.dumps({"argv": argv, "rss_mb": usage.ru_maxrss / 1024, "wall_s": time.perf_counter() - t,
                             "cpu_s": usage.ru_utime + usage.ru_stime, "exit": code}) + "\n")
    return code


def demo_steps() -> str:
    """scripts/demo.sh without its environment set-up (this interpreter's lvsdctl is used)."""
    text = (ROOT / "scripts" / "demo.sh").read_text()
    text = re.sub(r"^bash scripts/setup\.sh.*$", "", text, flags=re.M)
    return re.sub(r"^export PATH=.*$", "", text, flags=re.M)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=Path, help="write the demo's outputs here and keep them")
    ap.add_argument("--wrap", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)  # internal
    args = ap.parse_args()
    if args.wrap is not None:
        sys.exit(wrapper(os.environ["LVSDCTL_MEMLOG"], args.wrap))
    with tempfile.TemporaryDirectory(prefix="lvsdctl-demo-memory-") as tmp:
        out = args.keep or Path(tmp) / "demo"
        log = Path(tmp) / "memory.jsonl"
        script = Path(tmp) / "demo.sh"
        call = f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))} --wrap"
        script.write_text(f'lvsdctl() {{ {call} "$@"; }}\n' + demo_steps())
        env = {**os.environ, "LVSDCTL_MEMLOG": str(log), "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        subprocess.run(["bash", str(script), str(out)], cwd=ROOT, env=env, check=True,
                       stderr=subprocess.DEVNULL)
        rows = [json.loads(line) for line in log.read_text().splitlines()]
    print(f"the demo's {len(rows)} lvsdctl commands ({time.perf_counter() - started:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f}): peak RSS, CPU and wall time of each")
    for r in rows:
        shown = " ".join(a if len(a) < 40 else "..." + a[-30:] for a in r["argv"][:6])
        print(f"  {r['rss_mb']:6.0f} MB  {r['cpu_s']:7.1f} s CPU  {r['wall_s']:6.1f} s  lvsdctl {shown}")
    worst = max(rows, key=lambda r: r["rss_mb"])
    print(f"largest: {worst['rss_mb']:.0f} MB (lvsdctl {' '.join(worst['argv'][:2])}); goal: every stage under "
          f"{GOAL_MB} MB -> {'met' if worst['rss_mb'] <= GOAL_MB else 'NOT met'}")


if __name__ == "__main__":
    main()
