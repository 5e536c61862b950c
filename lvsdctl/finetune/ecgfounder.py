"""`finetune --backbone ecgfounder`: the LVSD model around ECGFounder, with the study's strategies.

The strategies are ECG-FM's, counted in ECGFounder's units: FF trains everything, PF N freezes the
stem and the first N of the network's stages (7 in the published model), AF freezes them all and
trains only the input projection and the head. `--from-scratch` starts from random weights.

The recipe is the study's (60 epochs, batch 256, cross-entropy, the last epoch kept) with the
optimiser of ECGFounder's own fine-tuning notebook (Adam, lr 1e-4, weight decay 1e-5); AF, where
only a projection and a linear head train, uses the article's upper bound, 1e-3.

Weights are a catalog name (``ecgfounder-12lead``, ``ecgfounder-1lead``: the files ``lvsdctl weights
fetch`` puts in the weights directory), a path, or None: the official file whose leads fit the data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from torch import nn

from lvsdctl.errors import InputError

log = logging.getLogger(__name__)

SIZES = ("tiny", "full")
#: ECGFounder's authors' optimiser inside the study's recipe; explicit options override it.
RECIPE = {"epochs": 60, "batch_size": 256, "optimizer": "adam", "betas": (0.9, 0.999), "weight_decay": 1e-5,
          "class_weight": "none", "select": "last"}
STRATEGY_LR = {"ff": 1e-4, "pf": 1e-4, "af": 1e-3}


def check_options(*, sequential: bool, segments: str, size: str | None) -> None:
    """Refuse the ECG-FM options that mean nothing for ECGFounder, before any data is read."""
    if sequential:
        raise InputError("--sequential picks ECG-FM's multi-label fine-tuned weights; ECGFounder has one "
                         "pretrained starting point (choose a file with --weights)")
    if str(segments).strip().lower() not in ("10s", "10"):
        raise InputError("--segments: ECGFounder takes the whole 10 s ECG, as it was pretrained; drop --segments")
    if size is not None and size not in SIZES:
        raise InputError(f"--size {size}: ECGFounder comes in {', '.join(SIZES)}")


def default_zscore(pre: dict) -> bool:
    """Z-score inside the model only for data in millivolts: ECGFounder's chain z-scores in
    preprocessing, and exact DeepLIFT needs the model without it."""
    return pre.get("normalisation", "none") == "none"


def _warn_chain(pre: dict, path: str) -> None:
    filt = pre.get("filter") or {}
    name = filt.get("name") if isinstance(filt, dict) else str(filt)
    if name != "ecgfounder" or pre.get("normalisation") != "zscore-ecg":
        log.warning("%s was not preprocessed with ECGFounder's chain (filter %s, normalisation %s); its authors "
                    "require theirs for their weights: `lvsdctl preprocess --chain ecgfounder`", path, name,
                    pre.get("normalisation"))


def build(weights: str | os.PathLike | None, *, data_path: str, pre: dict, pretrained: bool, freeze: int | str,
          seed: int, **model_opts: Any) -> tuple[nn.Module, dict]:
    """The LVSD model (``models.ecgfounder_lvsd.build_lvsd_model``), its weights resolved and frozen.

    ``model_opts``: in_channels, size, zscore, proj_kernel, final_dropout, checkpoint_activations.
    Returns (model, info) as ECG-FM's builder does, plus ``info["units"]``: the network's stages.
    """
    from lvsdctl.models.ecgfounder_lvsd import build_lvsd_model, n_stages

    try:
        model, info = build_lvsd_model(weights, pretrained=pretrained, freeze=freeze, seed=seed, **model_opts)
    except ValueError as exc:  # a bad --freeze / --proj-kernel
        raise InputError(str(exc)) from None
    if pretrained:
        _warn_chain(pre, data_path)
    return model, {**info, "units": n_stages(model)}


def recipe(strategy: str) -> dict:
    """Training defaults for a strategy name (ff, pfN, af)."""
    return {**RECIPE, "lr": STRATEGY_LR["pf" if strategy.startswith("pf") else strategy]}


def stages_of(weights: str | os.PathLike | None) -> int:
    """How many stages the network in ``weights`` has (7 for the published models)."""
    from lvsdctl.models.ecgfounder_weights import config_from_state, read_state, resolve_weights

    path = resolve_weights(weights)
    state, _ = read_state(path)
    return config_from_state(state, path=str(path)).n_stages


def study_runs(output_dir: str | os.PathLike, n_stages: int = 7) -> list[dict]:
    """FF, PF 1..n-1 and AF from the pretrained network: ``ecgfounder-ff.h5`` ... ``ecgfounder-af.h5``."""
    from lvsdctl.finetune.api import strategy_name

    out = Path(output_dir)
    return [{"freeze": n, "output": str(out / f"ecgfounder-{strategy_name(n, n_stages)}.h5")}
            for n in range(n_stages + 1)]
