"""The `split` stage, and the torch datasets over HDF5 that training reads.

    from lvsdctl.data import split
    summary = split("pre.h5", "split.h5", seed=1)

Modules: `api` (designs, set assignment by site and date grouped by patient, the verb), `dataset`
(torch datasets). Light on purpose: pandas, sklearn or torch load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["SplitSummary", "split"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "lvsdctl.data.api"))

if TYPE_CHECKING:
    from lvsdctl.data.api import SplitSummary, split
