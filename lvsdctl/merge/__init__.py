"""The `merge` stage: join `ecg-raw` files (or `ecg` files) of several sites or shards into one,
refusing what cannot be joined (docs/merge.md).

    from lvsdctl.merge import merge

    s = merge(["A.h5", "B.h5"], "all.h5")      # -> MergeSummary; s.inputs == s.written + s.duplicates

Modules: `api` (the verb), `inputs` (what may be joined). Import-light: the names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["MergeSummary", "merge"]
__getattr__, __dir__ = lazy_exports(__name__, {name: "lvsdctl.merge.api" for name in __all__})

if TYPE_CHECKING:
    from lvsdctl.merge.api import MergeSummary, merge
