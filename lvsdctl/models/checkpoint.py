"""Model checkpoints as HDF5 files of kind `model`: readable with plain h5py, never pickled.

Layout (docs/formats.md): `/weights/<state-dict key>` datasets; root attributes `model_name`,
`config`, `history`, `preprocessing` (JSON) and `task`. `create_model(model_name, **config)`
rebuilds the network, so a checkpoint is self-describing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.hdf5 import atomic_output, open_input, read_json_attr, read_state_dict, write_json_attr, write_state_dict
from lvsdctl.hdf5.tensors import stored_shapes
from lvsdctl.models.registry import (
    ModelTooLarge,
    check_config_values,
    create_model,
    get_spec,
    list_models,
    model_config,
    shape_model,
)

#: JSON root attributes every checkpoint has, plus those a writer may add (e.g. "selection").
JSON_ATTRS = ("config", "history", "preprocessing")


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    model_name: str | None = None,
    config: dict | None = None,
    history: list[dict] | None = None,
    preprocessing: dict | None = None,
    inputs: Iterable[Any] = (),
    parameters: dict | None = None,
    extra: dict[str, Any] | None = None,
    task: str = "lvsd",
    command: str | None = None,
    write: Callable[[h5py.File], None] | None = None,
) -> None:
    """Write `model` atomically; `config` defaults to the config the model was built from.

    `extra` adds JSON root attributes (e.g. `selection`: which epoch was kept and why); `write(f)` adds
    anything else inside the same atomic write (the training engine's resume state does).
    """
    model = getattr(model, "module", model)  # unwrap DDP
    name = model_name or getattr(model, "model_name", None)
    if not name:
        raise ValueError("save_checkpoint needs a model_name for a model not built by create_model")
    with atomic_output(path, kind="model", inputs=list(inputs), parameters=parameters or {}, command=command) as f:
        write_state_dict(f, model.state_dict())
        f.attrs["model_name"] = name
        f.attrs["task"] = task
        write_json_attr(f, "config", config if config is not None else model_config(model))
        write_json_attr(f, "history", history or [])
        write_json_attr(f, "preprocessing", preprocessing or {})
        for key, value in (extra or {}).items():
            write_json_attr(f, key, value)
        if write is not None:
            write(f)


def read_meta(f) -> dict[str, Any]:
    """Decoded root attributes of an open checkpoint (JSON attributes parsed)."""
    meta: dict[str, Any] = {}
    for key in f.attrs:
        value = f.attrs[key]
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str) and value[:1] in "{[" and key not in ("model_name", "task"):
            try:
                value = read_json_attr(f, key)
            except InputError:  # the attribute's name is the file's: not quoted
                raise InputError(f"{f.filename}: a root attribute is not valid JSON") from None
        elif hasattr(value, "item") and getattr(value, "size", 1) == 1:
            value = value.item()
        meta[key] = value
    return meta


def build_checked(name: Any, config: Any, shapes: dict[str, tuple[int, ...]], where: str) -> nn.Module:
    """The model a file describes, built only once its config is known to match its stored weights.

    Every family goes through here: the name must be registered, every config value within bounds
    (`check_config_values`), the model is then built on PyTorch's meta device (shapes, no memory), its
    construction cut short if it grows past what the file stores (`shape_model`), and every
    parameter's and buffer's shape compared with the stored one. Only then is it built for real, at
    the sizes the file itself holds. Messages name the file and the model's own keys, never the file's.
    """
    known = list_models()
    if not isinstance(name, str) or name not in known:
        raise InputError(f"{where}: unknown model family (this lvsdctl builds {', '.join(known)})")
    if not isinstance(config, dict):
        raise InputError(f"{where}: the model config is not a JSON object")
    check_config_values(config, where)
    fields = {f.name for f in dataclasses.fields(get_spec(name).config_cls)}
    unknown = [k for k in config if k not in fields]
    if unknown:
        raise InputError(f"{where}: the model config has {len(unknown)} option(s) model {name!r} does not have")
    try:
        shell = shape_model(name, config, limit=4 * len(shapes) + 256)
    except ModelTooLarge:
        raise InputError(f"{where}: the model config describes a larger model than the weights the file "
                         "holds") from None
    except Exception as exc:  # noqa: BLE001 - any config a constructor refuses is the file's fault
        raise InputError(f"{where}: the model config does not describe a buildable {name!r} model "
                         f"({type(exc).__name__})") from None
    expected = {k: tuple(v.shape) for k, v in shell.state_dict().items()}
    missing = [k for k in expected if k not in shapes]
    if missing:
        raise InputError(f"{where}: weights do not fit model {name!r}: {len(missing)} missing, e.g. {missing[0]!r}")
    extra = [k for k in shapes if k not in expected]
    if extra:
        raise InputError(f"{where}: weights do not fit model {name!r}: {len(extra)} stored weight(s) the model "
                         "does not have")
    wrong = [k for k in expected if expected[k] != shapes[k]]
    if wrong:
        k = wrong[0]
        raise InputError(f"{where}: weights do not fit model {name!r}: {k!r} is stored as {shapes[k]}, the config "
                         f"gives {expected[k]}" + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""))
    return create_model(name, **config)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint holds (checked against its weights first: `build_checked`), weights
    loaded strictly, in eval mode."""
    with open_input(path, kind={"model"}) as f:
        meta = read_meta(f)
        if "weights" not in f:
            raise InputError(f"{path}: model file has no /weights group")
        shapes = stored_shapes(f)
        model = build_checked(meta.get("model_name"), meta.get("config") or {}, shapes, str(path))
        state = read_state_dict(f)
    tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in state.items()}
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not fit model {meta.get('model_name')!r} "
                         f"({type(exc).__name__})") from None
    model.to(map_location).eval()
    return model, meta


def check_preprocessing(expected: dict, found: dict, *, model_path: str, data_path: str) -> None:
    """Refuse data preprocessed differently from what the model was trained on (exit code 5)."""
    keys = ("layout", "fs", "filter", "normalisation")
    diffs = [
        f"{k}: model {expected.get(k)!r}, data {found.get(k)!r}"
        for k in keys
        if k in expected and expected.get(k) != found.get(k)
    ]
    if diffs:
        raise MismatchError(
            f"{data_path} was not preprocessed like the data {model_path} was trained on ("
            + "; ".join(diffs)
            + "): run `lvsdctl preprocess` with the model's settings"
        )
