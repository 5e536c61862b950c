"""Sizes read from ECG files are bounded before anything is allocated from them."""

from __future__ import annotations

import resource

import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import xli
from lvsdctl.io.detect import read_ecg
from lvsdctl.io.leads import MAX_LEADS, MAX_SAMPLES, check_sizes
from tests.hostile import exports as ex

plain = lambda name: "plain"  # noqa: E731


def test_check_sizes_bounds():
    check_sizes("x", leads=12, samples=5000, fs=500)
    for kwargs, reason in [({"leads": MAX_LEADS + 1}, "leads declared"), ({"leads": 0}, "leads declared"),
                           ({"samples": MAX_SAMPLES + 1}, "samples per lead"), ({"samples": -1}, "samples per lead"),
                           ({"leads": 64, "samples": MAX_SAMPLES}, "in all"), ({"fs": 0.0}, "rate out of range"),
                           ({"fs": 1e9}, "rate out of range")]:
        with pytest.raises(ReadError, match=reason):
            check_sizes("x", **kwargs)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("make, reason", [
    (lambda d: ex.scp(d / "a.scp", plain, samples=2**31 - 1), "samples per lead declared"),
    (lambda d: ex.dicom(d / "a.dcm", plain, samples=10**9), "samples per lead declared"),
    (lambda d: ex.wfdb(d / "a.hea", plain, record_line="a 12 500 1000000000000"), "samples per lead declared"),
    (lambda d: ex.wfdb(d / "b.hea", plain, record_line="b 1000000 500 5000"), "leads declared"),
    (lambda d: ex.wfdb(d / "c.hea", plain, record_line="c 12 1e15 5000"), "rate out of range"),
])
def test_declared_sizes_are_refused_before_allocating(tmp_path, make, reason):
    before = _peak_mb()
    with pytest.raises(ReadError, match=reason):
        read_ecg(make(tmp_path))
    assert _peak_mb() - before < 200  # nothing of the declared size was allocated


def test_philips_duration_and_xli_expansion_are_bounded(tmp_path):
    path = ex.philips(tmp_path / "p.xml", plain)
    path.write_text(path.read_text().replace('durationperchannel="10000"', 'durationperchannel="1e15"'))
    with pytest.raises(ReadError, match="samples per lead declared"):
        read_ecg(path)
    # an LZW stream whose codes each repeat the longest string: a few kB that would decode to gigabytes
    codes = list(range(256, 256 + 700))
    bits = "".join(format(c, "010b") for c in [65, 65] + codes * 30)
    payload = int(bits, 2).to_bytes((len(bits) + 7) // 8, "big")
    chunk = len(payload).to_bytes(4, "little", signed=True) + b"\0\0" + (0).to_bytes(2, "little") + payload
    with pytest.raises(ReadError, match="XLI lead decompresses to more than|undefined LZW code"):
        xli.decode(chunk, 1, max_samples=10_000)


def test_an_xml_text_node_over_the_parser_limit_is_reported_as_such(tmp_path):
    from lvsdctl.io.xmlsafe import parse_bytes

    for doc in (b"<RestingECG><A>" + b"A" * 10_500_000 + b"</A></RestingECG>",
                b"<RestingECG><!--" + b"A" * 10_500_000 + b"--></RestingECG>",
                b"<RestingECG a='" + b"A" * 10_500_000 + b"'/>"):
        with pytest.raises(ReadError, match=r"of 10\.5 MB: over the XML parser's 10 MB limit"):
            parse_bytes(doc)
    with pytest.raises(ReadError, match="malformed XML"):  # a small malformed file keeps libxml2's reason
        parse_bytes(b"<RestingECG><A></B></RestingECG>")
