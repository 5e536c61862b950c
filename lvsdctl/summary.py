"""What every stage's verb returns: a dataclass whose `to_dict()` is what `--json` prints.

`jsonable` is the one place that makes results JSON-safe (numpy scalars become Python numbers,
NaN and infinities become null, paths and other objects their text), used by the CLI's `--json`
and by every JSON file lvsdctl writes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any


@dataclasses.dataclass
class Summary:
    """Base of the stages' summaries: fields in the order `--json` prints them."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: Any) -> Any:
    """Nested summaries and dataclasses as dicts (lists and dicts walked); anything else as is."""
    if isinstance(value, Summary):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def jsonable(obj: Any) -> Any:
    """`obj` made of JSON types only: numpy scalars as numbers, NaN/inf as None, paths as text."""
    if isinstance(obj, Summary):
        obj = obj.to_dict()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0:
        obj = obj.item()  # numpy scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
