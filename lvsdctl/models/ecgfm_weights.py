"""Load ECG-FM weights: the official fairseq-signals files and lvsdctl's own HDF5 checkpoints.

Official files are read with ``torch.load(path, map_location="cpu", weights_only=True)`` and nothing
else: a ``.pt`` from the internet is executable code under ``weights_only=False``. A file that needs
a global outside PyTorch's allowlist is refused with that global's name.

Key mapping (from a file to ``ECGFMEncoder``'s names; ``docs/ecgfm.md``):

1. a leading ``module.`` (DataParallel) is stripped, repeatedly;
2. ``conv_pos.pos_conv.0.weight_g`` / ``weight_v`` (2024 files) become
   ``...parametrizations.weight.original0`` / ``original1`` (fairseq-signals after January 2025);
   ``to_official_state_dict(legacy=True)`` maps back;
3. the encoder is found by its first conv key; whatever precedes it (``encoder.`` in fine-tuned files
   and in lvsdctl's ``ecgfm-lvsd`` checkpoints, nothing in pretrained files) is the prefix;
4. ``mask_emb``, ``quantizer.*``, ``project_q.*``, ``final_proj.*`` are pretraining-only and are set
   aside when building an encoder; ``proj.*`` is a fine-tuned file's classification head.

Sizes come from ``cfg["model"]`` and are cross-checked against the tensors; where they disagree the
tensors win (a warning says so). Loading into a model whose configuration disagrees with the tensors
raises ``MismatchError`` naming the key and both shapes.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from torch import nn

from lvsdctl.errors import InputError, MismatchError, MissingResourceError
from lvsdctl.models.ecgfm import ECGFMClassifier, ECGFMConfig, ECGFMEncoder, parse_conv_layers
from lvsdctl.models.ecgfm_pretrain import PRETRAINING_PREFIXES, ECGFMPretrainModel
from lvsdctl.models.registry import check_config_values
from lvsdctl.weights.local import WEIGHTS_DIR_ENV, weights_dir  # noqa: F401 - where the files live

log = logging.getLogger(__name__)

# The official file names (the catalog, `lvsdctl.weights`, says where each comes from).
PRETRAINED_FILE = "mimic_iv_ecg_physionet_pretrained.pt"  # single-step starting point
SEQUENTIAL_FILE = "physionet_finetuned.pt"  # sequential starting point (PhysioNet 2021 multi-label)
MIMIC_FINETUNED_FILE = "mimic_iv_ecg_finetuned.pt"  # sequential from the MIMIC-IV-ECG labels

_FIRST_CONV = "feature_extractor.conv_layers.0.0.weight"
_POS_CONV = "conv_pos.pos_conv.0."
_LEGACY_TO_PARAM = {"weight_g": "parametrizations.weight.original0", "weight_v": "parametrizations.weight.original1"}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# fairseq-signals cfg["model"] field -> ECGFMConfig field.
CFG_FIELDS = {
    "in_d": "in_channels",
    "conv_feature_layers": "conv_layers",
    "conv_bias": "conv_bias",
    "encoder_embed_dim": "embed_dim",
    "encoder_ffn_embed_dim": "ffn_dim",
    "encoder_layers": "num_layers",
    "encoder_attention_heads": "num_heads",
    "conv_pos": "conv_pos",
    "conv_pos_groups": "conv_pos_groups",
    "latent_vars": "latent_vars",
    "latent_groups": "latent_groups",
    "latent_dim": "latent_dim",
    "final_dim": "final_dim",
}
_SIZE_FIELDS = frozenset(CFG_FIELDS.values())


# --------------------------------------------------------------------------- where weights live
def resolve_weights(weights: str | os.PathLike | None = None, *, sequential: bool = False) -> Path:
    """The weights file to use: ``weights`` (a catalog name such as ``ecgfm-mimic-finetuned``, or a
    path), else the study's starting point in the weights directory: ``physionet_finetuned.pt`` when
    ``sequential``, ``mimic_iv_ecg_physionet_pretrained.pt`` otherwise. Never downloads: a missing
    file raises ``MissingResourceError`` with the ``lvsdctl weights fetch`` line and the offline route.
    """
    from lvsdctl.weights import PRETRAINED, SEQUENTIAL, resolve

    return resolve(weights if weights is not None else (SEQUENTIAL if sequential else PRETRAINED))


# --------------------------------------------------------------------------- reading files
#: Globals a user may meet in a real checkpoint, quoted in the refusal; any other name is the file's text.
_KNOWN_GLOBAL = re.compile(r"(?:numpy|torch|collections|builtins|__builtin__|_codecs|argparse|omegaconf|fairseq"
                           r"|typing|pathlib|copyreg)(?:\.[A-Za-z_][A-Za-z0-9_]{0,40}){0,6}")
#: The largest official checkpoint read (ECG-FM's are ~1.1 GB; with optimizer state a few GB).
MAX_CHECKPOINT_BYTES = 8 << 30
#: The most optimizer updates a checkpoint may claim (ECG-FM's pretraining ran ~10^5-10^6).
_MAX_UPDATES = 10**10


def load_weights_only(path: str | os.PathLike):
    """``torch.load(path, map_location="cpu", weights_only=True)`` after the file's size is bounded, with the
    refusals turned into clear errors that never quote the file (shared by every backbone's official files)."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise MissingResourceError(f"{path}: weights file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if size > MAX_CHECKPOINT_BYTES:  # torch.load holds the whole file in memory: bounded before it is read
        raise InputError(f"{path}: {size:,} bytes; a checkpoint lvsdctl reads is at most {MAX_CHECKPOINT_BYTES:,}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MissingResourceError(f"{path}: weights file not found") from None
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            # the name is the file's text: quoted only when it is a known library's (what a user can act on)
            name = found.group(1)
            shown = f"the Python global '{name}'" if _KNOWN_GLOBAL.fullmatch(name) else "a Python global"
            raise InputError(
                f"{path}: refused: the checkpoint needs {shown}, which is not on "
                f"PyTorch's weights-only allowlist; lvsdctl never unpickles code from a weights file. Re-save "
                f"it as a plain dict of tensors (e.g. {{'cfg': ..., 'model': state_dict}})."
            ) from None
        raise InputError(f"{path}: not a readable PyTorch checkpoint (weights-only load failed)") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable PyTorch checkpoint ({exc.__class__.__name__})") from None


def read_official(path: str | os.PathLike) -> dict:
    """An official ECG-FM file as {"cfg": ..., "model": state dict}, read with ``load_weights_only``."""
    ckpt = load_weights_only(path)
    if isinstance(ckpt, Mapping) and "model" in ckpt and isinstance(ckpt["model"], Mapping):
        return dict(ckpt)
    if isinstance(ckpt, Mapping) and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return {"cfg": None, "model": ckpt}  # a bare state dict
    raise InputError(f"{path}: not an ECG-FM checkpoint (expected a dict with a 'model' state dict)")


def read_lvsdctl(path: str | os.PathLike) -> dict:
    """An lvsdctl HDF5 checkpoint (kind ``model``) as {model_name, config, model}."""
    from lvsdctl.hdf5 import open_input, read_json_attr, read_state_dict
    from lvsdctl.models.registry import list_models

    with open_input(path, kind="model") as f:
        if "weights" not in f:
            raise InputError(f"{path}: model file without /weights")
        name = f.attrs.get("model_name", "")
        name = name.decode() if isinstance(name, bytes) else str(name)
        if "ecgfm" not in name or name not in list_models():  # an unknown name is the file's text: not quoted
            shown = name if name in list_models() else "unknown"
            raise InputError(f"{path}: holds a '{shown}' model, not an ECG-FM backbone")
        config = read_json_attr(f, "config", {}) or {}
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in read_state_dict(f).items()}
    return {"model_name": name, "config": config, "model": state}


# --------------------------------------------------------------------------- key mapping
def normalise_keys(state: Mapping[str, torch.Tensor]) -> OrderedDict:
    """Strip ``module.`` and rename legacy weight-norm halves to the parametrization names."""
    out = OrderedDict()
    for key, value in state.items():
        while key.startswith("module."):
            key = key[len("module."):]
        head, _, last = key.rpartition(".")
        if last in _LEGACY_TO_PARAM and head.endswith(_POS_CONV.rstrip(".")):
            key = f"{head}.{_LEGACY_TO_PARAM[last]}"
        out[key] = value
    return out


def to_official_state_dict(encoder_state: Mapping[str, torch.Tensor], *, head: Mapping | None = None,
                           pretraining: Mapping | None = None, legacy: bool = True) -> OrderedDict:
    """The reverse mapping: lvsdctl names -> an official file's ``model`` dict.

    With ``head`` the keys get the fine-tuned prefix ``encoder.``; ``legacy`` writes ``weight_g`` /
    ``weight_v`` (the public 2024 files) instead of the parametrization names.
    """
    back = {v: k for k, v in _LEGACY_TO_PARAM.items()}
    prefix = "encoder." if head else ""
    out = OrderedDict()
    for key, value in encoder_state.items():
        if legacy and key.startswith(_POS_CONV):
            rest = key[len(_POS_CONV):]
            key = _POS_CONV + back.get(rest, rest)
        out[prefix + key] = value
    out.update(pretraining or {})
    out.update({f"proj.{k.removeprefix('proj.')}": v for k, v in (head or {}).items()})
    return out


@dataclass
class ECGFMWeights:
    """A checkpoint split into what each model part needs, with the sizes it implies."""

    path: str
    origin: str  # "official-pretrained", "official-finetuned", or "lvsdctl:<model name>"
    config: ECGFMConfig
    encoder: OrderedDict
    head: OrderedDict = field(default_factory=OrderedDict)  # proj.weight / proj.bias
    pretraining: OrderedDict = field(default_factory=OrderedDict)
    other: OrderedDict = field(default_factory=OrderedDict)  # e.g. ecgfm-lvsd's input_proj.*
    source_config: dict = field(default_factory=dict)  # the file's own model config, as stored
    num_updates: int = 0  # optimizer updates behind an official file (its optimizer_history)


def split_state(state: Mapping[str, torch.Tensor], path: str) -> tuple[str, OrderedDict, OrderedDict, OrderedDict, OrderedDict]:
    """(prefix, encoder, head, pretraining, other) from a normalised state dict."""
    firsts = [k for k in state if k.endswith(_FIRST_CONV)]
    if len(firsts) != 1:
        raise InputError(
            f"{path}: no ECG-FM encoder found (expected exactly one key ending in '{_FIRST_CONV}', "
            f"found {len(firsts)})"
        )
    prefix = firsts[0][: -len(_FIRST_CONV)]
    encoder, head, pretraining, other = OrderedDict(), OrderedDict(), OrderedDict(), OrderedDict()
    for key, value in state.items():
        bare = key[len(prefix):] if key.startswith(prefix) else None
        if bare is not None and not bare.startswith(PRETRAINING_PREFIXES):
            encoder[bare] = value
        elif bare is not None:
            pretraining[bare] = value
        elif key.startswith("proj."):
            head[key.removeprefix("proj.")] = value
        else:
            other[key] = value
    return prefix, encoder, head, pretraining, other


# --------------------------------------------------------------------------- sizes
def declared_sizes(cfg_model: Mapping | None, path: str = "checkpoint") -> dict:
    """ECGFMConfig size fields from a fairseq-signals ``cfg["model"]``; refuses unsupported variants."""
    if not cfg_model:
        return {}
    if cfg_model.get("layer_norm_first", False):
        raise InputError(f"{path}: uses layer_norm_first=True (pre-LN transformer), which ECG-FM does not; unsupported")
    if cfg_model.get("extractor_mode", "default") != "default":
        raise InputError(f"{path}: uses an extractor_mode other than 'default' (unsupported)")
    sizes = {}
    for src, dst in CFG_FIELDS.items():
        if src in cfg_model and cfg_model[src] is not None:
            try:
                sizes[dst] = parse_conv_layers(cfg_model[src]) if dst == "conv_layers" else cfg_model[src]
            except (ValueError, TypeError):  # the message would quote the file's text
                raise InputError(f"{path}: {src} is not a list of (dim, kernel, stride) triples") from None
    return sizes


def _shape(state: Mapping, key: str, path: str) -> tuple[int, ...]:
    if key not in state:
        raise InputError(f"{path}: ECG-FM key '{key}' is missing")
    return tuple(state[key].shape)


def sizes_from_tensors(encoder: Mapping, pretraining: Mapping, declared: Mapping, path: str) -> dict:
    """Every size the tensors determine; heads, strides and quantizer groups come from ``declared``."""
    n_conv = 1 + max(int(k.split(".")[2]) for k in encoder if k.startswith("feature_extractor.conv_layers."))
    declared_conv = declared.get("conv_layers", ())
    conv = []
    for i in range(n_conv):
        out_d, _, kernel = _shape(encoder, f"feature_extractor.conv_layers.{i}.0.weight", path)
        stride = declared_conv[i][2] if i < len(declared_conv) else kernel
        conv.append((out_d, kernel, stride))
    embed_dim = _shape(encoder, "post_extract_proj.weight", path)[0]
    pos_v = _shape(encoder, _POS_CONV + _LEGACY_TO_PARAM["weight_v"], path)
    layer_ids = {int(k.split(".")[2]) for k in encoder if k.startswith("encoder.layers.")}
    sizes = {
        "in_channels": _shape(encoder, _FIRST_CONV, path)[1],
        "conv_layers": tuple(conv),
        "conv_bias": "feature_extractor.conv_layers.0.0.bias" in encoder,
        "embed_dim": embed_dim,
        "num_layers": 1 + max(layer_ids) if layer_ids else 0,
        "conv_pos": pos_v[2],
        "conv_pos_groups": embed_dim // pos_v[1],
    }
    if layer_ids:
        sizes["ffn_dim"] = _shape(encoder, "encoder.layers.0.fc1.weight", path)[0]
    heads = declared.get("num_heads") or max(1, embed_dim // 64)
    sizes["num_heads"] = heads if embed_dim % heads == 0 else max(1, embed_dim // 64)
    if "final_proj.weight" in pretraining:
        sizes["final_dim"] = tuple(pretraining["final_proj.weight"].shape)[0]
    if "quantizer.vars" in pretraining:
        groups = declared.get("latent_groups", 2)
        _, entries, var_dim = tuple(pretraining["quantizer.vars"].shape)
        sizes["latent_groups"], sizes["latent_vars"] = groups, entries // groups
        vq_dim = var_dim * groups
        sizes["latent_dim"] = 0 if vq_dim == sizes.get("final_dim", declared.get("final_dim")) else vq_dim
    return sizes


def resolve_config(declared: Mapping, tensors: Mapping, path: str, base: ECGFMConfig) -> ECGFMConfig:
    """Declared sizes cross-checked with the tensors; the tensors win, with a warning."""
    for key, value in tensors.items():
        if key in declared and _norm(declared[key]) != _norm(value):
            said = declared[key] if not isinstance(declared[key], str) else "(a text)"  # numbers only are quoted
            log.warning("%s: the checkpoint's config says %s=%s but its tensors imply %s; using the tensors",
                        path, key, said, value)
    merged = {**{k: v for k, v in declared.items() if k in _SIZE_FIELDS}, **tensors}
    return replace(base, **merged)


def _norm(value):
    return tuple(tuple(c) for c in value) if isinstance(value, (list, tuple)) else value


# --------------------------------------------------------------------------- the public entry points
def read_weights(path: str | os.PathLike, *, base: ECGFMConfig | None = None) -> ECGFMWeights:
    """Read any supported checkpoint and split it; sizes from the file, dropouts etc. from ``base``."""
    path = str(path)
    base = base or ECGFMConfig()
    if not Path(path).is_file():
        raise MissingResourceError(f"{path}: weights file not found")
    with open(path, "rb") as fh:
        is_hdf5 = fh.read(8) == _HDF5_MAGIC
    num_updates = 0
    if is_hdf5:
        ckpt = read_lvsdctl(path)
        name, config = ckpt["model_name"], ckpt["config"]
        if not isinstance(config, dict) or not isinstance(config.get("encoder") or {}, dict):
            raise InputError(f"{path}: the model config is not a JSON object")
        check_config_values({k: v for k, v in config.items() if k != "encoder"}, path)  # bounded before any
        check_config_values({k: v for k, v in (config.get("encoder") or {}).items()  # size is taken from it
                             if k != "conv_layers" or not isinstance(v, str)}, path)
        declared = dict(config.get("encoder") or {}) if "encoder" in config else dict(config)
        try:
            declared = {k: (parse_conv_layers(v) if k == "conv_layers" else v)
                        for k, v in declared.items() if k in _SIZE_FIELDS}
        except (ValueError, TypeError):  # the message would quote the file's text
            raise InputError(f"{path}: conv_layers is not a list of (dim, kernel, stride) triples") from None
        origin, source_config = f"lvsdctl:{name}", config
    else:
        ckpt = read_official(path)
        cfg = ckpt.get("cfg") or {}
        cfg_model = cfg.get("model") if isinstance(cfg, Mapping) else None
        check_config_values({k: v for k, v in (cfg_model or {}).items()  # bounded before any size is taken
                             if k in CFG_FIELDS and k != "conv_feature_layers"}, path)
        declared = declared_sizes(cfg_model, path)
        source_config = dict(cfg_model or {})
        origin = None
        history = ckpt.get("optimizer_history")
        last = history[-1] if isinstance(history, list) and history and isinstance(history[-1], Mapping) else {}
        found_updates = last.get("num_updates")
        if isinstance(found_updates, int) and not isinstance(found_updates, bool):
            if not 0 <= found_updates <= _MAX_UPDATES:
                raise InputError(f"{path}: its optimizer_history's update count is out of range (0 to {_MAX_UPDATES})")
            num_updates = found_updates
    try:
        state = normalise_keys(ckpt["model"])
        prefix, encoder, head, pretraining, other = split_state(state, path)
        if origin is None:
            origin = "official-finetuned" if prefix else "official-pretrained"
        tensors = sizes_from_tensors(encoder, pretraining, declared, path)
        cfg = resolve_config(declared, tensors, path, base)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:  # odd keys, shapes or values
        raise InputError(f"{path}: not a usable ECG-FM checkpoint ({type(exc).__name__})") from None
    return ECGFMWeights(path, origin, cfg, encoder, head, pretraining, other, source_config, num_updates)


def check_fits(module: nn.Module, state: Mapping[str, torch.Tensor], path: str, what: str) -> None:
    """Refuse ``state`` unless its keys and shapes are exactly ``module``'s (works on the meta device).

    Messages name the key and both shapes; ``what`` names the model.
    """
    expected = module.state_dict()
    mismatched = [k for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k].shape)]
    if mismatched:
        k = mismatched[0]
        more = f" (and {len(mismatched) - 1} more)" if len(mismatched) > 1 else ""
        raise MismatchError(
            f"{path}: tensor '{k}' has shape {tuple(state[k].shape)} in the file but {tuple(expected[k].shape)} "
            f"in the {what}{more}: the checkpoint was made for another size"
        )
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s), e.g. '{missing[0]}'")
        if unexpected:
            parts.append(f"{len(unexpected)} key(s) the model does not have")  # the file's names: not quoted
        raise MismatchError(f"{path}: does not fit the {what}: {'; '.join(parts)}")


def check_and_load(module: nn.Module, state: Mapping[str, torch.Tensor], path: str, what: str) -> None:
    """``check_fits``, then a strict ``load_state_dict``."""
    check_fits(module, state, path, what)
    expected = module.state_dict()
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)


def _config_for_model(weights: ECGFMWeights, config: ECGFMConfig | None) -> ECGFMConfig:
    """The file's sizes, unless the caller fixed a config (then shapes are checked against it)."""
    return config if config is not None else weights.config


def load_encoder(weights: str | os.PathLike | None = None, *, sequential: bool = False,
                 config: ECGFMConfig | None = None, base: ECGFMConfig | None = None) -> tuple[ECGFMEncoder, ECGFMWeights]:
    """An ``ECGFMEncoder`` holding a checkpoint's encoder (pretraining keys and heads set aside).

    ``weights`` None -> the official file in ``weights_dir()`` (``sequential`` picks which).
    ``config`` None -> sizes from the file; otherwise the model is built from ``config`` and a file
    of another size is refused with ``MismatchError``. ``base`` supplies the non-size fields.
    """
    path = resolve_weights(weights, sequential=sequential)
    w = read_weights(path, base=base or config)
    encoder = ECGFMEncoder(_config_for_model(w, config))
    check_and_load(encoder, w.encoder, str(path), "ECG-FM encoder")
    return encoder, w


def load_classifier(path: str | os.PathLike, *, config: ECGFMConfig | None = None) -> ECGFMClassifier:
    """A fine-tuned file's full classifier (encoder + ``proj`` head), e.g. to reproduce its logits."""
    w = read_weights(resolve_weights(path), base=config)
    if "weight" not in w.head:
        raise InputError(f"{path}: no classification head ('proj.weight'); is it a fine-tuned checkpoint?")
    model = ECGFMClassifier(_config_for_model(w, config), num_labels=w.head["weight"].shape[0])
    state = OrderedDict({f"encoder.{k}": v for k, v in w.encoder.items()})
    state.update({f"proj.{k}": v for k, v in w.head.items()})
    check_and_load(model, state, str(path), "ECG-FM classifier")
    return model


def load_pretrain_model(path: str | os.PathLike, *, config: ECGFMConfig | None = None) -> ECGFMPretrainModel:
    """The pretraining model (encoder + mask_emb, quantizer, project_q, final_proj)."""
    w = read_weights(resolve_weights(path), base=config)
    if not w.pretraining:
        raise InputError(f"{path}: holds no pretraining modules (mask_emb, quantizer, ...); a fine-tuned file?")
    model = ECGFMPretrainModel(_config_for_model(w, config))
    check_and_load(model, OrderedDict({**w.encoder, **w.pretraining}), str(path), "ECG-FM pretraining model")
    return model


def official_cfg(cfg: ECGFMConfig, num_labels: int | None = None) -> dict:
    """A fairseq-signals style ``cfg["model"]`` dict describing ``cfg``."""
    out = {}
    for src, dst in CFG_FIELDS.items():
        value = getattr(cfg, dst)
        out[src] = str([tuple(c) for c in value]) if dst == "conv_layers" else value
    out.update(layer_norm_first=False, extractor_mode="default")
    if num_labels is not None:
        out["num_labels"] = num_labels
    return out


def save_official(path: str | os.PathLike, model: ECGFMEncoder | ECGFMClassifier | ECGFMPretrainModel,
                  *, legacy: bool = True) -> None:
    """Write ``model`` in the official file layout (``cfg`` + ``model``), readable by fairseq-signals."""
    if isinstance(model, ECGFMClassifier):
        enc = model.encoder
        head = {k.removeprefix("proj."): v for k, v in model.state_dict().items() if k.startswith("proj.")}
        num_labels = model.proj.out_features
    else:
        enc, head, num_labels = model, None, None
    full = enc.state_dict()
    encoder_state = OrderedDict((k, v) for k, v in full.items() if not k.startswith(PRETRAINING_PREFIXES))
    pretraining = OrderedDict((k, v) for k, v in full.items() if k.startswith(PRETRAINING_PREFIXES))
    state = to_official_state_dict(encoder_state, head=head, pretraining=pretraining, legacy=legacy)
    torch.save({"args": None, "cfg": {"model": official_cfg(enc.cfg, num_labels)}, "model": state}, path)
