"""Decision thresholds: fixed (the study's 0.5), Youden's J, or a target sensitivity.

Data-driven thresholds are chosen on the TUNING set only, then frozen and applied unchanged to every
validation set; choosing them on a validation set would leak its labels into its own metrics. The
threshold's value and origin travel with every predictions/evaluation file, and `evaluate` saves it
beside the model for `predict` and `explain` (lvsdctl.evaluate.operating_point).

A fitted threshold is frozen halfway between the tuning score that sets the operating point and the
next lower tuning score: every tuning ECG keeps its call (sensitivity and specificity there are those of
the chosen point), and a score recomputed with float noise (another batch size, a GPU) cannot flip the
call of the ECG whose score set the point, as it could if the threshold were that score itself.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import roc_curve

from lvsdctl.errors import InputError

POLICY_HELP = "0.5 (or any number in (0, 1)), 'youden', or 'sens:0.90' (target sensitivity)"


@dataclass(frozen=True)
class ThresholdPolicy:
    kind: str  # "fixed" | "youden" | "sensitivity"
    target: float | None = None  # the fixed value, or the target sensitivity

    def describe(self) -> str:
        if self.kind == "fixed":
            return f"fixed {self.target:g}"
        if self.kind == "youden":
            return "Youden's J"
        return f"sensitivity >= {self.target:g}"


@dataclass(frozen=True)
class Threshold:
    value: float
    origin: str  # human-readable, e.g. "Youden's J on set 'tune' (n=300 ECGs)"
    policy: str  # the policy text that produced it, e.g. "youden"
    set: str | None = None  # the set it was chosen on (None: fixed, not fitted)
    n_ecgs: int | None = None  # labelled ECGs of that set
    sensitivity: float | None = None  # on that set, at this threshold
    specificity: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def parse_policy(text: str | float) -> ThresholdPolicy:
    """Parse ``0.5`` / ``youden`` / ``sens:0.90``; raise InputError with the accepted forms otherwise."""
    s = str(text).strip().lower()
    if s == "youden":
        return ThresholdPolicy("youden")
    m = re.fullmatch(r"sens(?:itivity)?[:=]([0-9.]+)", s)
    if m:
        target = float(m.group(1))
        if not 0.0 < target <= 1.0:
            raise InputError(f"target sensitivity must be in (0, 1], got {target:g}")
        return ThresholdPolicy("sensitivity", target)
    try:
        value = float(s)
    except ValueError:
        raise InputError(f"unknown threshold policy {text!r}; use {POLICY_HELP}") from None
    if not 0.0 < value < 1.0:
        raise InputError(f"a fixed threshold must lie in (0, 1), got {value:g}")
    return ThresholdPolicy("fixed", value)


def choose_threshold(policy: ThresholdPolicy | str, y_tune=None, score_tune=None, *, set_name: str = "tune") -> Threshold:
    """Pick the threshold a policy asks for; data-driven ones need the tuning set's labels and scores."""
    if not isinstance(policy, ThresholdPolicy):
        policy = parse_policy(policy)
    text = "youden" if policy.kind == "youden" else (
        f"{policy.target:g}" if policy.kind == "fixed" else f"sens:{policy.target:g}")
    if policy.kind == "fixed":
        return Threshold(float(policy.target), f"fixed at {policy.target:g} (not fitted)", text)
    if y_tune is None or score_tune is None:
        raise InputError(f"threshold policy '{text}' needs a tuning set with labels")
    y = np.asarray(y_tune).astype(int).ravel()
    s = np.asarray(score_tune, dtype=np.float64).ravel()
    if np.unique(y).size != 2:
        raise InputError(f"threshold policy '{text}' needs both classes in set '{set_name}'")
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    # roc_curve's first threshold is +inf (nothing called positive): never a usable operating point.
    fpr, tpr, thr = fpr[1:], tpr[1:], thr[1:]  # thresholds: the distinct scores, decreasing
    if policy.kind == "youden":
        # ties broken towards the higher threshold (fewer false positives) by argmax's first hit.
        i = int(np.argmax(tpr - fpr))
        origin = (f"Youden's J on set '{set_name}' (n={y.size} ECGs, J={tpr[i] - fpr[i]:.3f}: sensitivity "
                  f"{tpr[i]:.3f}, specificity {1 - fpr[i]:.3f})")
    else:
        # thresholds decrease along the curve: the first point reaching the target keeps specificity highest.
        i = int(np.argmax(tpr >= policy.target - 1e-12))
        origin = (f"highest threshold with sensitivity >= {policy.target:g} on set '{set_name}' "
                  f"(n={y.size} ECGs, sensitivity {tpr[i]:.3f}, specificity {1 - fpr[i]:.3f})")
    # halfway to the next lower score (see the module's docstring); the lowest score: halfway to 0
    below = thr[i + 1] if i + 1 < thr.size else 0.0
    value = float(min((thr[i] + below) / 2, 1.0))
    return Threshold(value, origin, text, set_name, int(y.size), float(tpr[i]), float(1 - fpr[i]))
