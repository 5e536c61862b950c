"""The ECG machine's own interpretation, matched for left bundle branch block, never kept.

The study's cohort was "LBBB diagnosed by commercially available ECG machines": the statement the
cart printed. Exports carry it as free text (GE MUSE `<OriginalDiagnosis>`, the machine's, and
`<Diagnosis>`, after over-reading; Philips `<interpretation>` statements and codes; HL7 aECG
`MDC_ECG_INTERPRETATION_STATEMENT` annotations). Free text can name people ("Confirmed by ...
M.D." in a fixture), so it is read only to be matched here, one statement line at a time, and only
the outcome leaves this module: which category matched (`complete`, `possible`, `incomplete`,
`none`, or `unavailable` when the export has no statement) and which of lvsdctl's own rules did
(`RULES`: a fixed name, never text from the file).

A line that negates ("not LBBB/RBBB", "no left bundle branch block", "rule out LBBB") matches
nothing; fascicular blocks ("left anterior fascicular block") are not bundle branch blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lvsdctl.io.xmlsafe import localname, parse_bytes, read_bounded, xml_root_name

CATEGORIES = ("complete", "possible", "incomplete", "none", "unavailable")
_RANK = {"complete": 4, "possible": 3, "incomplete": 2, "none": 1, "unavailable": 0}

_LBBB = r"(?:left\s+bundle[\s-]*branch\s+block|\blbbb\b)"
#: Rule name -> (category, pattern), tried in order on each statement line (lower-cased).
RULES: dict[str, tuple[str, re.Pattern]] = {
    "negated": ("none", re.compile(r"\b(?:no|not|without|rule\s+out|r/o|versus|vs)\b[^.;]*" + _LBBB)),
    "incomplete": ("incomplete", re.compile(r"\b(?:incomplete|partial)\s+" + _LBBB + r"|\bilbbb\b")),
    "qualified": ("possible", re.compile(r"\b(?:possible|probable|consider|borderline|suggests?|"
                                          r"cannot\s+exclude|atypical)\b[^.;]*" + _LBBB + "|" + _LBBB +
                                          r"[^.;]*\b(?:possible|probable|suspected)\b")),
    "phrase": ("complete", re.compile(r"(?:complete\s+)?left\s+bundle[\s-]*branch\s+block")),
    "abbreviation": ("complete", re.compile(r"\blbbb\b")),
    "zh": ("complete", re.compile(r"(?<!不)完全性左束支(?:传导)?阻滞|(?<!不完全性)左束支(?:传导)?阻滞")),
    "zh_incomplete": ("incomplete", re.compile(r"不完全性左束支")),
    "ko": ("complete", re.compile(r"좌각\s*(?:지\s*)?차단")),
    "ja": ("complete", re.compile(r"(?<!不)完全?左脚ブロック")),
}
#: Philips statement codes (exact).
CODES = {"LBBB": ("complete", "code:LBBB"), "ILBBB": ("incomplete", "code:ILBBB")}


@dataclass(frozen=True)
class StatementMatch:
    """What the machine said about LBBB: a category and the rule that matched (no text)."""

    category: str = "unavailable"
    rule: str = ""
    source: str = ""  # the element the statements came from: OriginalDiagnosis, Diagnosis, ...

    @property
    def lbbb(self) -> bool | None:
        """True for a complete LBBB statement, None when the export has no statement."""
        return None if self.category == "unavailable" else self.category == "complete"


def match_lines(lines: list[str]) -> tuple[str, str]:
    """(category, rule) of the strongest match over statement lines ("none", "" when no line)."""
    best = ("none", "")
    for line in lines:
        text = " ".join(line.lower().split())
        for name, (category, pattern) in RULES.items():
            if pattern.search(text):
                if _RANK[category] > _RANK[best[0]]:
                    best = (category, name)
                break  # the first rule that matches a line decides it (negation first)
    return best


def _muse_lines(block) -> list[str]:
    """MUSE statements joined into lines: a statement without ENDSLINE continues on the next."""
    lines, current = [], ""
    for st in block:
        if localname(st.tag) != "DiagnosisStatement":
            continue
        text = next((c.text or "" for c in st if localname(c.tag) == "StmtText"), "")
        flags = {(c.text or "").strip() for c in st if localname(c.tag) == "StmtFlag"}
        if "USERINSERT" in flags:  # the over-reader's own lines ("Confirmed by ...")
            continue
        current = f"{current} {text}".strip()
        if "ENDSLINE" in flags:
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    return lines


def _muse(root) -> StatementMatch:
    blocks = {localname(c.tag): c for c in root if localname(c.tag) in ("OriginalDiagnosis", "Diagnosis")}
    for source in ("OriginalDiagnosis", "Diagnosis"):
        if source in blocks:
            lines = _muse_lines(blocks[source])
            if lines:
                category, rule = match_lines(lines)
                return StatementMatch(category, rule, source)
    return StatementMatch()


def _philips(root) -> StatementMatch:
    lines, codes = [], []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        name = localname(el.tag)
        if name in ("leftstatement", "lhsstatement"):
            lines.append(el.text or "")
        elif name == "statementcode":
            codes.append((el.text or "").strip().upper())
    found = [CODES[c] for c in codes if c in CODES]
    if found:
        category, rule = max(found, key=lambda cr: _RANK[cr[0]])
        return StatementMatch(category, rule, "interpretation")
    if not lines:
        return StatementMatch()
    category, rule = match_lines(lines)
    return StatementMatch(category, rule, "interpretation")


def _hl7(root) -> StatementMatch:
    lines = []
    for ann in root.iter():
        if not isinstance(ann.tag, str) or localname(ann.tag) != "annotation":
            continue
        code = next((c for c in ann if isinstance(c.tag, str) and localname(c.tag) == "code"), None)
        if code is None or "INTERPRETATION_STATEMENT" not in (code.get("code") or ""):
            continue
        value = next((c for c in ann if isinstance(c.tag, str) and localname(c.tag) == "value"), None)
        if value is not None and value.text:
            lines.append(value.text)
    if not lines:
        return StatementMatch()
    category, rule = match_lines(lines)
    return StatementMatch(category, rule, "interpretation")


_BY_ROOT = {"RestingECG": _muse, "restingecgdata": _philips, "AnnotatedECG": _hl7}


def from_bytes(data: bytes) -> StatementMatch:
    """The LBBB statement match of an export already in memory (unavailable for other formats)."""
    reader = _BY_ROOT.get(xml_root_name(data[:4096]) or "")
    if reader is None:
        return StatementMatch()
    return reader(parse_bytes(data))


def from_file(path: str | Path) -> StatementMatch:
    return from_bytes(read_bounded(path))
