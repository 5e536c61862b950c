"""Reading model-comparison inputs from evaluation/prediction files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lvsdctl.errors import InputError


def file_kinds(files: list[str]) -> tuple[set[str], bool]:
    """The lvsdctl kinds of the given files (each checked to be an evaluation or predictions file), and
    whether any is synthetic (synthetic data, or a model trained on it)."""
    from lvsdctl.hdf5 import open_input

    kinds, synthetic = set(), False
    for path in files:
        with open_input(path, kind={"evaluation", "predictions"}) as f:
            kind = f.attrs["lvsdctl_kind"]
            kinds.add(kind.decode() if isinstance(kind, bytes) else str(kind))
            synthetic |= bool(f.attrs.get("synthetic", False))
    return kinds, synthetic


def _model_names(files: list[str], names: list[str]) -> list[str]:
    """The model name stored in each file; where names are missing or repeated (two fine-tunes of one
    architecture), the file's stem without an -eval/-pred suffix (`ecgfm-scratch-eval.h5` -> `ecgfm-scratch`)."""
    out = []
    for path, name in zip(files, names):
        stem = Path(path).stem
        for suffix in ("-eval", "_eval", ".eval", "-pred", "_pred", ".pred", "-predictions", "_predictions"):
            if stem.endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                break
        out.append(name if name and names.count(name) == 1 else stem)
    if len(set(out)) != len(out):
        raise InputError("two inputs have the same model name and file name; rename one file")
    return out


def metrics_from_evaluations(files: list[str]) -> pd.DataFrame:
    """Long table model, validation_set, metric, value from evaluation files (their Average rows kept,
    `compare_models` drops them by default)."""
    from lvsdctl.evaluate.store import load_evaluation

    loaded = [load_evaluation(p) for p in files]
    names = _model_names(files, [meta.model_name for _, meta in loaded])
    frames = [m.assign(model=n).rename(columns={"set": "validation_set"})[["model", "validation_set", "metric", "value"]]
              for (m, _), n in zip(loaded, names)]
    return pd.concat(frames, ignore_index=True)


def predictions_from_files(files: list[str]) -> dict[str, pd.DataFrame]:
    from lvsdctl.evaluate.store import load_predictions

    loaded = [load_predictions(p) for p in files]
    names = _model_names(files, [meta.model_name for _, meta in loaded])
    return {n: df for (df, _), n in zip(loaded, names)}
