"""Load ECGFounder weights: the official ``.pth`` files and lvsdctl's own HDF5 checkpoints.

Official files (``{"state_dict": ..., "epoch": ...}``) are read only with
``torch.load(weights_only=True)`` (``ecgfm_weights.load_weights_only``). Their keys are the network's
own (``lvsdctl.models.ecgfounder``); a ``module.`` prefix (DataParallel) is stripped. Sizes are read
from the tensors; the two things tensors cannot tell, ``stride`` and ``use_bn``, come from the
published configuration unless a config says otherwise.

Loading is strict on every key except the head, ``dense.*``, as the authors' own fine-tuning does
(``finetune_model.py`` drops ``dense.*`` and puts a new head): ``load_backbone(keep_head=True)``
keeps the 150-label head too, then every key must match.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from lvsdctl.errors import InputError, MissingResourceError
from lvsdctl.models.ecgfm_weights import check_and_load, check_fits, load_weights_only
from lvsdctl.models.ecgfounder import ECGFounder, ECGFounderConfig, config_for_size

#: The official files' catalog names (``lvsdctl.weights``), by the data's leads.
TWELVE_LEAD, ONE_LEAD = "ecgfounder-12lead", "ecgfounder-1lead"
HEAD = "dense."
_FIRST_CONV = "first_conv.conv.weight"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def resolve_weights(name_or_path: str | os.PathLike | None = None, *, leads: int = 12) -> Path:
    """The one place that finds ECGFounder weights: a catalog name (``ecgfounder-12lead``,
    ``ecgfounder-1lead``), a path, or (None) the official file for ``leads`` (1 -> ``ecgfounder-1lead``,
    else ``ecgfounder-12lead``) in the weights directory, found by ``lvsdctl.weights.resolve``, as
    ``lvsdctl weights fetch`` put it there. Never downloads: a missing file raises
    ``MissingResourceError`` (exit code 6) with the ``lvsdctl weights fetch NAME`` line and the offline
    route. A catalog name of another family (an ECG-FM checkpoint) is refused (exit code 3).
    """
    from lvsdctl.weights import lookup, resolve

    name = name_or_path if name_or_path is not None else (ONE_LEAD if leads == 1 else TWELVE_LEAD)
    entry = lookup(name) if isinstance(name, str) else None
    if entry is not None and entry.family != "ecgfounder" and not Path(name).is_file():
        raise InputError(f"--weights {name}: the catalog's {entry.family} checkpoint {entry.filename}, not "
                         f"ECGFounder's (its names: {TWELVE_LEAD}, {ONE_LEAD})")
    return resolve(name)


def _read_lvsdctl(path: str) -> tuple[dict, dict]:
    """An lvsdctl `model` file holding ECGFounder: (state with the network's names, its backbone config)."""
    from lvsdctl.hdf5 import open_input, read_json_attr, read_state_dict

    with open_input(path, kind="model") as f:
        name = f.attrs.get("model_name", "")
        name = name.decode() if isinstance(name, bytes) else str(name)
        if name not in ("ecgfounder", "ecgfounder-lvsd") or "weights" not in f:
            raise InputError(f"{path}: holds a '{name or 'unknown'}' model, not an ECGFounder network")
        config = read_json_attr(f, "config", {}) or {}
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in read_state_dict(f).items()}
    if name == "ecgfounder-lvsd":  # the network sits under backbone.; input_proj.* is set aside
        state = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
        config = config.get("backbone") or {}
    return state, config


def read_state(path: str | os.PathLike) -> tuple[OrderedDict, dict]:
    """(state dict under the network's names, what the file says about itself)."""
    path = str(path)
    if not Path(path).is_file():
        raise MissingResourceError(f"{path}: weights file not found")
    with open(path, "rb") as fh:
        is_hdf5 = fh.read(8) == _HDF5_MAGIC
    if is_hdf5:
        state, config = _read_lvsdctl(path)
        meta = {"origin": "lvsdctl", "config": config}
    else:
        ckpt = load_weights_only(path)
        if isinstance(ckpt, Mapping) and isinstance(ckpt.get("state_dict"), Mapping):
            state = ckpt["state_dict"]
            epoch = ckpt.get("epoch")
            meta = {"origin": "official", "epoch": int(epoch) if isinstance(epoch, int) else None}
        elif isinstance(ckpt, Mapping) and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
            state, meta = ckpt, {"origin": "official"}  # a bare state dict
        else:
            raise InputError(f"{path}: not an ECGFounder checkpoint (expected a dict with a 'state_dict')")
    out = OrderedDict()
    for key, value in state.items():
        while key.startswith("module."):
            key = key[len("module."):]
        out[key] = value
    if _FIRST_CONV not in out:
        raise InputError(f"{path}: no ECGFounder network found (no '{_FIRST_CONV}' tensor)")
    return out, meta


def config_from_state(state: Mapping[str, torch.Tensor], base: ECGFounderConfig | None = None,
                      path: str = "checkpoint") -> ECGFounderConfig:
    """Every size the tensors determine; ``stride``, ``use_bn``, ``use_do`` and flags from ``base``.

    A network with tensors missing or of impossible sizes raises ``InputError`` naming ``path``.
    """
    try:
        return _sizes(state, base or ECGFounderConfig())
    except (KeyError, IndexError, ValueError, ZeroDivisionError) as exc:
        raise InputError(f"{path}: not a complete ECGFounder network ({exc.__class__.__name__}: {exc})") from None


def _sizes(state: Mapping[str, torch.Tensor], base: ECGFounderConfig) -> ECGFounderConfig:
    base_filters, in_channels, kernel = state[_FIRST_CONV].shape
    stages = sorted({int(k.split(".")[1]) for k in state if k.startswith("stage_list.")})
    filters, blocks = [], []
    for i in stages:
        ids = {int(k.split(".")[3]) for k in state if k.startswith(f"stage_list.{i}.block_list.")}
        blocks.append(1 + max(ids))
        filters.append(int(state[f"stage_list.{i}.block_list.0.conv3.conv.weight"].shape[0]))
    conv2 = state["stage_list.0.block_list.0.conv2.conv.weight"]  # (middle, middle / groups, k)
    middle = int(conv2.shape[0])
    groups = middle // int(conv2.shape[1])
    sizes = {"in_channels": int(in_channels), "base_filters": int(base_filters), "kernel_size": int(kernel),
             "filter_list": tuple(filters), "m_blocks_list": tuple(blocks),
             "ratio": base.ratio if int(filters[0] * base.ratio) == middle else middle / filters[0],
             "groups_width": filters[0] // groups}
    if HEAD + "weight" in state:
        sizes["n_classes"] = int(state[HEAD + "weight"].shape[0])
    return replace(base, **sizes)


def load_backbone(weights: str | os.PathLike | None = None, *, config: ECGFounderConfig | None = None,
                  size: str | None = None, keep_head: bool = False, n_classes: int | None = None,
                  leads: int = 12) -> tuple[ECGFounder, dict]:
    """An ``ECGFounder`` holding a checkpoint's network; returns (model, info).

    Sizes come from the file (and its own config for lvsdctl files), unless ``config`` gives them
    all or ``size`` names an architecture (tiny, full; the input channels still from the file): then a
    file of another size is refused (``MismatchError`` naming the key and both shapes). Without
    ``keep_head`` the head ``dense`` is new (``n_classes`` outputs, default init) and every other key
    must match; with it, the file's head is kept and every key must match.
    """
    path = resolve_weights(weights, leads=leads)
    state, meta = read_state(path)
    if config is None:
        declared = meta.get("config") or {}
        base = ECGFounderConfig(**declared) if declared else ECGFounderConfig()
        config = config_from_state(state, base, str(path))
        if size is not None:
            config = config_for_size(size, in_channels=config.in_channels, n_classes=config.n_classes)
    if not keep_head and n_classes is not None:
        config = replace(config, n_classes=n_classes)
    body = OrderedDict((k, v) for k, v in state.items() if not k.startswith(HEAD))
    with torch.device("meta"):  # shapes only: refuse a misfit before allocating a full model
        shell = ECGFounder(config)
        check_fits(shell, state if keep_head else _with_head_of(shell, body), str(path), "ECGFounder network")
    model = ECGFounder(config)
    check_and_load(model, state if keep_head else _with_head_of(model, body), str(path), "ECGFounder network")
    return model, {"weights": str(path), "origin": meta["origin"], "head": "kept" if keep_head else "new",
                   "config": config.to_dict()}


def _with_head_of(model: ECGFounder, body: Mapping[str, torch.Tensor]) -> OrderedDict:
    """``body`` (a file's tensors without ``dense.*``) completed with ``model``'s own new head."""
    return OrderedDict({**body, **{k: v for k, v in model.state_dict().items() if k.startswith(HEAD)}})
