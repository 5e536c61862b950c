"""Preprocessing speed and memory: lvsdctl beside the study's way (neurokit2), in one run.

    python benchmarks/preprocess_bench.py                  # chain, whole command, compression table (~3 min)
    python benchmarks/preprocess_bench.py --memory         # + peak RSS at 2,000 and 200,000 records (~8 min more)
    python benchmarks/preprocess_bench.py --n 400 --digitised 100 --no-compression-table   # quick look

Records (synthetic, of realistic size) are what `lvsdctl ingest` stores:
- native: a GE MUSE ECG, 8 stored leads at 500 Hz for 10 s as int16 codes (4.88 uV), III/aVR/aVL/aVF
  derived in codes as the MUSE reader does, and 12 median beats (600 samples);
- digitised: 12 pieces of 2.5 s and a 10 s lead II strip, each at its own rate (99-221 Hz), float32.

1. The chain in memory: `lvsdctl.signal.chain.process_batch` against the study's way (the authors'
   script: `neurokit2.ecg_clean(signal, sampling_rate=int(n / duration))` per lead, `np.interp` to
   500 Hz), on the same records; the largest difference must stay below 1e-4 mV.
2. The whole command, as users run it: `python -m lvsdctl preprocess RAW -o OUT` in a fresh process on
   an `ecg-raw` file of N records and on one of N/4, so that start-up cancels out: the marginal ECGs/s,
   CPU ms per ECG and the peak RSS (the default settings: 4x5000, neurokit, gzip, all cores).
3. How /signals is stored: size, CPU to encode and to read back (one ECG per chunk, as the training
   loader reads) for gzip levels, the byte shuffle, lzf and none.
4. `--memory`: peak RSS of the whole command at 2,000 and 200,000 records (records whose beats repeat
   exactly, so that both files stay small on disk; the work per record is the same).
"""

from __future__ import annotations

import argparse
import os
import subprocess
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
MUSE_SCALE = 4.88e-3  # mV per count
STORED = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


def _ecg_like(rng: np.random.Generator, n: int, fs: float, periodic: bool = False) -> np.ndarray:
    """A crude ECG: QRS-like spikes at ~70 bpm, a T wave, baseline drift and noise (mV). `periodic`:
    every beat exactly the same (a whole number of samples per beat, no drift or noise)."""
    t = np.arange(n) / fs
    rr = round(fs * 60 / rng.uniform(55, 95)) / fs if periodic else 60 / rng.uniform(55, 95)
    phase = ((np.arange(n) % round(rr * fs)) / fs) if periodic else (t + rng.uniform(0, rr)) % rr
    qrs = rng.uniform(0.5, 1.8) * np.exp(-0.5 * ((phase - 0.1) / 0.03) ** 2)
    tw = rng.uniform(-0.5, 0.5) * np.exp(-0.5 * ((phase - 0.4) / 0.06) ** 2)
    if periodic:
        return (qrs + tw).astype(np.float32)
    drift = 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 6))
    return (qrs + tw + drift + 0.01 * rng.standard_normal(n) + rng.uniform(-0.3, 0.3)).astype(np.float32)


def native_record(rng: np.random.Generator, periodic: bool = False) -> list[Segment]:
    """A MUSE ECG as ingest stores it: int16 codes, limb leads derived in codes, median beats."""
    from lvsdctl.io.muse import _complete

    def codes(n: int) -> np.ndarray:
        return np.round(_ecg_like(rng, n, FS, periodic) / MUSE_SCALE).astype(np.int16)

    rhythm = {lead: (codes(10 * FS), MUSE_SCALE) for lead in STORED}
    median = {lead: (codes(600), MUSE_SCALE) for lead in STORED}
    return _complete(rhythm, "Rhythm", float(FS)) + _complete(median, "Median", float(FS), 0.0, "median")


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


def write_raw(path: str, pool: list[list[Segment]], n: int) -> None:
    """An ecg-raw file of n records, cycling through `pool`, written by lvsdctl's RawWriter."""
    import pandas as pd

    from lvsdctl.hdf5 import atomic_output
    from lvsdctl.hdf5.raw import RawWriter

    with atomic_output(path, kind="ecg-raw", synthetic=True, command="preprocess_bench") as f:
        w = RawWriter(f)
        for i in range(n):
            w.append(pool[i % len(pool)])
        w.finish(pd.DataFrame({"record_id": [f"b{i:07d}" for i in range(n)],
                               "patient": [f"p{i // 3:07d}" for i in range(n)]}))


#: Runs a command as its own child and prints its (CPU s, peak RSS KiB): a child forked straight from this
#: benchmark would start its peak-RSS count at this process's size (Linux keeps ru_maxrss across fork and
#: exec), which holds every synthetic record and would be reported as the command's memory.
_LAUNCHER = ("import os, subprocess, sys\n"
             "p = subprocess.Popen(sys.argv[1:])\n"
             "_, status, u = os.wait4(p.pid, 0)\n"
             "print(os.waitstatus_to_exitcode(status), u.ru_utime + u.ru_stime, u.ru_maxrss)")


def run_command(raw: str, out: str, *extra: str) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of `python -m lvsdctl preprocess raw -o out -q` in a fresh process."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "lvsdctl", "preprocess", raw,
                           "-o", out, "-q", *extra], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    wall = time.perf_counter() - t
    code, cpu, rss = done.stdout.split()[-3:] if done.returncode == 0 else ("1", "0", "0")
    if int(code) != 0:
        sys.exit(f"preprocess failed (status {code}): {done.stderr[-2000:]}")
    return wall, float(cpu), float(rss) / 1024


def whole_command(records: list[list[Segment]], work: str) -> dict:
    """Marginal rate of the command: N records against N/4, each run in a fresh process."""
    n = len(records)
    small = max(1, n // 4)
    runs = {}
    for size in (small, n):
        raw, out = os.path.join(work, f"raw{size}.h5"), os.path.join(work, f"pre{size}.h5")
        write_raw(raw, records[:size], size)
        os.sync()
        runs[size] = run_command(raw, out)
        os.unlink(out)
        os.unlink(raw)
    (w0, c0, _), (w1, c1, rss) = runs[small], runs[n]
    return {"n": n, "small": small, "wall_rate": (n - small) / max(w1 - w0, 1e-9),
            "cpu_ms": 1000 * (c1 - c0) / (n - small), "rss": rss, "wall_full": n / w1}


def compression_table(records: list[list[Segment]], work: str) -> list[tuple]:
    """(name, kB per ECG, encode ms per ECG (CPU), read ms per ECG (CPU)) for ways to store /signals."""
    import h5py

    from lvsdctl.signal.writer import SignalWriter

    x = np.concatenate([process_batch(records[i:i + 64], ChainConfig.make()).signals
                        for i in range(0, len(records), 64)])
    n, c, t = x.shape
    ways = [("gzip-1 + shuffle, ISA-L in threads (default)", "writer", "gzip"),
            ("gzip-1 + shuffle, HDF5's zlib, one thread", "h5", {"compression": "gzip", "compression_opts": 1,
                                                                "shuffle": True}),
            ("gzip-6 + shuffle, HDF5's zlib", "h5", {"compression": "gzip", "compression_opts": 6, "shuffle": True}),
            ("gzip-1, no shuffle, HDF5's zlib", "h5", {"compression": "gzip", "compression_opts": 1}),
            ("lzf + shuffle, HDF5 (the default before)", "h5", {"compression": "lzf", "shuffle": True}),
            ("lzf, no shuffle", "h5", {"compression": "lzf"}),
            ("none", "writer", "none")]
    rows = []
    order = np.random.default_rng(0).permutation(n).tolist()
    for name, how, opts in ways:
        path = os.path.join(work, "c.h5")
        c0 = time.process_time()
        with h5py.File(path, "w") as f:
            if how == "writer":
                w = SignalWriter(f, c, t, opts)
                for i in range(0, n, 64):
                    w.append(x[i:i + 64])
                w.finish()
            else:
                ds = f.create_dataset("signals", shape=x.shape, dtype="float32", chunks=(1, c, t), **opts)
                for i in range(0, n, 64):
                    ds[i:i + 64] = x[i:i + 64]
        encode = time.process_time() - c0
        c0 = time.process_time()
        with h5py.File(path, "r") as f:
            ds = f["signals"]
            for i in order:  # one ECG at a time in random order: what a shuffled loader decodes
                ds[i]
        read = time.process_time() - c0
        rows.append((name, os.path.getsize(path) / n / 1e3, 1000 * encode / n, 1000 * read / n))
        os.unlink(path)
    return rows


def memory_run(n: int, work: str) -> tuple[float, float, float]:
    """(peak RSS MiB, wall s, CPU s) of the whole command on n MUSE ECGs with exactly repeating beats."""
    rng = np.random.default_rng(n)
    pool = [native_record(rng, periodic=True) for _ in range(8)]
    raw, out = os.path.join(work, f"mem{n}.h5"), os.path.join(work, f"mempre{n}.h5")
    write_raw(raw, pool, n)
    os.sync()
    wall, cpu, rss = run_command(raw, out)
    os.unlink(raw)
    os.unlink(out)
    return rss, wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1600, help="native (MUSE) ECGs (default 1600)")
    ap.add_argument("--digitised", type=int, default=400, help="digitised printouts (default 400)")
    ap.add_argument("--baseline", type=int, default=60, help="records timed the study's way (default 60)")
    ap.add_argument("--jobs", type=int, default=None, help="threads of the in-memory chain (default: all cores)")
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-compression-table", action="store_true", help="skip the /signals storage table")
    ap.add_argument("--memory", action="store_true", help="also peak RSS at --memory-sizes records")
    ap.add_argument("--memory-sizes", type=int, nargs="+", default=[2000, 200_000])
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(args.seed)
    records = [native_record(rng) for _ in range(args.n)] + [digitised_record(rng) for _ in range(args.digitised)]
    records = [records[i] for i in rng.permutation(len(records))]
    cfg = ChainConfig.make()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    process_batch(records[:8], cfg, jobs=args.jobs)  # warm caches (filter designs, thread pool)
    t, c = time.perf_counter(), time.process_time()
    outs = [process_batch(records[lo:lo + args.chunk], cfg, jobs=args.jobs).signals
            for lo in range(0, len(records), args.chunk)]
    fast_s, fast_cpu = time.perf_counter() - t, time.process_time() - c
    fast = np.concatenate(outs)
    k = min(args.baseline, len(records))
    t, c = time.perf_counter(), time.process_time()
    ref = np.stack([study_way(r) for r in records[:k]])
    slow_s, slow_cpu = time.perf_counter() - t, time.process_time() - c
    diff = float(np.abs(fast[:k].astype(np.float64) - ref).max())
    slow_rate, fast_rate = k / slow_s, len(records) / fast_s

    with tempfile.TemporaryDirectory(prefix="lvsdctl-preprocess-bench-") as work:
        whole = whole_command(records, work)
        table = [] if args.no_compression_table else compression_table(records[:200], work)
        memory = [(n, *memory_run(n, work)) for n in args.memory_sizes] if args.memory else []

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"records: {args.n} native MUSE ECGs (int16 codes, 12 x 5000 @ 500 Hz + median beats) and "
          f"{args.digitised} digitised printouts (13 pieces, 99-221 Hz); the study's chain (4x5000, neurokit); "
          f"{cores} cores; load average {load:.1f} at the end")
    print(f"{'':52s} {'ECGs/s':>9s} {'x study':>8s} {'CPU ms/ECG':>11s}")
    print(f"{'study: nk.ecg_clean per lead + np.interp (one core)':52s} {slow_rate:9.1f} {1.0:7.1f}x "
          f"{1000 * slow_cpu / k:11.2f}")
    print(f"{'lvsdctl chain in memory (process_batch)':52s} {fast_rate:9.1f} {fast_rate / slow_rate:7.1f}x "
          f"{1000 * fast_cpu / len(records):11.2f}")
    print(f"{'lvsdctl preprocess, whole command (marginal)':52s} {whole['wall_rate']:9.1f} "
          f"{whole['wall_rate'] / slow_rate:7.1f}x {whole['cpu_ms']:11.2f}")
    print(f"  (whole command: {whole['n']} records against {whole['small']}, fresh processes; "
          f"{whole['wall_full']:.0f} ECGs/s including start-up; peak RSS {whole['rss']:.0f} MiB)")
    print(f"max |difference| from the study's way on {k} records: {diff:.2e} mV (limit 1e-4) -> "
          f"{'OK' if diff <= 1e-4 else 'FAIL'}")
    print(f"goal (issue 19): whole command >= 1000 ECGs/s on 2 cores with peak RSS <= 500 MB. CPU-bound "
          f"estimate on {cores} idle cores: {cores * 1000 / whole['cpu_ms']:.0f} ECGs/s")
    if table:
        print("\n/signals storage (4 x 5000 float32, one ECG per chunk; read = every ECG once, in random order):")
        print(f"  {'':48s} {'kB/ECG':>7s} {'encode ms':>10s} {'read ms':>8s}")
        for name, kb, enc, rd in table:
            print(f"  {name:48s} {kb:7.1f} {enc:10.3f} {rd:8.3f}")
        print("  (encode: CPU of all threads per ECG; ISA-L's encode runs beside the filtering)")
    for n, rss, wall, cpu in memory:
        print(f"peak RSS, whole command, {n:7d} records: {rss:5.0f} MiB ({n / wall:.0f} ECGs/s, "
              f"{1000 * cpu / n:.2f} ms CPU per ECG)")
    if diff > 1e-4:
        sys.exit(1)


if __name__ == "__main__":
    main()
