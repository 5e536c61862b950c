"""Attributions for the LVSD logit, through captum.

DeepLIFT with an all-zero reference is the study's method. Its rescale rules are exact for ReLU
networks whose every nonlinearity is its own module used once (lvsdctl's CNN baselines are built that
way, and a test proves it), and, with the rules `explain.rules` adds, for ECGFounder (Swish, gated
products). For LSTMs and attention, captum can only fall back to gradients inside those modules, so
the result is no longer DeepLIFT: we say so and offer Integrated Gradients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

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
    if not kinds:
        if getattr(model, "deeplift_exact", True) is False:  # the model knows why (e.g. an ensemble)
            return getattr(model, "deeplift_note", None) or (
                "DeepLIFT's rules do not hold exactly for this model: these values are an approximation; "
                "Integrated Gradients (--method ig) satisfies completeness for any differentiable model")
        return None
    return (f"DeepLIFT's rules do not hold for {', '.join(kinds)}: captum propagates plain gradients "
            "through them, so these values are an approximation; Integrated Gradients (--method ig) "
            "satisfies completeness for any differentiable model")


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
              ig_steps: int = 64, batch_size: int = 8) -> Attribution:
    """Attribute the LVSD log-odds of each ECG in `x` (batch, channels, samples) to its samples."""
    from captum.attr import DeepLift, IntegratedGradients

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    model = model.eval()
    wrapped = _LVSDLogit(model).eval()
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    values, deltas, logits, scores = [], [], [], []
    for start in range(0, len(xt), batch_size):
        xb = xt[start:start + batch_size].clone().requires_grad_(True)
        reference = torch.zeros_like(xb)
        if method == "deeplift":
            explainer = DeepLift(wrapped)
            with warnings.catch_warnings(), deeplift_rules(model):  # captum announces its hooks on every call
                warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
                attr, delta = explainer.attribute(xb, baselines=reference, target=0,
                                                  return_convergence_delta=True)
        else:
            explainer = IntegratedGradients(wrapped)
            attr, delta = explainer.attribute(xb, baselines=reference, target=0, n_steps=ig_steps,
                                              internal_batch_size=max(1, batch_size),
                                              return_convergence_delta=True)
        with torch.no_grad():
            out = model(xb.detach())
            logits.append((out[:, 1] - out[:, 0]).numpy())
            scores.append(torch.softmax(out.float(), dim=1)[:, 1].numpy())
        values.append(attr.detach().numpy())
        deltas.append(delta.detach().reshape(-1).numpy())
    caveat = deeplift_caveat(model) if method == "deeplift" else None
    return Attribution(np.concatenate(values), np.concatenate(deltas), np.concatenate(logits),
                       np.concatenate(scores), method, caveat)
