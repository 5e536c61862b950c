"""What `merge` checks before it copies anything: one kind, one format version, one preprocessing, and
pseudonyms made with one site secret.

Pseudonyms are HMACs of patient ids with a site's secret (`lvsdctl.ingest.pseudonym`): the same patient gets
the same pseudonym in two files only when the same secret made both. Ingest records a fingerprint of the
secret (`key_id`: an HMAC of a fixed label with it, which reveals nothing of the secret) in the root
attribute `pseudonym_key_ids` and in its provenance entry; files written before that attribute existed
are identified by their provenance alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import h5py

from lvsdctl.errors import InputError
from lvsdctl.hdf5 import PSEUDONYM_KEYS_ATTR, provenance, read_json_attr
from lvsdctl.hdf5.records import column_types

KINDS = ("ecg-raw", "ecg")
#: /signals attributes that must agree between `ecg` files (how the arrays were made).
SIGNAL_ATTRS = ("layout", "arrangement", "fs", "channels", "filter", "resample", "normalisation")
KEY_ATTR = PSEUDONYM_KEYS_ATTR


@dataclass
class Source:
    """One input file, as merge sees it."""

    path: str
    kind: str
    version: int
    records: int
    columns: dict[str, str]
    key_ids: list[str] = field(default_factory=list)  # fingerprints of the secrets behind its pseudonyms
    signals: dict = field(default_factory=dict)  # ecg: SIGNAL_ATTRS, shape
    record_attrs: dict = field(default_factory=dict)  # /records attributes other than n (split design...)
    synthetic: bool = False


def _text(value) -> object:
    if isinstance(value, bytes):
        return value.decode()
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
        if isinstance(value, list):
            return [v.decode() if isinstance(v, bytes) else v for v in value]
    return value


def key_ids(f: h5py.File) -> list[str]:
    """Fingerprints of the pseudonymisation secrets a file's patients were made with (sorted, maybe
    several after a merge allowed them to differ; empty when the file does not say)."""
    found = read_json_attr(f, KEY_ATTR)
    if found:
        return sorted(set(found))
    ids = set()
    for entry in provenance(f):
        pseudonym = (entry.get("parameters") or {}).get("pseudonym") or {}
        if entry.get("kind") == "ecg-raw" and pseudonym.get("key_id"):
            ids.add(str(pseudonym["key_id"]))
    return sorted(ids)


def describe(f: h5py.File, name: str) -> Source:
    kind = _text(f.attrs.get("lvsdctl_kind"))
    if kind not in KINDS:
        raise InputError(f"{name}: is an '{kind}' file; merge joins ecg-raw files (from ingest) or ecg files "
                         "(from preprocess or split)")
    if "records" not in f:
        raise InputError(f"{name}: has no /records")
    rec = f["records"]
    n = int(rec.attrs.get("n", len(rec["record_id"]) if "record_id" in rec else 0))
    source = Source(path=name, kind=kind, version=int(f.attrs.get("lvsdctl_format_version", 0)), records=n,
                    columns=column_types(rec), key_ids=key_ids(f), synthetic=bool(f.attrs.get("synthetic", False)),
                    record_attrs={k: _text(v) for k, v in rec.attrs.items() if k != "n"})
    if kind == "ecg":
        if "signals" not in f:
            raise InputError(f"{name}: has no /signals")
        sig = f["signals"]
        if sig.shape[0] != n:
            raise InputError(f"{name}: /records has {n} rows but /signals {sig.shape[0]}")
        source.signals = {a: _text(sig.attrs.get(a)) for a in SIGNAL_ATTRS}
        source.signals["shape"] = list(sig.shape[1:])
        source.signals["preprocessing"] = read_json_attr(f, "preprocessing")
    elif "raw" not in f or "raw/segments" not in f:
        raise InputError(f"{name}: has no /raw samples: not a complete ecg-raw file")
    return source


def check(sources: list[Source], allow_different_keys: bool) -> list[str]:
    """Refuse inputs that cannot be joined (InputError); return warnings for those that can."""
    first = sources[0]
    for s in sources[1:]:
        if s.kind != first.kind:
            raise InputError(f"{s.path}: is an '{s.kind}' file but {first.path} is '{first.kind}': merge files of "
                             "one kind (ingest outputs together, or preprocessed files together)")
        if s.version != first.version:
            raise InputError(f"{s.path}: format version {s.version}, but {first.path} has version {first.version}: "
                             "write both with the same lvsdctl (ingest or preprocess them again)")
        if s.kind == "ecg":
            differ = [k for k in (*SIGNAL_ATTRS, "shape", "preprocessing")
                      if json.dumps(s.signals.get(k), sort_keys=True) != json.dumps(first.signals.get(k),
                                                                                   sort_keys=True)]
            if differ:
                raise InputError(f"{s.path}: preprocessed differently from {first.path} ({', '.join(differ)}): "
                                 "preprocess every raw file with the same options, or merge the raw files and "
                                 "preprocess once")
        for col in set(s.columns) & set(first.columns):
            if (s.columns[col] == "str") != (first.columns[col] == "str"):
                raise InputError(f"{s.path}: /records column {col} is {s.columns[col]} but {first.columns[col]} "
                                 f"in {first.path}")
    warnings = []
    keys = sorted({k for s in sources for k in s.key_ids})
    unknown = [s.path for s in sources if not s.key_ids]
    if len(keys) > 1:
        which = "; ".join(f"{s.path}: {', '.join(s.key_ids) or 'unknown'}" for s in sources)
        if not allow_different_keys:
            raise InputError(
                f"the inputs' pseudonyms were made with different site secrets (key ids {which}): the same "
                "patient has different pseudonyms in them, so patients cannot be linked across these files and "
                "`split` could put one patient in two sets. Ingest every site's exports with the same secret "
                "(--secret-file), or pass --allow-different-keys if the sites share no patient")
        warnings.append(f"pseudonyms from {len(keys)} different secrets ({', '.join(keys)}): patients are not "
                        "linked across files made with different secrets")
    if unknown and keys:
        warnings.append(f"{len(unknown)} input(s) do not record which secret made their pseudonyms "
                        f"({', '.join(unknown)}): patients are linked across files only if the same secret made "
                        "them")
    return warnings
