"""Model families by name, timm style: `create_model("fcn", in_channels=4)`.

Each family is a `nn.Module` whose constructor takes one config dataclass. `register_model` ties a
name to the class and its config, so a checkpoint that stores the name and the config (JSON) fully
describes the model it holds, and `create_model` rebuilds it.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

# Modules that define families; imported on first use so `import lvsdctl.models.registry` stays light.
# The foundation models' modules are optional: the registry works before (and without) them.
_FAMILY_MODULES = (
    "lvsdctl.models.fcn",
    "lvsdctl.models.lstm_fcn",
    "lvsdctl.models.resnet",
    "lvsdctl.models.inceptiontime",
    "lvsdctl.models.ecgfm",
    "lvsdctl.models.ecgfm_lvsd",
    "lvsdctl.models.ecgfm_pretrain",
    "lvsdctl.models.ecgfounder",
    "lvsdctl.models.ecgfounder_lvsd",
)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    cls: Callable[..., nn.Module]
    config_cls: type
    summary: str


_REGISTRY: dict[str, ModelSpec] = {}
_loaded = False


def register_model(name: str, config_cls: type, summary: str = ""):
    """Class decorator: `@register_model("fcn", FCNConfig)` over `class FCN(nn.Module)`."""
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"{config_cls!r} is not a dataclass")

    def decorate(cls):
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(f"model name {name!r} is already registered")
        doc = summary or ((cls.__doc__ or "").strip().splitlines() or [""])[0]
        _REGISTRY[name] = ModelSpec(name, cls, config_cls, doc)
        cls.model_name = name
        return cls

    return decorate


def _load_families() -> None:
    global _loaded
    if _loaded:
        return
    for module in _FAMILY_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real missing dependency inside a family module
                raise
    _loaded = True


def list_models() -> dict[str, str]:
    """Registered family names and their one-line summaries."""
    _load_families()
    return {name: spec.summary for name, spec in sorted(_REGISTRY.items())}


def get_spec(name: str) -> ModelSpec:
    _load_families()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown model {name!r}; known models: {known}")
    return _REGISTRY[name]


def make_config(name: str, **config: Any):
    """The family's config dataclass from keyword values (JSON lists become tuples)."""
    spec = get_spec(name)
    fields = {f.name: f for f in dataclasses.fields(spec.config_cls)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise TypeError(
            f"model {name!r} has no option(s) {', '.join(unknown)}; its options are {', '.join(fields)}"
        )
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return spec.config_cls(**clean)


def create_model(name: str, **config: Any) -> nn.Module:
    """Build a registered model family from its config values."""
    spec = get_spec(name)
    return spec.cls(make_config(name, **config))


def model_config(model: nn.Module) -> dict[str, Any]:
    """The JSON-ready config a model was built from (what `create_model` needs to rebuild it)."""
    cfg = getattr(model, "config", None)
    if cfg is None or not dataclasses.is_dataclass(cfg):
        raise TypeError(f"{type(model).__name__} was not built from a registered config")
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


# ------------------------------------------------------------------------ configs from untrusted sources
#: Bounds on every number of a model config read from a file or typed as an option, checked before
#: anything is built from it: a layer size or count beyond them is no ECG model's.
MAX_CONFIG_INT = 1 << 24
MAX_CONFIG_ITEMS = 4096
MAX_CONFIG_DEPTH = 6
#: Largest model built from an option (a billion parameters: 4 GB of float32; ECG-FM base is 0.09 billion).
MAX_PARAMETERS = 1_000_000_000


def check_config_values(value: Any, where: str, depth: int = 0) -> None:
    """InputError unless `value` is made of JSON values only, each int within +-MAX_CONFIG_INT, each float
    finite, lists and texts short. Values are not quoted back (but for numbers): they may be a file's."""
    from lvsdctl.errors import InputError

    if depth > MAX_CONFIG_DEPTH:
        raise InputError(f"{where}: the model config is nested too deeply")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if abs(value) > MAX_CONFIG_INT:
            raise InputError(f"{where}: the model config holds a number out of bounds ({value}; at most "
                             f"{MAX_CONFIG_INT} in absolute value)")
    elif isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_CONFIG_INT:
            raise InputError(f"{where}: the model config holds a number that is not finite or out of bounds")
    elif isinstance(value, str):
        if len(value) > 64:
            raise InputError(f"{where}: the model config holds a text longer than 64 characters")
    elif isinstance(value, (list, tuple, dict)):
        if len(value) > MAX_CONFIG_ITEMS:
            raise InputError(f"{where}: the model config holds a list of {len(value)} items (at most "
                             f"{MAX_CONFIG_ITEMS})")
        for item in (value.values() if isinstance(value, dict) else value):
            check_config_values(item, where, depth + 1)
    else:
        raise InputError(f"{where}: the model config holds a value that is not a JSON number, text or list")


class ModelTooLarge(Exception):
    """A model's construction registered more parameters, buffers and modules than allowed."""


@contextmanager
def _bounded_build(limit: int | None) -> Iterator[None]:
    """Abort a model's construction once it registers more than `limit` parameters, buffers and modules
    in all: a config of a million layers stops before it costs more than the model it claims to be."""
    if limit is None:
        yield
        return
    from torch.nn.modules import module as nn_module

    count = [0]

    def hook(*_):
        count[0] += 1
        if count[0] > limit:
            raise ModelTooLarge

    handles = [nn_module.register_module_parameter_registration_hook(hook),
               nn_module.register_module_buffer_registration_hook(hook),
               nn_module.register_module_module_registration_hook(hook)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def shape_model(name: str, config: dict[str, Any], limit: int | None = None) -> nn.Module:
    """The model built on PyTorch's meta device: every parameter's shape, no memory, in milliseconds.
    `limit`: ModelTooLarge once construction registers that many parameters, buffers and modules."""
    import torch

    with _bounded_build(limit), torch.device("meta"):
        return create_model(name, **config)


def check_model_options(name: str, config: dict[str, Any], where: str = "--model-option") -> None:
    """InputError unless `config` builds a model of family `name` of at most MAX_PARAMETERS parameters
    (checked on the meta device, before any memory is allocated)."""
    from lvsdctl.errors import InputError

    check_config_values(config, where)
    try:
        shell = shape_model(name, config, limit=1_000_000)
    except ModelTooLarge:
        raise InputError(f"{where}: the model would have more than a million layers") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise InputError(f"{where}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a constructor refusing a value is the option's fault
        raise InputError(f"{where}: these options do not build a {name!r} model ({type(exc).__name__})") from None
    n = sum(p.numel() for p in shell.parameters())
    if n > MAX_PARAMETERS:
        raise InputError(f"{where}: the model would have {n:,} parameters (at most {MAX_PARAMETERS:,})")
