"""lvsdctl's HDF5 file family: one versioned format per kind, written atomically, with provenance.

Every file carries `lvsdctl_kind` and `lvsdctl_format_version` root attributes and a `/provenance`
dataset (one JSON document per stage ever applied). Per-record metadata live in `/records` as plain
1-D datasets that h5py and pandas read without lvsdctl. See docs/formats.md.
"""

from __future__ import annotations

from lvsdctl.errors import FormatError
from lvsdctl.hdf5.core import (
    FORMAT_VERSION,
    KINDS,
    PSEUDONYM_KEYS_ATTR,
    atomic_output,
    open_input,
    provenance,
    read_json_attr,
    sha256_file,
    write_json_attr,
)
from lvsdctl.hdf5.inspect import FileDescription, describe
from lvsdctl.hdf5.records import RECORD_COLUMNS, read_records, write_records
from lvsdctl.hdf5.tensors import read_state_dict, write_state_dict

__all__ = [
    "FORMAT_VERSION",
    "FileDescription",
    "KINDS",
    "PSEUDONYM_KEYS_ATTR",
    "FormatError",
    "RECORD_COLUMNS",
    "atomic_output",
    "describe",
    "open_input",
    "provenance",
    "read_json_attr",
    "read_records",
    "read_state_dict",
    "sha256_file",
    "write_json_attr",
    "write_records",
    "write_state_dict",
]
