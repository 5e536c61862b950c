"""Attributions for the LVSD logit, through captum.

DeepLIFT with an all-zero reference is the study's method. Its rescale rules are exact for ReLU
networks whose every nonlinearity is its own module used once (lvsdctl's CNN baselines are built that
way, and a test proves it), and, with the rules `explain.rules` adds, for ECGFounder (Swish, gated
products). For LSTMs and attention, captum can only fall back to gradients inside those modules, so
the result is no longer DeepLIFT: we say so and offer Integrated Gradients.

A model that normalises its own input (`model.normalise`: ECG-FM's per-channel z-score, ECGFounder's
`--zscore`) is attributed on the normalised input: the normalisation runs outside the function
captum attributes, and the reference is all zeros in the normalised space (the z-score of the all-zero
ECG is all zeros, so f(reference) is unchanged). Inside, a z-score is scale-invariant: gradient x input
through it sums to zero whatever the ECG, and DeepLIFT has no rule for it. Attributions are then per
sample of the normalised ECG, in the same (channel, time) positions.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from lvsdctl.errors import InputError
from lvsdctl.explain.rules import deeplift_rules

METHODS = ("deeplift", "ig")

# Modules whose internals DeepLIFT's rules do not cover.
_NOT_DEEPLIFT_EXACT = (nn.LSTM, nn.GRU, nn.RNN, nn.MultiheadAttention)


@dataclass
class Attribution:
    values: np.ndarray  # (batch, channels, samples), same units as logit / input
    delta: np.ndarray  # (batch,) convergence delta: sum(attr) - (f(x) - f(reference))
    logit: np.ndarray  # (batch,) the LVSD logit that was explained
    score: np.ndarray  # (batch,) softmax probability of LVSD
    method: str
    caveat: str | None  # set when the method's guarantees do not hold for this model


def deeplift_caveat(model: nn.Module) -> str | None:
    """Why DeepLIFT is not exact for this model, or None when it is."""
    kinds = sorted({type(m).__name__ for m in model.modules() if isinstance(m, _NOT_DEEPLIFT_EXACT)})
    has_attention = any("attention" in type(m).__name__.lower() for m in model.modules())
    if has_attention and "MultiheadAttention" not in kinds:
        kinds.append("self-attention")
    note = getattr(model, "deeplift_note", None)  # the model knows why (e.g. an ensemble, ECG-FM)
    if not kinds:
        if getattr(model, "deeplift_exact", True) is False:
            return note or (
                "DeepLIFT's rules do not hold exactly for this model: these values are an approximation; "
                "Integrated Gradients (--method ig) satisfies completeness for any differentiable model")
        return None
    return note or (f"DeepLIFT's rules do not hold for {', '.join(kinds)}: captum propagates plain gradients "
                    "through them, so these values are an approximation; Integrated Gradients (--method ig) "
                    "satisfies completeness for any differentiable model")


@contextmanager
def normalisation_outside(model: nn.Module) -> Iterator[nn.Module | None]:
    """Yield the model's input normalisation (None if it has none) with the model's own step switched
    off, so the caller applies it to the input first; restored on exit."""
    norm = getattr(model, "normalise", None)
    if not isinstance(norm, nn.Module) or isinstance(norm, nn.Identity):
        yield None
        return
    model.normalise = nn.Identity()
    try:
        yield norm
    finally:
        model.normalise = norm


class _LVSDLogit(nn.Module):
    """Wraps a (batch, 2)-logit model so captum explains the LVSD logit minus the other.

    The difference of the two logits is the log-odds of LVSD: attributions then explain the score
    itself, and completeness holds for it.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return (logits[:, 1] - logits[:, 0]).unsqueeze(1)


def attribute(model: nn.Module, x: np.ndarray | torch.Tensor, method: str = "deeplift",
              ig_steps: int = 64, batch_size: int = 8, precision: str = "fp32") -> Attribution:
    """Attribute the LVSD log-odds of each ECG in `x` (batch, channels, samples) to its samples (of the
    normalised ECG for a model that normalises its input: see the module docstring).

    `precision` "bf16": under bf16 autocast (fast on CPUs with bf16 arithmetic; `lvsdctl.evaluate.precision`).
    int8 quantized layers have no gradients, so there is no int8 attribution."""
    from captum.attr import DeepLift, IntegratedGradients

    from lvsdctl.evaluate.precision import prepare

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if precision == "int8":
        raise InputError("attributions need gradients, which int8-quantized layers do not have: use "
                         "--precision fp32 or bf16")
    autocast = prepare(model, precision, next(model.parameters()).device)[1]
    model = model.eval()
    wrapped = _LVSDLogit(model).eval()
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    values, deltas, logits, scores = [], [], [], []
    with normalisation_outside(model) as norm:
        for start in range(0, len(xt), batch_size):
            xb = xt[start:start + batch_size]
            if norm is not None:  # attribute on the normalised input (module docstring)
                with torch.no_grad():
                    xb = norm(xb)
            xb = xb.clone().requires_grad_(True)
            reference = torch.zeros_like(xb)
            with autocast:
                attr, delta, out = _attribute_batch(DeepLift if method == "deeplift" else IntegratedGradients,
                                                    wrapped, model, xb, reference, method, ig_steps, batch_size)
            logits.append((out[:, 1] - out[:, 0]).numpy())
            scores.append(torch.softmax(out, dim=1)[:, 1].numpy())
            values.append(attr.detach().float().numpy())
            deltas.append(delta.detach().float().reshape(-1).numpy())
    caveat = deeplift_caveat(model) if method == "deeplift" else None
    return Attribution(np.concatenate(values), np.concatenate(deltas), np.concatenate(logits),
                       np.concatenate(scores), method, caveat)


def _attribute_batch(explainer_cls, wrapped, model, xb, reference, method, ig_steps, batch_size):
    """(attributions, convergence deltas, float32 logits) of one batch."""
    explainer = explainer_cls(wrapped)
    if method == "deeplift":
        with warnings.catch_warnings(), deeplift_rules(model):  # captum announces its hooks on every call
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
            attr, delta = explainer.attribute(xb, baselines=reference, target=0, return_convergence_delta=True)
    else:
        attr, delta = explainer.attribute(xb, baselines=reference, target=0, n_steps=ig_steps,
                                          internal_batch_size=max(1, batch_size), return_convergence_delta=True)
    with torch.no_grad():
        out = model(xb.detach()).float()
    return attr, delta, out
