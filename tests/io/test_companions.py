"""WFDB data files are read only when they are regular files in the header's own folder (after links)."""

from __future__ import annotations

import os

import pytest

from lvsdctl.errors import ReadError
from lvsdctl.io import wfdb_reader
from lvsdctl.io.detect import read_ecg
from tests.hostile import exports as ex

plain = lambda name: "plain"  # noqa: E731


def test_a_record_beside_its_header_is_read(tmp_path):
    record = read_ecg(ex.wfdb(tmp_path / "rec.hea", plain))
    assert record.source_format == "wfdb" and len(record.segments) == 12


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero", "/proc/self/environ", "OUTSIDE"])
def test_a_link_out_of_the_folder_is_refused(tmp_path, target):
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    ex.wfdb(outside / "other.hea", plain)
    header = ex.wfdb(inside / "rec.hea", plain, write_data=False)
    os.symlink(outside / "other.dat" if target == "OUTSIDE" else target, inside / "rec.dat")
    with pytest.raises(ReadError, match="lies outside the header's directory") as err:
        read_ecg(header)
    assert target not in str(err.value) and "other" not in str(err.value)  # the file's names are not quoted


@pytest.mark.parametrize("named", ["../out/other.dat", "ABSOLUTE", "sub/../../out/other.dat"])
def test_paths_out_of_the_folder_are_refused(tmp_path, named):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    ex.wfdb(tmp_path / "out" / "other.hea", plain)
    named = str(tmp_path / "out" / "other.dat") if named == "ABSOLUTE" else named
    header = ex.wfdb(tmp_path / "in" / "rec.hea", plain, data_name=named, write_data=False)
    with pytest.raises(ReadError, match="outside the header's directory|not a file name beside the header"):
        read_ecg(header)


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_data_files_that_are_not_regular_files_are_refused(tmp_path, kind):
    header = ex.wfdb(tmp_path / "rec.hea", plain, write_data=False)
    os.mkfifo(tmp_path / "rec.dat") if kind == "fifo" else (tmp_path / "rec.dat").mkdir()
    with pytest.raises(ReadError, match="not a regular file"):
        read_ecg(header)  # a pipe would block the reader forever


def test_links_within_the_folder_and_its_subfolders_are_followed(tmp_path):
    (tmp_path / "data").mkdir()
    ex.wfdb(tmp_path / "data" / "rec.hea", plain)
    header = ex.wfdb(tmp_path / "rec.hea", plain, write_data=False)
    os.symlink(tmp_path / "data" / "rec.dat", tmp_path / "rec.dat")
    assert len(read_ecg(header).segments) == 12


def test_a_data_file_over_the_size_bound_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(wfdb_reader, "MAX_DATA_BYTES", 1000)
    with pytest.raises(ReadError, match="larger than"):
        read_ecg(ex.wfdb(tmp_path / "rec.hea", plain))


def test_the_renamed_record_fallback_checks_its_files_too(tmp_path):
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    ex.wfdb(outside / "rec.hea", plain)
    header = ex.wfdb(inside / "rec.hea", plain, data_name="old-name.dat", write_data=False)
    os.symlink(outside / "rec.dat", inside / "rec.dat")  # the fallback would read rec.dat for old-name.dat
    with pytest.raises(ReadError, match="outside the header's directory|missing"):
        read_ecg(header)
