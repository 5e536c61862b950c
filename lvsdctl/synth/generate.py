"""Write a whole synthetic LBBB cohort to a directory: ECG exports, echo table, README (synthetic).

Every ECG is rendered from its own random stream (seed, ECG number), so the output is
bit-identical for a seed whatever the number of worker processes. The cohort appears only when
complete: it is written beside the target under a temporary name, then renamed (or, into an
existing empty folder, moved in with its README last).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl import __version__
from lvsdctl.errors import InputError
from lvsdctl.outputs import claims_outputs
from lvsdctl.summary import Summary
from lvsdctl.synth import cohort as co
from lvsdctl.synth.digitised_writer import DigitisedHeader, digitised_xml, trace_printout
from lvsdctl.synth.ecg_model import draw_params, draw_patient, simulate
from lvsdctl.synth.muse_writer import MuseHeader, muse_xml

README_MARK = "SYNTHETIC DATA"

README = """{mark}: nothing in this directory comes from a real person.

This is a synthetic cohort of ECGs of patients with left bundle branch block, written by
`lvsdctl synth` (lvsdctl {version}) from seed {seed}, as a stand-in for the data of the study
"LVSD detection in LBBB with a fine-tuned ECG foundation model" (Sci Rep 2025). Names, IDs and
birth dates inside the ECG files are invented on purpose (they test that lvsdctl never copies
patient data into its outputs).

  ecg/                  {n_ecgs} ECG exports: {n_muse} GE MUSE XML (MUSE_*.xml, 500 Hz, 8 leads) and
                        {n_dig} image-digitised printouts (DIGITISED_*.xml, 99-221 Hz per piece)
  echo.csv              {n_echo} echocardiograms: patient_id, echo_date, lvef (%)
  generator_truth.csv   what the generator knows and the study did not (latent driver, true QRS
                        width, pairing, the median beat's wave boundaries): for checking the
                        generator and lvsdctl measure, never an input of the pipeline
  generator_fiducials.csv  the wave boundaries of every beat the generator drew (ms from the start
                        of the recording; digitised printouts share the same timeline)

Patients: {n_patients}; sites A, B, C; LVSD (LVEF < 40 in the nearest echo within 30 days) in
{prevalence:.1%} of the paired ECGs; {unpaired} ECGs have no echo within 30 days.
The generative model is described in docs/synthetic.md of lvsdctl.

Try (--demo-secret: a public pseudonymisation key, accepted for synthetic data only):
  lvsdctl ingest ecg/ --echo echo.csv --demo-secret -o raw.h5
"""


def _render(task: dict) -> dict:
    """Simulate and write one ECG file; return its generator truth."""
    seed, idx = task["seed"], task["index"]
    site = co.SITES[task["site"]]
    prng = np.random.default_rng([seed, 1, task["patient_index"]])
    patient = draw_patient(prng, mains_hz=site.mains_hz)
    height = int(np.clip(prng.normal(158 if task["sex"] == "F" else 170, 7), 135, 195))
    weight = int(np.clip(prng.normal(58 if task["sex"] == "F" else 68, 10), 35, 130))
    rng = np.random.default_rng([seed, 2, idx])
    params = draw_params(rng, patient, task["driver"])
    ecg = simulate(params, rng)
    acquired = task["acquired"]
    age = co.age_at(task["dob"], acquired)
    stamp = acquired.strftime("%Y%m%d_%H%M%S")
    truth = {"qrs_ms": round(params.qrs_s * 1000.0, 2), "hr_bpm": round(params.hr, 2),
             "cart_qrs_ms": ecg.measurements["QRSDuration"], "qt_ms": round(params.qt_s * 1000.0, 2),
             "pr_ms": round(params.pr_s * 1000.0, 2),
             **{f"median_{k}": v for k, v in ecg.median_fiducials().items()},
             "beats": ecg.fiducials()}
    if task["format"] == "digitised":
        name = f"DIGITISED_{stamp}_{idx:05d}.xml"
        pieces = trace_printout(ecg.rhythm, rng)
        hdr = DigitisedHeader(task["patient_id"], task["site"], acquired, age, task["sex"])
        data = digitised_xml(pieces, hdr)
        truth["strip_hz"] = round(pieces[-1].rate, 3)
    else:
        name = f"MUSE_{stamp}_{idx:05d}.xml"
        hdr = MuseHeader(
            patient_id=task["patient_id"], last_name=task["last_name"], first_name=task["first_name"],
            dob=task["dob"], age=age, sex=task["sex"], acquired=acquired, site_number=site.number,
            site_name=site.name, location_name=site.location, device=site.device,
            cart=int(rng.integers(1, 20)), overreader=co.OVERREADERS[int(rng.integers(len(co.OVERREADERS)))],
            height_cm=height, weight_kg=weight, ac_filter="NONE" if rng.random() < 0.5 else "60",
        )
        data = muse_xml(ecg, hdr)
        truth["strip_hz"] = 500.0
    (Path(task["dir"]) / name).write_bytes(data)
    truth["file"] = f"ecg/{name}"
    return truth


def _render_chunk(tasks: list[dict]) -> list[dict]:
    return [_render(t) for t in tasks]


def _render_all(tasks: list[dict], jobs: int, progress: Callable[[int, int], None] | None) -> list[dict]:
    """Render every ECG, in this process or in `jobs` workers (chunks of ~50 ECGs)."""
    total = len(tasks)
    chunks = [tasks[i:i + 50] for i in range(0, total, 50)]
    truths: list[dict] = []
    if jobs == 1:
        for chunk in chunks:
            truths.extend(_render_chunk(chunk))
            if progress:
                progress(len(truths), total)
        return truths
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for part in pool.map(_render_chunk, chunks):  # in order, so the output does not depend on jobs
            truths.extend(part)
            if progress:
                progress(len(truths), total)
    return truths


def _prepare_target(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        readme = out_dir / "README.txt"
        ours = readme.is_file() and readme.read_text(errors="replace").startswith(README_MARK)
        if not overwrite:
            raise InputError(f"{out_dir}: directory is not empty; choose a new one"
                             + (" or pass --force to replace this synthetic cohort" if ours else ""))
        if not ours:
            raise InputError(f"{out_dir}: not a synthetic cohort written by lvsdctl synth; refusing to replace it")


@dataclass
class SynthSummary(Summary):
    """What `synthesise` wrote: counts of ECGs, patients and echoes, and the cohort's LVSD prevalence."""

    synthetic: bool
    n_ecgs: int
    n_patients: int
    n_muse: int
    n_digitised: int
    n_echoes: int
    paired_ecgs: int  # ECGs with an echo within 30 days
    unpaired_ecgs: int
    lvsd_prevalence: float  # among the paired ECGs
    echoes_lvef_40: int  # echoes exactly at the threshold (not LVSD)
    ecgs_per_site: dict[str, int]
    output: str
    seed: int
    seconds: float


@claims_outputs(dirs=("out_dir",))
def synthesise(out_dir: str | os.PathLike, n_ecgs: int = 2000, n_patients: int = 900, seed: int = 0,
               digitised_share: float = 0.25, jobs: int = 1, overwrite: bool = False,
               progress: Callable[[int, int], None] | None = None) -> SynthSummary:
    """Write a synthetic LBBB cohort to `out_dir` and return a summary.

    The directory gets `ecg/` (MUSE XML and digitised XML exports), `echo.csv`,
    `generator_truth.csv` and `README.txt`. The same arguments give the same bytes, whatever
    `jobs` is. `overwrite` replaces an existing cohort written by this function (never any other
    directory). `progress(done, total)` is called as ECGs are written.
    """
    t0 = time.perf_counter()
    shown = str(out_dir)
    out_dir = Path(out_dir).resolve()  # "." and "cohort/" name a real folder and its parent
    if jobs < 1:
        raise InputError("jobs must be at least 1")
    _prepare_target(out_dir, overwrite)
    ecg, echo = co.build_cohort(n_ecgs, n_patients, seed, digitised_share)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "ecg").mkdir(parents=True)
    try:
        tasks = [{
            "seed": seed, "index": i, "dir": str(tmp / "ecg"), "patient_index": int(r.patient_index),
            "patient_id": r.patient_id, "site": r.site, "acquired": r.acquired.to_pydatetime(),
            "dob": r.dob, "sex": r.sex, "first_name": r.first_name, "last_name": r.last_name,
            "format": r.format, "driver": float(r.driver),
        } for i, r in enumerate(ecg.itertuples(index=False))]
        truths = _render_all(tasks, jobs, progress)
        summary = _write_tables(tmp, ecg, echo, pd.DataFrame(truths), seed)
        _publish(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SynthSummary(**summary, output=shown, seed=seed, seconds=round(time.perf_counter() - t0, 2))


def _publish(tmp: Path, out_dir: Path) -> None:
    """Move the finished cohort into place. A new folder is one rename. An existing one (empty, or
    an old cohort being replaced; perhaps the working directory) is kept and emptied, its README
    first, and filled with the README last: a cohort counts as complete only with its README."""
    if not out_dir.exists():
        tmp.rename(out_dir)
        return
    for child in sorted(out_dir.iterdir(), key=lambda p: p.name != "README.txt"):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for child in sorted(tmp.iterdir(), key=lambda p: p.name == "README.txt"):
        child.rename(out_dir / child.name)
    tmp.rmdir()


def _fiducial_table(truth: pd.DataFrame) -> pd.DataFrame:
    """One row per beat drawn: file, beat number and its wave boundaries in ms (FIDUCIALS)."""
    from lvsdctl.synth.ecg_model import FIDUCIALS

    frames = []
    for file, beats in zip(truth.file, truth.beats):
        n = len(beats["qrs_onset"])
        frames.append(pd.DataFrame({"file": [file] * n, "beat": np.arange(1, n + 1),
                                    **{f"{k}_ms": np.round(beats[k] * 1000.0, 1) for k in FIDUCIALS}}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["file", "beat"])


def _write_tables(tmp: Path, ecg: pd.DataFrame, echo: pd.DataFrame, truth: pd.DataFrame, seed: int) -> dict:
    paired = co.pair_echoes(ecg, echo)
    label = np.where(paired.echo_lvef.isna(), -1, (paired.echo_lvef < co.LVSD_THRESHOLD).astype(int))
    table = pd.DataFrame({
        "file": truth.file, "format": ecg.format, "patient_id": ecg.patient_id, "site": ecg.site,
        "acquired": ecg.acquired.dt.strftime("%Y-%m-%dT%H:%M:%S"), "lvef_true": ecg.lvef_true.round(2),
        "driver": ecg.driver.round(4), "qrs_ms": truth.qrs_ms, "cart_qrs_ms": truth.cart_qrs_ms,
        "hr_bpm": truth.hr_bpm, "strip_hz": truth.strip_hz, "echo_lvef": paired.echo_lvef,
        "echo_delta_days": paired.echo_delta_days, "label": label,
    })
    for col in [c for c in truth.columns if c.startswith("median_")] + ["qt_ms", "pr_ms"]:
        table[col] = truth[col]
    table.to_csv(tmp / "generator_truth.csv", index=False, lineterminator="\n")
    _fiducial_table(truth).to_csv(tmp / "generator_fiducials.csv", index=False, lineterminator="\n")
    out_echo = echo.assign(echo_date=[d.isoformat() for d in echo.echo_date], lvef=echo.lvef.astype(int))
    out_echo.to_csv(tmp / "echo.csv", index=False, lineterminator="\n")
    n_dig = int((ecg.format == "digitised").sum())
    n_paired = int((label >= 0).sum())
    summary = {
        "synthetic": True, "n_ecgs": len(ecg), "n_patients": int(ecg.patient_id.nunique()),
        "n_muse": len(ecg) - n_dig, "n_digitised": n_dig, "n_echoes": len(echo),
        "paired_ecgs": n_paired, "unpaired_ecgs": len(ecg) - n_paired,
        "lvsd_prevalence": float((label == 1).sum() / max(n_paired, 1)),
        "echoes_lvef_40": int((echo.lvef == co.LVSD_THRESHOLD).sum()),
        "ecgs_per_site": {s: int(n) for s, n in ecg.site.value_counts().sort_index().items()},
    }
    (tmp / "README.txt").write_text(README.format(
        mark=README_MARK, version=__version__, seed=seed, n_ecgs=len(ecg), n_muse=summary["n_muse"],
        n_dig=n_dig, n_echo=len(echo), n_patients=summary["n_patients"],
        prevalence=summary["lvsd_prevalence"], unpaired=summary["unpaired_ecgs"]))
    return summary
