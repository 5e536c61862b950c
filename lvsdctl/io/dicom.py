"""DICOM ECG waveform reader (12-lead, General and Ambulatory ECG Waveform Storage) via pydicom.

Each item of the Waveform Sequence is one multiplex group (rhythm, or median beat when its label
says MEDIAN/REPRESENTATIVE). pydicom unpacks the interleaved samples; the physical value is
raw * Channel Sensitivity * Correction Factor + Channel Baseline in the channel's stated unit
(UCUM uV, mV or V), converted here to mV. Lead names come from the channel source code
(SCPECG "5.6.3-9-N" or MDC "2:N"), falling back to the code meaning. Only acquisition time, age,
sex, device, institution and the global QRS duration annotation (extra["qrs_ms"]) are read;
names, birth dates, physicians and free-text annotations are not.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.io.leads import (
    QRS_MS_RANGE,
    canonical_lead,
    check_sizes,
    unnamed_lead,
    complete_limb_leads,
    record_extra,
    validate_segments,
)
from lvsdctl.record import ECGRecord, Segment

_ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG",
}
_TO_MV = {"uv": 1e-3, "mv": 1.0, "v": 1e3, "nv": 1e-6}
_AGE_UNITS = {"Y": 1.0, "M": 1 / 12, "W": 7 / 365.25, "D": 1 / 365.25}


def sniff(head: bytes, path: Path) -> bool:
    """True for a DICOM Part 10 file ('DICM' magic after the 128-byte preamble)."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def read(path: Path) -> ECGRecord:
    """Read a DICOM ECG waveform file into an ECGRecord (mV, each group at its own rate)."""
    from pydicom.errors import InvalidDicomError

    try:
        with warnings.catch_warnings():
            # pydicom warns about odd character sets or VRs; the reader decides, not the console
            warnings.simplefilter("ignore")
            return _read_dataset(path)
    except ReadError:
        raise
    except (InvalidDicomError, EOFError) as exc:
        raise ReadError(f"not a readable DICOM file ({type(exc).__name__})") from None
    except Exception as exc:  # pydicom raises many types (KeyError, ValueError, struct.error ...)
        raise ReadError(f"corrupt DICOM ECG ({type(exc).__name__})") from None


#: Largest DICOM file read (pydicom reads a file whole); a 12-lead ECG waveform file is well under 1 MB.
MAX_DICOM_BYTES = 256 << 20


def _read_dataset(path: Path) -> ECGRecord:
    import pydicom

    if Path(path).stat().st_size > MAX_DICOM_BYTES:
        raise ReadError(f"DICOM file larger than the {MAX_DICOM_BYTES >> 20} MB limit for ECG waveforms")
    ds = pydicom.dcmread(str(path))
    sop = str(ds.get("SOPClassUID", ""))
    if sop not in _ECG_SOP_CLASSES:
        raise ReadError("DICOM file is not an ECG waveform (SOP class " + ("missing)" if not sop else
                                                                           "not 12-lead, General or Ambulatory ECG)"))
    groups = list(ds.get("WaveformSequence") or [])
    if not groups:
        raise ReadError("DICOM ECG has no Waveform Sequence")
    segments: list[Segment] = []
    for index, group in enumerate(groups):
        segments += _group_segments(ds, index, group)
    segments, derived = complete_limb_leads(segments)
    validate_segments(segments)
    sex = _text(ds, "PatientSex")
    maker = " ".join(p for p in (_text(ds, "Manufacturer"), _text(ds, "ManufacturerModelName")) if p)
    return ECGRecord(
        segments=segments,
        source_format="dicom",
        patient_id=_text(ds, "PatientID"),
        acquired=_acquired(ds),
        age=_age(_text(ds, "PatientAge")),
        sex=sex if sex in ("F", "M") else None,
        site=_text(ds, "InstitutionName"),
        device=maker or None,
        extra=record_extra(_qrs_ms(ds), derived),
    )


def _group_segments(ds, index: int, group) -> list[Segment]:
    from pydicom.waveforms.numpy_handler import multiplex_array

    label = str(group.get("MultiplexGroupLabel", "") or "").upper()
    if label:
        kind = "median" if any(word in label for word in ("MEDIAN", "REPRESENTATIVE", "AVERAGE")) else "rhythm"
    else:  # unlabelled: a derived group is the median beat, an original one the rhythm
        kind = "median" if str(group.get("WaveformOriginality", "")).upper() == "DERIVED" else "rhythm"
    fs = float(group.get("SamplingFrequency") or 0)
    if not np.isfinite(fs) or fs <= 0:
        raise ReadError(f"waveform group {index}: missing or invalid sampling frequency")
    channels = list(group.get("ChannelDefinitionSequence") or [])
    n_channels = int(group.get("NumberOfWaveformChannels") or 0)
    n_samples = int(group.get("NumberOfWaveformSamples") or 0)
    bytes_needed = n_channels * n_samples * int(group.get("WaveformBitsAllocated") or 0) // 8
    if len(channels) != n_channels or n_samples <= 0:
        raise ReadError(f"waveform group {index}: channel definitions do not match the channel count")
    check_sizes(f"waveform group {index}", leads=n_channels, samples=n_samples, fs=fs)
    if len(group.get("WaveformData") or b"") < bytes_needed:
        raise ReadError(f"waveform group {index}: waveform data shorter than declared")
    raw = multiplex_array(ds, index, as_raw=True).astype(np.float64)
    group_t0 = float(group.get("MultiplexGroupTimeOffset") or 0.0) / 1000.0  # ms -> s
    out = []
    for jj, channel in enumerate(channels):
        scale, unit_mv = _channel_scale_mv(channel, index, jj)
        # Baseline is in the sensitivity unit, added after scaling (as pydicom's waveform_array).
        baseline = float(channel.get("ChannelBaseline") or 0.0) * unit_mv
        signal = (raw[:, jj] * scale + baseline).astype(np.float32)
        skew = float(channel.get("ChannelSampleSkew") or 0.0) / 1000.0  # ms -> s
        t0 = group_t0 + skew if kind == "rhythm" else 0.0
        out.append(Segment(_lead_name(channel, jj + 1), signal, fs, t0, kind))
    return out


def _channel_scale_mv(channel, group: int, index: int) -> tuple[float, float]:
    """(mV per raw unit, mV per sensitivity unit): sensitivity x correction in the channel's unit."""
    units = channel.get("ChannelSensitivityUnitsSequence")
    unit = str(units[0].get("CodeValue", "")).strip().lower() if units else ""
    if unit not in _TO_MV:
        raise ReadError(f"waveform group {group} channel {index}: sensitivity unit " +
                        ("missing" if not unit else "not one of uV, mV, V, nV"))
    correction = float(channel.get("ChannelSensitivityCorrectionFactor") or 1.0)
    sensitivity = float(channel.get("ChannelSensitivity") or 1.0)
    scale = sensitivity * correction * _TO_MV[unit]
    if not np.isfinite(scale) or scale == 0:
        raise ReadError(f"waveform group {group} channel {index}: invalid sensitivity")
    return scale, _TO_MV[unit]


def _lead_name(channel, position: int) -> str:
    """The channel's standard lead name from its source code, its code meaning or its label (the first
    that names one); a channel none of them names is `lead<position>`."""
    source = channel.get("ChannelSourceSequence")
    texts = [str(source[0].get("CodeValue", "")), str(source[0].get("CodeMeaning", ""))] if source else []
    texts.append(str(channel.get("ChannelLabel", "") or ""))
    for text in texts:
        name = canonical_lead(text) if text.strip() else "unknown"
        if name != "unknown":
            return name
    return unnamed_lead(position)


_QRS_CODES = {("SCPECG", "5.13.5-9"), ("MDC", "2:16156")}  # "QRS Duration" / "QRS duration global"


def _qrs_ms(ds) -> float | None:
    """The global QRS duration from the waveform annotations (numeric, ms or s), if any."""
    for item in ds.get("WaveformAnnotationSequence") or []:
        concept = item.get("ConceptNameCodeSequence")
        if not concept or item.get("NumericValue") is None:
            continue
        code = (str(concept[0].get("CodingSchemeDesignator", "")), str(concept[0].get("CodeValue", "")))
        if code not in _QRS_CODES and "qrs dur" not in str(concept[0].get("CodeMeaning", "")).lower():
            continue
        units = item.get("MeasurementUnitsCodeSequence")
        unit = str(units[0].get("CodeValue", "ms")) if units else "ms"
        factor = {"ms": 1.0, "s": 1000.0}.get(unit)
        if factor is None:
            continue
        value = float(item.NumericValue) * factor
        return value if QRS_MS_RANGE[0] <= value <= QRS_MS_RANGE[1] else None
    return None


def _text(ds, keyword: str) -> str | None:
    value = ds.get(keyword)
    text = str(value).strip() if value is not None else ""
    return text or None


def _acquired(ds) -> datetime | None:
    """Acquisition (else content, else study) date and time as a plain naive datetime."""
    from pydicom.valuerep import DA, DT, TM

    stamp = _text(ds, "AcquisitionDateTime")
    try:
        if stamp:
            value = DT(stamp)
            return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second)
        day = _text(ds, "AcquisitionDate") or _text(ds, "ContentDate") or _text(ds, "StudyDate")
        if day:
            d = DA(day)
            clock = _text(ds, "AcquisitionTime") or _text(ds, "ContentTime") or _text(ds, "StudyTime")
            t = TM(clock) if clock else None
            hms = (t.hour, t.minute, t.second) if t is not None else (0, 0, 0)
            return datetime(d.year, d.month, d.day, *hms)
    except (ValueError, TypeError, AttributeError):
        return None
    return None


def _age(text: str | None) -> float | None:
    """DICOM AS ('042Y', '006M') in years."""
    if not text or len(text) != 4 or not text[:3].isdigit() or text[3] not in _AGE_UNITS:
        return None
    return round(int(text[:3]) * _AGE_UNITS[text[3]], 2)

