"""What a worker does to one file: read it once, hash those bytes, parse those bytes."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from lvsdctl.ingest import worker as ingest_worker
from lvsdctl.io.detect import read_ecg
from lvsdctl.ingest.worker import parse_chunk, read_and_hash


def test_small_files_are_read_once_and_hashed_as_read(tmp_path):
    p = tmp_path / "a.xml"
    p.write_bytes(b"<!-- lvsdctl-synth -->" + os.urandom(5000))
    sha, marker, err, data = read_and_hash(str(p))
    assert (sha, marker, err, data) == (hashlib.sha256(p.read_bytes()).hexdigest(), True, "", p.read_bytes())


def test_large_files_are_hashed_in_blocks_and_left_to_their_reader(tmp_path):
    p = tmp_path / "big.dat"
    p.write_bytes(os.urandom(3 << 20))
    sha, marker, err, data = read_and_hash(str(p), keep=1 << 20)
    assert (sha, marker, err, data) == (hashlib.sha256(p.read_bytes()).hexdigest(), False, "", None)


def test_what_cannot_be_read_is_a_reason(tmp_path):
    assert read_and_hash(str(tmp_path))[2] == "is a directory"
    assert read_and_hash(str(tmp_path / "gone.xml"))[2].startswith("cannot read the file")
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    assert read_and_hash(str(fifo))[2] == "not a regular file"


@pytest.fixture
def muse_file(fixtures_dir):
    return fixtures_dir / "ecg" / "muse_xml" / "egm" / "muse-sinus.xml"


def test_parse_chunk_parses_the_hashed_bytes(muse_file):
    """The record comes from the bytes that were hashed (the reader is handed them), and equals a
    fresh read of the file."""
    ingest_worker.init_worker(None)
    [(sha, _, err, result)] = parse_chunk([str(muse_file)])
    assert err == "" and sha == hashlib.sha256(muse_file.read_bytes()).hexdigest()
    status, meta, (f32, i16), segments = result
    assert status == "ok" and meta["source_format"] == "muse"
    record = read_ecg(muse_file)
    assert len(f32) == 0 and len(i16) == sum(s.size for s in record.segments)  # MUSE: codes only
    for (lead, kind, _, fs, offset, length, scale), seg in zip(segments, record.segments):
        assert (lead, kind, fs, scale) == (seg.lead, seg.kind, seg.fs, seg.scale)
        np.testing.assert_array_equal(i16[offset:offset + length], seg.counts)


@pytest.mark.parametrize("site, kept", [("A", "A"), ("3", "3"), ("TS-035", "TS-035"), ("site_9.b", "site_9.b"),
                                        ("UNIVERSITY OF HOSPITAL", ""), ("ZZPHI-site-QQ", ""), ("", ""), (None, ""),
                                        ("a\x00b", ""), ("Dr. Who's ward", "")])
def test_a_site_is_kept_only_as_a_code(site, kept):
    assert ingest_worker.site_code(site) == kept


def test_whatever_a_reader_returns_no_lead_label_or_site_text_gets_through(tmp_path):
    from lvsdctl.record import ECGRecord, Segment

    def reader(path):
        sig = np.zeros(100, np.float32)
        return ECGRecord([Segment("II", sig, 500.0), Segment("ZZPHI-lead", sig, 500.0, kind="ZZPHI-kind")],
                         "muse", patient_id="x", site="ZZPHI-site-QQ")

    ingest_worker.init_worker(reader)
    try:
        p = tmp_path / "f.xml"
        p.write_text("x")
        _, _, _, (status, meta, _, segments) = parse_chunk([str(p)])[0]
    finally:
        ingest_worker.init_worker(None)
    assert status == "ok" and meta["site"] == ""
    assert [s[:2] for s in segments] == [["II", "rhythm"], ["lead2", "rhythm"]]
