"""The `ingest` stage: ECG exports + an echo table -> one `ecg-raw` HDF5 file.

    from lvsdctl.ingest import ingest
    summary = ingest(["exports/"], "raw.h5", echo="echo.csv", secret="site.secret")

Modules: `api` (the verb and its summary), `options` (IngestOptions), `inputs` (expanding paths),
`worker` (hash and parse one file, in worker processes), `handover` (samples back to the writer),
`state` (the resumable sample store), `pseudonym`, `echo` (echo tables), `pairing` (ECG-echo pairs and
labels), `output` (the file and the rejects report), `alloc`. Reading one ECG file is `lvsdctl.io`'s.
Import-light: the names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["IngestOptions", "IngestSummary", "ingest"]
__getattr__, __dir__ = lazy_exports(__name__, {"ingest": "lvsdctl.ingest.api", "IngestSummary": "lvsdctl.ingest.api",
                                               "IngestOptions": "lvsdctl.ingest.options"})

if TYPE_CHECKING:
    from lvsdctl.ingest.api import IngestSummary, ingest
    from lvsdctl.ingest.options import IngestOptions
