"""Whether an ECG export was written by `lvsdctl synth`: the marker near its start.

Every synthetic export carries it (the MUSE files' opening comment "SYNTHETIC ECG written by
lvsdctl-synth", the digitised files' `digitiser="lvsdctl-synth"`), so ingest can mark its output
synthetic and explain can say so on a figure, whatever reads the file.
"""

from __future__ import annotations

import os

#: What `lvsdctl synth` writes into every export, within the first MARKER_SPAN bytes.
SYNTHETIC_MARKERS = (b"lvsdctl-synth",)
MARKER_SPAN = 8192


def has_synthetic_marker(head: bytes) -> bool:
    """Whether the first MARKER_SPAN bytes of a file carry the marker `lvsdctl synth` writes."""
    return any(m in head[:MARKER_SPAN] for m in SYNTHETIC_MARKERS)


def is_synthetic_export(path: str | os.PathLike) -> bool:
    """Whether the file at `path` carries the marker (reads MARKER_SPAN bytes)."""
    with open(path, "rb") as fh:
        return has_synthetic_marker(fh.read(MARKER_SPAN))
