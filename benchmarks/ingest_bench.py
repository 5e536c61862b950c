"""Ingest throughput on real GE MUSE exports -> one ecg-raw HDF5, beside other MUSE readers, in one run.

    python benchmarks/ingest_bench.py                      # 2,000 copies of the real MUSE fixtures, 2 jobs
    python benchmarks/ingest_bench.py --n 10000            # the issue's figure
    python benchmarks/ingest_bench.py --source synthetic   # copies of the synthetic cohort's exports instead
    python benchmarks/ingest_bench.py --profile            # + where each millisecond of a file goes

Inputs: by default the real MUSE exports of `shared/fixtures/ecg/muse_xml` (7 files, 141-313 kB, with
GE 12SL's measurements, beat times and statements), copied N times into a temporary folder, each copy
made distinct as an archive's files are: a different acquisition time and date, and patient id, where
the export has them (else a trailing comment), so that no two SHA-256 are equal (identical files would
be ingested once, as duplicates). `--source synthetic`: the exports of a small `lvsdctl synth` cohort.

Each ingest runs in a fresh process, as `lvsdctl ingest` does; its figure includes reading, SHA-256,
parsing, validation, pseudonymisation, pairing and the compressed HDF5 file. Beside it, on the same
files, one core, no output: xmltodict + base64 + numpy (the straightforward reader), and the two MUSE
readers on PyPI when installed: ecg2dcm's (`pip install --no-deps ecg2dcm`: it pins pydicom < 3, which
its MUSE reader does not use) and ecgdatakit's (`pip install -e .[bench]` installs it and xmltodict). Goal (issue 19): >= 1,500 files/s with --jobs 2 on 2 cores on real exports.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
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


def real_sources(folder: Path) -> tuple[list[bytes], str, list[str]]:
    files = sorted(folder.rglob("*.xml"))
    if not files:
        sys.exit(f"no MUSE exports under {folder.resolve()}: give --fixtures, or use --source synthetic")
    return [f.read_bytes() for f in files], f"the {len(files)} real MUSE fixtures", [f.name for f in files]


def synthetic_sources(work: Path, n_sources: int) -> tuple[list[bytes], str, list[str]]:
    from lvsdctl.synth import synthesise

    synthesise(work / "cohort", n_ecgs=n_sources, n_patients=max(4, n_sources // 2), seed=0,
               digitised_share=0.0, jobs=1)
    files = sorted((work / "cohort" / "ecg").glob("MUSE_*.xml"))
    return [f.read_bytes() for f in files], f"{len(files)} synthetic MUSE exports (lvsdctl synth)", \
        [f.name for f in files]


_TIME = re.compile(rb"<AcquisitionTime>[^<]*</AcquisitionTime>")
_DATE = re.compile(rb"<AcquisitionDate>[^<]*</AcquisitionDate>")
_PATIENT = re.compile(rb"<PatientID>[^<]*</PatientID>")


def distinct(data: bytes, i: int) -> bytes:
    """Copy number i of an export, with its own acquisition time and date and patient id (when it has
    them: else a trailing comment), so that its SHA-256 is its own."""
    if not _TIME.search(data):
        return data + f"<!-- benchmark copy {i} -->\n".encode()
    day, second = divmod(i, 86400)
    out = _TIME.sub(f"<AcquisitionTime>{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
                    "</AcquisitionTime>".encode(), data, count=1)
    out = _DATE.sub(f"<AcquisitionDate>{1 + day % 12:02d}-{1 + day // 12 % 28:02d}-2021</AcquisitionDate>"
                    .encode(), out, count=1)
    return _PATIENT.sub(f"<PatientID>{900000 + i % 4000:09d}</PatientID>".encode(), out, count=1)


def make_copies(sources: list[bytes], n: int, folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        p = folder / f"ecg_{i:06d}.xml"
        p.write_bytes(distinct(sources[i % len(sources)], i))
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


def cpu_split() -> tuple[float, float]:
    """CPU seconds of this process (ingest's writer) and of its finished children (its workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def run_one(folder: str, output: str, jobs: str, compression: str) -> None:
    """Time one ingest in this (fresh) process: prints [wall s, writer CPU s, workers' CPU s, accepted]."""
    from lvsdctl.ingest import ingest
    from lvsdctl.ingest.pseudonym import Secret

    secret = Secret(os.urandom(32), "file")
    (p0, k0), t = cpu_split(), time.perf_counter()
    s = ingest([folder], output, jobs=int(jobs), secret=secret, compression=compression)
    wall = time.perf_counter() - t
    p1, k1 = cpu_split()
    print(json.dumps([wall, p1 - p0, k1 - k0, s.accepted]))


def readers() -> list[tuple[str, object]]:
    """(label, read(path)) of the readers timed beside ingest: lvsdctl's own, then the baselines."""
    from lvsdctl.io.detect import read_ecg

    out: list[tuple[str, object]] = [("lvsdctl read_ecg only (no hashing, no output)", read_ecg)]
    try:
        from ecg2dcm.adapters.muse import parse as ecg2dcm_parse

        out.append(("ecg2dcm's MUSE reader (no output)", lambda p: ecg2dcm_parse(str(p))))
    except ImportError:
        print("(ecg2dcm not installed: pip install --no-deps ecg2dcm to time its MUSE reader)")
    try:
        from ecgdatakit.parsing.parsers.ge_muse_xml import GEMuseXMLParser

        parser = GEMuseXMLParser()
        out.append(("ecgdatakit's GE MUSE parser (no output)", lambda p: parser.parse(Path(p))))
    except ImportError:
        print("(ecgdatakit not installed: pip install --no-deps ecgdatakit to time its MUSE parser)")
    out.append(("xmltodict + base64 + numpy (no output)", reference_read))
    return out


def profile(sources: list[bytes], names: list[str], work: Path, writer_ms: float) -> None:
    """Where a file's milliseconds go, step by step on one core, for each distinct source export."""
    import lvsdctl.ingest.worker as ingest_worker
    from lvsdctl.io import muse
    from lvsdctl.io.xmlsafe import parse_bytes

    ingest_worker.init_worker(None)

    def best(fn, n: int = 200) -> float:
        fn()
        runs = []
        for _ in range(5):
            c = time.process_time()
            for _ in range(n):
                fn()
            runs.append((time.process_time() - c) / n)
        return 1000 * min(runs)

    print("\nwhere the time goes, ms of CPU per file (one core, best of 5 runs; worker steps, then the writer):")
    steps = ["read + SHA-256", "lift payloads", "cut sections", "lxml parse", "record (leads, CRC, checks)",
             "hand-over (join, finiteness)", "worker total"]
    print(f"  {'export':34s} {'kB':>5s} " + " ".join(f"{s[:12]:>12s}" for s in steps))
    for k, data in enumerate(sources[:8]):
        path = work / f"profile_{k}.xml"
        path.write_bytes(data)
        document, payloads = muse._lift_payloads(data)
        cut, _ = muse._cut_sections(document)
        root = parse_bytes(cut)
        rec = muse.from_root(root, dict(payloads))
        row = [best(lambda: ingest_worker.read_and_hash(str(path))),
               best(lambda: muse._lift_payloads(data)),
               best(lambda: muse._cut_sections(document)),
               best(lambda: parse_bytes(cut)),
               best(lambda: muse.from_root(root, dict(payloads))),
               best(lambda: ingest_worker._finite(rec, ingest_worker._join(rec, None)[0][0])),
               best(lambda: ingest_worker.parse_one(str(path), None, data) and None)]
        print(f"  {names[k][:34]:34s} {len(data) / 1e3:5.0f} "
              + " ".join(f"{v:12.3f}" for v in row))
    print(f"  writer (ingest's main process: receive, pseudonymise, pair, journal, deflate, HDF5), measured in "
          f"the --jobs run above: {writer_ms:.3f} ms per file")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="number of files (default 2000)")
    ap.add_argument("--jobs", type=int, default=2, help="ingest worker processes (default 2)")
    ap.add_argument("--source", choices=["real", "synthetic"], default="real",
                    help="copies of the real MUSE fixtures (default) or of synthetic exports")
    ap.add_argument("--fixtures", type=Path, default=FIXTURES, help="folder of real MUSE exports "
                    "(default: shared/fixtures/ecg/muse_xml beside the repository)")
    ap.add_argument("--sources", type=int, default=100, help="distinct synthetic ECGs to copy (default 100)")
    ap.add_argument("--reference-n", type=int, default=1000, help="files each baseline reads (default 1000)")
    ap.add_argument("--compression", nargs="+", default=["gzip"], choices=["gzip", "lzf", "none"],
                    help="compressions to time (default: gzip)")
    ap.add_argument("--profile", action="store_true", help="also where each millisecond of a file goes")
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
        sources, what, names = (real_sources(args.fixtures) if args.source == "real"
                                else synthetic_sources(work, args.sources))
        files = make_copies(sources, args.n, work / "in")
        os.sync()  # the copies' own write-back must not run during the timings (real exports are old files)
        kb = sum(len(s) for s in sources) / len(sources) / 1e3
        print(f"inputs: {args.n} distinct copies of {what} ({kb:.0f} kB on average); {os.cpu_count()} CPUs here")

        rows = []  # (label, files, wall s, cpu s, output bytes)
        writer_ms = float("nan")
        for compression in args.compression:
            for jobs in sorted({1, args.jobs}):
                out = work / f"raw-{compression}-{jobs}.h5"
                # each run in a fresh process, as `lvsdctl ingest` runs (imports not timed)
                res = subprocess.run([sys.executable, __file__, "--run-one", str(work / "in"), str(out),
                                      str(jobs), compression], capture_output=True, text=True, check=True)
                wall, own, kids, accepted = json.loads(res.stdout.strip().splitlines()[-1])
                assert accepted == args.n, accepted
                with open_input(out, kind="ecg-raw") as f:
                    assert len(read_records(f)) == args.n
                rows.append((f"lvsdctl ingest -> HDF5 ({compression}), --jobs {jobs}", args.n, wall, own + kids,
                             out.stat().st_size))
                if jobs == args.jobs and compression == args.compression[0]:
                    writer_ms = 1000 * own / args.n
                out.unlink()

        ref_files = files[: min(args.reference_n, args.n)]
        for label, fn in readers():
            c, t = time.process_time(), time.perf_counter()
            for p in ref_files:
                fn(p)
            rows.append((label, len(ref_files), time.perf_counter() - t, time.process_time() - c, 0))

        baselines = {label: (n / wall, n / cpu) for label, n, wall, cpu, _ in rows[-3:]}
        ref_wall, ref_cpu = rows[-1][1] / rows[-1][2], rows[-1][1] / rows[-1][3]
        load = os.getloadavg()[0]
        print(f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs (wall-clock figures shrink under "
              "load; files per CPU-second much less)")
        print(f"{'what':52s} {'files/s':>8s} {'x xmltodict':>11s} {'files/CPU-s':>12s} {'x xmltodict':>11s}"
              f" {'kB/ECG':>7s}")
        for label, n, wall, cpu, size in rows:
            print(f"{label:52s} {n / wall:8.0f} {n / wall / ref_wall:10.1f}x {n / cpu:12.0f} {n / cpu / ref_cpu:10.1f}x"
                  f" {size / n / 1e3 if size else float('nan'):7.0f}")
        main_row = next(r for r in rows if r[0].endswith(f"--jobs {args.jobs}"))
        rate = main_row[1] / main_row[2]
        print("ratios of `ingest --jobs %d` to each reader (wall): " % args.jobs
              + ", ".join(f"{label.split(' (')[0]} {rate / w:.1f}x" for label, (w, _) in baselines.items()))
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory: this process {own:.0f} MB, largest child (an ingest or a worker) {kids:.0f} MB")
        cpu_ms = 1000 * main_row[3] / main_row[1]
        print(f"goal (issue 19): >= 1500 files/s with --jobs 2 on 2 cores, on real exports. CPU per file: "
              f"{cpu_ms:.2f} ms, so at most {2000 / cpu_ms:.0f} files/s on 2 idle cores")
        if args.profile:
            profile(sources, names, work, writer_ms)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
