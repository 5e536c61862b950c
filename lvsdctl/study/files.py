"""Text outputs of the study stage (script, manifest, report), written atomically like every lvsdctl output."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str, *, executable: bool = False) -> None:
    """Write ``text`` to a hidden temporary file beside ``path`` and rename it over ``path``: a reader
    never sees half a file, and a crash leaves the previous version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.partial-{os.getpid()}"
    try:
        tmp.write_text(text, encoding="utf-8")
        if executable:
            tmp.chmod(0o755)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
