"""Signal processing: filters, resampling, the 4x5000 / 12x5000 layouts, quality flags, `preprocess`.

`lvsdctl.signal.api(input, output, ...)` is the notebook entry point (the function, imported
here on purpose: without it the name would be shadowed by the submodule of the same name once that
is imported). The submodules stand on their own: `filters`, `resample`, `layout`, `quality`,
`chain` (the batch chain in memory), `preprocess` (the file-to-file stage).
"""

from __future__ import annotations

from lvsdctl.signal.api import preprocess

__all__ = ["preprocess"]
