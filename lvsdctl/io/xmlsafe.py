"""Safe XML parsing for ECG exports: bounded size, no entities, no DTD, no network.

ECG exports come from outside the hospital's control (vendors, other sites, old archives), so the
parser treats every file as hostile: entities are never expanded (no "billion laughs", no external
entity reading /etc/passwd), DTDs are never loaded (MUSE files name `restecg.dtd`, which must not be
fetched), nothing is fetched over the network, and files over MAX_XML_BYTES are refused before any
parsing. A document that *declares* entities is refused outright: no genuine ECG export needs them.

Error messages name the kind of problem and the line, never text from the file: libxml2's own
messages can quote fragments of the document (an attribute name made of a patient's name after a
corrupted byte, raw bytes of a bad encoding), so they are not passed on.
"""

from __future__ import annotations

import math
import os
import re
import stat
import threading
from pathlib import Path

from lxml import etree

from lvsdctl.errors import ReadError

#: Largest XML file any reader accepts; a 12-lead resting ECG export is well under 2 MB.
MAX_XML_BYTES = 50 * 1024 * 1024

_local = threading.local()  # lxml parsers must not be shared between threads


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            attribute_defaults=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def read_regular(path: str | Path, size: int) -> bytes:
    """At most `size` bytes from the start of a regular file, or ReadError saying why not."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ReadError("is a directory, not a file")
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            raise ReadError("not a regular file")
        with open(path, "rb") as fh:
            return fh.read(size)
    except FileNotFoundError:
        raise ReadError("file not found") from None
    except OSError as exc:
        raise ReadError(f"cannot read file ({exc.strerror or type(exc).__name__})") from None


def read_bounded(path: str | Path, limit: int = MAX_XML_BYTES) -> bytes:
    """The bytes of a file, or ReadError when it cannot be read, is empty or exceeds `limit`."""
    data = read_regular(path, limit + 1)  # one byte past the limit: the size check cannot race
    if len(data) > limit:
        raise ReadError(f"file larger than the {_size(limit)} limit for XML exports")
    if not data:
        raise ReadError("file is empty")
    return data


def finite_number(text: str | None, what: str) -> float:
    """`text` as a finite float, or ReadError naming the field (never its value)."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ReadError(f"{what} is missing or not a number") from None
    if not math.isfinite(value):
        raise ReadError(f"{what} is not finite")
    return value


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n} byte"


#: libxml2's limit on one text node, comment or attribute value without XML_PARSE_HUGE (XML_MAX_TEXT_LENGTH),
#: which lvsdctl keeps: no ECG export holds 10 MB of text in one place.
MAX_TEXT_NODE = 10_000_000


def _longest_text(data: bytes) -> int:
    """Length of the longest run of bytes without '<' or '>': an upper bound on any text node, comment
    or attribute value of the document (numpy, so a 50 MB file costs milliseconds)."""
    import numpy as np

    arr = np.frombuffer(data, dtype=np.uint8)
    marks = np.flatnonzero((arr == 60) | (arr == 62))
    edges = np.concatenate(([-1], marks, [arr.size]))
    return int(np.diff(edges).max() - 1) if arr.size else 0


def _syntax_reason(exc: etree.XMLSyntaxError, data: bytes | None = None) -> str:
    """'malformed XML: tag name mismatch (line 17)' from libxml2's error code, no file content. A text
    node over libxml2's limit is reported as such (libxml2 itself says 'resource limit' or, in a comment,
    'comment not finished')."""
    if data is not None and len(data) > MAX_TEXT_NODE:
        longest = _longest_text(data)
        if longest > MAX_TEXT_NODE:
            return (f"XML text node, comment or attribute value of {longest / 1e6:.1f} MB: over the XML parser's "
                    f"{MAX_TEXT_NODE // 1_000_000} MB limit")
    last = exc.error_log.last_error if exc.error_log else None
    kind = last.type_name if last is not None else ""
    text = kind.removeprefix("ERR_").replace("_", " ").lower() or "syntax error"
    if "amplification" in (exc.msg or "") or kind == "ERR_ENTITY_LOOP":
        text = "entity expansion refused"
    line = getattr(exc, "lineno", None)
    return f"malformed XML: {text}" + (f" (line {line})" if line else "")


def parse_bytes(data: bytes, limit: int = MAX_XML_BYTES) -> etree._Element:
    """The root element of an XML document, or ReadError with a one-line, PHI-free reason."""
    if len(data) > limit:
        raise ReadError(f"file larger than the {_size(limit)} limit for XML exports")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise ReadError(_syntax_reason(exc, data)) from None
    except (etree.LxmlError, ValueError, TypeError) as exc:
        raise ReadError(f"cannot parse XML ({type(exc).__name__})") from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and next(iter(dtd.iterentities()), None) is not None:
        raise ReadError("XML declares entities: refused (entity expansion / external entity risk)")
    return root


def parse_file(path: str | Path, limit: int = MAX_XML_BYTES) -> etree._Element:
    """`parse_bytes` of a file read with `read_bounded`."""
    return parse_bytes(read_bounded(path, limit), limit)


def localname(tag: object) -> str:
    """'Waveform' for '{urn:x}Waveform' or 'Waveform'; '' for comments and entity nodes."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# --- detection helpers: the root element's name from a file's first bytes, without parsing ------

_PROLOG = re.compile(
    r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]*)(?:\[.*?\])?\s*>",
    re.DOTALL | re.IGNORECASE,
)
_ROOT_TAG = re.compile(r"<((?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)")


def decode_head(head: bytes) -> str:
    """The first bytes of a file as text, whatever its XML encoding (UTF-8, Latin-1, UTF-16)."""
    if head[:3] == b"\xef\xbb\xbf":
        return head[3:].decode("utf-8", errors="replace")
    if head[:2] == b"\xff\xfe" or head[:2] == b"<\x00":
        return head[: len(head) // 2 * 2].decode("utf-16-le", errors="replace").lstrip("\ufeff")
    if head[:2] == b"\xfe\xff" or head[:2] == b"\x00<":
        return head[: len(head) // 2 * 2].decode("utf-16-be", errors="replace").lstrip("\ufeff")
    return head.decode("latin-1")  # every byte maps; tag names are ASCII in all ECG formats


def xml_root_name(head: bytes) -> str | None:
    """Local name of the root element ('RestingECG'), or None when `head` is not XML.

    Skips the XML declaration, comments, processing instructions and the DOCTYPE (with its
    internal subset), so a 40-line comment header (HL7 aECG samples) does not hide the root.
    """
    text = decode_head(head)
    pos = 0
    while True:
        m = _PROLOG.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
    m = _ROOT_TAG.match(text, pos)
    return m.group(1).rsplit(":", 1)[-1] if m else None
