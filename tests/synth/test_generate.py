"""The cohort directory: layout, echo table, determinism, and safe (atomic, non-destructive) writing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from lvsdctl.errors import InputError
from lvsdctl.synth import synthesise


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_summary(small_cohort, small_args):
    out, summary = small_cohort
    files = sorted((out / "ecg").iterdir())
    assert len(files) == small_args["n_ecgs"] == summary.n_ecgs
    muse = [f for f in files if f.name.startswith("MUSE_")]
    digitised = [f for f in files if f.name.startswith("DIGITISED_")]
    assert len(muse) == summary.n_muse and len(digitised) == summary.n_digitised
    assert len(muse) + len(digitised) == len(files) and len(digitised) >= 1
    assert summary.n_patients == small_args["n_patients"] and summary.synthetic is True
    readme = (out / "README.txt").read_text()
    assert readme.startswith("SYNTHETIC DATA") and "not" in readme.splitlines()[0]
    truth = pd.read_csv(out / "generator_truth.csv")
    assert sorted(truth.file) == sorted(f"ecg/{f.name}" for f in files)
    assert set(truth.site) <= {"A", "B", "C"}
    assert not list(out.parent.glob(".cohort.partial-*")), "temporary directory left behind"


def test_echo_table(small_cohort):
    out, summary = small_cohort
    echo = pd.read_csv(out / "echo.csv", dtype={"patient_id": str})
    assert list(echo.columns) == ["patient_id", "echo_date", "lvef"]
    pd.to_datetime(echo.echo_date, format="%Y-%m-%d")  # ISO dates, raises otherwise
    assert echo.lvef.between(10, 80).all()
    assert (echo.lvef == 40).sum() >= 2, "the strict LVEF < 40 threshold needs LVEF == 40 cases"
    assert echo.groupby("patient_id").size().max() > 1, "some patients have several echoes"
    truth = pd.read_csv(out / "generator_truth.csv")
    assert set(truth.patient_id) <= set(echo.patient_id)
    assert summary.echoes_lvef_40 == (echo.lvef == 40).sum()
    # LVEF == 40 is labelled negative (LVSD is strictly below 40).
    assert (truth.loc[truth.echo_lvef == 40, "label"] == 0).all()
    assert ((truth.label == -1) == truth.echo_lvef.isna()).all()
    assert (truth.label == -1).sum() >= 1, "even a small cohort has an ECG without an echo"


def test_same_seed_same_bytes_any_jobs(small_cohort, small_args, tmp_path):
    out, _ = small_cohort
    again = tmp_path / "again"
    synthesise(again, jobs=2, **small_args)
    assert _digest(again) == _digest(out)
    other = tmp_path / "other"
    synthesise(other, **{**small_args, "seed": small_args["seed"] + 1})
    assert _digest(other) != _digest(out)


def test_refuses_to_overwrite_what_it_did_not_write(small_cohort, small_args, tmp_path):
    out, _ = small_cohort
    with pytest.raises(InputError, match="not empty"):
        synthesise(out, **small_args)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "precious.txt").write_text("keep me")
    with pytest.raises(InputError, match="refusing"):
        synthesise(mine, overwrite=True, **small_args)
    assert (mine / "precious.txt").read_text() == "keep me"


def test_overwrite_replaces_a_synthetic_cohort(tmp_path):
    target = tmp_path / "c"
    small = {"n_ecgs": 8, "n_patients": 6, "seed": 1}
    synthesise(target, **small)
    synthesise(target, overwrite=True, **{**small, "seed": 2})
    assert len(list((target / "ecg").iterdir())) == 8
    assert "seed 2" in (target / "README.txt").read_text()


def test_impossible_sizes_are_refused(tmp_path):
    with pytest.raises(InputError, match="between"):
        synthesise(tmp_path / "x", n_ecgs=1000, n_patients=20)
    with pytest.raises(InputError, match="at least 4 patients"):
        synthesise(tmp_path / "y", n_ecgs=3, n_patients=3)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_writes_into_an_empty_working_directory(tmp_path, monkeypatch):
    here = tmp_path / "empty"
    here.mkdir()
    monkeypatch.chdir(here)
    summary = synthesise(".", n_ecgs=8, n_patients=6, seed=1)
    assert summary.output == "."
    assert (here / "README.txt").is_file() and len(list((here / "ecg").iterdir())) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # no temporary folder left
