"""`split`: assign every ECG to a set by site and acquisition date, never one patient to two sets.

A design is an ordered list of rules; an ECG takes the set of the first rule it matches (site in the
rule's sites, acquisition date within [from, until], both inclusive; a rule without a bound does
not check it). The set named "train+tune" is then divided at random into "train" and "tune",
stratified by label and grouped by patient (`sklearn.model_selection.StratifiedGroupKFold`, from
the seed), so the same seed gives the same split.

A patient whose ECGs fall in different sets ("straddles" a rule boundary, e.g. ECGs in 2023 and
2024) is handled by the straddle policy: "first" puts all their ECGs in the set of their first ECG
(earliest acquisition; file order breaks ties), "drop" leaves all their ECGs out, "error" stops,
and "allow" keeps each ECG in its own set (the only way one patient can be in two sets; reported).
Unlabelled ECGs (label -1) go to no set unless `include_unlabelled`.

The study's design (`design="study"`): train + tune = site A up to 2023-12-31, internal = site A
in 2024, external1 = site C, external2 = site B.
"""

from __future__ import annotations

import json
import tomllib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError
from lvsdctl.outputs import claims_outputs
from lvsdctl.summary import Summary

DIVIDED = "train+tune"
STRADDLE_POLICIES = ("first", "drop", "error", "allow")
#: Set order in tables and summaries (the divided set first); other names follow alphabetically.
SET_ORDER = (DIVIDED, "train", "tune", "internal", "external1", "external2", "external3")

STUDY_DESIGN: dict[str, Any] = {
    "name": "study",
    "tune_fraction": 0.2,
    "rules": [
        {"set": DIVIDED, "site": ["A"], "until": "2023-12-31"},
        {"set": "internal", "site": ["A"], "from": "2024-01-01", "until": "2024-12-31"},
        {"set": "external1", "site": ["C"]},
        {"set": "external2", "site": ["B"]},
    ],
}


@dataclass(frozen=True)
class Rule:
    set: str
    sites: tuple[str, ...] | None = None
    start: date | None = None
    end: date | None = None

    def to_json(self) -> dict:
        d: dict[str, Any] = {"set": self.set}
        if self.sites is not None:
            d["site"] = list(self.sites)
        if self.start:
            d["from"] = self.start.isoformat()
        if self.end:
            d["until"] = self.end.isoformat()
        return d


@dataclass(frozen=True)
class Design:
    name: str
    rules: tuple[Rule, ...]
    tune_fraction: float = 0.2

    def to_json(self) -> dict:
        return {"name": self.name, "tune_fraction": self.tune_fraction, "rules": [r.to_json() for r in self.rules]}


def _date(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError(f"{where}: {value!r} is not a date (use YYYY-MM-DD)") from None


def parse_design(obj: dict, where: str = "design") -> Design:
    """A Design from its dict form (see STUDY_DESIGN)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("rules"), list) or not obj["rules"]:
        raise InputError(f"{where}: needs a non-empty 'rules' list")
    rules = []
    for i, r in enumerate(obj["rules"]):
        here = f"{where}: rule {i + 1}"
        if not isinstance(r, dict) or not r.get("set"):
            raise InputError(f"{here}: each rule needs a 'set' name")
        unknown = set(r) - {"set", "site", "from", "until"}
        if unknown:
            raise InputError(f"{here}: unknown key(s) {', '.join(sorted(unknown))} (use set, site, from, until)")
        sites = r.get("site")
        if sites is not None:
            sites = tuple(str(s) for s in ([sites] if isinstance(sites, (str, int)) else sites))
        start, end = _date(r.get("from"), here), _date(r.get("until"), here)
        if start and end and start > end:
            raise InputError(f"{here}: 'from' {start} is after 'until' {end}")
        name = str(r["set"])
        if name in ("train", "tune"):
            raise InputError(f"{here}: name the divided set '{DIVIDED}'; it is split into train and tune")
        rules.append(Rule(name, sites, start, end))
    frac = float(obj.get("tune_fraction", 0.2))
    if not 0 < frac < 1:
        raise InputError(f"{where}: tune_fraction must be between 0 and 1, got {frac}")
    return Design(str(obj.get("name", where)), tuple(rules), frac)


def load_design(spec: str | Path | dict | None = "study") -> Design:
    """The built-in "study" design, a dict, or a JSON / TOML (/ YAML with PyYAML) file."""
    if spec is None or spec == "study":
        return parse_design(STUDY_DESIGN, "study")
    if isinstance(spec, dict):
        return parse_design(spec)
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"{spec}: no such design file (or use --design study)")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            obj = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise InputError(f"{spec}: reading YAML needs PyYAML; write the design as JSON or TOML") from None
            obj = yaml.safe_load(text)
        else:
            obj = json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{spec}: not a valid {suffix.lstrip('.') or 'JSON'} design ({exc})") from None
    obj.setdefault("name", path.stem)
    return parse_design(obj, str(spec))


def _when(acquired: pd.Series) -> pd.Series:
    """Acquisition times as naive timestamps (local time as written; offsets and fractions dropped,
    so files mixing time zones still parse); NaT when unknown or unreadable."""
    text = acquired.fillna("").astype(str).str.slice(0, 19)
    return pd.to_datetime(text.where(text != ""), errors="coerce", format="ISO8601")


def _rule_sets(df: pd.DataFrame, design: Design) -> np.ndarray:
    """Each record's set by the first matching rule ("" when none)."""
    n = len(df)
    out = np.full(n, "", dtype=object)
    open_ = np.ones(n, dtype=bool)
    site = df["site"].fillna("").astype(str).to_numpy()
    day = _when(df["acquired"]).dt.normalize()
    for rule in design.rules:
        m = open_.copy()
        if rule.sites is not None:
            m &= np.isin(site, rule.sites)
        if rule.start is not None:
            m &= (day >= pd.Timestamp(rule.start)).to_numpy(dtype=bool)
        if rule.end is not None:
            m &= (day <= pd.Timestamp(rule.end)).to_numpy(dtype=bool)
        out[m] = rule.set
        open_ &= ~m
    return out


def _divide(patients: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """True for the records that go to tune: stratified by label, grouped by patient."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(patients))
    k = max(2, round(1 / fraction))
    if n_groups < 2:
        return np.zeros(len(patients), dtype=bool)
    k = min(k, n_groups)
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class in y has only N members": expected for small sets, and the
        # split is still grouped and as stratified as the data allow.
        warnings.simplefilter("ignore", UserWarning)
        _, tune_idx = next(folds.split(np.zeros(len(labels)), labels, groups=patients))
    tune = np.zeros(len(patients), dtype=bool)
    tune[tune_idx] = True
    return tune


def assign_sets(
    df: pd.DataFrame,
    design: Design | str | dict = "study",
    seed: int = 0,
    tune_fraction: float | None = None,
    straddle: str = "first",
    include_unlabelled: bool = False,
    restrict: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """The `split` value of every record of `df` (a /records table) and a report dict.

    Records that go to no set get "". `restrict` (bool per record) keeps the others out of every
    set (an LBBB criterion: `split --criterion`). Raises InputError for straddling patients with
    straddle="error" and, as a safety net, if a patient ended up in two sets without "allow".
    """
    if straddle not in STRADDLE_POLICIES:
        raise InputError(f"unknown straddle policy {straddle!r}: use one of {', '.join(STRADDLE_POLICIES)}")
    if not isinstance(design, Design):
        design = load_design(design)
    fraction = design.tune_fraction if tune_fraction is None else float(tune_fraction)
    if not 0 < fraction < 1:
        raise InputError(f"tune fraction must be between 0 and 1, got {fraction}")
    for col in ("patient", "site", "acquired", "label"):
        if col not in df.columns:
            raise InputError(f"records have no '{col}' column: cannot split")
    n = len(df)
    labels = df["label"].to_numpy(dtype=np.int64)
    # A record without a patient pseudonym is its own patient (it cannot be matched to others).
    patient = df["patient"].fillna("").astype(str).to_numpy(dtype=object)
    anonymous = patient == ""
    patient = np.where(anonymous, np.array([f"#record{i}" for i in range(n)], dtype=object), patient)

    sets = _rule_sets(df, design)
    unmatched = int(np.count_nonzero(sets == ""))
    eligible = labels != -1 if not include_unlabelled else np.ones(n, dtype=bool)
    unlabelled_out = int(np.count_nonzero((sets != "") & ~eligible))
    restricted_out = 0
    if restrict is not None:
        restricted_out = int(np.count_nonzero((sets != "") & eligible & ~restrict))
        eligible &= restrict
    sets = np.where(eligible, sets, "")

    # Patients whose (assigned) ECGs fall in more than one set.
    frame = pd.DataFrame({"patient": patient, "set": sets,
                          "when": _when(df["acquired"]),
                          "order": np.arange(n)})
    placed = frame[frame["set"] != ""]
    n_sets = placed.groupby("patient")["set"].nunique()
    straddlers = n_sets.index[n_sets > 1]
    moved = dropped = 0
    if len(straddlers):
        if straddle == "error":
            raise InputError(
                f"{len(straddlers)} patient(s) have ECGs in more than one set (e.g. before and after a date "
                "boundary); choose --straddle first, drop or allow"
            )
        strad = placed[placed["patient"].isin(straddlers)]
        if straddle == "first":
            first = strad.sort_values(["when", "order"], na_position="last").groupby("patient")["set"].first()
            target = strad["patient"].map(first).to_numpy(dtype=object)
            moved = int(np.count_nonzero(target != strad["set"].to_numpy(dtype=object)))
            sets[strad["order"].to_numpy()] = target
        elif straddle == "drop":
            dropped = len(strad)
            sets[strad["order"].to_numpy()] = ""

    final = sets.copy()
    div = final == DIVIDED
    if div.any():
        tune = _divide(patient[div], labels[div], fraction, seed)
        final[np.flatnonzero(div)] = np.where(tune, "tune", "train")

    overlap = _overlap(patient, final, allow=straddle == "allow")
    report = {
        "design": design.to_json(),
        "seed": seed,
        "tune_fraction": fraction,
        "straddle_policy": straddle,
        "records": n,
        "assigned": int(np.count_nonzero(final != "")),
        "sets": {s: int(np.count_nonzero(final == s)) for s in order_sets(v for v in final if v)},
        "unmatched": unmatched,
        "unlabelled_excluded": unlabelled_out,
        "criterion_excluded": restricted_out,
        "data_sites": {str(k): int(v) for k, v in df["site"].fillna("").astype(str).value_counts().items()},
        "records_without_patient": int(anonymous.sum()),
        "straddling_patients": int(len(straddlers)),
        "straddling_ecgs_moved": moved,
        "straddling_ecgs_dropped": dropped,
        "patients_in_two_sets": overlap,
    }
    return final.astype(str), report


def _overlap(patient: np.ndarray, final: np.ndarray, allow: bool) -> int:
    """Patients in more than one set; train and tune never share one, whatever the policy."""
    placed = pd.DataFrame({"patient": patient, "set": final})
    placed = placed[placed["set"] != ""]
    count = int((placed.groupby("patient")["set"].nunique() > 1).sum())
    tt = placed[placed["set"].isin(["train", "tune"])]
    if (tt.groupby("patient")["set"].nunique() > 1).any():
        raise RuntimeError("internal error: a patient is in both train and tune")
    if count and not allow:
        raise RuntimeError(f"internal error: {count} patient(s) in two sets despite the straddle policy")
    return count


def order_sets(names: Iterable[str]) -> list[str]:
    """Set names in SET_ORDER, then the others alphabetically (each once)."""
    present = set(names)
    return [s for s in SET_ORDER if s in present] + sorted(present - set(SET_ORDER))


@dataclass
class SplitSummary(Summary):
    """What `split` did: the design, the counts per set and of what went to no set, and Table 1."""

    design: dict
    seed: int
    tune_fraction: float
    straddle_policy: str
    records: int
    assigned: int
    sets: dict[str, int]
    unmatched: int  # records no rule matched
    unlabelled_excluded: int
    criterion_excluded: int  # records kept out of every set by `criterion` (split --criterion)
    data_sites: dict[str, int]
    records_without_patient: int
    straddling_patients: int
    straddling_ecgs_moved: int
    straddling_ecgs_dropped: int
    patients_in_two_sets: int
    table1: list[dict] = field(default_factory=list)  # one row per set (lvsdctl.stats.table1.table1)
    criterion: str | None = None  # the LBBB criterion the sets were restricted to
    measures: str | None = None  # the `lvsdctl measure` output joined to the records
    unmeasured: int = 0  # records the measures did not cover
    input: str = ""
    output: str = ""
    synthetic: bool = False  # the input is synthetic data


@claims_outputs("output", "table")
def split(
    input: str,
    output: str,
    design: str | Path | dict = "study",
    seed: int = 0,
    tune_fraction: float | None = None,
    straddle: str = "first",
    include_unlabelled: bool = False,
    table: str | Path | None = None,
    measures: str | None = None,
    criterion: str | None = None,
) -> SplitSummary:
    """Write a copy of `input` (an `ecg` or `ecg-raw` file) with the `split` column filled.

    `measures` (a `lvsdctl measure` output for these ECGs) adds the LBBB criteria, delineation status
    and measured intervals to the records (lvsdctl.measure.join); `criterion` then keeps ECGs not
    meeting that LBBB criterion out of every set. Returns the report of `assign_sets` with Table 1
    (also written to `table`: .csv, .md or .json). Signals are copied chunk by chunk by HDF5 itself
    (no decompression into memory).
    """
    from lvsdctl.hdf5 import atomic_output, open_input, read_records, write_records
    from lvsdctl.hdf5.core import check_file
    from lvsdctl.stats.table1 import table1
    from lvsdctl.tables import table_format, write_frame

    if table is not None:
        table_format(table)  # before any work

    des = load_design(design)
    with open_input(input, kind={"ecg", "ecg-raw"}) as f:
        kind = check_file(f, None, str(input))
        synthetic = bool(f.attrs.get("synthetic", False))
        df = read_records(f)
        if len(df) == 0:
            raise InputError(f"{input}: has no records to split")
        df, restrict, unmeasured = _lbbb_restriction(df, measures, criterion)
        values, report = assign_sets(df, des, seed=seed, tune_fraction=tune_fraction, straddle=straddle,
                                     include_unlabelled=include_unlabelled, restrict=restrict)
        report.update(criterion=criterion, measures=measures, unmeasured=unmeasured)
        params = {"design": des.to_json(), "seed": seed, "tune_fraction": report["tune_fraction"],
                  "straddle": straddle, "include_unlabelled": include_unlabelled, "criterion": criterion}
        with atomic_output(output, kind=kind, inputs=[f, *([measures] if measures else [])],
                           parameters=params) as out:
            for key, value in f.attrs.items():
                if key not in out.attrs:
                    out.attrs[key] = value
            for name in f:
                if name not in ("records", "provenance"):
                    f.copy(f[name], out, name=name)
            df["split"] = values
            write_records(out, df)
            out["records"].attrs["split_design"] = json.dumps(des.to_json())
            out["records"].attrs["split_seed"] = seed
    tab = table1(df, values)
    if table is not None:
        write_frame(tab, table, float_format="%.2f", synthetic=synthetic,
                    caption="Table 1 per set; patients counted once, every other count per ECG-echo pair")
    rows = tab.astype(object).where(tab.notna(), None).to_dict(orient="records")
    return SplitSummary(**report, table1=rows, input=str(input), output=str(output), synthetic=synthetic)


def _lbbb_restriction(df: pd.DataFrame, measures: str | None, criterion: str | None
                      ) -> tuple[pd.DataFrame, np.ndarray | None, int]:
    """(records with the measures joined, who meets the criterion or None, records not measured)."""
    from lvsdctl.measure.join import annotate, meets

    unmeasured = 0
    if measures:
        df, unmeasured = annotate(df, measures)
    if criterion is None:
        return df, None, unmeasured
    return df, meets(df, criterion), unmeasured
