"""What shapes an ingest's output, given once and checked once: `IngestOptions`.

The same object makes the resumable state's header (a resumed run must use the same options), pairs
and labels every block, and is recorded in the output's provenance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lvsdctl.errors import InputError
from lvsdctl.ingest.pairing import POLICIES
from lvsdctl.ingest.state import COMPRESSION


@dataclass(frozen=True)
class IngestOptions:
    """Pairing, labelling, output and echo-table options of `ingest` (see docs/ingest.md)."""

    window_days: int = 30  # pair an ECG with an echo at most this many days apart (inclusive)
    policy: str = "nearest"  # nearest | before-only | after-only
    threshold: float = 40.0  # LVSD when LVEF is strictly below this
    drop_unpaired: bool = False  # leave ECGs without an echo out of the output (still counted)
    keep_patient_id: bool = False  # also write the RAW patient id (only for data that may hold it)
    site: str | None = None  # site of every ECG (overrides the exports')
    synthetic: bool | None = None  # True: the user declares the inputs not real patients
    compression: str = "gzip"  # of the samples: gzip, lzf or none
    echo_patient_col: str = "patient_id"
    echo_date_col: str = "echo_date"
    echo_lvef_col: str = "lvef"
    echo_date_format: str | None = None  # strptime format; None: ISO 8601, never guessed

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise InputError(f"unknown pairing policy {self.policy!r}; choose one of {', '.join(POLICIES)}")
        if self.compression not in COMPRESSION:
            raise InputError(f"unknown compression {self.compression!r}; choose one of {', '.join(COMPRESSION)}")
        if int(self.window_days) < 0:
            raise InputError(f"--window-days must be 0 or more, not {self.window_days}")
        for name, kind in (("window_days", int), ("threshold", float), ("drop_unpaired", bool),
                           ("keep_patient_id", bool)):
            object.__setattr__(self, name, kind(getattr(self, name)))

    @property
    def echo_columns(self) -> list:
        return [self.echo_patient_col, self.echo_date_col, self.echo_lvef_col, self.echo_date_format]

    def output_settings(self) -> dict:
        """The options that shape the output file (the resumable state's header and the provenance)."""
        return {"window_days": self.window_days, "policy": self.policy, "threshold": self.threshold,
                "drop_unpaired": self.drop_unpaired, "keep_patient_id": self.keep_patient_id, "site": self.site,
                "compression": self.compression}

    def to_dict(self) -> dict:
        return asdict(self)
