"""The `weights` stage: the checkpoints lvsdctl knows, fetched and verified, found on disk by name.

    from lvsdctl.weights import list_weights, fetch, verify, resolve

    fetch("ecgfm-physionet-finetuned")         # download (huggingface_hub), check the SHA-256, record it
    verify()                                   # re-hash what is in the weights directory
    resolve("ecgfm-physionet-finetuned")       # -> Path; never downloads; exit 6 with the way out if absent

Modules: `catalog` (the known checkpoints, pinned), `hub` (`fetch`), `status` (`list_weights`,
`verify`), `local` (the weights directory, recorded hashes, `resolve`), `synthetic` (random-weights
checkpoints in the official layout, for tests and benchmarks). Import-light: the names load on first
use; huggingface_hub is imported by ``fetch`` only, torch never.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

_MODULES = {
    "lvsdctl.weights.catalog": ["CATALOG", "PRETRAINED", "SEQUENTIAL", "KnownHash", "WeightsEntry", "lookup"],
    "lvsdctl.weights.hub": ["FetchResult", "IntegrityError", "fetch"],
    "lvsdctl.weights.local": ["WEIGHTS_DIR_ENV", "resolve", "sha256_file", "weights_dir"],
    "lvsdctl.weights.status": ["VerifyReport", "WeightsListing", "list_weights", "verify"],
}
__all__ = [name for names in _MODULES.values() for name in names]
__getattr__, __dir__ = lazy_exports(__name__, {name: module for module, names in _MODULES.items() for name in names})

if TYPE_CHECKING:
    from lvsdctl.weights.catalog import CATALOG, PRETRAINED, SEQUENTIAL, KnownHash, WeightsEntry, lookup
    from lvsdctl.weights.hub import FetchResult, IntegrityError, fetch
    from lvsdctl.weights.local import WEIGHTS_DIR_ENV, resolve, sha256_file, weights_dir
    from lvsdctl.weights.status import VerifyReport, WeightsListing, list_weights, verify
