"""What a study run directory holds: evaluations, models, attributions, and what is missing.

The run directory is the one `lvsdctl study script --runs RUNS` laid out (`models/`, `eval/`,
`explain/`, `study.json`). Without `study.json` (results gathered by hand into that layout) the
standard grid is assumed. Every expected file that is absent is listed, never silently skipped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lvsdctl.errors import InputError
from lvsdctl.study import grid


@dataclass
class Runs:
    root: Path
    manifest: dict
    metrics: object  # pandas frame: model, set, metric, value, ci_low, ci_high, n_patients, n_ecgs
    thresholds: dict[str, dict]  # model -> threshold, origin, bootstrap
    models: dict[str, dict]  # model -> training facts from its model file
    attributions: list[dict]
    set_counts: dict[str, dict]  # validation set -> ecgs, patients, lvsd
    synthetic: bool
    missing: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    names: tuple[str, ...] = grid.MODELS  # the article's grid, then what study.json adds (ECGFounder)

    def has(self, model: str) -> bool:
        return model in self.thresholds


def _attr(f, name, default=None):
    v = f.attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else v


def _json_attr(f, name, default=None):
    from lvsdctl.hdf5 import read_json_attr

    return read_json_attr(f, name, default)


#: Errors a damaged or crafted file of the run directory can raise while it is read: each becomes a
#: problem the report lists (naming the file, never its text), never an internal error.
_UNREADABLE = (OSError, KeyError, TypeError, ValueError, AttributeError, IndexError, InputError)
_DEVICE = re.compile(r"(cpu|cuda(:\d{1,2})?|mps)")
_WORDS = re.compile(r"[A-Za-z0-9_.:+-]{1,64}")
_LEAD = re.compile(r"[A-Za-z0-9]{1,4}( \(rhythm\))?")


def _number(value, kind=float):
    """A finite number of a file's (int or float), else None: what the report prints is never the file's text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return kind(value)


def _word(value, allowed: Iterable[str] | re.Pattern = _WORDS):
    """A short plain word of a file's (a device, a start, an origin), else None."""
    if not isinstance(value, str):
        return None
    if isinstance(allowed, re.Pattern):
        return value if allowed.fullmatch(value) else None
    return value if value in allowed else None


def _inside(root: Path, name) -> Path | None:
    """`root / name` when `name` (from study.json) is a relative path that stays inside `root`, else None."""
    if not isinstance(name, str) or not name or Path(name).is_absolute():
        return None
    path = root / name
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return path


def _training(path: Path) -> dict:
    """Training facts of a model file, read without torch; numbers and plain words only."""
    import h5py

    with h5py.File(path, "r") as f:
        training = _json_attr(f, "training", {}) or {}
        history = _json_attr(f, "history", []) or []
        name = _attr(f, "model_name", "")
    if not isinstance(training, dict) or not isinstance(history, list):
        raise TypeError("training facts of an unknown form")
    train = training.get("train") or {}
    if not isinstance(train, dict):
        raise TypeError("training facts of an unknown form")
    return {"model_name": _word(name), "epochs": _number(train.get("epochs"), int), "epochs_run": len(history),
            "lr": _number(train.get("lr")), "batch_size": _number(train.get("batch_size"), int),
            "device": _word(training.get("device"), _DEVICE) or "?",
            "world_size": _number(training.get("world_size"), int), "freeze": _number(training.get("freeze"), int),
            "start": _word(training.get("start")), "weights_origin": _word(training.get("weights_origin")),
            "trainable_parameters": _number(training.get("trainable_parameters"), int),
            "n_train": _number(training.get("n_train"), int),
            "seconds": sum(_number(h.get("seconds")) or 0.0 for h in history if isinstance(h, dict))}


def _evaluation(path: Path) -> tuple[object, dict, dict, bool]:
    import h5py
    import numpy as np

    from lvsdctl.evaluate.store import read_metrics, read_predictions
    from lvsdctl.hdf5.core import check_file

    with h5py.File(path, "r") as f:
        check_file(f, "evaluation", str(path))
        records, meta = read_predictions(f, str(path))
        metrics = read_metrics(f, str(path))
        synthetic = bool(f.attrs.get("synthetic", False))
        boot = int(f.attrs.get("bootstrap", 0))
    counts = {}
    for s, g in records.groupby(records["split"].astype(str), sort=False):
        lab = g["label"].to_numpy()
        counts[s] = {"ecgs": int(len(g)), "patients": int(g["patient"].astype(str).nunique()),
                     "lvsd": int(np.sum(lab == 1))}
    return metrics, {"threshold": meta.threshold, "origin": meta.threshold_origin, "bootstrap": boot}, counts, synthetic


def _attributions(path: Path, model: str, vset: str) -> dict:
    import h5py
    import numpy as np

    from lvsdctl.hdf5 import read_records

    from lvsdctl.explain.waves import WAVES
    from lvsdctl.hdf5.core import check_file

    with h5py.File(path, "r") as f:
        check_file(f, "attributions", str(path))
        summary = _json_attr(f, "summary", {}) or {}
        names = [x.decode() if isinstance(x, bytes) else str(x) for x in f.attrs.get("leads", [])]
        if any(not _LEAD.fullmatch(x) for x in names):  # lead names become table headings: plain short ones only
            raise ValueError("leads of unknown names")
        leads = names
        waves = [w for w in (x.decode() if isinstance(x, bytes) else str(x) for x in f.attrs.get("waves", []))
                 if w in WAVES]
        method = _word(_attr(f, "method", "deeplift"), ("deeplift", "ig")) or "?"
        rec = read_records(f)
        synthetic = bool(f.attrs.get("synthetic", False))
    if not isinstance(summary, dict):
        raise TypeError("a summary of an unknown form")
    delta = rec["convergence_delta"].to_numpy(dtype=float) if "convergence_delta" in rec else np.array([np.nan])
    figure = path.with_suffix(".png")
    return {"model": model, "set": vset, "file": str(path), "ecgs": int(len(rec)), "method": method, "leads": leads,
            "waves": waves, "summary": summary, "max_abs_convergence_delta": float(np.nanmax(np.abs(delta))),
            "figure": str(figure) if figure.is_file() else None, "synthetic": synthetic}


def _manifest(root: Path) -> dict:
    """study.json (a JSON object, at most 16 MiB), or {} when there is none."""
    path = root / "study.json"
    if not path.is_file():
        return {}
    if path.stat().st_size > 16 << 20:
        raise InputError(f"{path}: larger than a study manifest can be (16 MiB)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise InputError(f"{path}: not valid JSON (re-write it with `lvsdctl study script`)") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: not a JSON object (re-write it with `lvsdctl study script`)")
    return manifest


def gather(root: str | Path) -> Runs:
    import pandas as pd

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory (give the --runs directory of `lvsdctl study script`)")
    manifest = _manifest(root)
    models_in = manifest.get("models") if isinstance(manifest.get("models"), dict) else {}
    evals_in = manifest.get("evaluations") if isinstance(manifest.get("evaluations"), dict) else {}
    names = grid.MODELS + tuple(m for m in models_in if m in grid.FOUNDER)
    model_files = {m: (_inside(root, (models_in.get(m) or {}).get("file") if isinstance(models_in.get(m), dict)
                                else None) or root / grid.model_file(m).replace("$RUNS/", "")) for m in names}
    eval_files = {m: _inside(root, evals_in.get(m)) or root / grid.eval_file(m).replace("$RUNS/", "")
                  for m in names}
    frames, thresholds, models, counts, synthetic = [], {}, {}, {}, False
    missing: dict[str, list[str]] = {"models": [], "evaluations": [], "explanations": []}
    problems = []
    for m in names:
        mp, ep = model_files[m], eval_files[m]
        if mp.is_file():
            try:
                models[m] = _training(mp)
            except _UNREADABLE as exc:
                problems.append(f"{mp}: not a model file the report can read ({type(exc).__name__})")
        else:
            missing["models"].append(m)
        if not ep.is_file():
            missing["evaluations"].append(m)
            continue
        try:
            metrics, thr, c, syn = _evaluation(ep)
        except InputError as exc:  # its message names the file and the reason, never the file's text
            problems.append(str(exc) if str(ep) in str(exc) else f"{ep}: {exc}")
            missing["evaluations"].append(m)
            continue
        except _UNREADABLE as exc:
            problems.append(f"{ep}: not an evaluation file the report can read ({type(exc).__name__})")
            missing["evaluations"].append(m)
            continue
        frames.append(metrics.assign(model=m))
        thresholds[m] = thr
        synthetic |= syn
        for s, v in c.items():
            counts.setdefault(s, v)
    listed = manifest.get("explanations")
    expected_expl = [e for e in listed if isinstance(e, dict) and e.get("model") in grid.MODELS
                     and isinstance(e.get("set"), str) and _inside(root, e.get("file"))] if isinstance(listed, list) else []
    if isinstance(listed, list) and len(expected_expl) < len(listed):
        problems.append(f"{root / 'study.json'}: explanation entries of an unknown form were left out")
    expected_expl = expected_expl or [
        {"model": m, "set": s, "file": grid.explain_file(m, s).replace("$RUNS/", "")}
        for m in ("ss-ff", "sq-pf4") for s in sorted(counts) if s not in ("train", "tune")]
    attributions = []
    for e in expected_expl:
        p = root / e["file"]
        if p.is_file():
            try:
                attributions.append(_attributions(p, e["model"], e["set"]))
            except _UNREADABLE as exc:
                problems.append(f"{p}: not an attributions file the report can read ({type(exc).__name__})")
        else:
            missing["explanations"].append(f"{e['model']} on {e['set']}")
    metrics = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["model", "set", "metric", "value", "ci_low", "ci_high", "n_patients", "n_ecgs"])
    synthetic |= bool(manifest.get("synthetic", False)) or any(a["synthetic"] for a in attributions)
    return Runs(root, manifest, metrics, thresholds, models, attributions, counts, synthetic, missing, problems, names)
