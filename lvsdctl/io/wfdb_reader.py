"""WFDB record reader (PhysioNet: `.hea` header with `.dat` or MATLAB v4 `.mat` signal files).

The `wfdb` package decodes the signal files and applies each channel's gain and baseline; units
are honoured per channel (mV, uV or V, case-insensitive; WFDB's default is mV), and whatever gain
the header states is used, right or wrong. The input may be the header or one of its data files.
A header that still names its data files by an old record name (e.g. `1.dat` beside
`ludb-ecg.hea`) is read from the data files that carry the header's own name. Age and sex come
from the header comments (`# Age: 77`, `#<sex>: F`, `# age 71` ...), an MRN-style comment is the
patient id; diagnoses and other free text are not read.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np

from lvsdctl.errors import ReadError
from lvsdctl.io.leads import canonical_lead, check_sizes, complete_limb_leads, record_extra, validate_segments
from lvsdctl.record import ECGRecord, Segment

_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "v": 1e3, "nv": 1e-6}
_MAX_HEADER_BYTES = 1 << 20
# record line "<name>[/<segments>] <signals> [<fs>...]";
# signal line "<file> <format>[x<n>][:<skew>][+<offset>] ..."
_RECORD_LINE = re.compile(r"^\S+\s+\d+(\s|$)")
_SIGNAL_LINE = re.compile(r"^\S+\s+\d+(x\d+)?(:\d+)?(\+\d+)?(\s|$)")
_COLON_FIELD = re.compile(r"^<?\s*([A-Za-z][A-Za-z ]*?)\s*>?\s*:\s*(.*?)\s*$")  # "Age: 77", "<sex>: F"
_SPACE_FIELD = re.compile(r"^([A-Za-z]+)\s+(.*?)\s*$")  # "age 71", "mrn 0747"
_SEX = {"male": "M", "m": "M", "female": "F", "f": "F"}


def sniff(head: bytes, path: Path) -> bool:
    """True for a WFDB header, by content. Signal files (.dat/.mat) are not claimed: they are
    companions of their header, and a record claimed through both would be read twice."""
    return _looks_like_header(head)


def _looks_like_header(head: bytes) -> bool:
    if b"\x00" in head:
        return False  # binary; comments may hold UTF-8 text, so no stricter test than that
    text = head.decode("latin-1")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines or not _RECORD_LINE.match(lines[0]):
        return False
    n_signals = int(lines[0].split()[1])
    return n_signals == 0 or (len(lines) > 1 and bool(_SIGNAL_LINE.match(lines[1])))


def read(path: Path) -> ECGRecord:
    """Read a WFDB record (given its .hea or one of its signal files) into an ECGRecord in mV."""
    header = path if path.suffix.lower() == ".hea" else path.with_suffix(".hea")
    if not header.is_file():
        raise ReadError("WFDB header (.hea) not found beside the data file")
    if header.stat().st_size > _MAX_HEADER_BYTES:
        raise ReadError("WFDB header is implausibly large")
    check_header(header)
    record = _rdrecord(header)
    if record.p_signal is None or record.n_sig == 0:
        raise ReadError("WFDB record has no signals")
    fs = float(record.fs)
    segments = []
    for j, (name, unit) in enumerate(zip(record.sig_name, record.units)):
        key = (unit or "mV").strip().lower()
        if key not in _TO_MV:
            raise ReadError(f"WFDB signal {j + 1}: units not one of mV, uV, V, nV")
        with np.errstate(over="ignore"):  # absurd gains give inf, rejected by validate_segments
            signal = (record.p_signal[:, j] * _TO_MV[key]).astype(np.float32)
        segments.append(Segment(canonical_lead(name or "", j + 1), signal, fs))
    segments, derived = complete_limb_leads(segments)
    validate_segments(segments)
    fields = _comment_fields(record.comments or [])
    return ECGRecord(
        segments=segments,
        source_format="wfdb",
        # only id-named comments: a bare "patient" comment may hold a name
        patient_id=fields.get("mrn") or fields.get("patient id") or fields.get("patientid"),
        acquired=_acquired(record, fields),
        age=_age(fields.get("age")),
        sex=_SEX.get((fields.get("sex") or "").lower()),
        extra=record_extra(None, derived),
    )


def _rdrecord(header: Path):
    import wfdb

    try:
        with warnings.catch_warnings():  # wfdb warns on odd headers; the reader decides
            warnings.simplefilter("ignore")
            return wfdb.rdrecord(str(header.with_suffix("")), physical=True)
    except FileNotFoundError:
        renamed = _renamed_files(header)
        if renamed is None:
            raise ReadError("a data file named in the WFDB header is missing") from None
        return _rdrecord_renamed(header, renamed)
    except ReadError:
        raise
    except Exception as exc:  # wfdb raises HeaderSyntaxError, ValueError, IndexError ... on bad input
        # its messages quote header lines (comments included): only the type is passed on
        raise ReadError(f"invalid WFDB record ({type(exc).__name__})") from None


#: Largest WFDB signal file read; a 12-lead 10 s record is 120 kB, a 30 min Holter lead some 1.3 MB.
MAX_DATA_BYTES = 256 << 20


def _fields(header: Path) -> list[list[str]]:
    """The header's record and signal lines, split into fields (comments and blank lines dropped)."""
    text = header.read_text(encoding="latin-1")
    return [ln.split("#", 1)[0].split() for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#") and ln.split("#", 1)[0].strip()]


def companion(header: Path, named: str, what: str) -> Path:
    """The signal file `named` in a header, refused unless it is a regular file inside the header's own
    directory (after following links): a header must not make lvsdctl read a system file, a device or
    another patient's folder. Messages name the signal, never the file name the header gives."""
    if not named or named == "~" or os.path.isabs(named) or "\x00" in named:
        raise ReadError(f"WFDB {what}: its data file is not a file name beside the header")
    base = os.path.realpath(header.parent)
    path = os.path.realpath(os.path.join(base, named))
    if os.path.commonpath([base, path]) != base:
        raise ReadError(f"WFDB {what}: its data file lies outside the header's directory (refused)")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(named) from None
    except OSError as exc:
        raise ReadError(f"WFDB {what}: its data file cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(f"WFDB {what}: its data file is not a regular file (refused)")
    if st.st_size > MAX_DATA_BYTES:
        raise ReadError(f"WFDB {what}: its data file is larger than {MAX_DATA_BYTES >> 20} MB")
    return Path(path)


def check_header(header: Path) -> None:
    """Bound what the header declares and check every data file it names, before wfdb reads anything:
    a single-segment record, 1 to MAX_LEADS signals, a rate in range, at most MAX_SAMPLES samples per
    signal, data files inside the header's directory (`companion`). A missing data file is left to the
    renamed-record fallback of `_rdrecord`."""
    lines = _fields(header)
    if not lines or len(lines[0]) < 2:
        raise ReadError("WFDB header has no record line")
    record = lines[0]
    if "/" in record[0]:
        raise ReadError("multi-segment WFDB records are not supported")
    try:
        n_sig = int(record[1])
        fs = float(record[2].split("/")[0].split("(")[0]) if len(record) > 2 else 250.0
        sig_len = int(record[3]) if len(record) > 3 and record[3].isdigit() else None
    except ValueError:
        raise ReadError("WFDB record line is not '<name> <signals> [<rate> [<samples>]]'") from None
    check_sizes("WFDB header", leads=n_sig if n_sig else 1, samples=sig_len, fs=fs)
    if n_sig == 0:
        raise ReadError("WFDB record has no signals")
    if len(lines) < 1 + n_sig:
        raise ReadError(f"WFDB header declares {n_sig} signals but describes {len(lines) - 1}")
    for j, fields in enumerate(lines[1:1 + n_sig]):
        try:
            companion(header, fields[0], f"signal {j + 1}")
        except FileNotFoundError:
            continue


def _renamed_files(header: Path) -> dict[str, Path] | None:
    """{file named in header: existing file with the header's stem and the same suffix}, or None."""
    text = header.read_text(encoding="latin-1")
    lines = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        return None
    mapping = {}
    for parts in lines[1:]:
        named = parts[0]
        if (header.parent / named).exists():
            continue
        candidate = header.with_suffix(Path(named).suffix)
        if not candidate.is_file() or "/" in named:
            return None
        try:
            mapping[named] = companion(header, candidate.name, "signal")
        except FileNotFoundError:
            return None
    return mapping or None


def _rdrecord_renamed(header: Path, renamed: dict[str, Path]):
    """Read a record whose header names stale data files, via a corrected copy of the header."""
    import wfdb

    text = header.read_text(encoding="latin-1").splitlines()
    out, first = [], True
    for line in text:
        parts = line.split()
        if parts and not line.lstrip().startswith("#"):
            if first:
                parts[0] = header.stem + parts[0][len(parts[0].split("/")[0]):]
                first = False
            elif parts[0] in renamed:
                parts[0] = renamed[parts[0]].name
            line = " ".join(parts)
        out.append(line)
    with tempfile.TemporaryDirectory(prefix="lvsdctl-wfdb-") as tmp:
        tmp_dir = Path(tmp)
        (tmp_dir / header.name).write_text("\n".join(out) + "\n", encoding="latin-1")
        for data in set(renamed.values()):
            try:
                os.symlink(data, tmp_dir / data.name)  # already resolved and checked by `companion`
            except OSError:  # no symlinks on this file system
                shutil.copyfile(data, tmp_dir / data.name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return wfdb.rdrecord(str(tmp_dir / header.stem), physical=True)
        except Exception as exc:
            raise ReadError(f"invalid WFDB record ({type(exc).__name__})") from None


def _comment_fields(comments: list[str]) -> dict[str, str]:
    """Lower-case key -> value for 'key: value', '<key>: value' and 'key value' comment lines."""
    fields: dict[str, str] = {}
    for comment in comments:
        text = comment.strip().lstrip("#").strip()
        match = _COLON_FIELD.match(text) or _SPACE_FIELD.match(text)
        if match:
            fields.setdefault(match.group(1).strip().lower(), match.group(2))
    return fields


def _age(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value < 130 else None


def _acquired(record, fields: dict[str, str]) -> datetime | None:
    if record.base_date is not None:
        return datetime.combine(record.base_date, record.base_time or datetime.min.time())
    stamp = fields.get("ecg date")  # PTB: '# ECG date: 01/10/1990' (day/month/year)
    if stamp:
        try:
            return datetime.strptime(stamp, "%d/%m/%Y")
        except ValueError:
            return None
    return None
