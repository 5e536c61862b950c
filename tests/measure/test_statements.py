"""The machine's LBBB statement: matched by rule, its text never kept."""

from __future__ import annotations

import dataclasses

import pytest

from lvsdctl.measure.statements import RULES, StatementMatch, from_bytes, from_file, match_lines


@pytest.mark.parametrize("line, category", [
    ("Left bundle branch block", "complete"),
    ("Complete left bundle-branch block", "complete"),
    ("LBBB", "complete"),
    ("Incomplete left bundle branch block", "incomplete"),
    ("Possible left bundle branch block", "possible"),
    ("Left bundle branch block, probable", "possible"),
    ("QRSd >115mS, not LBBB/RBBB", "none"),
    ("No left bundle branch block", "none"),
    ("Left anterior fascicular block", "none"),
    ("Right bundle branch block", "none"),
    ("완전 좌각차단", "complete"),
    ("完全性左束支传导阻滞", "complete"),
    ("不完全性左束支传导阻滞", "incomplete"),
])
def test_statement_lines(line, category):
    assert match_lines([line])[0] == category


def test_strongest_line_wins_and_rule_is_ours():
    category, rule = match_lines(["Sinus rhythm", "Incomplete LBBB", "Left bundle branch block"])
    assert (category, rule) == ("complete", "phrase") and rule in RULES


def test_muse_fixtures(fixtures_dir):
    muse = fixtures_dir / "ecg" / "muse_xml"
    intro = from_file(muse / "introecg" / "MUSE_20200923_093504_79000_example.xml")
    assert intro == StatementMatch("none", "", "OriginalDiagnosis")
    assert from_file(muse / "braveheart" / "example1.xml").category == "unavailable"


def test_synthetic_statement_and_no_text_kept(cohort):
    path = next((cohort / "ecg").glob("MUSE_*.xml"))
    m = from_file(path)
    assert m == StatementMatch("complete", "phrase", "OriginalDiagnosis") and m.lbbb is True
    # only our own fixed names leave the module: never the statement or the over-reader's name
    values = [str(v) for v in dataclasses.asdict(m).values()]
    text = path.read_text(encoding="iso-8859-1")
    assert "Confirmed by" in text
    assert all(v in ("complete", "phrase", "OriginalDiagnosis") for v in values)


def test_confirmed_only_export_uses_its_diagnosis():
    xml = (b'<?xml version="1.0"?><RestingECG><Diagnosis><DiagnosisStatement><StmtFlag>ENDSLINE</StmtFlag>'
           b'<StmtText>Left bundle branch block</StmtText></DiagnosisStatement><DiagnosisStatement>'
           b'<StmtFlag>USERINSERT</StmtFlag><StmtText>Confirmed by Doe, J M.D.</StmtText></DiagnosisStatement>'
           b'</Diagnosis></RestingECG>')
    assert from_bytes(xml) == StatementMatch("complete", "phrase", "Diagnosis")


def test_other_formats_are_unavailable():
    assert from_bytes(b"not xml at all").category == "unavailable"
