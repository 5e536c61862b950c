"""Readers of ECG exports, echo tables, pairing and pseudonyms: the `ingest` stage.

Kept light on purpose: importing `lvsdctl.io` loads no reader, lxml, numpy or pydicom. The names
below are resolved on first use, so `from lvsdctl.io import read_ecg` costs only what reading
costs.

    from lvsdctl.io import read_ecg, detect_format
    record = read_ecg("exports/0001.xml")      # any supported format, detected from content
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "read_ecg": "lvsdctl.io.detect",
    "detect_format": "lvsdctl.io.detect",
    "is_companion_file": "lvsdctl.io.detect",
    "READERS": "lvsdctl.io.detect",
    "ECGRecord": "lvsdctl.record",
    "Segment": "lvsdctl.record",
    "LEADS12": "lvsdctl.record",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lvsdctl.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value
