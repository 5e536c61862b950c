"""Which ECG format a file is, decided from its content (never its extension), and `read_ecg`.

The reader protocol: every reader module in READERS exposes

    sniff(head: bytes, path: Path) -> bool   # True when the file's first bytes are its format
    read(path: Path) -> ECGRecord            # the record, or ReadError with a one-line reason

Modules are imported lazily, in registry order, the first time a file needs them: a reader whose
module or optional dependency is missing does not break detection (its built-in signature below
still names the format) and only files of that format are rejected, with a reason saying so.

Signatures: XML root element (`RestingECG` MUSE, `DigitisedECG` digitised, `AnnotatedECG` HL7 aECG,
`restingecgdata` Philips, in UTF-8, Latin-1 or UTF-16), `DICM` after DICOM's 128-byte preamble,
`SCPECG` in the SCP-ECG section-0 header, and a WFDB header's record line.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from lvsdctl.errors import ReadError
from lvsdctl.record import ECGRecord
from lvsdctl.io.xmlsafe import read_regular, xml_root_name

#: Bytes read from the start of a file for detection (a long comment header still fits).
HEAD_BYTES = 16384

#: (format name, reader module), tried in this order; cheap, unambiguous signatures first.
READERS: list[tuple[str, str]] = [
    ("muse", "lvsdctl.io.muse"),
    ("digitised", "lvsdctl.io.digitised"),
    ("hl7aecg", "lvsdctl.io.hl7aecg"),
    ("philips", "lvsdctl.io.philips"),
    ("dicom", "lvsdctl.io.dicom"),
    ("scp", "lvsdctl.io.scp"),
    ("wfdb", "lvsdctl.io.wfdb_reader"),
]


class Reader(Protocol):
    """What a reader module provides (modules satisfy it structurally)."""

    def sniff(self, head: bytes, path: Path) -> bool: ...

    def read(self, path: Path) -> ECGRecord: ...


# --- built-in signatures: used when a reader module is absent, and as the fallback of a sniff ---

_XML_ROOTS = {"RestingECG": "muse", "DigitisedECG": "digitised", "AnnotatedECG": "hl7aecg",
              "restingecgdata": "philips"}
_WFDB_RECORD_LINE = re.compile(
    r"[^\s/#]+(?:/\d+)?\s+\d+(?:/\d+)?(?:\s+[0-9.eE+-]+(?:/[0-9.eE+-]+)?(?:\([^)]*\))?)?"
    r"(?:\s+\d+)?(?:\s|$)"
)
_WFDB_DATA_SUFFIXES = (".dat", ".mat", ".xyz", ".edf")


def _xml_format(head: bytes) -> str | None:
    return _XML_ROOTS.get(xml_root_name(head) or "")


def _is_dicom(head: bytes, path: Path) -> bool:
    return head[128:132] == b"DICM"


def _is_scp(head: bytes, path: Path) -> bool:
    # record CRC (2) + record size (4), then section 0's header: CRC, id 0, length, versions and
    # the reserved bytes "SCPECG"
    return len(head) >= 22 and head[8:10] == b"\x00\x00" and head[16:22] == b"SCPECG"


def _is_wfdb_header(head: bytes, path: Path) -> bool:
    if b"\x00" in head[:4096]:
        return False
    try:
        text = head[:4096].decode("ascii")
    except UnicodeDecodeError:
        return False
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return bool(_WFDB_RECORD_LINE.match(line))
    return False


_BUILTIN: dict[str, Callable[[bytes, Path], bool]] = {
    "muse": lambda head, path: _xml_format(head) == "muse",
    "digitised": lambda head, path: _xml_format(head) == "digitised",
    "hl7aecg": lambda head, path: _xml_format(head) == "hl7aecg",
    "philips": lambda head, path: _xml_format(head) == "philips",
    "dicom": _is_dicom,
    "scp": _is_scp,
    "wfdb": _is_wfdb_header,
}

# --- lazy loading of reader modules --------------------------------------------------------------

_loaded: dict[str, object] = {}  # module name -> module, or the reason it cannot be used


def _reader(module_name: str) -> object:
    """The reader module, or a str saying why it is unavailable (cached either way)."""
    if module_name not in _loaded:
        try:
            _loaded[module_name] = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or "?"
            _loaded[module_name] = ("reader not installed" if missing == module_name
                                    else f"missing package {missing.split('.')[0]!r}")
        except ImportError as exc:
            _loaded[module_name] = f"reader cannot be imported ({type(exc).__name__})"
    return _loaded[module_name]


def _module_for(fmt: str) -> str:
    for name, module_name in READERS:
        if name == fmt:
            return module_name
    raise KeyError(fmt)


# --- public API ---------------------------------------------------------------------------------


def read_head(path: str | Path, size: int = HEAD_BYTES) -> bytes:
    """The first `size` bytes of a file, or ReadError (not found, directory, unreadable)."""
    return read_regular(path, size)


def detect_bytes(head: bytes, path: str | Path = "") -> str | None:
    """The format name of a file whose first bytes are `head`, or None when none matches."""
    path = Path(path)
    for fmt, module_name in READERS:
        module = _reader(module_name)
        sniff = getattr(module, "sniff", None)
        if sniff is not None:
            try:
                if sniff(head, path):
                    return fmt
                continue
            except Exception:  # a reader's sniff must never stop detection: use the signature
                pass
        if _BUILTIN[fmt](head, path):
            return fmt
    return None


def detect_format(path: str | Path) -> str | None:
    """'muse', 'digitised', 'hl7aecg', 'philips', 'dicom', 'scp', 'wfdb' or None, from content."""
    return detect_bytes(read_head(path), path)


def is_companion_file(path: str | Path) -> bool:
    """True for a WFDB signal file (.dat/.mat...) whose header (.hea) sits beside it.

    Ingest skips these (the record is read through its header) instead of rejecting them as an
    unknown format or reading the same record twice.
    """
    if os.path.splitext(path)[1].lower() not in _WFDB_DATA_SUFFIXES:  # (cheap: called for every input)
        return False
    header = Path(path).with_suffix(".hea")
    try:
        return header.is_file() and _is_wfdb_header(read_head(header, 4096), header)
    except ReadError:
        return False


def _unknown_reason(head: bytes) -> str:
    if not head:
        return "file is empty"
    if xml_root_name(head) is not None:  # the element's name is the file's content: not quoted
        return ("unrecognised ECG format (an XML document whose root element is not RestingECG, DigitisedECG, "
                "AnnotatedECG or restingecgdata)")
    if head.lstrip().startswith(b"<"):
        return "unrecognised ECG format (looks like malformed XML)"
    return "unrecognised ECG format (not MUSE, digitised, HL7 aECG, Philips, DICOM, SCP or WFDB)"


def read_ecg(path: str | Path, data: bytes | None = None) -> ECGRecord:
    """Read any supported ECG export, detecting its format from its content.

    `data`: the file's whole content when the caller has already read it (ingest hashes and parses
    the same bytes); readers that take bytes (`read_bytes`) then read nothing again.

    Raises ReadError with a one-line reason (no patient data) for unknown formats, formats whose
    reader is unavailable, and every file a reader rejects. An unexpected exception inside a
    reader is turned into a ReadError naming the reader and the exception type, so one bad file
    never stops a batch; its message is not passed on because it may quote file content.
    """
    path = Path(path)
    head = read_head(path) if data is None else data[:HEAD_BYTES]
    fmt = detect_bytes(head, path)
    if fmt is None:
        if is_companion_file(path):
            raise ReadError("WFDB signal file: read the record through its .hea header")
        raise ReadError(_unknown_reason(head))
    module = _reader(_module_for(fmt))
    if isinstance(module, str):
        raise ReadError(f"{fmt} file, but its reader is unavailable: {module}")
    try:
        from_bytes = getattr(module, "read_bytes", None) if data is not None else None
        record = from_bytes(data) if from_bytes is not None else module.read(path)  # type: ignore[attr-defined]
    except ReadError:
        raise
    except RecursionError:
        raise ReadError(f"{fmt} file too deeply nested to read") from None
    except Exception as exc:  # noqa: BLE001 - a reader bug must reject one file, not end a batch
        raise ReadError(f"{fmt} reader failed unexpectedly ({type(exc).__name__})") from exc
    if not isinstance(record, ECGRecord):
        raise ReadError(f"{fmt} reader returned no ECG record")
    return record
