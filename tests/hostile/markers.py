"""Marker strings planted in inputs, and the search for them in everything a command leaves behind.

A marker stands for patient data: a name, an id, a free-text field, an element name. None may reach a
message, a log line, a report or any file lvsdctl writes (HDF5 attributes, names and strings included),
whether the input that held it was accepted or rejected.
"""

from __future__ import annotations

import re
from pathlib import Path

PREFIX = "ZZPHI"


def marker(field: str) -> str:
    """The marker planted in `field`: `ZZPHI-<field>-QQ` (letters, digits, '-' and '_' only)."""
    return f"{PREFIX}-{re.sub(r'[^A-Za-z0-9]+', '_', field)}-QQ"


def in_text(text: str | bytes) -> list[str]:
    """The markers (or their cut-off starts) found in `text`."""
    if isinstance(text, bytes):
        found = [text.decode("latin-1")]
        for enc in ("utf-16-le", "utf-16-be"):
            found.append(text.decode(enc, errors="ignore"))
        text = "\n".join(found)
    return sorted(set(re.findall(PREFIX + r"[-\w]{0,40}", text, flags=re.IGNORECASE)))


def _hdf5_texts(path: Path) -> list[str]:
    """Every name, attribute and string value of an HDF5 file (compressed datasets included)."""
    import h5py
    import numpy as np

    texts: list[str] = []

    def add(value) -> None:
        if isinstance(value, bytes):
            texts.append(value.decode("utf-8", "replace"))
        elif isinstance(value, str):
            texts.append(value)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
            texts.extend(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value.ravel())

    def visit(name: str, obj) -> None:
        texts.append(name)
        for key, value in obj.attrs.items():
            texts.append(key)
            add(value)
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "OSU":
            add(obj[()] if obj.shape != () else np.array([obj[()]]))

    with h5py.File(path, "r") as f:
        visit("/", f)
        f.visititems(visit)
    return texts


def in_files(root: Path) -> dict[str, list[str]]:
    """{file: markers found} over every file under `root` (HDF5 files walked, others read as bytes)."""
    import h5py

    found: dict[str, list[str]] = {}
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and not p.is_symlink()):
        hits = in_text(path.read_bytes())
        if not hits and h5py.is_hdf5(path):
            hits = in_text("\n".join(_hdf5_texts(path)))
        if hits:
            found[str(path)] = hits
    return found
