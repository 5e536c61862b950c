"""One writer per output, with real processes: two ingests of one output, a run killed mid-way."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import pytest

from lvsdctl.outputs import lock_path

LVSDCTL = [sys.executable, "-m", "lvsdctl"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from lvsdctl.synth import synthesise

    d = tmp_path_factory.mktemp("concurrent")
    synthesise(d / "cohort", n_ecgs=120, n_patients=40, seed=2)
    return d / "cohort"


def _ingest(cohort, out, *extra):
    return [*LVSDCTL, "ingest", str(cohort / "ecg"), "--echo", str(cohort / "echo.csv"), "--demo-secret",
            "-o", str(out), "-q", "--json", *extra]


def _complete(out, n):
    with h5py.File(out) as f:
        assert f.attrs["lvsdctl_kind"] == "ecg-raw" and len(f["records/record_id"]) == n


def test_two_resumed_ingests_of_one_output_never_corrupt_it(cohort, tmp_path):
    out = tmp_path / "raw.h5"
    procs = [subprocess.Popen(_ingest(cohort, out, "--resume"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.returncode, out, " ".join(err.split())) for p in procs for out, err in [p.communicate(timeout=300)]]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 3]), results  # the second waits for nothing: refused, or ran after the first
    for code, _, stderr in results:
        if code == 3:
            assert "another lvsdctl run is writing it" in stderr and "Traceback" not in stderr
    _complete(out, 120)
    assert not (tmp_path / "raw.h5.ingest-state").exists()
    again = subprocess.run(_ingest(cohort, out, "--resume"), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["accepted"] == 120


HOLD = textwrap.dedent("""
    import sys, time
    from lvsdctl.outputs import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(120)
""")


def test_a_run_in_progress_is_neither_joined_nor_disturbed(cohort, tmp_path):
    out = tmp_path / "raw.h5"
    state = tmp_path / "raw.h5.ingest-state"
    state.mkdir()
    (state / "journal.jsonl").write_text("the live run's journal\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for extra in ((), ("--resume",)):
            proc = subprocess.run(_ingest(cohort, out, *extra), capture_output=True, text=True)
            assert proc.returncode == 3, proc.stderr
            assert f"another lvsdctl run is writing it (process {holder.pid})" in " ".join(proc.stderr.split())
            assert (state / "journal.jsonl").read_text() == "the live run's journal\n"  # untouched
            assert not out.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_run_frees_its_output_and_the_next_run_resumes_and_cleans_up(cohort, tmp_path):
    out = tmp_path / "raw.h5"
    proc = subprocess.Popen(_ingest(cohort, out, "-j", "1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state = tmp_path / "raw.h5.ingest-state" / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not state.exists() or len(state.read_text().splitlines()) < 2):
        time.sleep(0.02)  # killed once at least one block is committed
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    (tmp_path / f".raw.h5.partial-{proc.pid}-0badc0de").write_text("left by a killed run")
    done = subprocess.run(_ingest(cohort, out, "--resume"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["inputs"] == summary["accepted"] == 120 and summary["resumed"] > 0
    _complete(out, 120)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.h5", "raw.h5.rejects.csv", "raw.h5.rejects.json"]
    assert not lock_path(out).exists()
