"""Malformed files: empty, binary noise, truncated, entity bombs, deep nesting, other formats."""

from __future__ import annotations

import os
from pathlib import Path

from tests.hostile.cases import Case
from tests.hostile.markers import marker


def build(root: Path, base: Path) -> list[Case]:
    muse = next(p for p in sorted((base / "ecg").iterdir()) if p.name.startswith("MUSE")).read_bytes()
    files = {
        "empty.xml": b"",
        "noise.bin": os.urandom(4096),
        "truncated.xml": muse[: len(muse) // 2],
        "entities.xml": (b'<?xml version="1.0"?><!DOCTYPE RestingECG [<!ENTITY a "' + marker("entity").encode()
                         + b'"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><RestingECG>&b;</RestingECG>'),
        "external.xml": (b'<?xml version="1.0"?><!DOCTYPE RestingECG [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                         b"<RestingECG><PatientID>&x;</PatientID></RestingECG>"),
        "deep.xml": b"<RestingECG>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</RestingECG>",
        "zip.xml": b"PK\x03\x04" + os.urandom(200),
        "utf16.xml": ("\ufeff<RestingECG><PatientID>" + marker("utf16") + "</PatientID>").encode("utf-16-le"),
        "scp-short.scp": b"\x00\x00" + (100).to_bytes(4, "little") + b"\x00" * 10 + b"SCPECG" + b"\x00" * 20,
        "dicom-empty.dcm": b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\x04\x00" + marker("dicom").encode()[:4],
        "wfdb-only.hea": b"rec 2 500 5000\n",
    }
    cases = []
    for name, data in files.items():
        (root / name).write_bytes(data)
        cases.append(Case(root / name, "reject", name))
    return cases
