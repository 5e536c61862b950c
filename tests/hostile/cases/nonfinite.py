"""Non-finite samples in exports: NaN and infinity written as text, or made by absurd gains. Each is
rejected at ingest naming the lead; NaN in a processed file is the corpus test's (every command that
reads signals refuses it, naming the row)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.hostile import exports as ex
from tests.hostile.cases import Case


def build(root: Path, base: Path) -> list[Case]:
    plain = lambda name: "plain"  # noqa: E731
    aecg = ex.hl7aecg(root / "aecg-nan.xml", plain, seed=30).read_text(encoding="utf-8")
    (root / "aecg-nan.xml").write_text(re.sub(r"<digits>-?\d+", "<digits>NaN", aecg, count=1), encoding="utf-8")
    (root / "aecg-inf.xml").write_text(re.sub(r"<digits>-?\d+", "<digits>1e400", aecg, count=1), encoding="utf-8")
    digitised = next((p for p in sorted((base / "ecg").iterdir()) if not p.name.startswith("MUSE")), None)
    cases = [Case(root / "aecg-nan.xml", "reject", "HL7: a NaN sample"),
             Case(root / "aecg-inf.xml", "reject", "HL7: a sample past float range")]
    if digitised is not None:
        text = digitised.read_text(encoding="utf-8")
        (root / "digitised-nan.xml").write_text(re.sub(r"(<Piece[^>]*>\s*)\S+", r"\g<1>nan", text, count=1),
                                                encoding="utf-8")
        cases.append(Case(root / "digitised-nan.xml", "reject", "digitised: a NaN value"))
    gain = ex.wfdb(root / "wfdb-gain.hea", plain, seed=31)
    gain.write_text(gain.read_text(encoding="latin-1").replace(" 200/mV", " 1e-320/mV"), encoding="latin-1")
    cases.append(Case(gain, "reject", "WFDB: a gain that makes samples infinite"))
    return cases
