"""Preprocessing speed: lvsdctl's vectorised chain vs the study's way, on the same records.

The study's way (the authors' preprocessing script): for every record, for every lead or piece,
`neurokit2.ecg_clean(signal, sampling_rate=int(n / duration))` then `np.interp` to 500 Hz, then
the pieces concatenated into 4 x 5000. lvsdctl's way: `lvsdctl.signal.chain.process_batch` on
batches of records. Both run on the same synthetic records of realistic size:

- native: 8 stored leads (I, II, V1-V6) at 500 Hz for 10 s, III/aVR/aVL/aVF derived (12 x 5000);
- digitised: 12 pieces of 2.5 s and a 10 s lead II strip, each at its own rate (99-221 Hz).

Prints ECGs/s of both, the ratio, and the largest absolute difference (must be <= 1e-4 mV).
Also an end-to-end `preprocess` run (HDF5 in and out) with its peak traced memory.

    python benchmarks/preprocess_bench.py            # 400 native + 100 digitised ECGs
    python benchmarks/preprocess_bench.py --n 2000 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lvsdctl.record import LEADS12, Segment  # noqa: E402
from lvsdctl.signal.chain import ChainConfig, process_batch  # noqa: E402
from lvsdctl.signal.layout import PRINTOUT_ROWS  # noqa: E402

FS = 500


def _ecg_like(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """A crude ECG: QRS-like spikes at ~70 bpm, a T wave, baseline drift and noise (mV)."""
    t = np.arange(n) / fs
    rr = 60 / rng.uniform(55, 95)
    phase = (t + rng.uniform(0, rr)) % rr
    qrs = rng.uniform(0.5, 1.8) * np.exp(-0.5 * ((phase - 0.1) / 0.03) ** 2)
    tw = rng.uniform(-0.5, 0.5) * np.exp(-0.5 * ((phase - 0.4) / 0.06) ** 2)
    drift = 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 6))
    return (qrs + tw + drift + 0.01 * rng.standard_normal(n) + rng.uniform(-0.3, 0.3)).astype(np.float32)


def native_record(rng: np.random.Generator) -> list[Segment]:
    n = 10 * FS
    stored = {lead: _ecg_like(rng, n, FS) for lead in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")}
    i, ii = stored["I"], stored["II"]
    stored.update({"III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2})
    return [Segment(lead, stored[lead], float(FS)) for lead in LEADS12]


def digitised_record(rng: np.random.Generator) -> list[Segment]:
    segs = []
    for row in PRINTOUT_ROWS:
        for k, lead in enumerate(row):
            n = int(rng.integers(248, 553))
            segs.append(Segment(lead, _ecg_like(rng, n, n / 2.5), n / 2.5, t0=2.5 * k, kind="piece"))
    n = int(rng.integers(990, 2211))
    segs.append(Segment("II", _ecg_like(rng, n, n / 10), n / 10, kind="rhythm"))
    return segs


def study_way(record: list[Segment]) -> np.ndarray:
    """The authors' per-lead loop: ecg_clean at int(n / duration), np.interp, concatenate."""
    import neurokit2 as nk

    def clean(sig: np.ndarray, duration: float, m: int) -> np.ndarray:
        fp = nk.ecg_clean(sig.astype(np.float64), sampling_rate=int(len(sig) / duration))
        x = np.linspace(0, duration, m, endpoint=False)
        xp = np.linspace(0, duration, len(fp), endpoint=False)
        return np.interp(x, xp, fp)

    pieces = {s.lead: s for s in record if s.kind == "piece"}
    rhythm = {s.lead: s for s in record if s.kind == "rhythm"}
    rows = []
    if pieces:
        for row in PRINTOUT_ROWS:
            rows.append(np.concatenate([clean(pieces[lead].signal, 2.5, 1250) for lead in row]))
        rows.append(clean(rhythm["II"].signal, 10.0, 5000))
    else:
        full = {lead: clean(rhythm[lead].signal, 10.0, 5000) for lead in LEADS12}
        for row in PRINTOUT_ROWS:
            rows.append(np.concatenate([full[lead][k * 1250:(k + 1) * 1250] for k, lead in enumerate(row)]))
        rows.append(full["II"])
    return np.stack(rows)


def end_to_end(records: list[list[Segment]], jobs: int | None) -> tuple[float, float]:
    """(ECGs/s, peak traced MiB) of `preprocess` from an ecg-raw file on disk to an ecg file."""
    import tracemalloc

    import pandas as pd

    from lvsdctl.hdf5 import atomic_output
    from lvsdctl.hdf5.raw import RawWriter
    from lvsdctl.signal import preprocess

    with tempfile.TemporaryDirectory() as tmp:
        raw, pre = os.path.join(tmp, "raw.h5"), os.path.join(tmp, "pre.h5")
        with atomic_output(raw, kind="ecg-raw", synthetic=True) as f:
            w = RawWriter(f)
            for r in records:
                w.append(r)
            w.finish(pd.DataFrame({"record_id": [f"b{i}" for i in range(len(records))]}))
        tracemalloc.start()
        t = time.perf_counter()
        preprocess(raw, pre, jobs=jobs)
        seconds = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return len(records) / seconds, peak


def _peak_rss_mib() -> float:
    """This process's peak resident memory (Linux VmHWM: reset at exec, unlike ru_maxrss)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(n: int) -> None:
    """Preprocess n small records (lead II only, 10 s at 50 Hz) and print peak RSS and traced MiB."""
    import tracemalloc

    import pandas as pd

    from lvsdctl.hdf5 import atomic_output
    from lvsdctl.hdf5.raw import RawWriter
    from lvsdctl.signal import preprocess

    rng = np.random.default_rng(n)
    with tempfile.TemporaryDirectory() as tmp:
        raw, pre = os.path.join(tmp, "raw.h5"), os.path.join(tmp, "pre.h5")
        with atomic_output(raw, kind="ecg-raw", synthetic=True) as f:
            w = RawWriter(f)
            for _ in range(n):
                w.append([Segment("II", _ecg_like(rng, 500, 50.0), 50.0)])
            w.finish(pd.DataFrame({"record_id": [f"m{i}" for i in range(n)]}))
        base = _peak_rss_mib()
        tracemalloc.start()
        t = time.perf_counter()
        s = preprocess(raw, pre, fs=50, chunk=512)
        seconds = time.perf_counter() - t
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rss = _peak_rss_mib()
    print(f"{n} {traced:.1f} {rss:.0f} {base:.0f} {seconds:.1f} {s.kept}")


def memory_report(sizes: list[int]) -> None:
    import subprocess

    print("peak memory of preprocess (chunk 512, small records: lead II, 10 s at 50 Hz):")
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(n)], capture_output=True,
                             text=True, check=True).stdout.split()
        print(f"  {int(out[0]):6d} records: traced peak {float(out[1]):6.1f} MiB, max RSS {out[2]} MiB "
              f"(peak before preprocess {out[3]} MiB), {out[4]} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400, help="native 12-lead ECGs")
    ap.add_argument("--digitised", type=int, default=100, help="digitised printouts")
    ap.add_argument("--baseline", type=int, default=60, help="records timed the study's way (extrapolated)")
    ap.add_argument("--jobs", type=int, default=None, help="threads (default: all cores)")
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory", action="store_true", help="also measure peak memory for --memory-sizes records")
    ap.add_argument("--memory-sizes", type=int, nargs="+", default=[2000, 20000],
                    help="record counts for --memory (default 2000 20000; the issue's check: 20000 200000)")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(args.seed)
    records = [native_record(rng) for _ in range(args.n)] + [digitised_record(rng) for _ in range(args.digitised)]
    order = rng.permutation(len(records))
    records = [records[i] for i in order]
    cfg = ChainConfig.make()

    process_batch(records[:8], cfg, jobs=args.jobs)  # warm caches (filter designs, thread pool)
    t, c = time.perf_counter(), time.process_time()
    outs = []
    for lo in range(0, len(records), args.chunk):
        outs.append(process_batch(records[lo:lo + args.chunk], cfg, jobs=args.jobs).signals)
    fast_s, fast_cpu = time.perf_counter() - t, time.process_time() - c
    fast = np.concatenate(outs)

    k = min(args.baseline, len(records))
    t, c = time.perf_counter(), time.process_time()
    ref = np.stack([study_way(r) for r in records[:k]])
    slow_s, slow_cpu = time.perf_counter() - t, time.process_time() - c
    diff = float(np.abs(fast[:k].astype(np.float64) - ref).max())

    fast_rate, slow_rate = len(records) / fast_s, k / slow_s
    e2e_rate, peak = end_to_end(records, args.jobs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"records: {args.n} native 12x5000 @500 Hz + {args.digitised} digitised (13 pieces, 99-221 Hz); "
          f"{cores} cores, jobs={args.jobs or cores}, load average {load:.1f}")
    print("                                                 wall clock        CPU time (all threads)")
    print(f"study's way (nk.ecg_clean per lead + np.interp): {slow_rate:8.1f} ECGs/s   "
          f"{1000 * slow_cpu / k:7.2f} ms CPU per ECG  (timed on {k} records)")
    print(f"lvsdctl vectorised chain                       : {fast_rate:8.1f} ECGs/s   "
          f"{1000 * fast_cpu / len(records):7.2f} ms CPU per ECG")
    print(f"speed-up: {fast_rate / slow_rate:.1f}x wall, {(slow_cpu / k) / (fast_cpu / len(records)):.1f}x CPU; "
          f"CPU-bound rate on {cores} idle cores: {cores * len(records) / fast_cpu:.0f} ECGs/s "
          "(goal: >= 10x and >= 1000 ECGs/s on 2 cores)")
    print(f"max |difference| on the {k} records: {diff:.2e} mV  (must be <= 1e-4) -> "
          f"{'OK' if diff <= 1e-4 else 'FAIL'}")
    print(f"end to end (ecg-raw file -> ecg file, lzf): {e2e_rate:8.1f} ECGs/s, peak traced memory {peak:.0f} MiB")
    if args.memory:
        memory_report(args.memory_sizes)
    if diff > 1e-4:
        sys.exit(1)


if __name__ == "__main__":
    main()
