"""Output paths checked before any work, one writer per output, leftovers of dead runs removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lvsdctl.errors import InputError
from lvsdctl.outputs import (
    OutputBusyError,
    check_output,
    claims_outputs,
    clean_stale_partials,
    holds_lock,
    lock_path,
    output_lock,
    private_temp,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("make, where, reason", [
    (lambda t: (t / "d").mkdir(), "d", "is a directory"),
    (lambda t: (t / "f").write_text("x"), "f/out.h5", "is a file, so nothing can be written under it"),
    (lambda t: (t / "f").write_text("x"), "f/a/b/out.h5", "is a file, so nothing can be written under it"),
    (lambda t: None, "out/", "ends with '/'"),
    (lambda t: os.mkfifo(t / "pipe"), "pipe", "not a regular file"),
    (lambda t: os.symlink(t / "nowhere", t / "dangling"), "dangling", "dangling symbolic link"),
    (lambda t: None, "x" * 250 + ".h5", "file name too long"),
])
def test_each_cause_is_refused_with_the_path_and_reason(tmp_path, make, where, reason):
    make(tmp_path)
    path = f"{tmp_path}/{where}"  # as typed (a Path would drop a trailing '/')
    with pytest.raises(InputError, match=reason) as err:
        check_output(path)
    assert path in str(err.value) and err.value.exit_code == 3


@pytest.mark.parametrize("where", ["/proc/lvsdctl-test.h5", "/proc/self/x.h5", "/sys/x.h5", "/dev/lvsdctl.h5"])
def test_system_pseudo_file_systems_are_refused(where):
    with pytest.raises(InputError, match="file system, where no file can be written"):
        check_output(where)


def test_a_directory_output_must_not_be_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file; give a directory"):
        check_output(tmp_path / "f", directory=True)
    check_output(tmp_path / "new" / "dir", directory=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_directory_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(InputError, match="no permission to write"):
            check_output(ro / "out.h5")
    finally:
        ro.chmod(0o700)


def test_a_read_only_file_system_is_refused(tmp_path, monkeypatch):
    real = os.statvfs

    class ReadOnly:
        def __init__(self, st):
            self.st = st

        def __getattr__(self, name):
            return os.ST_RDONLY if name == "f_flag" else getattr(self.st, name)

    monkeypatch.setattr(os, "statvfs", lambda p: ReadOnly(real(p)))
    with pytest.raises(InputError, match="read-only file system"):
        check_output(tmp_path / "out.h5")


def test_fine_outputs_pass_and_leave_nothing(tmp_path):
    for ok in (tmp_path / "a.h5", tmp_path / "new" / "deeper" / "b.h5", "-"):
        check_output(ok)
    (tmp_path / "existing.h5").write_text("old")
    check_output(tmp_path / "existing.h5")  # replaced atomically later
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.h5"]  # no probe file left, no folder made


def test_the_lock_is_reentrant_in_a_process_and_removed_when_released(tmp_path):
    out = tmp_path / "o.h5"
    with output_lock(out):
        assert holds_lock(out) and lock_path(out).exists()
        with output_lock(out, tmp_path / "other.h5"):  # a verb holds it, atomic_output takes it again
            assert holds_lock(tmp_path / "other.h5")
        assert holds_lock(out) and not holds_lock(tmp_path / "other.h5")
    assert not holds_lock(out) and not lock_path(out).exists()


HOLDER = textwrap.dedent("""
    import sys, time
    from lvsdctl.outputs import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
""")


def _holder(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_is_refused_and_a_killed_holder_frees_the_output(tmp_path):
    out = tmp_path / "o.h5"
    proc = _holder(out)
    try:
        with pytest.raises(OutputBusyError, match=rf"another lvsdctl run is writing it \(process {proc.pid}\)") as err:
            with output_lock(out):
                pass
        assert err.value.exit_code == 3
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean-up runs: the kernel releases the lock
        proc.wait()
    assert lock_path(out).exists()  # left by the killed holder, and harmless
    with output_lock(out):
        assert holds_lock(out)


def test_claims_outputs_checks_and_locks_before_the_verb_runs(tmp_path):
    calls = []

    @claims_outputs("output", "table", dirs=("figures",))
    def verb(data, output, *, table=None, figures=None):
        calls.append(holds_lock(output))
        return "done"

    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InputError, match="is a file, so nothing can be written under it"):
        verb("in.h5", tmp_path / "out.h5", table=tmp_path / "a-file" / "t.csv")
    with pytest.raises(InputError, match="is a file; give a directory"):
        verb("in.h5", tmp_path / "out.h5", figures=tmp_path / "a-file")
    assert calls == []  # refused before any work
    assert verb("in.h5", tmp_path / "out.h5") == "done" and calls == [True]
    assert verb("in.h5", "-") == "done"  # stdout: nothing to check or lock
    with pytest.raises(TypeError, match="no parameter"):
        claims_outputs("output")(lambda data, out: None)  # a renamed parameter fails at import, not silently


def test_stale_partials_of_dead_processes_go_live_ones_stay(tmp_path):
    out = tmp_path / "o.h5"
    dead, live = _dead_pid(), os.getpid()
    names = [f".o.h5.partial-{dead}-0badc0de", f".o.h5.tmp-{dead}", f".o.h5.partial-{live}-12345678",
             f".other.h5.partial-{dead}-0badc0de", "o.h5"]
    for n in names:
        (tmp_path / n).write_text("x")
    removed = clean_stale_partials(out)
    assert sorted(p.name for p in removed) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


def test_private_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = _dead_pid()
    (tmp_path / f"lvsdctl-stdin-{dead}-abc.h5").write_text("patient data")
    (tmp_path / f"lvsdctl-stdin-{dead}-dir").mkdir()
    path = private_temp("lvsdctl-stdin", suffix=".h5", dir=str(tmp_path))
    assert Path(path).name.startswith(f"lvsdctl-stdin-{os.getpid()}-")
    assert [p.name for p in tmp_path.iterdir()] == [Path(path).name]


def test_rank_zero_holds_the_locks_of_a_torchrun_job(tmp_path, monkeypatch):
    out = tmp_path / "o.h5"
    proc = _holder(out)  # stands for rank 0
    try:
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", "1")
        with output_lock(out):  # rank 1 writes nothing of its own: not refused
            assert not holds_lock(out)
    finally:
        proc.kill()
        proc.wait()


def test_two_spellings_of_one_folder_share_one_lock(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert lock_path(tmp_path / "alias" / "o.h5") == lock_path(tmp_path / "real" / "sub" / ".." / "o.h5")


def test_folders_made_for_a_refused_run_are_removed(tmp_path):
    with pytest.raises(RuntimeError):
        with output_lock(tmp_path / "new" / "deeper" / "o.h5"):
            assert (tmp_path / "new" / "deeper").is_dir()
            raise RuntimeError("the run fails before writing")
    assert list(tmp_path.iterdir()) == []
    with output_lock(tmp_path / "kept" / "o.h5"):
        (tmp_path / "kept" / "o.h5").write_text("written")
    assert (tmp_path / "kept" / "o.h5").exists()


def test_a_file_system_without_locks_is_written_with_a_warning(tmp_path, monkeypatch, caplog):
    import errno
    import fcntl

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with caplog.at_level("WARNING"):
        with output_lock(tmp_path / "o.h5"):
            assert holds_lock(tmp_path / "o.h5")
    assert "cannot lock files" in caplog.text
