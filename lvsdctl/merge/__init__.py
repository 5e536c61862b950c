"""`merge`: join `ecg-raw` files (or `ecg` files) of several sites or shards into one, refusing what
cannot be joined. `from lvsdctl.merge import merge`; see docs/merge.md."""

from __future__ import annotations

from lvsdctl.merge.api import MergeSummary, merge

__all__ = ["MergeSummary", "merge"]
