"""XLI decoder: identical to the sierraecg package's decoder on every fixture; corrupt streams fail."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import xli

sierra_xli = pytest.importorskip("sierraecg.xli")

# the real fixtures live in <repo>/../shared/fixtures; conftest's fixture skips when they are absent
pytestmark = pytest.mark.usefixtures("fixtures_dir")

ECG_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "ecg"
PHILIPS_DIR = ECG_DIR / "philips_xml" / "sierra-ecg-tools"
FILES = sorted(PHILIPS_DIR.glob("*.*"))


def _payload(path: Path) -> bytes:
    raw = path.read_bytes()
    text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8")
    match = re.search(r"<parsedwaveforms[^>]*>([^<]*)</parsedwaveforms>", text)
    assert match, path.name
    return base64.b64decode("".join(match.group(1).split()))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_matches_sierraecg(path: Path) -> None:
    data = _payload(path)
    ours = xli.decode(data, 12)
    reference = sierra_xli.xli_decode(data, [""] * 12)
    assert len(ours) == 12
    for mine, theirs in zip(ours, reference[:12]):
        assert len(mine) == 5500
        np.testing.assert_array_equal(mine, np.asarray(theirs, dtype=np.int64))


def test_corrupt_streams_are_rejected() -> None:
    data = _payload(FILES[0])
    with pytest.raises(ReadError, match="leads"):
        xli.decode(data, 40)  # asks for more leads than the stream holds
    with pytest.raises(ReadError, match="past the end"):
        xli.decode(data[:500], 12)
    with pytest.raises(ReadError, match="chunk header"):
        xli.decode(data[:4], 1)
    size = int.from_bytes(data[:4], "little")
    undefined = data[:8] + bytes([0xFF, 0xBF]) + data[10:8 + size]  # first code 1022: not yet defined
    with pytest.raises(ReadError, match="undefined LZW code"):
        xli.decode(undefined, 1)
