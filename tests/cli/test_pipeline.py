"""The stages as a user runs them: real subprocesses, shell pipes, exit codes."""

import json
import subprocess
import sys

import h5py
import pytest

LVSDCTL = [sys.executable, "-m", "lvsdctl"]


def run(*args, input=None, check=True):
    proc = subprocess.run([*LVSDCTL, *map(str, args)], input=input, capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"lvsdctl {' '.join(map(str, args))} -> {proc.returncode}\n{proc.stderr.decode()[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    d = tmp_path_factory.mktemp("pipeline")
    run("synth", "-o", d / "cohort", "--n-ecgs", 60, "--n-patients", 30, "--seed", 3, "-q")
    return d


def test_ingest_preprocess_split_through_a_pipe(cohort):
    d = cohort
    res = run("ingest", d / "cohort" / "ecg", "--echo", d / "cohort" / "echo.csv", "--demo-secret",
              "-o", d / "raw.h5", "--json", "-q")
    summary = json.loads(res.stdout)
    assert summary["inputs"] == summary["accepted"] + summary["rejected"] + summary["duplicates"] == 60
    # preprocess writes to stdout, split reads stdin: one shell pipeline, no intermediate file.
    pipe = f"{' '.join(LVSDCTL)} preprocess {d / 'raw.h5'} -o - -q | {' '.join(LVSDCTL)} split - -o {d / 'split.h5'} --seed 1 -q"
    subprocess.run(pipe, shell=True, check=True, capture_output=True)
    with h5py.File(d / "split.h5") as f:
        assert f.attrs["lvsdctl_kind"] == "ecg"
        assert bool(f.attrs["synthetic"])
        stages = [json.loads(s)["kind"] for s in f["provenance"].asstr()[()]]
        assert stages == ["ecg-raw", "ecg", "ecg"]
        assert f["signals"].shape[1:] == (4, 5000)
        splits = set(f["records/split"].asstr()[()])
        assert {"train", "tune"} <= splits
    info = json.loads(run("inspect", d / "split.h5", "--json").stdout)
    assert info["kind"] == "ecg" and sum(r["ecgs"] for r in info["records"]) == f_len(d / "split.h5")


def f_len(path):
    with h5py.File(path) as f:
        return len(f["records/record_id"])


def test_wrong_kind_is_exit_code_3_without_traceback(cohort):
    res = run("split", cohort / "cohort" / "echo.csv", "-o", cohort / "x.h5", check=False)
    assert res.returncode == 3
    assert b"Traceback" not in res.stderr
    assert not (cohort / "x.h5").exists()
