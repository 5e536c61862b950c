"""Model families by name, timm style: `create_model("fcn", in_channels=4)`.

Each family is a `nn.Module` whose constructor takes one config dataclass. `register_model` ties a
name to the class and its config, so a checkpoint that stores the name and the config (JSON) fully
describes the model it holds, and `create_model` rebuilds it.
"""

from __future__ import annotations

import dataclasses
import importlib
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
