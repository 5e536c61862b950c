"""Paths: WFDB headers whose data files are symbolic links out of the input tree, absolute or `..`
paths, devices, pipes and folders; and inputs that are pipes. Each is refused as not an ECG of its own
folder, and nothing is read from where it points (a pipe would block forever)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.hostile import exports as ex
from tests.hostile.cases import Case


def build(root: Path, base: Path) -> list[Case]:
    plain = lambda name: "plain"  # noqa: E731
    cases: list[Case] = []
    outside = root.parent.parent / "outside-the-tree"  # beside the input tree, not in it
    outside.mkdir(exist_ok=True)
    ex.wfdb(outside / "elsewhere.hea", plain, seed=20)  # a valid record outside the input tree

    def record(name: str, data_name: str | None = None, why: str = "") -> Path:
        header = ex.wfdb(root / f"{name}.hea", plain, seed=21, data_name=data_name, write_data=False)
        cases.append(Case(header, "reject", why))
        return header

    link = record("link-system", why="data file: a link to a system file")
    os.symlink("/etc/passwd", link.with_suffix(".dat"))
    link = record("link-outside", why="data file: a link to another folder's record")
    os.symlink(outside / "elsewhere.dat", link.with_suffix(".dat"))
    record("dotdot", data_name="../../outside-the-tree/elsewhere.dat", why="data file named by ../")
    record("absolute", data_name=str(outside / "elsewhere.dat"), why="data file named by an absolute path")
    fifo = record("fifo", why="data file: a named pipe")
    os.mkfifo(fifo.with_suffix(".dat"))
    folder = record("folder", why="data file: a folder")
    folder.with_suffix(".dat").mkdir()
    device = record("device", why="data file: a link to /dev/zero")
    os.symlink("/dev/zero", device.with_suffix(".dat"))
    os.mkfifo(root / "pipe.xml")
    cases.append(Case(root / "pipe.xml", "reject", "an input that is a named pipe"))
    inside = ex.wfdb(root / "inside.hea", plain, seed=22, write_data=False)
    (root / "data").mkdir()
    ex.wfdb(root / "data" / "inside.hea", plain, seed=22)
    (root / "data" / "inside.hea").unlink()
    os.symlink(root / "data" / "inside.dat", inside.with_suffix(".dat"))
    cases.append(Case(inside, "accept", "data file: a link into a subfolder of the header's folder (allowed)"))
    cases.append(Case(root / "data" / "inside.dat", "reject", "a WFDB data file without its header"))
    return cases
