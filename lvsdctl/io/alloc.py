"""Allocator tuning for bulk reading: stop glibc handing memory back to the system after each file.

Reading one MUSE export allocates and frees a few hundred kilobytes (lxml's tree, the samples).
With glibc's defaults, freeing that much at the top of the heap trims it back to the system, and
the next file faults the same pages in again: measured on the MUSE fixtures, a full read took
1.8 ms instead of 1.2 ms. Keeping a modest pad (64 MB by default) removes that cost. Call
`tune_allocator()` once per ingest worker process; elsewhere (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_TOP_PAD = -2


def tune_allocator(pad_bytes: int = 64 << 20) -> bool:
    """Keep up to `pad_bytes` of freed heap instead of trimming it; True when glibc accepted."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    pad = max(0, min(int(pad_bytes), 1 << 30))
    return bool(mallopt(_M_TRIM_THRESHOLD, 4 * pad) and mallopt(_M_TOP_PAD, pad))
