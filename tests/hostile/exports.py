"""Writers of small, valid ECG exports in the five formats `lvsdctl synth` does not write (HL7 aECG,
Philips XML, DICOM, WFDB, SCP-ECG), every text field of which a test sets: the hostile corpus plants a
marker string in each, then checks that none reaches an output, a message or a log.

Each writer takes `text`, a function from a field's name to the text written there (a marker, or a
plain value), so a case plants markers in every field at once or in one. 12 leads, 10 s at 500 Hz of a
smooth, ECG-like signal in int16 codes of 5 uV: enough for every stage to accept them.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

LEADS12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
FS, SECONDS = 500, 10
UV_PER_COUNT = 5.0
Text = Callable[[str], str]


def counts12(seed: int = 0) -> np.ndarray:
    """(12, 5000) int16 codes (5 uV each) of a 72 bpm ECG-like trace with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(FS * SECONDS) / FS
    beat = np.exp(-((t % (60 / 72) - 0.3) ** 2) / (2 * 0.012 ** 2))  # R waves
    wave = 1.0 * beat + 0.2 * np.sin(2 * np.pi * 1.2 * t)  # mV
    gains = np.linspace(0.5, 1.5, 12)[:, None]
    mv = gains * wave[None] + rng.normal(0, 0.01, (12, t.size))
    return np.round(mv * 1000 / UV_PER_COUNT).astype("<i2")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# ----------------------------------------------------------------------------------------- HL7 aECG


def hl7aecg(path: Path, text: Text, *, seed: int = 0, lead_code: Callable[[int], str] | None = None,
            unit: str = "uV") -> Path:
    """An HL7 aECG file: one rhythm sequenceSet of 12 SLIST_PQ leads."""
    t = lambda name: _esc(text(name))  # noqa: E731
    codes = counts12(seed)
    seqs = [f'<component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.6.24"/>'
            f'<value xsi:type="GLIST_TS"><head value="20230102101500.000"/><increment value="0.002" unit="s"/>'
            f"</value></sequence></component>"]
    for k, lead in enumerate(LEADS12):
        code = lead_code(k) if lead_code else f"MDC_ECG_LEAD_{lead.upper()}"
        digits = " ".join(map(str, codes[k].tolist()))
        seqs.append(f'<component><sequence><code code="{_esc(code)}" codeSystem="2.16.840.1.113883.6.24"/>'
                    f'<value xsi:type="SLIST_PQ"><origin value="0" unit="uV"/><scale value="{UV_PER_COUNT}" '
                    f'unit="{_esc(unit)}"/><digits>{digits}</digits></value></sequence></component>')
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- {t("comment")} -->
<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <id root="{t("document id")}"/>
 <code code="93000" codeSystem="2.16.840.1.113883.6.12" displayName="{t("code name")}"/>
 <text>{t("free text")}</text>
 <effectiveTime><low value="20230102101500"/><high value="20230102101510"/></effectiveTime>
 <componentOf><timepointEvent><code code="{t("visit code")}"/><componentOf><subjectAssignment>
  <subject><trialSubject><id extension="{t("patient id")}" root="{t("id root")}"/>
   <subjectDemographicPerson><name><given>{t("first name")}</given><family>{t("last name")}</family></name>
    <administrativeGenderCode code="F"/><birthTime value="19530101"/>
    <raceCode code="{t("race")}"/></subjectDemographicPerson></trialSubject></subject>
  <componentOf><clinicalTrial><id extension="{t("trial id")}"/><title>{t("trial title")}</title>
   <location><trialSite><id extension="{t("site")}"/><location><name>{t("site name")}</name></location>
   <responsibleParty><trialInvestigator><investigatorPerson><name>{t("investigator")}</name>
   </investigatorPerson></trialInvestigator></responsibleParty></trialSite></location></clinicalTrial></componentOf>
 </subjectAssignment></componentOf></timepointEvent></componentOf>
 <component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>
  <effectiveTime><low value="20230102101500"/><high value="20230102101510"/></effectiveTime>
  <author><seriesAuthor><manufacturedSeriesDevice><manufacturerModelName>{t("device")}</manufacturerModelName>
  </manufacturedSeriesDevice><manufacturerOrganization><name>{t("maker")}</name></manufacturerOrganization>
  </seriesAuthor></author>
  <component><sequenceSet>{"".join(seqs)}</sequenceSet></component>
  <subjectOf><annotationSet><component><annotation><code code="MDC_ECG_INTERPRETATION_STATEMENT"/>
   <value xsi:type="ST">{t("statement")}</value></annotation></component></annotationSet></subjectOf>
 </series></component>
</AnnotatedECG>
"""
    path.write_text(doc, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------- Philips XML


def philips(path: Path, text: Text, *, seed: int = 0, labels: str = " ".join(LEADS12), version: str = "1.04",
            encoding: str = "Base64") -> Path:
    """A Philips 1.04 XML file with uncompressed parsedwaveforms."""
    t = lambda name: _esc(text(name))  # noqa: E731
    data = base64.b64encode(counts12(seed).tobytes()).decode()
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<restingecgdata xmlns="http://www3.medical.philips.com">
 <documentinfo><documentname>{t("document name")}</documentname><documentversion>{_esc(version)}</documentversion>
  <editor>{t("editor")}</editor><comments>{t("comments")}</comments></documentinfo>
 <reportinfo date="2023-01-02" time="10:15:00"><reportdescription>{t("report")}</reportdescription></reportinfo>
 <dataacquisition date="2023-01-02" time="10:15:00">
  <machine detaildescription="{t("machine detail")}">{t("machine")}</machine>
  <acquirer><operatorid>{t("operator")}</operatorid><institutionname>{t("site name")}</institutionname>
   <institutionid>{t("site")}</institutionid><institutionlocationid>{t("location")}</institutionlocationid></acquirer>
  <signalcharacteristics><samplingrate>500</samplingrate><resolution>{UV_PER_COUNT}</resolution>
   <acquisitiontype>STD-12</acquisitiontype><numberchannelsallocated>12</numberchannelsallocated></signalcharacteristics>
 </dataacquisition>
 <patient><generalpatientdata><patientid>{t("patient id")}</patientid>
  <name><lastname>{t("last name")}</lastname><firstname>{t("first name")}</firstname></name>
  <age><years>70</years><dateofbirth>{t("birth date")}</dateofbirth></age><sex>Female</sex></generalpatientdata>
  <orderinginformation><orderingphysician>{t("physician")}</orderingphysician></orderinginformation></patient>
 <interpretations><interpretation><statement><leftstatement>{t("statement")}</leftstatement></statement>
  </interpretation></interpretations>
 <waveforms><parsedwaveforms dataencoding="{_esc(encoding)}" compressflag="False" compressmethod="Uncompressed"
   durationperchannel="10000" samplespersecond="500" resolution="{UV_PER_COUNT}" leadlabels="{_esc(labels)}"
   numberofleads="12">{data}</parsedwaveforms></waveforms>
</restingecgdata>
"""
    path.write_text(doc, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------- DICOM


def dicom(path: Path, text: Text, *, seed: int = 0, unit: str = "uV", samples: int | None = None) -> Path:
    """A DICOM 12-lead ECG waveform file (one rhythm multiplex group)."""
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    sop = "1.2.840.10008.5.1.4.1.1.9.1.1"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop, meta.MediaStorageSOPInstanceUID
    ds.Modality = "ECG"
    for keyword in ("PatientName", "PatientID", "InstitutionName", "InstitutionAddress", "ReferringPhysicianName",
                    "OperatorsName", "StudyDescription", "SeriesDescription", "PatientComments",
                    "Manufacturer", "ManufacturerModelName", "StationName", "AccessionNumber",
                    "OtherPatientIDs", "PerformingPhysicianName"):
        setattr(ds, keyword, text(keyword)[:16])  # 16: the shortest of these fields' DICOM lengths
    ds.PatientBirthDate, ds.PatientSex, ds.PatientAge = "19530101", "F", "070Y"
    ds.AcquisitionDateTime = "20230102101500"
    codes = counts12(seed)
    group = Dataset()
    group.MultiplexGroupLabel = "RHYTHM"
    group.WaveformOriginality = "ORIGINAL"
    group.NumberOfWaveformChannels = 12
    group.NumberOfWaveformSamples = samples if samples is not None else codes.shape[1]
    group.SamplingFrequency = FS
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    channels = []
    for k, lead in enumerate(LEADS12):
        ch = Dataset()
        source = Dataset()
        source.CodeValue, source.CodingSchemeDesignator = f"5.6.3-9-{_SCP_CODES[lead]}", "SCPECG"
        source.CodeMeaning = text("channel meaning")[:64]
        ch.ChannelSourceSequence = [source]
        ch.ChannelLabel = text("channel label")[:16]
        units = Dataset()
        units.CodeValue, units.CodingSchemeDesignator, units.CodeMeaning = unit[:16], "UCUM", "microvolt"
        ch.ChannelSensitivityUnitsSequence = [units]
        ch.ChannelSensitivity, ch.ChannelSensitivityCorrectionFactor = str(UV_PER_COUNT), "1"
        ch.ChannelBaseline, ch.ChannelSampleSkew, ch.WaveformBitsStored = "0", "0", 16
        channels.append(ch)
    group.ChannelDefinitionSequence = channels
    group.WaveformData = np.ascontiguousarray(codes.T).tobytes()
    ds.WaveformSequence = [group]
    ds.save_as(str(path), enforce_file_format=True)
    return path


_SCP_CODES = {"I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8, "III": 61, "aVR": 62,
              "aVL": 63, "aVF": 64}


# ---------------------------------------------------------------------------------------------- WFDB


def wfdb(header: Path, text: Text, *, seed: int = 0, data_name: str | None = None, names: list[str] | None = None,
         units: str = "mV", record_line: str | None = None, write_data: bool = True) -> Path:
    """A WFDB record: `header` (.hea) and its format-16 data file beside it (`data_name`: what the header
    calls the data file, e.g. a path outside the folder)."""
    codes = counts12(seed)
    data = header.with_suffix(".dat")
    name = data_name or data.name
    gain = 1000 / UV_PER_COUNT  # counts per mV
    lines = [record_line or f"{header.stem} 12 {FS} {codes.shape[1]} 10:15:00 02/01/2023"]
    for k, lead in enumerate(names or LEADS12):
        checksum = int(codes[k].astype(np.int64).sum()) % 65536
        checksum = checksum - 65536 if checksum > 32767 else checksum
        lines.append(f"{name} 16 {gain:g}/{units} 16 0 {int(codes[k, 0])} {checksum} 0 {lead}")
    lines += [f"# Name: {text('name')}", f"# MRN: {text('patient id')}", "# Age: 70", "# Sex: F",
              f"# Diagnosis: {text('diagnosis')}", f"# {text('free comment')}"]
    header.write_text("\n".join(lines) + "\n", encoding="latin-1", errors="replace")
    if write_data:
        data.write_bytes(np.ascontiguousarray(codes.T).tobytes())
    return header


# ------------------------------------------------------------------------------------------- SCP-ECG


def scp_section(sid: int, body: bytes) -> bytes:
    """One SCP-ECG section: CRC, id, length, versions, reserved bytes ('SCPECG' in section 0), body."""
    head = struct.pack("<HIBB6s", sid, 16 + len(body), 20, 20, b"SCPECG" if sid == 0 else bytes(6))
    return struct.pack("<H", binascii.crc_hqx(head + body, 0xFFFF)) + head + body


def scp_record(sections: dict[int, bytes]) -> bytes:
    """A whole SCP-ECG file: record CRC and length, section 0's pointers, then `sections` by id."""
    sec0_len = 16 + 10 * 12
    pointers, blobs, pos = [(0, sec0_len, 7)], [], 6 + sec0_len + 1
    for sid in range(1, 12):
        if sid in sections:
            blob = scp_section(sid, sections[sid])
            pointers.append((sid, len(blob), pos))
            blobs.append(blob)
            pos += len(blob)
        else:
            pointers.append((sid, 0, 0))
    body = scp_section(0, b"".join(struct.pack("<HII", *p) for p in pointers)) + b"".join(blobs)
    rest = struct.pack("<I", 6 + len(body)) + body
    return struct.pack("<H", binascii.crc_hqx(rest, 0xFFFF)) + rest


def _tag(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + struct.pack("<H", len(value)) + value


def scp(path: Path, text: Text, *, seed: int = 0, samples: int | None = None) -> Path:
    """An SCP-ECG file: header tags (names, ids, free text: section 1), 12 plain int16 leads (no Huffman)."""
    codes = counts12(seed)
    n = codes.shape[1]
    enc = lambda name: text(name).encode("latin-1", "replace")[:60] + b"\x00"  # noqa: E731
    sec1 = b"".join([
        _tag(0, enc("last name")), _tag(1, enc("first name")), _tag(2, enc("patient id")),
        _tag(3, enc("second last name")), _tag(8, b"\x02"), _tag(4, struct.pack("<HB", 70, 1)),
        _tag(16, enc("site name")), _tag(17, enc("department")), _tag(20, enc("physician")),
        _tag(25, struct.pack("<HBB", 2023, 1, 2)), _tag(26, bytes([10, 15, 0])),
        _tag(30, enc("free text")), _tag(32, enc("diagnosis")), _tag(255, b""),
    ])
    sec3 = struct.pack("<BB", 12, 0b00000100)
    sec3 += b"".join(struct.pack("<IIB", 1, samples or n, _SCP_CODES[lead]) for lead in LEADS12)
    blobs = [row.tobytes() for row in codes]
    sec6 = struct.pack("<HHBB", int(UV_PER_COUNT * 1000), 1_000_000 // FS, 0, 0)
    sec6 += struct.pack("<12H", *map(len, blobs)) + b"".join(blobs)
    path.write_bytes(scp_record({1: sec1, 3: sec3, 6: sec6}))
    return path
