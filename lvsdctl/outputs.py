"""Where a command writes: checked before any work starts, and written by one process at a time.

Every output path a verb takes goes through here (the `claims_outputs` decorator on each verb, and
`hdf5.atomic_output` / `tables.write_text` for any file written outside a verb):

- `check_output` refuses, with the path and the reason (exit 3), what would otherwise fail after the
  work is done: a directory where a file is wanted (or the reverse), a path under a file, a system
  pseudo-file-system (/proc, /sys, /dev), a read-only or unwritable directory, a name too long for
  the temporary files written beside it;
- `output_lock` holds an exclusive `flock` on `.NAME.lock` beside the output for as long as the
  output (and its state: ingest's `NAME.ingest-state/`, a run's resume file) is being written. A
  second writer of the same output is refused at once (`OutputBusyError`, exit 3) instead of
  corrupting it; the kernel releases the lock when its holder dies, so a killed run never blocks the
  next one. The lock is re-entrant within a process (a verb holds it, `atomic_output` takes it again);
- once the lock is held, the hidden temporary files that killed runs of the same output left behind
  (`.NAME.partial-PID-...`, `.NAME.tmp-PID`, whose PID is no longer running) are removed.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import inspect
import logging
import os
import re
import stat
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from lvsdctl.errors import InputError

#: File systems that hold no user files: writing there fails late, or worse, succeeds somewhere odd.
PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs",
    "pstore", "bpf", "configfs", "fusectl", "mqueue", "binfmt_misc", "autofs", "efivarfs", "rpc_pipefs",
    "nsfs", "hugetlbfs",
})
_PSEUDO_ROOTS = ("/proc", "/sys", "/dev")  # when the mount table cannot be read
#: Room for what is written beside an output: `.NAME.partial-PID-XXXXXXXX`, `.NAME.lock`, `NAME.rejects.json`.
_NAME_ROOM = 32


class OutputBusyError(InputError):
    """Another process is writing the same output (exit code 3, like every refused input)."""


# --------------------------------------------------------------------------------------------- checks


def _mounts() -> list[tuple[str, str]]:
    """(mount point, file system type) of every mount, longest mount point first; [] when unknown."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) >= 5 and after:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            mounts.append((point, after[0]))
    return sorted(mounts, key=lambda m: len(m[0]), reverse=True)


def _pseudo_filesystem(path: Path) -> str | None:
    """The pseudo-file-system type `path` lies on (e.g. 'proc'), or None for a real one."""
    text = str(path)
    for point, fstype in _mounts():
        if text == point or text.startswith(point.rstrip("/") + "/"):
            return fstype if fstype in PSEUDO_FILESYSTEMS else None
    for root in _PSEUDO_ROOTS:
        if text == root or text.startswith(root + "/"):
            return root.lstrip("/")
    return None


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of `path` that exists (a file or a directory)."""
    p = path.parent
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_output(path: str | os.PathLike, *, directory: bool = False, what: str = "output") -> None:
    """Refuse (InputError, exit 3) an output path that cannot be written; `-` (stdout) is always fine.

    `directory`: the output is a directory (created if needed) rather than a file.
    """
    name = os.fspath(path)
    if name == "-":
        return
    if not name.strip():
        raise InputError(f"empty {what} path")
    shown = f"{what} {name}"
    if not directory and name.endswith(("/", os.sep)):
        raise InputError(f"{shown}: names a directory (it ends with '/'); give a file name")
    target = Path(os.path.abspath(name))
    if os.path.lexists(target):
        st = os.stat(target) if os.path.exists(target) else None
        if st is None:
            raise InputError(f"{shown}: is a dangling symbolic link")
        if directory and not stat.S_ISDIR(st.st_mode):
            raise InputError(f"{shown}: is a file; give a directory")
        if not directory and stat.S_ISDIR(st.st_mode):
            raise InputError(f"{shown}: is a directory; give a file name")
        if not directory and not stat.S_ISREG(st.st_mode):
            raise InputError(f"{shown}: is not a regular file (a device or a pipe); use '-o -' for stdout")
    real = Path(os.path.realpath(target))
    pseudo = _pseudo_filesystem(real)
    if pseudo is not None:
        raise InputError(f"{shown}: lies on the system's {pseudo} file system, where no file can be written")
    parent = _existing_ancestor(real)
    if not parent.is_dir():
        raise InputError(f"{shown}: {parent} is a file, so nothing can be written under it")
    if len(target.name.encode("utf-8", "surrogateescape")) + _NAME_ROOM > _name_max(parent):
        raise InputError(f"{shown}: file name too long (at most {_name_max(parent) - _NAME_ROOM} bytes here)")
    try:
        if os.statvfs(parent).f_flag & os.ST_RDONLY:
            raise InputError(f"{shown}: {parent} is on a read-only file system")
    except OSError:
        pass
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{shown}: no permission to write in {parent}")
    if parent == real.parent:  # the directory exists: make sure a file can really be created in it
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{target.name[:32]}.probe-", dir=parent)
        except OSError as exc:
            raise InputError(f"{shown}: cannot create a file in {parent} ({_reason(exc)})") from None
        os.close(fd)
        os.unlink(probe)


def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def _reason(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)


# ---------------------------------------------------------------------------------------------- locks

_HELD: dict[str, list] = {}  # lock file -> [fd or None, depth, folders made for it] for this process's locks
_GUARD = threading.RLock()
#: errno values of a file system that cannot lock (some FUSE and network mounts): written unguarded, with a warning.
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
log = logging.getLogger(__name__)


def lock_path(output: str | os.PathLike) -> Path:
    """The lock file of an output: `.NAME.lock` beside it, in its folder's real path (so two spellings of one
    folder, through a link or `..`, share one lock)."""
    target = Path(os.path.abspath(os.fspath(output)))
    return Path(os.path.realpath(target.parent)) / f".{target.name}.lock"


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


def _make_folder(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; the ones made, deepest first (removed again if left empty)."""
    made = []
    p = folder
    while not os.path.lexists(p) and p != p.parent:
        made.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    return made


def _acquire(output: str, what: str) -> str:
    lock = lock_path(output)
    key = str(lock)
    with _GUARD:
        if key in _HELD:
            _HELD[key][1] += 1
            return key
        try:
            made = _make_folder(lock.parent)
        except OSError as exc:
            raise InputError(f"{what} {output}: cannot create its folder ({_reason(exc)})") from None
        for _ in range(20):  # the file may be replaced between open and lock: retry on a fresh one
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise InputError(f"{what} {output}: cannot create its lock file ({_reason(exc)})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputBusyError(
                    f"{what} {output}: another lvsdctl run is writing it{_holder(lock)}; wait for it to "
                    "finish, or choose another output") from None
            except OSError as exc:
                os.close(fd)
                if exc.errno not in _NO_LOCKS:
                    raise InputError(f"{what} {output}: cannot lock it ({_reason(exc)})") from None
                log.warning("%s %s: its file system cannot lock files; make sure no other run writes it", what, output)
                _HELD[key] = [None, 1, made]
                return key
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous holder removed it as we opened it: lock the new one
        else:
            raise OutputBusyError(f"{what} {output}: its lock file keeps changing; is another run starting?")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD[key] = [fd, 1, made]
    clean_stale_partials(output)
    return key


def _release(key: str) -> None:
    with _GUARD:
        entry = _HELD.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _HELD[key]
        fd, _, made = entry
        try:
            if fd is not None:
                os.unlink(key)  # while still holding it: a waiting opener then sees a new file (retried above)
        except OSError:
            pass
        if fd is not None:
            os.close(fd)
        for folder in made:  # folders made for an output that was never written (a refused run)
            try:
                os.rmdir(folder)
            except OSError:
                break


def _secondary_rank() -> bool:
    """Whether this process is a rank other than 0 of a `torchrun` job: rank 0 holds the outputs' locks
    for the whole job (the ranks are one run, and only rank 0 writes)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1 and int(os.environ.get("RANK", "0")) != 0
    except ValueError:
        return False


@contextmanager
def output_lock(*outputs: str | os.PathLike | None, what: str = "output") -> Iterator[None]:
    """Hold the lock of every output given (None and `-` are skipped) for the `with` block (in a torchrun
    job, rank 0 holds them for every rank)."""
    names = sorted({os.fspath(o) for o in outputs if o is not None and os.fspath(o) != "-"},
                   key=lambda n: str(lock_path(n)))
    if _secondary_rank():
        names = []
    with ExitStack() as stack:
        for name in names:
            key = _acquire(name, what)
            stack.callback(_release, key)
        yield


def holds_lock(output: str | os.PathLike) -> bool:
    """Whether this process holds the lock of `output`."""
    return str(lock_path(output)) in _HELD


# ------------------------------------------------------------------------------------ stale leftovers

_LEFTOVER = re.compile(r"\.(?:partial|tmp)-(\d+)(?:-[0-9a-f]+)?$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_partials(output: str | os.PathLike) -> list[Path]:
    """Remove `.NAME.partial-PID-*` / `.NAME.tmp-PID` files beside `output` left by processes that are
    no longer running (a killed run's temporary files); returns what was removed."""
    target = Path(os.path.abspath(os.fspath(output)))
    prefix = f".{target.name}."
    removed = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for entry in names:
        if not entry.startswith(prefix):
            continue
        m = _LEFTOVER.fullmatch(entry[len(prefix) - 1:])
        if m is None or _alive(int(m.group(1))):
            continue
        path = target.parent / entry
        try:
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


# ------------------------------------------------------------------------------------ the verb guard


def claims_outputs(*files: str, dirs: Iterable[str] = ()) -> Callable:
    """Decorate a verb whose parameters `files` (and `dirs`) name its outputs: each given path is checked
    (`check_output`) before any work starts, and locked (`output_lock`) for the whole call.

    The parameter names are checked when the verb is defined, so renaming one fails at import.
    """
    kinds = {**{n: False for n in files}, **{n: True for n in dirs}}

    def decorate(fn: Callable) -> Callable:
        signature = inspect.signature(fn)
        missing = sorted(set(kinds) - set(signature.parameters))
        if missing:
            raise TypeError(f"{fn.__qualname__} has no parameter(s) {', '.join(missing)} to claim as outputs")

        @functools.wraps(fn)
        def verb(*args, **kwargs):
            bound = signature.bind_partial(*args, **kwargs)
            chosen = []
            for name, is_dir in kinds.items():
                value = bound.arguments.get(name, signature.parameters[name].default)
                if value is None or value is inspect.Parameter.empty or value == "-":
                    continue
                check_output(value, directory=is_dir)
                chosen.append(value)
            with output_lock(*chosen):
                return fn(*args, **kwargs)

        return verb

    return decorate


# ------------------------------------------------------------------------------ private temporaries


def private_temp(prefix: str, *, suffix: str = "", directory: bool = False, dir: str | None = None) -> str:
    """A new private temporary file (or directory) named `PREFIX-PID-XXXXXXXX`; ones of the same prefix
    left by processes no longer running (killed runs: spooled stdin, -o - outputs, hand-over files,
    which may hold patient data) are removed first."""
    base = dir if dir is not None else tempfile.gettempdir()
    stale = re.compile(re.escape(prefix) + r"-(\d+)-")
    try:
        names = os.listdir(base)
    except OSError:
        names = []
    for entry in names:
        m = stale.match(entry)
        if m is None or _alive(int(m.group(1))):
            continue
        path = os.path.join(base, entry)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass
    full = f"{prefix}-{os.getpid()}-"
    if directory:
        return tempfile.mkdtemp(prefix=full, suffix=suffix, dir=base)
    fd, path = tempfile.mkstemp(prefix=full, suffix=suffix, dir=base)
    os.close(fd)
    return path


# ------------------------------------------------------------------------------ any other file


@contextmanager
def atomic_file(path: str | os.PathLike, *, what: str = "output") -> Iterator[str]:
    """A temporary name beside `path` to write a file under (a figure, a copy): renamed over `path` once the
    block ends without an error, removed otherwise, so no reader sees half a file. The output is checked and
    locked like any other; the name `.NAME.partial-PID-XXXXXXXX` lets the next run remove a killed run's.
    Writers that guess a format from the extension must be told it (`savefig(tmp, format="png")`)."""
    import uuid

    target = Path(os.path.abspath(os.fspath(path)))
    check_output(target, what=what)
    with output_lock(target, what=what):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            yield str(tmp)
            os.replace(tmp, target)
        except OSError as exc:  # a full disk, a quota: the user's to fix
            raise InputError(f"{what} {path}: cannot be written ({_reason(exc)})") from None
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def save_figure(fig, path: str | os.PathLike, **options) -> Path:
    """`fig.savefig` to `path` atomically (`atomic_file`), the format taken from the extension."""
    path = Path(path)
    with atomic_file(path, what="figure") as tmp:
        fig.savefig(tmp, format=(path.suffix[1:] or "png").lower(), **options)
    return path
