"""`fetch`: download one catalogued checkpoint through ``huggingface_hub`` and check its SHA-256.

The download is ``huggingface_hub``'s own (``hf_hub_download``): its cache (``HF_HUB_CACHE``, so a
file already downloaded by ``hf download`` is reused), ``HF_HUB_OFFLINE`` (cache only, no network),
``HF_ENDPOINT`` (a mirror; read when ``fetch`` runs), the pinned revision, retries that resume an
interrupted transfer with HTTP ranges, and a temporary file that only becomes the cached file once
it has the announced size. Then lvsdctl hashes the file and compares it with the catalog's SHA-256
(or, for an entry the catalog could not pin, with the SHA-256 the Hub publishes for it), and only
then puts it under its official name in the weights directory (a hard link to the cached file
where the file system allows, else a copy), with the hash recorded beside it. A file that fails
the check is deleted from the cache: nothing that looks complete is left behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from lvsdctl.errors import InputError, MissingResourceError
from lvsdctl.outputs import check_output, output_lock
from lvsdctl.summary import Summary
from lvsdctl.weights import catalog as _catalog
from lvsdctl.weights.local import Progress, read_record, record_path, sha256_file, weights_dir, write_record

log = logging.getLogger(__name__)


class IntegrityError(InputError):
    """A downloaded or local checkpoint is not the file it should be (exit code 3)."""


@dataclass
class FetchResult(Summary):
    """What `fetch` did for one checkpoint: where it is, its SHA-256 and what that was checked against."""

    name: str
    repo: str
    filename: str
    revision: str  # as asked for
    path: str
    status: str  # downloaded | present | kept-older
    sha256: str
    expected_sha256: str | None
    checked_against: str  # catalog | hub | cache | record | none
    commit: str | None = None  # the commit the Hub resolved the revision to (None when not asked)
    bytes: int = 0
    pinned: bool = True
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in ("1", "ON", "YES", "TRUE")


def _hub():
    try:
        import huggingface_hub
        from huggingface_hub import errors
    except ImportError:
        raise MissingResourceError(
            "`lvsdctl weights fetch` needs the huggingface_hub package (`pip install huggingface_hub`); or "
            "download the file by other means and copy it into the weights directory"
        ) from None
    return huggingface_hub, errors


def _bar_class(progress: Progress | None, offset: int, total: int | None):
    """A tqdm-like class for ``hf_hub_download(tqdm_class=...)`` that forwards bytes to ``progress``."""

    class _Bar:
        def __init__(self, *args, **kwargs):
            self.n = int(kwargs.get("initial") or 0)
            self.total = total or kwargs.get("total")

        def update(self, n: int = 1) -> None:
            self.n += int(n or 0)
            if progress is not None:
                progress(offset + self.n, self.total or 0)

        def close(self) -> None:
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.close()

    return _Bar


def _is_network_error(exc: BaseException) -> bool:
    root = type(exc).__module__.split(".")[0]  # httpx (huggingface_hub 1.x), httpx2 (2.x), requests (0.x)
    return root.startswith(("httpx", "httpcore", "requests", "urllib3")) or isinstance(exc, (ConnectionError,
                                                                                            TimeoutError))


def _hub_error(exc: Exception, entry: _catalog.WeightsEntry, revision: str, endpoint: str, cache: str,
               directory: Path) -> Exception:
    """A huggingface_hub / network exception as an lvsdctl error with the way out."""
    _, errors = _hub()
    where = f"{entry.repo}/{entry.filename} at {revision}"
    offline_route = (f"or copy {entry.filename} into {directory} by hand (`lvsdctl weights verify "
                     f"{entry.name}` then checks it)")
    if isinstance(exc, errors.LocalEntryNotFoundError) or isinstance(exc, errors.OfflineModeIsEnabled):
        if _offline():
            return MissingResourceError(
                f"HF_HUB_OFFLINE is set and {where} is not in the Hugging Face cache ({cache}): unset "
                f"HF_HUB_OFFLINE on a machine that reaches {endpoint}, {offline_route}")
        return MissingResourceError(f"could not reach {endpoint} for {where}, and it is not in the Hugging Face "
                                    f"cache ({cache}): check the network (or HF_ENDPOINT), {offline_route}")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return MissingResourceError(f"{endpoint} has no repository {entry.repo} (or it is private or gated: log "
                                    "in with `hf auth login`)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return MissingResourceError(f"{entry.repo} has no revision {revision} on {endpoint}")
    if isinstance(exc, errors.EntryNotFoundError):
        return MissingResourceError(f"{entry.repo} has no file {entry.filename} at revision {revision} on {endpoint}")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        return MissingResourceError(f"{endpoint} answered HTTP {status} for {where}; try again later, "
                                    f"{offline_route}")
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return MissingResourceError(
            f"the download of {where} was truncated (fewer bytes than the Hub announced); nothing was kept: "
            f"run the same command again")
    if _is_network_error(exc):
        return MissingResourceError(f"network error while fetching {where} from {endpoint} "
                                    f"({type(exc).__name__}); run the same command again, {offline_route}")
    return exc


def _discard(cached: str) -> None:
    """Delete a cached file that failed its check (the snapshot link and the blob it points to)."""
    blob = os.path.realpath(cached)
    for p in {cached, blob}:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


#: The largest file `fetch` accepts (the catalog's are 0.1-1.1 GB): a mirror announcing more is refused
#: before anything is downloaded.
MAX_DOWNLOAD_BYTES = 16 << 30


def _check_room(entry: _catalog.WeightsEntry, size: int | None, directory: Path) -> None:
    """Refuse, before the download, a file announced larger than MAX_DOWNLOAD_BYTES (or than the catalog's
    size, at another revision by more than half), and a weights directory without room for it."""
    if size is None:
        return
    if size > MAX_DOWNLOAD_BYTES or (entry.size and size > 1.5 * entry.size):
        raise IntegrityError(f"{entry.repo}/{entry.filename} is announced at {size:,} bytes, more than lvsdctl "
                             f"accepts for it ({min(MAX_DOWNLOAD_BYTES, int(1.5 * (entry.size or MAX_DOWNLOAD_BYTES))):,}):"
                             " not the published checkpoint")
    try:
        free = shutil.disk_usage(_existing_folder(directory)).free
    except OSError:
        return
    if free < size:
        raise InputError(f"weights directory {directory}: {free:,} bytes free, {entry.filename} needs {size:,}")


def _existing_folder(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _place(src: str, dest: Path, progress: Progress | None, offset: int, total: int) -> None:
    """Put the checked file at ``dest`` atomically: a hard link where possible, else a copy. The temporary
    file is `.NAME.partial-PID` (a killed run's is removed by the next fetch of the same file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(os.path.realpath(src), tmp)
        except OSError:  # another file system (or no hard links): copy
            with open(src, "rb") as fin, open(tmp, "wb") as fout:
                done = 0
                while block := fin.read(8 << 20):
                    fout.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(offset + done, total)
            shutil.copymode(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _check_existing(entry: _catalog.WeightsEntry, dest: Path, revision: str, progress: Progress | None,
                    t0: float) -> tuple[FetchResult | None, str]:
    """A file already in the weights directory: (a result if it is the right one, its SHA-256).

    A file that is certainly wrong is refused; a hand-copied file of an entry the catalog could not
    pin returns (None, sha) and is judged against the Hub's published hash.
    """
    sha = sha256_file(dest, progress)
    known = entry.identify(sha)
    recorded = read_record(dest)
    if known == "current" or (entry.sha256 is None and recorded == sha):
        if recorded != sha:
            write_record(dest, sha)
        return _existing(entry, dest, revision, sha, "present", "catalog" if known else "record", t0), sha
    if known:
        result = _existing(entry, dest, revision, sha, "kept-older", "catalog", t0)
        result.notes.append(f"{dest.name} here is {known}; `--force` replaces it with the current one")
        return result, sha
    if entry.sha256 is None and recorded is None:
        return None, sha
    raise IntegrityError(
        f"{dest} exists but its SHA-256 ({sha[:16]}...) is not that of {entry.name} "
        f"({(entry.sha256 or recorded or '')[:16]}...): a truncated or other file; "
        f"`lvsdctl weights fetch {entry.name} --force` replaces it")


def _existing(entry, dest: Path, revision: str, sha: str, status: str, against: str, t0: float) -> FetchResult:
    return FetchResult(name=entry.name, repo=entry.repo, filename=entry.filename, revision=revision,
                       path=str(dest), status=status, sha256=sha, expected_sha256=entry.sha256 or sha,
                       checked_against=against, bytes=dest.stat().st_size, pinned=entry.pinned,
                       seconds=time.perf_counter() - t0)


def _accepts(func, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def fetch(name: str, *, weights_dir: str | os.PathLike | None = None, revision: str | None = None,
          force: bool = False, cache_dir: str | os.PathLike | None = None, endpoint: str | None = None,
          progress: Progress | None = None) -> FetchResult:
    """Download catalog entry ``name`` into the weights directory and check its SHA-256.

    ``revision`` overrides the catalog's (the Hub's hash is then the reference). ``force`` replaces a
    file already there. ``cache_dir`` is huggingface_hub's cache (default: its own, ``HF_HUB_CACHE``).
    ``endpoint`` defaults to ``$HF_ENDPOINT``. ``progress(done, total)`` counts bytes downloaded, then
    hashed. Raises ``MissingResourceError`` (exit 6) when the file cannot be had (offline cache miss,
    network, truncated transfer) and ``IntegrityError`` (exit 3) when it is not the published file.
    """
    t0 = time.perf_counter()
    entry = _catalog.get(name)
    directory = _dir(weights_dir)
    check_output(directory, directory=True, what="weights directory")  # before any download
    dest = directory / entry.filename
    check_output(dest, what="weights file")
    # One fetch of a file at a time: the file and its recorded hash are locked until both are written.
    with output_lock(dest, record_path(dest), what="weights file"):
        try:
            return _fetch(entry, directory, dest, revision, force, cache_dir, endpoint, progress, t0)
        except OSError as exc:  # placing the file or its record: a full disk, a quota, permissions
            raise InputError(f"weights file {dest}: cannot be written ({exc.strerror or type(exc).__name__})") from None


def _fetch(entry: _catalog.WeightsEntry, directory: Path, dest: Path, revision: str | None, force: bool,
           cache_dir: str | os.PathLike | None, endpoint: str | None, progress: Progress | None,
           t0: float) -> FetchResult:
    """`fetch` once the weights file is locked."""
    rev = revision or entry.revision
    pinned_rev = rev == entry.revision
    local_sha = None
    if dest.exists() and not force:
        found, local_sha = _check_existing(entry, dest, rev, progress, t0)
        if found is not None:
            return found
    hub, _ = _hub()
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    import huggingface_hub.constants  # a submodule: not an attribute of the package until imported

    cache = str(cache_dir) if cache_dir is not None else str(huggingface_hub.constants.HF_HUB_CACHE)
    offline = _offline()
    notes: list[str] = []
    published, commit, size = None, None, entry.size
    try:
        if not offline:  # what the Hub publishes for the file, checked before downloading a gigabyte
            meta = hub.get_hf_file_metadata(
                hub.hf_hub_url(entry.repo, entry.filename, revision=rev, endpoint=endpoint), endpoint=endpoint)
            published = meta.etag if _catalog.is_sha256(meta.etag) else None
            commit, size = meta.commit_hash, meta.size or size
            if pinned_rev and entry.sha256 and (published not in (None, entry.sha256)
                                                or (entry.size and meta.size and meta.size != entry.size)):
                raise IntegrityError(
                    f"{endpoint} publishes SHA-256 {published} ({meta.size} bytes) for {entry.repo}/"
                    f"{entry.filename} at {rev[:12]}, but lvsdctl pins {entry.sha256} ({entry.size or '?'} bytes): "
                    "the endpoint does not serve the published file (a stale or wrong mirror?)")
            if entry.commit_hint and commit and not commit.startswith(entry.commit_hint) and revision is None:
                notes.append(f"{entry.repo}'s {rev} is now at commit {commit[:12]}, not {entry.commit_hint} as "
                             "when lvsdctl's catalog was made: the file may have changed since")
            if local_sha is not None and local_sha == published:  # a hand-copied file, now confirmed
                write_record(dest, local_sha)
                result = _existing(entry, dest, rev, local_sha, "present", "hub", t0)
                result.commit, result.notes = commit, notes
                return result
            _check_room(entry, size, directory)
        kwargs = dict(revision=rev, cache_dir=cache_dir, endpoint=endpoint, local_files_only=offline,
                      force_download=force and not offline)
        if _accepts(hub.hf_hub_download, "tqdm_class"):
            kwargs["tqdm_class"] = _bar_class(progress, 0, 2 * size if size else None)
        was_cached = isinstance(hub.try_to_load_from_cache(entry.repo, entry.filename, cache_dir=cache_dir,
                                                           revision=rev), str)
        cached = hub.hf_hub_download(entry.repo, entry.filename, **kwargs)
    except (IntegrityError, MissingResourceError):
        raise
    except Exception as exc:  # noqa: BLE001 - mapped to a clear error, or re-raised as a bug
        mapped = _hub_error(exc, entry, rev, endpoint, cache, directory)
        if mapped is exc:
            raise
        raise mapped from None

    nbytes = os.path.getsize(cached)
    total = 2 * nbytes
    sha = sha256_file(cached, progress, offset=nbytes, total=total)
    blob_name = os.path.basename(os.path.realpath(cached))
    if pinned_rev and entry.sha256:
        expected, against = entry.sha256, "catalog"
    elif published:
        expected, against = published, "hub"
    elif _catalog.is_sha256(blob_name):  # offline: the cache names a file by the hash the Hub published
        expected, against = blob_name, "cache"
    else:
        expected, against = None, "none"
    known = entry.identify(sha)
    if expected is not None and sha != expected:
        _discard(cached)
        raise IntegrityError(
            f"the downloaded {entry.filename} has SHA-256 {sha}, but {expected} was expected ({against}); it was "
            f"deleted. A corrupted transfer or a server sending another file: run the command again, or check "
            f"HF_ENDPOINT ({endpoint})")
    if expected is None:
        notes.append("no SHA-256 to check against (none pinned, none published): the hash was recorded as got")
    elif against != "catalog":
        notes.append(f"{entry.name} is not pinned in lvsdctl's catalog at this revision: checked against the "
                     f"SHA-256 the Hub published ({against}) and recorded beside the file")
    if known not in (None, "current"):
        notes.append(f"revision {rev} holds {known}")
    _place(cached, dest, progress, nbytes, total)
    write_record(dest, sha)
    log.debug("fetched %s (%s) -> %s, SHA-256 %s", entry.name, entry.repo, dest, sha)
    return FetchResult(name=entry.name, repo=entry.repo, filename=entry.filename, revision=rev, path=str(dest),
                       status="from-cache" if was_cached else "downloaded", sha256=sha, expected_sha256=expected,
                       checked_against=against, commit=commit, bytes=nbytes, pinned=entry.pinned,
                       seconds=time.perf_counter() - t0, notes=notes)


def _dir(directory: str | os.PathLike | None) -> Path:
    return weights_dir(directory)
