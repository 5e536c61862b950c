"""The weights stage: the checkpoints lvsdctl knows, fetched and verified, found on disk by name.

    from lvsdctl.weights import CATALOG, list_weights, fetch, verify, resolve

    fetch("ecgfm-physionet-finetuned")         # download (huggingface_hub), check the SHA-256, record it
    verify()                                   # re-hash what is in the weights directory
    resolve("ecgfm-physionet-finetuned")       # -> Path; never downloads; exit 6 with the way out if absent

Import-light: huggingface_hub is imported by ``fetch`` only, torch never.
"""

from lvsdctl.weights.catalog import CATALOG, PRETRAINED, SEQUENTIAL, KnownHash, WeightsEntry, lookup
from lvsdctl.weights.hub import FetchResult, IntegrityError, fetch
from lvsdctl.weights.local import WEIGHTS_DIR_ENV, resolve, sha256_file, weights_dir
from lvsdctl.weights.status import VerifyReport, WeightsListing, list_weights, verify

__all__ = [
    "CATALOG", "PRETRAINED", "SEQUENTIAL", "KnownHash", "WeightsEntry", "lookup",
    "FetchResult", "IntegrityError", "fetch",
    "WEIGHTS_DIR_ENV", "resolve", "sha256_file", "weights_dir",
    "VerifyReport", "WeightsListing", "list_weights", "verify",
]
