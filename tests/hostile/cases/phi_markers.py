"""Patient data in every field of every format: a marker string in each text field, element name,
attribute and comment of MUSE, digitised, HL7 aECG, Philips, DICOM, WFDB and SCP-ECG exports; files
that are read (every marker must stay out of the output) and files rejected because of a marked field
(the reason must not quote it).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.hostile import exports as ex
from tests.hostile.cases import Case
from tests.hostile.markers import marker

#: MUSE elements whose text is planted (the patient id is replaced by a marked id the echo table knows).
MUSE_TEXT = ("DateofBirth", "Race", "PatientLastName", "PatientFirstName", "SiteName", "LocationName",
             "AcquisitionDevice", "Status", "EditListStatus", "Priority", "OverreaderLastName",
             "OverreaderFirstName", "EditorLastName", "EditorFirstName", "StmtText", "MuseVersion", "DataType",
             "AcquisitionSoftwareVersion", "AnalysisSoftwareVersion")


def marked_id(patient_id: str) -> str:
    """The marked patient id a planted export carries in place of `patient_id` (the echo table too)."""
    return marker(f"pid {patient_id}")


def plant_muse(data: str) -> str:
    """A MUSE export with a marker in every free-text element, an extra element, an attribute, a comment."""
    data = re.sub(r"<PatientID>([^<]*)</PatientID>", lambda m: f"<PatientID>{marked_id(m.group(1))}</PatientID>", data)
    for tag in MUSE_TEXT:
        data = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{marker('muse ' + tag)}</{tag}>", data)
    extra = (f'<{marker("element name").replace("-", "_")}>{marker("muse extra")}'
             f'</{marker("element name").replace("-", "_")}><PatientAddress>{marker("address")}</PatientAddress>')
    data = data.replace("<PatientDemographics>", f'<PatientDemographics note="{marker("attribute")}">{extra}', 1)
    return data.replace("<RestingECG>", f"<!-- {marker('comment')} --><?zz {marker('pi')}?><RestingECG>", 1)


def plant_digitised(data: str) -> str:
    data = re.sub(r"<PatientID>([^<]*)</PatientID>", lambda m: f"<PatientID>{marked_id(m.group(1))}</PatientID>", data)
    data = re.sub(r"<Site>[^<]*</Site>", f"<Site>{marker('digitised site')}</Site>", data)
    data = data.replace('digitiser="lvsdctl-synth"', f'digitiser="lvsdctl-synth {marker("digitiser")}"')
    return data.replace("<Sex>", f"<Name>{marker('digitised name')}</Name><Sex>", 1)


def _muse_bad(data: str) -> dict[str, str]:
    """MUSE exports rejected because of one marked field (each a variant of a planted export)."""
    lead = lambda tag, value: re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", data,  # noqa: E731
                                     count=1)  # the first lead's
    return {
        "muse-units": lead("LeadAmplitudeUnits", marker("units")),
        "muse-sample-size": lead("LeadSampleSize", marker("sample size")),
        "muse-base64": lead("WaveFormData", marker("waveform data")),
        "muse-lead-id": re.sub(r"<LeadID>V1</LeadID>", f"<LeadID>{marker('lead id')}</LeadID>", data),
        "muse-age-units": re.sub(r"<AgeUnits>[^<]*</AgeUnits>", f"<AgeUnits>{marker('age units')}</AgeUnits>", data),
        "muse-age": re.sub(r"<PatientAge>[^<]*</PatientAge>", f"<PatientAge>{marker('age')}</PatientAge>", data),
        "muse-date": re.sub(r"<AcquisitionDate>[^<]*</AcquisitionDate>",
                            f"<AcquisitionDate>{marker('date')}</AcquisitionDate>", data),
        "muse-rate": re.sub(r"<SampleBase>[^<]*</SampleBase>", f"<SampleBase>{marker('rate')}</SampleBase>", data,
                            count=1),
        "muse-root": data.replace("RestingECG>", f"{marker('root').replace('-', '_')}>"),
        "muse-tag-mismatch": data.replace("<Race>", f"<{marker('open tag').replace('-', '_')}>", 1),
        "muse-bad-char": data.replace("<Race>", f"<Race>{marker('char')}\x01", 1),
    }


def _digitised_bad(data: str) -> dict[str, str]:
    return {
        "digitised-units": re.sub(r"<Units>[^<]*</Units>", f"<Units>{marker('digitised units')}</Units>", data),
        "digitised-version": data.replace('version="1"', f'version="{marker("version")}"', 1),
        "digitised-lead": data.replace('lead="V3"', f'lead="{marker("piece lead")}"', 1),
        "digitised-samples": re.sub(r'samples="\d+"', f'samples="{marker("samples")}"', data, count=1),
        "digitised-date": re.sub(r"<AcquisitionDateTime>[^<]*</AcquisitionDateTime>",
                                 f"<AcquisitionDateTime>{marker('when')}</AcquisitionDateTime>", data),
    }


def build(root: Path, base: Path) -> list[Case]:
    cases: list[Case] = []
    exports = sorted((base / "ecg").iterdir())
    muse = [p for p in exports if p.name.startswith("MUSE")]
    digitised = [p for p in exports if not p.name.startswith("MUSE")]
    good = root / "good"
    good.mkdir()
    for p in exports:  # the whole cohort, planted: read, paired by its marked ids, trained on
        text = p.read_text(encoding="latin-1" if p.name.startswith("MUSE") else "utf-8")
        planted = plant_muse(text) if p.name.startswith("MUSE") else plant_digitised(text)
        out = good / p.name
        out.write_text(planted, encoding="latin-1" if p.name.startswith("MUSE") else "utf-8")
        cases.append(Case(out, "accept", "planted synth export"))
    plant = marker
    fmt = root / "formats"
    fmt.mkdir()
    cases += [Case(ex.hl7aecg(fmt / "aecg.xml", plant), "accept", "HL7 aECG, every field marked"),
              Case(ex.philips(fmt / "philips.xml", plant, seed=1), "accept", "Philips, every field marked"),
              Case(ex.dicom(fmt / "ecg.dcm", plant, seed=2), "accept", "DICOM, every field marked"),
              Case(ex.wfdb(fmt / "rec.hea", plant, seed=3), "accept", "WFDB, every field marked"),
              Case(ex.scp(fmt / "ecg.scp", plant, seed=4), "accept", "SCP-ECG, every field marked"),
              Case(ex.wfdb(fmt / "names.hea", plant, seed=5, names=[marker(f"signal {k}") for k in range(12)]),
                   "accept", "WFDB whose signal names are marked (kept by position)"),
              Case(ex.hl7aecg(fmt / "aecg-code.xml", plant, seed=6,
                              lead_code=lambda k: marker("lead code") if k == 7 else f"MDC_ECG_LEAD_{ex.LEADS12[k].upper()}"),
                   "accept", "HL7 lead with a marked code (kept by position)")]
    bad = root / "bad"
    bad.mkdir()
    muse_text = (good / muse[0].name).read_text(encoding="latin-1")
    for name, text in _muse_bad(muse_text).items():
        (bad / f"{name}.xml").write_text(text, encoding="latin-1")
        cases.append(Case(bad / f"{name}.xml", "reject", name))
    if digitised:
        dig_text = (good / digitised[0].name).read_text(encoding="utf-8")
        for name, text in _digitised_bad(dig_text).items():
            (bad / f"{name}.xml").write_text(text, encoding="utf-8")
            cases.append(Case(bad / f"{name}.xml", "reject", name))
    cases += [
        Case(ex.hl7aecg(bad / "aecg-unit.xml", plant, seed=7, unit=marker("scale unit")), "reject", "HL7 unit"),
        Case(ex.philips(bad / "philips-version.xml", plant, seed=8, version=marker("version")), "reject",
             "Philips version"),
        Case(ex.philips(bad / "philips-encoding.xml", plant, seed=9, encoding=marker("encoding")), "reject",
             "Philips encoding"),
        Case(ex.dicom(bad / "dicom-unit.dcm", plant, seed=10, unit="ZZPHI-unit"), "reject", "DICOM unit"),
        Case(ex.wfdb(bad / "wfdb-units.hea", plant, seed=11, units=marker("wfdb units")), "reject", "WFDB units"),
        Case(ex.wfdb(bad / "wfdb-syntax.hea", plant, seed=12, record_line=f"syntax 12 {marker('rate')} 5000"),
             "reject", "WFDB record line"),
    ]
    (bad / "notes.txt").write_text(f"patient {marker('note')} seen\n", encoding="utf-8")
    (bad / "table.csv").write_text(f"id,name\n1,{marker('csv name')}\n", encoding="utf-8")
    (bad / "other.xml").write_text(f"<{marker('other root').replace('-', '_')}><a>{marker('x')}</a>"
                                   f"</{marker('other root').replace('-', '_')}>", encoding="utf-8")
    cases += [Case(bad / "notes.txt", "reject"), Case(bad / "table.csv", "reject"), Case(bad / "other.xml", "reject")]
    dup = root / "duplicates"
    dup.mkdir()
    shutil.copyfile(good / muse[0].name, dup / "copy-of-muse.xml")
    shutil.copyfile(fmt / "aecg.xml", dup / "copy-of-aecg.xml")
    cases += [Case(dup / "copy-of-muse.xml", "duplicate"), Case(dup / "copy-of-aecg.xml", "duplicate")]
    return cases
