"""Reading one ECG file: format detection, the seven readers, the XML helpers.

Kept light on purpose: importing `lvsdctl.io` loads no reader, lxml, numpy or pydicom. The names
below are resolved on first use, so `from lvsdctl.io import read_ecg` costs only what reading
costs.

    from lvsdctl.io import read_ecg, detect_format
    record = read_ecg("exports/0001.xml")      # any supported format, detected from content

The `ingest` stage (many files, echo tables, pairing, pseudonyms, the `ecg-raw` file) is
`lvsdctl.ingest`; the record itself (`ECGRecord`, `Segment`, `LEADS12`) is `lvsdctl.record`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

_NAMES = {
    "read_ecg": "lvsdctl.io.detect",
    "detect_format": "lvsdctl.io.detect",
    "is_companion_file": "lvsdctl.io.detect",
    "READERS": "lvsdctl.io.detect",
    "is_synthetic_export": "lvsdctl.io.synthetic",
    "ECGRecord": "lvsdctl.record",
    "Segment": "lvsdctl.record",
    "LEADS12": "lvsdctl.record",
}

__all__ = sorted(_NAMES)
__getattr__, __dir__ = lazy_exports(__name__, _NAMES)

if TYPE_CHECKING:
    from lvsdctl.io.detect import READERS, detect_format, is_companion_file, read_ecg
    from lvsdctl.io.synthetic import is_synthetic_export
    from lvsdctl.record import LEADS12, ECGRecord, Segment
