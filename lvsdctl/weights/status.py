"""`list_weights` (what the catalog holds and what is here, without hashing) and `verify` (re-hash)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lvsdctl.errors import InputError
from lvsdctl.summary import Summary
from lvsdctl.weights import catalog as _catalog
from lvsdctl.weights.local import Progress, read_record, record_path, sha256_file, weights_dir


@dataclass
class WeightsListing(Summary):
    """What `list_weights` shows: the weights directory and every catalogued checkpoint's state there."""

    weights_dir: str
    weights: list[dict]


def _local_state(entry: _catalog.WeightsEntry, path: Path) -> dict:
    """Presence, size and the recorded hash of one entry's file; cheap (no hashing)."""
    if not path.is_file():
        return {"present": False, "bytes": None, "recorded_sha256": None, "state": "missing"}
    size = path.stat().st_size
    recorded = read_record(path)
    if entry.size is not None and size != entry.size:
        state = "wrong size"
    elif recorded is None:
        state = "present, not verified"
    elif record_path(path).stat().st_mtime < path.stat().st_mtime:
        state = "changed since fetched"
    elif entry.sha256 is None or entry.identify(recorded) == "current":
        state = "fetched"
    elif entry.identify(recorded):
        state = "older upload"
    else:
        state = "hash differs"
    return {"present": True, "bytes": size, "recorded_sha256": recorded, "state": state}


def list_weights(*, weights_dir: str | os.PathLike | None = None) -> WeightsListing:
    """Every catalogued checkpoint with where it would live here and whether it does."""
    directory = _dir(weights_dir)
    rows = []
    for entry in _catalog.CATALOG:
        path = directory / entry.filename
        rows.append({**entry.to_dict(), "path": str(path), **_local_state(entry, path)})
    return WeightsListing(str(directory), rows)


@dataclass
class VerifiedFile:
    name: str | None  # the catalog entry the file is (or should be), None if unknown
    path: str
    status: str  # ok | older | recorded | unpinned | mismatch | unreadable | missing | unknown
    sha256: str | None = None
    expected: str | None = None
    detail: str = ""


@dataclass
class VerifyReport(Summary):
    """What `verify` found: each file's status against the catalog and the hash recorded at fetch."""

    weights_dir: str
    files: list[VerifiedFile] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No file differs from what it should be, and no file asked for is missing."""
        return not any(f.status in ("mismatch", "unreadable", "missing") for f in self.files)

    def to_dict(self) -> dict:
        return {"weights_dir": self.weights_dir, "ok": self.ok, "files": [asdict(f) for f in self.files]}


def _judge(entry: _catalog.WeightsEntry | None, path: Path, sha: str) -> VerifiedFile:
    if entry is None:  # an explicit file: which catalogued checkpoint (and version) is it?
        for candidate in _catalog.CATALOG:
            known = candidate.identify(sha)
            if known:
                status = "ok" if known == "current" else "older"
                return VerifiedFile(candidate.name, str(path), status, sha, candidate.sha256,
                                    "" if known == "current" else known)
        return VerifiedFile(None, str(path), "unknown", sha, None, "not a checkpoint in lvsdctl's catalog")
    known = entry.identify(sha)
    recorded = read_record(path)
    if known == "current":
        return VerifiedFile(entry.name, str(path), "ok", sha, entry.sha256)
    if known:
        return VerifiedFile(entry.name, str(path), "older", sha, entry.sha256,
                            f"{known}; `lvsdctl weights fetch {entry.name} --force` gets the current one")
    if entry.sha256 is None and recorded == sha:
        return VerifiedFile(entry.name, str(path), "recorded", sha, recorded,
                            "matches the SHA-256 the Hub published when it was fetched (the catalog pins none)")
    if entry.sha256 is None and recorded is None:
        return VerifiedFile(entry.name, str(path), "unpinned", sha, None,
                            "no pinned or recorded SHA-256 to compare with (copied in by hand?)")
    expected = entry.sha256 or recorded
    return VerifiedFile(entry.name, str(path), "mismatch", sha, expected,
                        "the file differs from the published one (truncated, corrupted or another file); "
                        f"`lvsdctl weights fetch {entry.name} --force` replaces it")


def verify(names: list[str] | None = None, *, weights_dir: str | os.PathLike | None = None,
           progress: Progress | None = None) -> VerifyReport:
    """Re-hash checkpoints and compare with the catalog (and with what ``fetch`` recorded).

    ``names``: catalog names, official file names or paths; None -> every catalogued file present in
    the weights directory. A named entry that is absent is reported ``missing``. ``progress(done,
    total)`` counts bytes hashed over all files.
    """
    directory = _dir(weights_dir)
    targets: list[tuple[_catalog.WeightsEntry | None, Path]] = []
    if names:
        for name in names:
            entry = _catalog.lookup(name)
            if entry is not None and not (os.sep in name or Path(name).is_file()):
                targets.append((entry, directory / entry.filename))
            elif Path(name).expanduser().is_file():
                targets.append((None, Path(name).expanduser()))
            else:
                raise InputError(f"{name}: neither a file nor a name in lvsdctl's catalog (`lvsdctl weights list`)")
    else:
        targets = [(e, directory / e.filename) for e in _catalog.CATALOG if (directory / e.filename).is_file()]
    report = VerifyReport(str(directory))
    total = sum(p.stat().st_size for _, p in targets if p.is_file())
    done = 0
    for entry, path in targets:
        if not path.is_file():
            report.files.append(VerifiedFile(entry.name if entry else None, str(path), "missing",
                                             expected=entry.sha256 if entry else None,
                                             detail=f"`lvsdctl weights fetch {entry.name}`" if entry else ""))
            continue
        try:
            sha = sha256_file(path, progress, offset=done, total=total)
        except OSError as exc:  # permissions, an I/O error: reported like a file that differs
            report.files.append(VerifiedFile(entry.name if entry else None, str(path), "unreadable",
                                             expected=entry.sha256 if entry else None,
                                             detail=f"cannot be read ({exc.strerror or type(exc).__name__})"))
            continue
        finally:
            done += path.stat().st_size if path.is_file() else 0
        report.files.append(_judge(entry, path, sha))
    return report


def _dir(directory: str | os.PathLike | None) -> Path:
    return weights_dir(directory)
