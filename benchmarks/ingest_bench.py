"""Ingest throughput: N MUSE XML files -> one ecg-raw HDF5, next to a straightforward reference reader.

    python benchmarks/ingest_bench.py              # 2,000 files, 2 jobs
    python benchmarks/ingest_bench.py --n 10000    # the issue's figure

Inputs: the MUSE exports of a small synthetic cohort (`lvsdctl.synth`), or the real MUSE fixtures
when the synthesiser is unavailable, copied N times into a temporary folder, each copy made unique by
a trailing XML comment (byte-identical copies would be ingested once, as duplicates).

Reference: an xmltodict parse of the same files in this process (one core): base64 -> int16 ->
millivolts for every stored lead of both waveforms, the four derived limb leads; no validation and no
output file. The issue's other example, ecg2dcm's MUSE reader (xml.etree, base64, numpy), is timed too
when installed (`pip install --no-deps ecg2dcm`: it asks for pydicom < 3, which its MUSE reader does not
use). lvsdctl's figure includes hashing, validation, pseudonymisation, pairing and the HDF5
file. Goal (issue 3): >= 1,500 files/s on 2 cores and >= 4x the reference.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / ".." / "shared" / "fixtures" / "ecg" / "muse_xml"


def source_files(work: Path, n_sources: int) -> tuple[list[bytes], str]:
    """MUSE exports to copy: from a synthetic cohort if lvsdctl.synth works, else the fixtures."""
    try:
        from lvsdctl.synth import synthesise

        synthesise(work / "cohort", n_ecgs=n_sources, n_patients=max(4, n_sources // 2), seed=0,
                   digitised_share=0.0, jobs=1)
        files = sorted((work / "cohort" / "ecg").glob("MUSE_*.xml"))
        if files:
            return [f.read_bytes() for f in files], f"{len(files)} synthetic MUSE exports (lvsdctl.synth)"
    except Exception as exc:  # noqa: BLE001 - the benchmark still runs on the fixtures
        print(f"(synthetic cohort unavailable: {type(exc).__name__}; using the MUSE fixtures)", file=sys.stderr)
    files = sorted(FIXTURES.rglob("*.xml"))
    return [f.read_bytes() for f in files], f"{len(files)} real MUSE fixtures"


def make_copies(sources: list[bytes], n: int, folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        p = folder / f"ecg_{i:06d}.xml"
        p.write_bytes(sources[i % len(sources)] + f"<!-- benchmark copy {i} -->\n".encode())
        paths.append(p)
    return paths


def reference_read(path: Path) -> dict[str, np.ndarray]:
    """The straightforward way: xmltodict, then every LeadData decoded."""
    import xmltodict

    doc = xmltodict.parse(path.read_bytes())
    waveforms = doc["RestingECG"]["Waveform"]
    out: dict[str, np.ndarray] = {}
    for wf in waveforms if isinstance(waveforms, list) else [waveforms]:
        leads = {}
        for ld in wf["LeadData"]:
            counts = np.frombuffer(base64.b64decode(ld["WaveFormData"]), dtype="<i2")
            leads[ld["LeadID"]] = counts.astype(np.float32) * float(ld["LeadAmplitudeUnitsPerBit"]) / 1000.0
        i, ii = leads["I"], leads["II"]
        leads.update({"III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2})
        for name, sig in leads.items():
            out[f"{wf['WaveformType']}/{name}"] = sig
    return out


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ingest's workers are joined before it returns)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_one(folder: str, output: str, jobs: str, compression: str) -> None:
    """Time one ingest in this (fresh) process: prints [wall s, CPU s incl. workers, accepted]."""
    from lvsdctl.ingest import ingest
    from lvsdctl.ingest.pseudonym import Secret

    secret = Secret(os.urandom(32), "file")
    c, t = cpu_seconds(), time.perf_counter()
    s = ingest([folder], output, jobs=int(jobs), secret=secret, compression=compression)
    print(json.dumps([time.perf_counter() - t, cpu_seconds() - c, s.accepted]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="number of files (default 2000)")
    ap.add_argument("--jobs", type=int, default=2, help="ingest worker processes (default 2)")
    ap.add_argument("--sources", type=int, default=100, help="distinct synthetic ECGs to copy (default 100)")
    ap.add_argument("--reference-n", type=int, default=1000, help="files the reference reads (default 1000)")
    ap.add_argument("--compression", nargs="+", default=["gzip", "none"], choices=["gzip", "lzf", "none"],
                    help="compressions to time (default: gzip none)")
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    ap.add_argument("--run-one", nargs=4, metavar=("INPUT", "OUTPUT", "JOBS", "COMPRESSION"),
                    help=argparse.SUPPRESS)  # internal: one timed ingest in this process, printed as JSON
    args = ap.parse_args()
    if args.run_one:
        run_one(*args.run_one)
        return

    from lvsdctl.hdf5 import open_input, read_records

    work = args.keep or Path(tempfile.mkdtemp(prefix="lvsdctl-ingest-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sources, what = source_files(work, args.sources)
        files = make_copies(sources, args.n, work / "in")
        os.sync()  # the copies' own write-back must not run during the timings (real exports are old files)
        mb = sum(len(s) for s in sources) / len(sources) / 1e6
        print(f"inputs: {args.n} files copied from {what}, {mb:.2f} MB each; {os.cpu_count()} CPUs here")

        rows = []  # (label, files, wall s, cpu s, output bytes)
        for compression in args.compression:
            for jobs in sorted({1, args.jobs}):
                out = work / f"raw-{compression}-{jobs}.h5"
                # each run in a fresh process, as `lvsdctl ingest` runs (imports not timed), so that no
                # run inherits the heap of the one before
                res = subprocess.run([sys.executable, __file__, "--run-one", str(work / "in"), str(out),
                                      str(jobs), compression], capture_output=True, text=True, check=True)
                wall, cpu, accepted = json.loads(res.stdout.strip().splitlines()[-1])
                assert accepted == args.n, accepted
                with open_input(out, kind="ecg-raw") as f:
                    assert len(read_records(f)) == args.n
                rows.append((f"lvsdctl ingest -> HDF5 ({compression}), --jobs {jobs}", args.n, wall, cpu,
                             out.stat().st_size))
                out.unlink()

        from lvsdctl.io.detect import read_ecg

        ref_files = files[: min(args.reference_n, args.n)]
        readers = [("lvsdctl read_ecg only (no hashing, no output)", read_ecg)]
        try:  # the issue's other example reference, when installed (`pip install --no-deps ecg2dcm`)
            from ecg2dcm.adapters.muse import parse as ecg2dcm_parse

            readers.append(("also a reference: ecg2dcm's MUSE reader (no output)", lambda p: ecg2dcm_parse(str(p))))
        except ImportError:
            print("(ecg2dcm not installed: its MUSE reader is not timed)")
        readers.append(("reference: xmltodict + base64 + numpy (no output)", reference_read))
        for label, fn in readers:
            c, t = cpu_seconds(), time.perf_counter()
            for p in ref_files:
                fn(p)
            rows.append((label, len(ref_files), time.perf_counter() - t, cpu_seconds() - c, 0))

        ref_wall = rows[-1][1] / rows[-1][2]
        ref_cpu = rows[-1][1] / rows[-1][3]
        load = os.getloadavg()[0]
        print(f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs (wall-clock figures shrink under load;"
              " files per CPU-second do much less)")
        print(f"{'what':52s} {'files/s':>8s} {'x ref':>6s} {'files/CPU-s':>12s} {'x ref':>6s} {'kB/ECG':>7s}")
        for label, n, wall, cpu, size in rows:
            print(f"{label:52s} {n / wall:8.0f} {n / wall / ref_wall:5.1f}x {n / cpu:12.0f} {n / cpu / ref_cpu:5.1f}x"
                  f" {size / n / 1e3 if size else float('nan'):7.0f}")
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory: this process {own:.0f} MB, largest worker {kids:.0f} MB")
        print("goal (issue 3): >= 1500 files/s with --jobs 2 on 2 cores, >= 4x the reference. On an idle 2-core "
              "machine --jobs 2 reaches at most about 2 x files/CPU-s of the --jobs 2 row.")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
