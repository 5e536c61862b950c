"""Fuzzing the XML readers with mutated real fixtures: accepted or rejected, never crashed or hung.

Every case is seeded and reproducible (the failure message names the file, seed and mutation).
Each case must end in an ECGRecord whose signals are sane, or in a ReadError whose reason is one
non-empty line free of the fixture's patient names and birth dates. Any other exception, or a
case running past a generous alarm, fails the test.
"""

from __future__ import annotations

import re
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import detect, digitised, muse
from lvsdctl.record import LEADS12, ECGRecord

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
MUSE_FILES = sorted(str(p.relative_to(FIXTURES / "ecg"))
                    for folder in ("muse_xml", "muse_xml_simulator")
                    for p in (FIXTURES / "ecg" / folder).rglob("*.xml"))
CASES_PER_FILE = 52
HANG_SECONDS = 10  # a case takes milliseconds; only a real hang gets anywhere near this

BOMB = (b'<!DOCTYPE RestingECG [\n<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
        + b"".join(b'<!ENTITY %c "%s">\n' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10)
                   for i in range(9))
        + b"]>")
XXE = b'<!DOCTYPE RestingECG [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
HUGE = [b"1e308", b"-1e308", b"9" * 400, b"99999999999999999999", b"-1", b"0", b"nan", b"inf",
        b"-inf", b"1e-320", b"4294967296", b"", b"0x1F", b"5" * 5000]


class Hang(Exception):
    pass


@contextmanager
def alarm(seconds: int):
    def on_alarm(signum, frame):
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def phi_values(data: bytes) -> set[bytes]:
    tags = rb"PatientLastName|PatientFirstName|DateofBirth|\w*MDLastName|\w*MDFirstName"
    return {m.group(2).strip() for m in re.finditer(rb"<(%s)>([^<]{3,})</\1>" % tags, data)}


# --- mutations: each takes (bytes, rng) and returns (bytes, must_reject) ------------------------


def truncate(data, rng):
    cut = int(rng.integers(0, len(data)))
    return data[:cut], cut < len(data.rstrip())


def bit_flips(data, rng):
    out = bytearray(data)
    for pos in rng.integers(0, len(out), size=int(rng.integers(1, 17))):
        out[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(out), False


def _elements(data):
    return re.findall(rb"<([A-Za-z][\w]*)>", data)


def rename_tag(data, rng):
    """Rename every occurrence of one element (well-formed, but the element is gone)."""
    names = sorted(set(_elements(data)))
    name = names[int(rng.integers(len(names)))]
    return re.sub(rb"(</?)%s([ >])" % name, rb"\1%sX\2" % name, data), False


def break_tag(data, rng):
    """Rename a single opening tag (malformed: the closing tag no longer matches). Inside the MUSE
    measurement sections the reader never reads (cut out unparsed), the file is still read."""
    spots = [m.start(1) for m in re.finditer(rb"<([A-Za-z]\w*)>", data)]
    pos = spots[int(rng.integers(len(spots)))]
    unread = [(m.start(), m.end()) for name in muse_unread_sections()
              for m in re.finditer(rb"<%s>.*?</%s>" % (name, name), data, re.S)]
    # (a section whose own start tag breaks is not cut: `a + 1` is where its name starts)
    return data[:pos] + b"Zz" + data[pos:], not any(a + 1 < pos < b for a, b in unread)


def muse_unread_sections() -> tuple[bytes, ...]:
    from lvsdctl.io.muse import _UNREAD_SECTIONS

    return _UNREAD_SECTIONS


def huge_number(data, rng):
    spots = list(re.finditer(rb"<(\w+)>(-?[0-9.]+)</\1>", data))
    m = spots[int(rng.integers(len(spots)))]
    value = HUGE[int(rng.integers(len(HUGE)))]
    return data[:m.start(2)] + value + data[m.end(2):], False


def remove_element(data, rng):
    kind = int(rng.integers(3))
    pattern = {0: rb"<(\w+)>[^<]*</\1>\s*", 1: rb"<LeadData>.*?</LeadData>\s*",
               2: rb"<Waveform>.*?</Waveform>\s*"}[kind]
    spots = list(re.finditer(pattern, data, re.DOTALL))
    if not spots:
        return data, False
    m = spots[int(rng.integers(len(spots)))]
    return data[:m.start()] + data[m.end():], False


def duplicate_lead(data, rng):
    spots = list(re.finditer(rb"<LeadData>.*?</LeadData>\s*", data, re.DOTALL))
    m = spots[int(rng.integers(len(spots)))]
    return data[:m.end()] + m.group(0) + data[m.end():], False


def swap_lead_ids(data, rng):
    ids = list(re.finditer(rb"<LeadID>(\w+)</LeadID>", data))
    a, b = (ids[int(i)] for i in rng.choice(len(ids), size=2, replace=False))
    first, second = sorted((a, b), key=lambda m: m.start())
    return (data[:first.start(1)] + second.group(1) + data[first.end(1):second.start(1)]
            + first.group(1) + data[second.end(1):]), False


def junk_in_base64(data, rng):
    spots = [m.end() for m in re.finditer(rb"<WaveFormData>", data)]
    pos = spots[int(rng.integers(len(spots)))] + int(rng.integers(1, 2000))
    junk = bytes(int(c) for c in rng.choice(list(b"*!~%^?-_."), size=int(rng.integers(1, 4))))
    return data[:pos] + junk + data[pos:], False


def entity_attack(data, rng):
    doctype = BOMB if rng.random() < 0.5 else XXE
    ref = b"&j;" if doctype is BOMB else b"&x;"
    body = re.sub(rb"<!DOCTYPE[^>]*>", b"", data, count=1)
    body = body.replace(b"<RestingECG>", b"<RestingECG>\n<Site>" + ref + b"</Site>", 1)
    head, _, rest = body.partition(b"?>")
    return head + b"?>\n" + doctype + rest, True


def wrong_encoding(data, rng):
    mutated, n = re.subn(rb'encoding="[^"]*"', b'encoding="UTF-16"', data, count=1)
    return mutated, n == 1


def deep_nesting(data, rng):
    depth = int(rng.integers(300, 5000))
    return data.replace(b"<RestingECG>", b"<RestingECG>" + b"<a>" * depth + b"</a>" * depth,
                        1), False


def garbage(data, rng):
    return bytes(rng.integers(0, 256, size=int(rng.integers(0, 4096)), dtype=np.uint8)), False


MUTATIONS = [truncate, bit_flips, rename_tag, break_tag, huge_number, remove_element,
             duplicate_lead, swap_lead_ids, junk_in_base64, entity_attack, wrong_encoding,
             deep_nesting, garbage]


def check_outcome(read, path: Path, phi: set[bytes], must_reject: bool, label: str) -> str:
    """Run one case; 'accepted' or 'rejected', or fail the test with the case's label."""
    try:
        with alarm(HANG_SECONDS):
            record = read(path)
            detect.detect_format(path)  # detection never raises on content either
    except ReadError as exc:
        reason = str(exc)
        assert reason and "\n" not in reason, f"{label}: reason {reason!r}"
        for value in phi:
            assert value.decode("latin-1") not in reason, f"{label}: PHI in {reason!r}"
        return "rejected"
    except Exception as exc:  # the point of the test: nothing else may escape a reader
        pytest.fail(f"{label}: {type(exc).__name__}: {exc}")
    assert not must_reject, f"{label}: accepted a file that must be rejected"
    assert isinstance(record, ECGRecord), label
    for seg in record.segments:
        assert seg.signal.dtype == np.float32 and seg.signal.size > 0, label
        assert np.isfinite(seg.signal).all() and seg.fs > 0, label
    return "accepted"


@pytest.mark.parametrize("name", MUSE_FILES)
def test_muse_reader_survives_mutations(fixtures_dir, tmp_path, name):
    data = (fixtures_dir / "ecg" / name).read_bytes()
    phi = phi_values(data)
    outcomes = {"accepted": 0, "rejected": 0}
    for case in range(CASES_PER_FILE):
        rng = np.random.default_rng([MUSE_FILES.index(name), case])
        mutation = MUTATIONS[case % len(MUTATIONS)]
        mutated, must_reject = mutation(data, rng)
        path = tmp_path / f"case{case}.xml"
        path.write_bytes(mutated)
        label = f"{name} case {case} ({mutation.__name__})"
        outcomes[check_outcome(muse.read, path, phi, must_reject, label)] += 1
    assert outcomes["rejected"] > 0 and outcomes["accepted"] > 0, outcomes


def test_read_ecg_on_mutated_files_only_raises_read_error(fixtures_dir, tmp_path):
    """The same through detection and dispatch, for a sample of cases."""
    data = (fixtures_dir / "ecg" / "muse_xml/egm/muse-sinus.xml").read_bytes()
    for case in range(2 * len(MUTATIONS)):
        rng = np.random.default_rng([99, case])
        mutation = MUTATIONS[case % len(MUTATIONS)]
        mutated, must_reject = mutation(data, rng)
        path = tmp_path / f"case{case}.bin"
        path.write_bytes(mutated)
        check_outcome(detect.read_ecg, path, phi_values(data), must_reject,
                      f"read_ecg case {case} ({mutation.__name__})")


# --- the digitised reader, on a document built from a real MUSE fixture's signal ------------------


def digitised_from_fixture(path: Path) -> bytes:
    record = muse.read(path)
    rhythm = record.leads("rhythm")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<DigitisedECG xmlns="urn:lvsdctl:digitised-ecg:1" version="1">',
             '<Provenance synthetic="false" digitiser="test"/>', "<PatientID>P1</PatientID>",
             "<AcquisitionDateTime>2021-03-04T10:22:00</AcquisitionDateTime>",
             "<Age>70</Age>", "<Sex>M</Sex>", "<Units>mV</Units>"]
    for i, lead in enumerate(LEADS12):
        start = 2.5 * (i // 3)
        values = rhythm[lead].signal[int(start * 500):int(start * 500) + 1250:4]  # 125 Hz
        text = " ".join(f"{v:.4f}" for v in values.tolist())
        lines.append(f'<Piece lead="{lead}" start="{start}" duration="2.5" '
                     f'samples="{values.size}">{text}</Piece>')
    strip = rhythm["II"].signal[::4]
    lines.append(f'<RhythmStrip lead="II" start="0.0" duration="10.0" samples="{strip.size}">'
                 + " ".join(f"{v:.4f}" for v in strip.tolist()) + "</RhythmStrip>")
    lines.append("</DigitisedECG>")
    return "\n".join(lines).encode()


def digitised_attribute(data, rng):
    spots = list(re.finditer(rb'(start|duration|samples)="([^"]*)"', data))
    m = spots[int(rng.integers(len(spots)))]
    return data[:m.start(2)] + HUGE[int(rng.integers(len(HUGE)))] + data[m.end(2):], False


def digitised_value(data, rng):
    spots = list(re.finditer(rb"-?\d+\.\d{4}", data))
    m = spots[int(rng.integers(len(spots)))]
    return data[:m.start()] + HUGE[int(rng.integers(len(HUGE)))] + data[m.end():], False


def digitised_remove(data, rng):
    spots = list(re.finditer(rb"<(Piece|RhythmStrip|Units)\b.*?</\1>\n?", data, re.DOTALL))
    m = spots[int(rng.integers(len(spots)))]
    return data[:m.start()] + data[m.end():], True


def digitised_entities(data, rng):
    head, _, rest = data.partition(b"?>")
    return head + b"?>\n" + XXE.replace(b"RestingECG", b"DigitisedECG") + rest.replace(
        b"<PatientID>P1", b"<PatientID>&x;", 1), True


DIGITISED_MUTATIONS = [truncate, bit_flips, rename_tag, break_tag, digitised_attribute,
                       digitised_value, digitised_remove, digitised_entities, garbage]


def test_digitised_reader_survives_mutations(fixtures_dir, tmp_path):
    data = digitised_from_fixture(fixtures_dir / "ecg" / "muse_xml/egm/muse-sinus.xml")
    source = tmp_path / "source.xml"
    source.write_bytes(data)
    assert len(digitised.read(source).segments) == 13  # the unmutated document is valid
    outcomes = {"accepted": 0, "rejected": 0}
    for case in range(8 * len(DIGITISED_MUTATIONS)):
        rng = np.random.default_rng([1000, case])
        mutation = DIGITISED_MUTATIONS[case % len(DIGITISED_MUTATIONS)]
        mutated, must_reject = mutation(data, rng)
        path = tmp_path / f"case{case}.xml"
        path.write_bytes(mutated)
        label = f"digitised case {case} ({mutation.__name__})"
        outcomes[check_outcome(digitised.read, path, set(), must_reject, label)] += 1
    assert outcomes["rejected"] > 0 and outcomes["accepted"] > 0, outcomes

