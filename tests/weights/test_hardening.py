"""`fetch` and `verify` on hostile ground: a second fetch of the same file, killed fetches' leftovers, weights
directories that cannot hold a file, files announced too large, unreadable files."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lvsdctl.errors import InputError
from lvsdctl.outputs import OutputBusyError, output_lock
from lvsdctl.weights import IntegrityError, fetch, verify
from lvsdctl.weights import hub as hub_module
from lvsdctl.weights.local import record_path, write_record


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_a_second_fetch_of_the_same_file_is_refused(hub, dirs):
    wdir, cache = dirs
    dest = wdir / "mimic_iv_ecg_physionet_pretrained.pt"
    code = ("import sys, time; from lvsdctl.outputs import output_lock\n"
            f"with output_lock({str(dest)!r}):\n    print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputBusyError, match="another lvsdctl run"):
            fetch("tiny-pretrained", cache_dir=cache)
        assert not dest.exists()
    finally:
        holder.kill()
        holder.wait()
    assert fetch("tiny-pretrained", cache_dir=cache).status == "downloaded"  # the kernel freed the lock


def test_a_killed_fetchs_partial_files_are_removed(hub, dirs):
    wdir, cache = dirs
    wdir.mkdir(parents=True)
    pid = _dead_pid()
    dest = wdir / "mimic_iv_ecg_physionet_pretrained.pt"
    partial = wdir / f".{dest.name}.partial-{pid}"
    record_tmp = wdir / f".{record_path(dest).name}.tmp-{pid}"
    for p in (partial, record_tmp):
        p.write_bytes(b"half a download")
    fetch("tiny-pretrained", cache_dir=cache)
    assert not partial.exists() and not record_tmp.exists()
    assert sorted(p.name for p in wdir.iterdir()) == [dest.name, record_path(dest).name]


@pytest.mark.parametrize("where", ["a file", "under a file", "proc"])
def test_a_weights_directory_that_cannot_hold_files_is_refused_before_downloading(hub, dirs, tmp_path, where):
    _, cache = dirs
    (tmp_path / "f").write_text("x")
    wdir = {"a file": tmp_path / "f", "under a file": tmp_path / "f" / "w", "proc": "/proc/lvsdctl-weights"}[where]
    with pytest.raises(InputError, match="weights directory"):
        fetch("tiny-pretrained", weights_dir=wdir, cache_dir=cache)
    assert not [r for r in hub.requests if r[0] == "GET"]


def test_the_weights_file_being_a_directory_is_refused(hub, dirs):
    wdir, cache = dirs
    (wdir / "mimic_iv_ecg_physionet_pretrained.pt").mkdir(parents=True)
    with pytest.raises(InputError, match="is a directory"):
        fetch("tiny-pretrained", cache_dir=cache)


def test_a_file_announced_too_large_is_refused_before_downloading(hub, dirs, monkeypatch):
    _, cache = dirs
    monkeypatch.setattr(hub_module, "MAX_DOWNLOAD_BYTES", 1000)
    with pytest.raises(IntegrityError, match="announced at"):
        fetch("tiny-unpinned", cache_dir=cache)
    assert not [r for r in hub.requests if r[0] == "GET" and r[1].startswith("/storage/")]


def test_an_unreadable_file_is_reported_not_a_crash(hub, dirs):
    if os.geteuid() == 0:
        pytest.skip("root reads anything")
    wdir, cache = dirs
    fetch("tiny-pretrained", cache_dir=cache)
    dest = wdir / "mimic_iv_ecg_physionet_pretrained.pt"
    dest.chmod(0)
    try:
        report = verify()
    finally:
        dest.chmod(0o644)
    assert not report.ok and [f.status for f in report.files] == ["unreadable"]


def test_the_record_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "w.pt"
    write_record(target, "a" * 64)

    def fail(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_record(target, "b" * 64)
    assert record_path(target).read_text().split()[0] == "a" * 64
    assert sorted(p.name for p in tmp_path.iterdir()) == [record_path(target).name]
    with output_lock(target):  # the lock of a weights file is an ordinary output lock
        pass
