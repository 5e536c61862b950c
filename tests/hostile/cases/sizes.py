"""Untrusted numbers: exports that declare absurd sizes (samples, leads, rates) or hold text past the XML
parser's limit. Each must be rejected with its reason before anything of that size is allocated."""

from __future__ import annotations

import re
from pathlib import Path

from tests.hostile import exports as ex
from tests.hostile.cases import Case
from tests.hostile.markers import marker

#: One text node past libxml2's 10 MB limit (the only large file of the corpus).
BIG_TEXT = 10_500_000


def build(root: Path, base: Path) -> list[Case]:
    plain = lambda name: "plain"  # noqa: E731 - sizes, not markers, are the point here
    muse = next(p for p in sorted((base / "ecg").iterdir()) if p.name.startswith("MUSE")).read_text(encoding="latin-1")
    cases = [
        Case(ex.scp(root / "scp-samples.scp", plain, samples=2**31 - 1), "reject", "SCP: 2^31 samples per lead"),
        Case(ex.dicom(root / "dicom-samples.dcm", plain, samples=10**9), "reject", "DICOM: 10^9 samples declared"),
        Case(ex.wfdb(root / "wfdb-length.hea", plain, record_line="wfdb-length 12 500 1000000000000"), "reject",
             "WFDB: 10^12 samples"),
        Case(ex.wfdb(root / "wfdb-signals.hea", plain, record_line="wfdb-signals 100000 500 5000"), "reject",
             "WFDB: 100,000 signals"),
        Case(ex.wfdb(root / "wfdb-rate.hea", plain, record_line="wfdb-rate 12 1e12 5000"), "reject",
             "WFDB: a rate of 10^12 Hz"),
    ]
    philips = ex.philips(root / "philips-duration.xml", plain).read_text(encoding="utf-8")
    (root / "philips-duration.xml").write_text(philips.replace('durationperchannel="10000"',
                                                               'durationperchannel="1e15"'), encoding="utf-8")
    cases.append(Case(root / "philips-duration.xml", "reject", "Philips: a duration of 10^15 ms"))
    (root / "muse-huge-text.xml").write_text(muse.replace("<Race>", "<Race>" + "A" * BIG_TEXT, 1), encoding="latin-1")
    cases.append(Case(root / "muse-huge-text.xml", "reject", "MUSE: an 11 MB text node"))
    (root / "muse-leads.xml").write_text(re.sub(r"<NumberofLeads>\d+</NumberofLeads>",
                                                "<NumberofLeads>4000000000</NumberofLeads>", muse, count=1),
                                         encoding="latin-1")
    cases.append(Case(root / "muse-leads.xml", "reject", "MUSE: 4e9 leads declared"))
    (root / "marked-size.hea").write_text(f"marked-size 12 500 {marker('length')}\n", encoding="latin-1")
    cases.append(Case(root / "marked-size.hea", "reject", "WFDB: a marked length"))
    return cases
