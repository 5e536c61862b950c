"""Where output goes: humans read stderr, scripts read stdout.

stdout carries only data (`--json`, or HDF5 bytes with `-o -`), so stages pipe cleanly.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

#: Tables, progress and messages for people.
err = Console(stderr=True, highlight=False)


def _clean(obj: Any) -> Any:
    """Make numpy scalars, NaN and paths JSON-safe (NaN becomes null)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")
    sys.stdout.flush()


def info(message: str, quiet: bool = False) -> None:
    if not quiet:
        err.print(message)


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {message}")
