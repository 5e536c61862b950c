"""Namespace-agnostic navigation of parsed XML ECG exports (lxml elements from `xmlsafe`).

Exports arrive with and without namespaces (HL7 v3's urn:hl7-org:v3, Philips'
www3.medical.philips.com), so these helpers match local names only.
"""

from __future__ import annotations

from lvsdctl.io.xmlsafe import localname


def children(el, name: str) -> list:
    """Direct children with this local name."""
    return [c for c in el if localname(c.tag) == name]


def child(el, name: str):
    """First direct child with this local name, or None."""
    for c in el:
        if localname(c.tag) == name:
            return c
    return None


def descend(el, path: tuple[str, ...]):
    """Follow a path of local names through first children; None when any step is missing."""
    for name in path:
        if el is None:
            return None
        el = child(el, name)
    return el


def attr_of(el, path: tuple[str, ...], name: str) -> str | None:
    """Attribute `name` of the element at `path` below `el`, or None."""
    target = descend(el, path)
    return target.get(name) if target is not None else None


def text_of(el, path: tuple[str, ...]) -> str | None:
    """Stripped text of the element at `path` below `el`; None when missing or blank."""
    target = descend(el, path)
    if target is None or target.text is None:
        return None
    return target.text.strip() or None
