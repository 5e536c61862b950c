"""The operating point a model is used at: its frozen decision threshold, saved beside the model.

`evaluate` freezes a threshold (fixed, Youden's J or a target sensitivity, chosen on the tuning set) and
saves it in a sidecar, `MODEL.threshold.json`; `predict` and `explain` read it by default, so an ECG
gets the same call in the report, in the predictions file and on its map. A sidecar rather than the
model file itself: model files are written once, atomically, and their SHA-256 is recorded by every
evaluation and prediction made with them; rewriting one would break those records. The sidecar names
the model's SHA-256 and is ignored (with a warning) for any other model file, so a model retrained
under the same name never inherits a stale threshold. Evaluating the same model on another design, or
`lvsdctl calibrate` on a site's own tuning data, replaces the operating point; the earlier ones are kept
in the sidecar's `previous` list, newest first.

Where the threshold of a run comes from, in order (`resolve_threshold`): `--threshold VALUE` on the
command line; `--threshold-from FILE` (a sidecar, or an evaluation file of this model); the model's
sidecar; else the study's fixed 0.5, with a warning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.evaluate.thresholds import Threshold
from lvsdctl.summary import Summary

log = logging.getLogger(__name__)

#: The sidecar beside MODEL (as OUTPUT.rejects.csv is beside an ingest's output).
SIDECAR_SUFFIX = ".threshold.json"
KIND = "operating-point"
FORMAT_VERSION = 1
#: The study's fixed threshold, used when no operating point is known.
DEFAULT_THRESHOLD = 0.5
#: Earlier operating points kept in a sidecar.
KEEP_PREVIOUS = 20


@dataclass
class OperatingPoint:
    """A frozen threshold and where it was chosen (the JSON of a sidecar, without its history)."""

    threshold: float
    policy: str  # "youden", "sens:0.9", or the fixed value as text
    origin: str  # e.g. "Youden's J on set 'tune' (n=300 ECGs, J=0.41: sensitivity 0.80, specificity 0.61)"
    set: str | None  # the set it was chosen on; None: fixed, not fitted
    n_ecgs: int | None
    sensitivity: float | None  # on that set, at this threshold
    specificity: float | None
    data: str | None  # file name of the data it was chosen on
    data_sha256: str | None
    synthetic: bool  # chosen on synthetic data
    model: str  # file name of the model
    model_sha256: str
    chosen_by: str  # "lvsdctl evaluate" or "lvsdctl calibrate"
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    lvsdctl_version: str = ""

    @classmethod
    def from_threshold(cls, thr: Threshold, *, data_path: str, data_sha256: str | None, synthetic: bool,
                       model_path: str, model_sha256: str, chosen_by: str) -> "OperatingPoint":
        from lvsdctl import __version__

        return cls(thr.value, thr.policy, thr.origin, thr.set, thr.n_ecgs, thr.sensitivity, thr.specificity,
                   Path(data_path).name, data_sha256, bool(synthetic), Path(model_path).name, model_sha256,
                   chosen_by, lvsdctl_version=__version__)

    @classmethod
    def from_dict(cls, d: dict) -> "OperatingPoint":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line: the policy's origin, the data, who saved it and when."""
        origin = self.origin
        if self.data and self.set:  # "... on set 'tune' of split.h5 (n=..."
            origin = origin.replace(f"set '{self.set}'", f"set '{self.set}' of {self.data}", 1)
        synthetic = " (SYNTHETIC data)" if self.synthetic else ""
        return f"{origin}{synthetic}; saved by {self.chosen_by} on {self.time[:10]}"


def sidecar_path(model_path: str | Path) -> Path:
    """`MODEL.threshold.json`: where `evaluate` saves a model's operating point."""
    return Path(f"{model_path}{SIDECAR_SUFFIX}")


def write_operating_point(point: OperatingPoint, path: str | Path) -> OperatingPoint | None:
    """Save `point` in the sidecar `path` (atomically); the one it replaces, if any, is returned and
    kept in the sidecar's `previous` list."""
    from lvsdctl.tables import write_json

    path = Path(path)
    replaced, previous = None, []
    if path.is_file():
        try:
            replaced, previous = _read(path)
        except InputError as exc:  # an unreadable sidecar is replaced, and said so
            log.warning("%s; it is replaced", exc)
    history = ([replaced.to_dict()] if replaced is not None else []) + previous
    write_json({"lvsdctl_kind": KIND, "format_version": FORMAT_VERSION, **point.to_dict(),
                "previous": history[:KEEP_PREVIOUS]}, path)
    return replaced


def _read(path: Path) -> tuple[OperatingPoint, list[dict]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable operating-point file ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or doc.get("lvsdctl_kind") != KIND:
        raise InputError(f"{path}: not an lvsdctl operating-point file")
    if int(doc.get("format_version", 0)) > FORMAT_VERSION:
        raise InputError(f"{path}: written by a newer lvsdctl (format {doc['format_version']}); upgrade lvsdctl")
    try:
        point = OperatingPoint.from_dict(doc)
        value = float(point.threshold)
    except (TypeError, ValueError):
        raise InputError(f"{path}: the operating point lacks a threshold or its origin") from None
    if not np.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InputError(f"{path}: threshold {value!r} is not a probability")
    return point, list(doc.get("previous") or [])


def read_operating_point(path: str | Path) -> OperatingPoint:
    """The operating point of a sidecar, or of an evaluation file (`lvsdctl evaluate -o`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    import h5py

    if h5py.is_hdf5(path):
        from lvsdctl.hdf5 import open_input, read_json_attr

        with open_input(path, kind={"evaluation", "predictions"}) as f:
            doc = read_json_attr(f, "operating_point")
        if not doc:
            raise InputError(f"{path}: records no operating point (made by an older lvsdctl: run `lvsdctl "
                             "evaluate` again)")
        return OperatingPoint.from_dict(doc)
    return _read(path)[0]


@dataclass
class ThresholdChoice:
    """The threshold a run used, and where it came from (printed by every command that calls ECGs)."""

    value: float
    source: str  # "command line", "fitted", "operating point", "default"
    origin: str  # one sentence a reader understands without the command line
    file: str | None = None  # the sidecar or evaluation file it was read from
    operating_point: OperatingPoint | None = None
    warning: str | None = None  # e.g. no operating point saved for this model

    def to_dict(self) -> dict:
        return {"value": self.value, "source": self.source, "origin": self.origin, "file": self.file,
                "operating_point": self.operating_point.to_dict() if self.operating_point else None}


def _checked(point: OperatingPoint, file: Path, model_path: str, model_sha256: str | None) -> OperatingPoint:
    if model_sha256 and point.model_sha256 and point.model_sha256 != model_sha256:
        raise MismatchError(f"{file}: its operating point was chosen for another model file ({point.model}, "
                            f"SHA-256 {point.model_sha256[:12]}...), not {model_path}")
    return point


def resolve_threshold(model_path: str, *, threshold: float | str | None = None, threshold_from: str | None = None,
                      model_sha256: str | None = None) -> ThresholdChoice:
    """The threshold to call ECGs at: `threshold` (a number from the command line), else `threshold_from`
    (a sidecar or evaluation file, refused for another model), else the model's sidecar (ignored, with
    a warning, if it names another model file), else the study's 0.5 with a warning."""
    if threshold is not None and threshold_from is not None:
        raise InputError("give --threshold or --threshold-from, not both")
    if model_sha256 is None and model_path != "-":
        from lvsdctl.hdf5 import sha256_file

        model_sha256 = sha256_file(model_path)
    side = sidecar_path(model_path)
    saved, ignored = None, ""
    if model_path != "-" and side.is_file() and threshold_from is None:
        try:
            saved = _checked(_read(side)[0], side, model_path, model_sha256)
        except (InputError, MismatchError) as exc:
            ignored = f"{exc}; it is ignored"
    if threshold is not None:
        from lvsdctl.evaluate.thresholds import parse_policy

        pol = parse_policy(threshold)
        if pol.kind != "fixed":
            raise InputError(f"--threshold {threshold}: a number in (0, 1) here (a policy is fitted by `lvsdctl "
                             "evaluate`, `lvsdctl calibrate` or `lvsdctl predict` on a file with a tuning set)")
        over = (f"; overrides the model's operating point {saved.threshold:.4g} ({saved.describe()})"
                if saved is not None and saved.threshold != pol.target else "")
        return ThresholdChoice(float(pol.target), "command line", f"given on the command line (--threshold){over}")
    if threshold_from is not None:
        point = _checked(read_operating_point(threshold_from), Path(threshold_from), model_path, model_sha256)
        return ThresholdChoice(float(point.threshold), "operating point", f"{point.describe()} (--threshold-from "
                               f"{threshold_from})", str(threshold_from), point)
    if saved is not None:
        return ThresholdChoice(float(saved.threshold), "operating point",
                               f"the model's operating point: {saved.describe()}", str(side), saved)
    if ignored:
        why = ignored
    elif model_path != "-":
        why = f"no operating point saved for {Path(model_path).name} ({side.name} is missing)"
    else:
        why = "no operating point for a model read from stdin"
    warning = (f"{why}: using the study's fixed {DEFAULT_THRESHOLD:g}. `lvsdctl evaluate` or `lvsdctl calibrate` "
               "saves one")
    return ThresholdChoice(DEFAULT_THRESHOLD, "default", f"the study's fixed {DEFAULT_THRESHOLD:g}: {why}",
                           warning=warning)


@dataclass
class OperatingPointSummary(Summary):
    """What `calibrate` chose: the new operating point, where it was saved, the one it replaced, and the
    calls it gives on the set it was chosen on."""

    operating_point: OperatingPoint
    output: str
    replaced: OperatingPoint | None
    ecgs: int
    patients: int
    confusion: dict[str, int]  # tp, fn, fp, tn on the set, at the threshold


def calibrate(model_path: str, data_path: str, output: str | None = None, *, threshold: str = "youden",
              tune_set: str | None = None, batch_size: int = 64, device: str = "cpu",
              progress: Callable[[int, int], None] | None = None) -> OperatingPointSummary:
    """Choose a model's operating point on a site's own labelled ECGs, without retraining, and save it
    (default: the model's sidecar, which `predict` and `explain` read).

    `threshold`: a policy ('youden', 'sens:0.90') or a fixed number (its sensitivity and specificity on
    the set are recorded). `tune_set`: the set of `data_path` to use (default: 'tune' when present, else
    every labelled ECG of the file)."""
    from lvsdctl.evaluate.api import score_file
    from lvsdctl.evaluate.metrics import confusion, predict_labels
    from lvsdctl.evaluate.thresholds import choose_threshold, parse_policy
    from lvsdctl.hdf5 import open_input, read_records, sha256_file

    pol = parse_policy(threshold)
    with open_input(data_path, kind={"ecg"}) as f:
        splits = set(read_records(f)["split"].astype(str))
    name = tune_set if tune_set is not None else ("tune" if "tune" in splits else None)
    if name is not None and name not in splits:
        raise InputError(f"{data_path}: no ECG in set '{name}' (sets: {', '.join(sorted(splits - {''})) or 'none'})")
    scored = score_file(model_path, data_path, sets=[name] if name else None, batch_size=batch_size, device=device,
                        progress=progress)
    labels = scored.records["label"].to_numpy().astype(int)
    known = np.isin(labels, (0, 1))
    y, s = labels[known], scored.score[known]
    if np.unique(y).size != 2:
        raise InputError(f"{data_path}: calibrating needs labelled ECGs of both classes in "
                         f"{'set ' + repr(name) if name else 'the file'}")
    where = name or "all labelled ECGs"
    thr = choose_threshold(pol, y, s, set_name=where)
    if pol.kind == "fixed":  # a value chosen by the site: what it gives on their data
        c = confusion(y, predict_labels(s, thr.value))
        sens, spec = c["tp"] / (c["tp"] + c["fn"]), c["tn"] / (c["tn"] + c["fp"])
        thr = Threshold(thr.value, f"fixed at {thr.value:g}, checked on set '{where}' (n={y.size} ECGs, sensitivity "
                        f"{sens:.3f}, specificity {spec:.3f})", thr.policy, where, int(y.size), sens, spec)
    point = OperatingPoint.from_threshold(thr, data_path=data_path, data_sha256=sha256_file(data_path) if data_path != "-"
                                          else None, synthetic=scored.synthetic, model_path=model_path,
                                          model_sha256=scored.model_sha256, chosen_by="lvsdctl calibrate")
    out = Path(output) if output else sidecar_path(model_path)
    if out.suffix.lower() != ".json":
        raise InputError(f"{out}: an operating point is written as .json")
    replaced = write_operating_point(point, out)
    patients = int(scored.records.loc[known, "patient"].nunique())
    return OperatingPointSummary(point, str(out), replaced, int(y.size), patients,
                                 confusion(y, predict_labels(s, thr.value)))
