"""Philips SierraECG / PhilipsECG XML reader (document versions 1.03, 1.04, 1.04.01, 1.04.02).

`parsedwaveforms` holds all leads, Base64 encoded and usually XLI-compressed (LZW + second
differences, decoded by `lvsdctl.io.xli`). XLI stores leads III, aVR, aVL and aVF as residuals of
a prediction from I and II, undone here in integer arithmetic as the device does. Sample units
come from the file's resolution (uV per LSB). Each lead's 11 s slot ends with a calibration block
(0 / 1 mV square pulse, identical in all leads), which is cut off and its length reported in
`extra["calibration_trimmed_s"]`. `repbeats` (representative = median beats) are plain Base64
int16, padded with 0x7FFF that is dropped. The 1.04 files are UTF-16; lxml reads the encoding
from the XML declaration. The birth date is only used to compute an age when none is given.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from pathlib import Path

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.io import xli
from lvsdctl.io.leads import MAX_SAMPLES, QRS_MS_RANGE, canonical_lead, check_sizes, validate_segments
from lvsdctl.record import LEADS12, ECGRecord, Segment
from lvsdctl.io.xmlnav import child, children, descend, text_of
from lvsdctl.io.xmlsafe import localname, parse_file, xml_root_name

_VERSIONS = ("1.03", "1.04", "1.04.01", "1.04.02")
_FILL = 32767  # int16 max pads representative beats to their fixed slot length
_SEX = {"male": "M", "female": "F", "m": "M", "f": "F"}


def sniff(head: bytes, path: Path) -> bool:
    """True when the root element is Philips' restingecgdata (UTF-8 or UTF-16 file)."""
    return xml_root_name(head) == "restingecgdata"


def read(path: Path) -> ECGRecord:
    """Read one Philips XML ECG: rhythm leads (mV, float32) and representative beats as medians."""
    root = parse_file(path)
    if localname(root.tag) != "restingecgdata":
        raise ReadError("not a Philips XML ECG: root element is not restingecgdata")
    version = text_of(root, ("documentinfo", "documentversion"))
    if version not in _VERSIONS:
        raise ReadError(f"unsupported Philips XML document version (this lvsdctl reads {', '.join(_VERSIONS)})")
    signal = descend(root, ("dataacquisition", "signalcharacteristics"))
    waves = descend(root, ("waveforms", "parsedwaveforms"))
    if signal is None or waves is None:
        raise ReadError("Philips XML without signalcharacteristics or parsedwaveforms")
    fs = _number(waves.get("samplespersecond") or text_of(signal, ("samplingrate",)), "sampling rate")
    uv_per_lsb = _number(waves.get("resolution") or text_of(signal, ("resolution",))
                         or text_of(signal, ("signalresolution",)), "signal resolution")
    named = _rhythm_leads(waves, signal, fs)
    kept = _calibration_start(np.stack([sig for _, sig in named]), fs)
    with np.errstate(over="ignore"):  # absurd resolutions give inf, rejected by validate_segments
        segments = [Segment(name, (sig[:kept] * (uv_per_lsb / 1000.0)).astype(np.float32), fs)
                    for name, sig in named]
        segments += _median_beats(descend(root, ("waveforms", "repbeats")), uv_per_lsb)
    validate_segments(segments)
    acquisition = child(root, "dataacquisition")
    acquired = _datetime(acquisition.get("date"), acquisition.get("time"))
    patient = descend(root, ("patient", "generalpatientdata"))
    return ECGRecord(
        segments=segments,
        source_format="philips",
        patient_id=text_of(patient, ("patientid",)) if patient is not None else None,
        acquired=acquired,
        age=_age(patient, acquired),
        sex=_SEX.get((text_of(patient, ("sex",)) or "").lower()) if patient is not None else None,
        site=_site(acquisition),
        device=_device(acquisition),
        extra=_extra(root, (len(named[0][1]) - kept) / fs),
    )


def _number(text: str | None, what: str) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ReadError(f"Philips XML: missing or invalid {what}") from None
    if not np.isfinite(value) or value <= 0:
        raise ReadError(f"Philips XML: invalid {what} (not a positive number)")
    return value


def _b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise ReadError(f"Philips XML: {what} is not valid Base64") from None


def _labels(waves, signal) -> list[str]:
    labels = (waves.get("leadlabels") or "").split()
    if labels:
        count = int(_number(waves.get("numberofleads") or str(len(labels)), "numberofleads"))
        return labels[:count]
    # 1.03 files name no leads: the STD-12 / 10-WIRE acquisition order is the standard one.
    count = int(_number(text_of(signal, ("numberchannelsallocated",)), "numberchannelsallocated"))
    if (text_of(signal, ("acquisitiontype",)) or "") not in ("STD-12", "10-WIRE") or count != 12:
        raise ReadError("Philips XML: lead labels missing and acquisition type is not 12-lead")
    return list(LEADS12)


def _rhythm_leads(waves, signal, fs: float) -> list[tuple[str, np.ndarray]]:
    """[(canonical lead, samples in LSB as float64)] of parsedwaveforms."""
    if (waves.get("dataencoding") or "Base64") != "Base64":
        raise ReadError("Philips XML: unsupported data encoding (expected Base64)")
    labels = [canonical_lead(name, k) for k, name in enumerate(_labels(waves, signal), 1)]
    if not labels:
        raise ReadError("Philips XML: no leads declared")
    check_sizes("Philips XML parsedwaveforms", leads=len(labels), fs=fs)
    data = _b64(waves.text, "parsedwaveforms")
    method = waves.get("compressmethod") or waves.get("compression") or "Uncompressed"
    flag = (waves.get("compressflag") or "True").lower() == "true"
    if method == "XLI" and flag:
        leads = _xli_leads(data, labels)
    elif method in ("Uncompressed", "None") or not flag:
        duration_ms = _number(waves.get("durationperchannel"), "durationperchannel")
        n = int(round(duration_ms * fs / 1000.0))
        check_sizes("Philips XML parsedwaveforms", leads=len(labels), samples=n)
        raw = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int64)
        if raw.size < n * len(labels):
            raise ReadError("Philips XML: waveform data shorter than its declared duration")
        leads = [raw[i * n:(i + 1) * n] for i in range(len(labels))]
    else:
        raise ReadError("Philips XML: unsupported compression (expected XLI or none)")
    return list(zip(labels, (lead.astype(np.float64) for lead in leads)))


def _calibration_start(leads: np.ndarray, fs: float) -> int:
    """Index where the trailing calibration block starts (or the full length when there is none).

    Philips appends ~0.4 s to every lead after the ECG: a 1 mV square pulse between zeros,
    identical in all leads. No real ECG keeps all 12 leads exactly equal for 0.2 s, so the
    trailing run where every lead equals lead I is cut when it is at least that long.
    """
    same = (leads == leads[0]).all(axis=0)
    if same.size == 0 or not same[-1]:
        return leads.shape[1]
    differing = np.nonzero(~same)[0]
    start = int(differing[-1]) + 1 if differing.size else 0
    return start if (leads.shape[1] - start) >= 0.2 * fs and start > 0 else leads.shape[1]


def _xli_leads(data: bytes, labels: list[str]) -> list[np.ndarray]:
    """Decode the XLI lead payloads and undo the device's limb-lead prediction."""
    limb = labels[:6]
    if limb != list(LEADS12[: len(limb)]) or len(limb) < 2:
        raise ReadError("Philips XML: XLI with an unsupported lead order (expected I II III aVR aVL aVF first)")
    leads = xli.decode(data, len(labels), max_samples=MAX_SAMPLES)
    if len({lead.size for lead in leads}) != 1:
        raise ReadError("Philips XML: XLI leads differ in length")
    if len(labels) >= 6:
        # III, aVR, aVL, aVF are stored as residuals (floor division as in the sierraecg package;
        # Philips' own aECG export of the same ECG agrees).
        i, ii = leads[0], leads[1]
        iii = ii - i - leads[2]
        leads[2] = iii
        leads[3] = -leads[3] - (i + ii) // 2
        leads[4] = (i - iii) // 2 - leads[4]
        leads[5] = (ii + iii) // 2 - leads[5]
    return leads


def _median_beats(repbeats, default_uv: float) -> list[Segment]:
    if repbeats is None:
        return []
    if (repbeats.get("dataencoding") or "Base64") != "Base64":
        raise ReadError("Philips XML: unsupported repbeats encoding")
    # optional in 1.03; absent or "0" means the rhythm's resolution
    stated = (repbeats.get("resolution") or "").strip()
    uv = default_uv if stated in ("", "0", "0.0") else _number(stated, "repbeat resolution")
    fs_text = repbeats.get("samplespersec")
    out = []
    for position, beat in enumerate(children(repbeats, "repbeat"), 1):
        # 1.04 nests the samples in <waveform>; 1.03 puts them in <repbeat> itself.
        holder = child(beat, "waveform")
        holder = beat if holder is None else holder
        data = _b64("".join(holder.itertext()) if holder is beat else holder.text, "repbeat")
        if not data:
            continue
        samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
        # Beats shorter than the slot are padded with int16 max (0x7FFF), which is not signal.
        valid = np.nonzero(samples != _FILL)[0]
        samples = samples[: valid[-1] + 1] if valid.size else samples[:0]
        if samples.size == 0:
            continue
        if fs_text:
            fs = _number(fs_text, "repbeat sampling rate")
        else:  # 1.03 without samplespersec: the rate follows from the duration (ms)
            fs = samples.size * 1000.0 / _number(holder.get("duration"), "repbeat duration")
        name = canonical_lead(beat.get("leadname") or "", position)
        out.append(Segment(name, (samples * (uv / 1000.0)).astype(np.float32), fs, 0.0, "median"))
    return out


def _extra(root, trimmed_s: float) -> dict[str, str | float]:
    extra: dict[str, str | float] = {"calibration_trimmed_s": round(trimmed_s, 3)}
    for path in (("measurements", "globalmeasurements", "meanqrsdur"),  # 1.03
                 ("internalmeasurements", "crossleadmeasurements", "meanqrsdur")):  # 1.04
        try:
            qrs = float(text_of(root, path) or "nan")
        except ValueError:  # "Indeterminate", "Failed"
            continue
        if QRS_MS_RANGE[0] <= qrs <= QRS_MS_RANGE[1]:
            extra["qrs_ms"] = qrs
            break
    return extra


def _datetime(day: str | None, time: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(f"{day}T{time or '00:00:00'}") if day else None
    except ValueError:
        return None


def _age(patient, acquired: datetime | None) -> float | None:
    if patient is None:
        return None
    years = text_of(patient, ("age", "years"))
    if years:
        try:
            return float(years)
        except ValueError:
            return None
    # Only a birth date: turn it into an age at acquisition and drop it.
    born = text_of(patient, ("age", "dateofbirth"))
    if born and acquired:
        try:
            birth = date.fromisoformat(born)
        except ValueError:
            return None
        days = (acquired.date() - birth).days
        return round(days / 365.25, 2) if days > 0 else None
    return None


def _site(acquisition) -> str | None:
    acquirer = child(acquisition, "acquirer") if acquisition is not None else None
    if acquirer is None:
        return None
    for path in (("institutionid",), ("institutionlocationid",), ("institutionname",)):
        value = text_of(acquirer, path)
        if value and value != "---":
            return value
    return None


def _device(acquisition) -> str | None:
    machine = child(acquisition, "machine") if acquisition is not None else None
    if machine is None:
        return None
    parts = [machine.text.strip() if machine.text else "", machine.get("detaildescription") or ""]
    return " ".join(p for p in parts if p) or None
