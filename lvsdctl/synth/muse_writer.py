"""Write a simulated ECG as a GE MUSE XML export, element for element like real ones (synthetic).

The layout copies real MUSE 9 exports (see shared/fixtures/ecg/muse_xml): ISO-8859-1 declaration,
the restecg.dtd doctype, 3-space indentation, dates as MM-DD-YYYY, and two <Waveform> blocks
(Median: 600 samples, Rhythm: 5000 samples) of 8 leads (I, II, V1-V6), each lead base64 of
little-endian int16 in lines of 68 characters, with LeadByteCountTotal, LeadSampleCountTotal and
LeadDataCRC32 (zlib CRC-32 of the raw bytes) filled in as the cart does.

A comment after the doctype says the file is synthetic (parsers ignore it). The demographics hold
fake names and birth dates on purpose: a real export carries PHI, and the
ingest tests prove none of it reaches lvsdctl's outputs.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

import numpy as np

from lvsdctl.synth.ecg_model import FS, STORED_LEADS, SimulatedECG

UV_PER_BIT = 4.88
#: Says plainly, in the file itself, that it is synthetic (`lvsdctl ingest` looks for "lvsdctl-synth").
SYNTHETIC_COMMENT = "<!-- SYNTHETIC ECG written by lvsdctl-synth: not a real patient, names and IDs are invented -->"
_B64_LINE = 68  # characters per line of WaveFormData, as MUSE writes them
_I1, _I2, _I3 = " " * 3, " " * 6, " " * 9


@dataclass(frozen=True)
class MuseHeader:
    """What a MUSE export says about the patient and the test (names and IDs are fake)."""

    patient_id: str
    last_name: str
    first_name: str
    dob: date
    age: int
    sex: str  # "F" or "M"
    acquired: datetime
    site_number: int
    site_name: str
    location_name: str
    device: str
    cart: int
    overreader: tuple[str, str]  # (last, first), fake
    height_cm: int
    weight_kg: int
    ac_filter: str  # "60" or "NONE"


def to_counts(mv: np.ndarray) -> np.ndarray:
    """mV to int16 counts of 4.88 uV, clipped to the int16 range."""
    return np.clip(np.round(mv * 1000.0 / UV_PER_BIT), -32768, 32767).astype("<i2")


def _b64_lines(raw: bytes) -> str:
    """Base64 in lines of 68 characters (whole lines reshaped in numpy: no per-line Python loop)."""
    text = base64.b64encode(raw)
    n_full = len(text) // _B64_LINE
    lines = np.frombuffer(text, np.uint8, n_full * _B64_LINE).reshape(n_full, _B64_LINE)
    body = np.hstack([lines, np.full((n_full, 1), ord("\n"), np.uint8)]).tobytes()
    rest = text[n_full * _B64_LINE:]
    return (body + rest if rest else body[:-1]).decode("ascii")


def _lead_block(lead: str, counts: np.ndarray) -> str:
    raw = counts.tobytes()
    return (
        f"{_I2}<LeadData>\n"
        f"{_I3}<LeadByteCountTotal>{len(raw)}</LeadByteCountTotal>\n"
        f"{_I3}<LeadTimeOffset>0</LeadTimeOffset>\n"
        f"{_I3}<LeadSampleCountTotal>{len(counts)}</LeadSampleCountTotal>\n"
        f"{_I3}<LeadAmplitudeUnitsPerBit>{UV_PER_BIT}</LeadAmplitudeUnitsPerBit>\n"
        f"{_I3}<LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>\n"
        f"{_I3}<LeadHighLimit>32767</LeadHighLimit>\n"
        f"{_I3}<LeadLowLimit>-32768</LeadLowLimit>\n"
        f"{_I3}<LeadID>{lead}</LeadID>\n"
        f"{_I3}<LeadOffsetFirstSample>0</LeadOffsetFirstSample>\n"
        f"{_I3}<FirstSampleBaseline>0</FirstSampleBaseline>\n"
        f"{_I3}<LeadSampleSize>2</LeadSampleSize>\n"
        f"{_I3}<LeadOff>FALSE</LeadOff>\n"
        f"{_I3}<BaselineSway>FALSE</BaselineSway>\n"
        f"{_I3}<LeadDataCRC32>{zlib.crc32(raw)}</LeadDataCRC32>\n"
        f"{_I3}<WaveFormData>\n{_b64_lines(raw)}\n{_I3}</WaveFormData>\n"
        f"{_I2}</LeadData>\n"
    )


def _waveform(kind: str, counts: np.ndarray, ac_filter: str) -> str:
    head = (
        f"{_I1}<Waveform>\n"
        f"{_I2}<WaveformType>{kind}</WaveformType>\n"
        f"{_I2}<WaveformStartTime>0</WaveformStartTime>\n"
        f"{_I2}<NumberofLeads>{len(STORED_LEADS)}</NumberofLeads>\n"
        f"{_I2}<SampleType>CONTINUOUS_SAMPLES</SampleType>\n"
        f"{_I2}<SampleBase>{FS}</SampleBase>\n"
        f"{_I2}<SampleExponent>0</SampleExponent>\n"
        f"{_I2}<HighPassFilter>16</HighPassFilter>\n"
        f"{_I2}<LowPassFilter>150</LowPassFilter>\n"
        f"{_I2}<ACFilter>{ac_filter}</ACFilter>\n"
    )
    return head + "".join(_lead_block(lead, c) for lead, c in zip(STORED_LEADS, counts)) + f"{_I1}</Waveform>\n"


def _elements(indent: str, pairs: list[tuple[str, object]]) -> str:
    return "".join(f"{indent}<{k}>{escape(str(v))}</{k}>\n" for k, v in pairs)


def _mdy(d: date | datetime) -> str:
    return d.strftime("%m-%d-%Y")


def diagnosis_statements(meas: dict[str, int]) -> list[tuple[str | None, str]]:
    """The cart's interpretation as (flag, text) statements: rhythm, axis, LBBB, overall."""
    rate = meas["VentricularRate"]
    rhythm = "Sinus bradycardia" if rate < 60 else "Sinus tachycardia" if rate > 100 else "Normal sinus rhythm"
    out: list[tuple[str | None, str]] = [(None, rhythm)]
    if meas["PRInterval"] > 200:
        out.append(("ENDSLINE", "with 1st degree A-V block"))
    if meas["RAxis"] < -30:
        out.append(("ENDSLINE", "Left axis deviation"))
    out.append(("ENDSLINE", "Left bundle branch block"))
    out.append(("ENDSLINE", "Abnormal ECG"))
    return out


def _diagnosis(tag: str, statements: list[tuple[str | None, str]]) -> str:
    body = f"{_I2}<Modality>RESTING</Modality>\n"
    for flag, text in statements:
        body += f"{_I2}<DiagnosisStatement>\n"
        if flag:
            body += f"{_I3}<StmtFlag>{flag}</StmtFlag>\n"
        body += f"{_I3}<StmtText>{escape(text)}</StmtText>\n{_I2}</DiagnosisStatement>\n"
    return f"{_I1}<{tag}>\n{body}{_I1}</{tag}>\n"


def muse_xml(ecg: SimulatedECG, hdr: MuseHeader) -> bytes:
    """The complete MUSE XML export of one simulated ECG, as bytes (ISO-8859-1)."""
    meas = ecg.measurements
    acq = hdr.acquired
    edit = acq.replace(hour=min(acq.hour + 2, 23))
    demo = _elements(_I2, [
        ("PatientID", hdr.patient_id), ("PatientAge", hdr.age), ("AgeUnits", "YEARS"),
        ("DateofBirth", _mdy(hdr.dob)), ("Gender", "FEMALE" if hdr.sex == "F" else "MALE"),
        ("Race", "ASIAN"), ("HeightCM", hdr.height_cm), ("WeightKG", hdr.weight_kg),
        ("PatientLastName", hdr.last_name), ("PatientFirstName", hdr.first_name),
    ])
    test = _elements(_I2, [
        ("DataType", "RESTING"), ("Site", hdr.site_number), ("SiteName", hdr.site_name),
        ("AcquisitionDevice", hdr.device), ("Status", "CONFIRMED"), ("EditListStatus", "Confirmed"),
        ("Priority", "NORMAL"), ("Location", 10 + hdr.site_number), ("LocationName", hdr.location_name),
        ("AcquisitionTime", acq.strftime("%H:%M:%S")), ("AcquisitionDate", _mdy(acq)),
        ("CartNumber", hdr.cart), ("AcquisitionSoftwareVersion", "010A"), ("AnalysisSoftwareVersion", "243"),
        ("EditTime", edit.strftime("%H:%M:%S")), ("EditDate", _mdy(edit)),
        ("OverreaderID", 9000 + hdr.site_number), ("EditorID", 9000 + hdr.site_number),
        ("OverreaderLastName", hdr.overreader[0]), ("OverreaderFirstName", hdr.overreader[1]),
        ("EditorLastName", hdr.overreader[0]), ("EditorFirstName", hdr.overreader[1]),
        ("HISStatus", 2),
    ])
    core = [(k, v) for k, v in meas.items() if k != "QTcFrederica"] + [("ECGSampleBase", FS), ("ECGSampleExponent", 0)]
    measured = _elements(_I2, core + [("QTcFrederica", meas["QTcFrederica"])])
    original = _elements(_I2, core)
    statements = diagnosis_statements(meas)
    confirmed = statements + [("USERINSERT", f"Confirmed by {hdr.overreader[0].title()}, "
                                             f"{hdr.overreader[1].title()} M.D.")]
    peaks_ms = np.round((ecg.onsets_s + 0.5 * ecg.params.qrs_s) * 1000).astype(int)
    qrs = "".join(f"{_I2}<QRS>\n{_I3}<Number>{i + 1}</Number>\n{_I3}<Type>0</Type>\n"
                  f"{_I3}<Time>{t}</Time>\n{_I2}</QRS>\n" for i, t in enumerate(peaks_ms))
    global_rr = int(round(60000 / meas["VentricularRate"]))
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<!DOCTYPE RestingECG SYSTEM "restecg.dtd">\n'
        f"{SYNTHETIC_COMMENT}\n"
        "<RestingECG>\n"
        f"{_I1}<MuseInfo>\n{_I2}<MuseVersion>9.0.10.18530</MuseVersion>\n{_I1}</MuseInfo>\n"
        f"{_I1}<PatientDemographics>\n{demo}{_I1}</PatientDemographics>\n"
        f"{_I1}<TestDemographics>\n{test}{_I1}</TestDemographics>\n"
        f"{_I1}<RestingECGMeasurements>\n{measured}{_I1}</RestingECGMeasurements>\n"
        f"{_I1}<OriginalRestingECGMeasurements>\n{original}{_I1}</OriginalRestingECGMeasurements>\n"
        + _diagnosis("Diagnosis", confirmed)
        + _diagnosis("OriginalDiagnosis", statements)
        + f"{_I1}<QRSTimesTypes>\n{qrs}{_I2}<GlobalRR>{global_rr}</GlobalRR>\n"
        f"{_I2}<QTRGGR>248</QTRGGR>\n{_I1}</QRSTimesTypes>\n"
        + _waveform("Median", to_counts(ecg.median), hdr.ac_filter)
        + _waveform("Rhythm", to_counts(ecg.rhythm), hdr.ac_filter)
        + f"{_I1}<PharmaData>\n{_I2}<PharmaRRinterval>{global_rr}</PharmaRRinterval>\n"
        f"{_I2}<PharmaUniqueECGID>SYN{hdr.cart:02d}{acq.strftime('%d%m%Y%H%M%S')}</PharmaUniqueECGID>\n"
        f"{_I2}<PharmaPPinterval>{global_rr}</PharmaPPinterval>\n"
        f"{_I2}<PharmaCartID>SYNCART{hdr.cart:02d}</PharmaCartID>\n{_I1}</PharmaData>\n"
        "</RestingECG>\n"
    )
    return text.encode("iso-8859-1")
