"""What a study run directory holds: evaluations, models, attributions, and what is missing.

The run directory is the one `lvsdctl study script --out RUNS` laid out (`models/`, `eval/`,
`explain/`, `study.json`). Without `study.json` (results gathered by hand into that layout) the
standard grid is assumed. Every expected file that is absent is listed, never silently skipped.
"""

from __future__ import annotations

import json
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


def _training(path: Path) -> dict:
    """Training facts of a model file, read without torch."""
    import h5py

    with h5py.File(path, "r") as f:
        training = _json_attr(f, "training", {}) or {}
        history = _json_attr(f, "history", []) or []
        name = _attr(f, "model_name", "")
    train = training.get("train") or {}
    return {"model_name": name, "epochs": train.get("epochs"), "epochs_run": len(history), "lr": train.get("lr"),
            "batch_size": train.get("batch_size"), "device": training.get("device"),
            "world_size": training.get("world_size"), "freeze": training.get("freeze"),
            "start": training.get("start"), "weights_origin": training.get("weights_origin"),
            "trainable_parameters": training.get("trainable_parameters"), "n_train": training.get("n_train"),
            "seconds": sum(float(h.get("seconds") or 0) for h in history if isinstance(h, dict))}


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

    with h5py.File(path, "r") as f:
        summary = _json_attr(f, "summary", {}) or {}
        leads = [str(x) for x in f.attrs.get("leads", [])]
        waves = [str(x) for x in f.attrs.get("waves", [])]
        method = _attr(f, "method", "deeplift")
        rec = read_records(f)
        synthetic = bool(f.attrs.get("synthetic", False))
    delta = rec["convergence_delta"].to_numpy(dtype=float) if "convergence_delta" in rec else np.array([np.nan])
    figure = path.with_suffix(".png")
    return {"model": model, "set": vset, "file": str(path), "ecgs": int(len(rec)), "method": method, "leads": leads,
            "waves": waves, "summary": summary, "max_abs_convergence_delta": float(np.nanmax(np.abs(delta))),
            "figure": str(figure) if figure.is_file() else None, "synthetic": synthetic}


def gather(root: str | Path) -> Runs:
    import pandas as pd

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory (give the --out directory of `lvsdctl study script`)")
    manifest = {}
    if (root / "study.json").is_file():
        try:
            manifest = json.loads((root / "study.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise InputError(f"{root / 'study.json'}: not valid JSON (re-write it with `lvsdctl study script`)") from None
    names = grid.MODELS + tuple(m for m in manifest.get("models", {}) if m in grid.FOUNDER)
    model_files = {m: (manifest.get("models", {}).get(m, {}).get("file") or grid.model_file(m).replace("$RUNS/", ""))
                   for m in names}
    eval_files = {m: manifest.get("evaluations", {}).get(m) or grid.eval_file(m).replace("$RUNS/", "") for m in names}
    frames, thresholds, models, counts, synthetic = [], {}, {}, {}, False
    missing: dict[str, list[str]] = {"models": [], "evaluations": [], "explanations": []}
    problems = []
    for m in names:
        mp, ep = root / model_files[m], root / eval_files[m]
        if mp.is_file():
            try:
                models[m] = _training(mp)
            except OSError:
                problems.append(f"{mp}: not readable")
        else:
            missing["models"].append(m)
        if not ep.is_file():
            missing["evaluations"].append(m)
            continue
        try:
            metrics, thr, c, syn = _evaluation(ep)
        except (OSError, InputError) as exc:
            problems.append(f"{ep}: {exc}")
            missing["evaluations"].append(m)
            continue
        frames.append(metrics.assign(model=m))
        thresholds[m] = thr
        synthetic |= syn
        for s, v in c.items():
            counts.setdefault(s, v)
    expected_expl = manifest.get("explanations") or [
        {"model": m, "set": s, "file": grid.explain_file(m, s).replace("$RUNS/", "")}
        for m in ("ss-ff", "sq-pf4") for s in sorted(counts) if s not in ("train", "tune")]
    attributions = []
    for e in expected_expl:
        p = root / e["file"]
        if p.is_file():
            try:
                attributions.append(_attributions(p, e["model"], e["set"]))
            except (OSError, KeyError) as exc:
                problems.append(f"{p}: not readable ({type(exc).__name__})")
        else:
            missing["explanations"].append(f"{e['model']} on {e['set']}")
    metrics = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["model", "set", "metric", "value", "ci_low", "ci_high", "n_patients", "n_ecgs"])
    synthetic |= bool(manifest.get("synthetic", False)) or any(a["synthetic"] for a in attributions)
    return Runs(root, manifest, metrics, thresholds, models, attributions, counts, synthetic, missing, problems, names)
