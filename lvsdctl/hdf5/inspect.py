"""A summary of any lvsdctl file, for `lvsdctl inspect` and notebooks."""

from __future__ import annotations

from dataclasses import dataclass, field

import h5py

from lvsdctl.hdf5.core import open_input, provenance
from lvsdctl.hdf5.records import read_records
from lvsdctl.summary import Summary


@dataclass
class FileDescription(Summary):
    """What an lvsdctl file holds: its kind and version, array shapes, provenance, records per set."""

    path: str
    kind: str
    format_version: int
    lvsdctl_version: str
    synthetic: bool
    arrays: dict[str, list[int]]  # name -> shape, for the large arrays
    provenance: list[dict]  # one entry per stage that made the file, oldest first
    records: list[dict] = field(default_factory=list)  # per set: ecgs, patients, lvsd, no_lvsd, unlabelled


def describe(path: str) -> FileDescription:
    with open_input(path) as f:
        arrays: dict[str, list[int]] = {}

        def visit(name: str, obj) -> None:
            if isinstance(obj, h5py.Dataset) and obj.ndim >= 2 or name in ("raw/samples", "raw/counts"):
                arrays[name] = list(obj.shape)

        f.visititems(visit)
        info = FileDescription(path=path, kind=f.attrs["lvsdctl_kind"],
                               format_version=int(f.attrs["lvsdctl_format_version"]),
                               lvsdctl_version=f.attrs.get("lvsdctl_version", ""),
                               synthetic=bool(f.attrs.get("synthetic", False)), arrays=arrays,
                               provenance=provenance(f))
        if "records" in f:
            df = read_records(f)
            for split, g in df.groupby(df["split"].replace("", "(none)"), sort=True):
                info.records.append({
                    "split": split, "ecgs": len(g), "patients": g["patient"].nunique(),
                    "lvsd": int((g["label"] == 1).sum()), "no_lvsd": int((g["label"] == 0).sum()),
                    "unlabelled": int((g["label"] == -1).sum()),
                })
        return info
