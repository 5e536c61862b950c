"""The `preprocess` stage: filters, resampling, the 4x5000 / 12x5000 layouts, quality flags.

    from lvsdctl.signal import preprocess
    summary = preprocess("raw.h5", "pre.h5", layout="4x5000")

Modules: `api` (the verb: file to file, streamed), `chain` (the batch chain in memory), `filters`,
`blockfilter`, `resample`, `layout`, `quality`, `writer` (`/signals` compressed in threads).
Import-light: the names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["PreprocessSummary", "preprocess"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "lvsdctl.signal.api"))

if TYPE_CHECKING:
    from lvsdctl.signal.api import PreprocessSummary, preprocess
