"""The one check that signals are finite, used by every stage that reads `/signals` (train, finetune,
pretrain, evaluate, predict, explain, explain --set): a NaN or an infinity is refused (exit 3) with the
row of `/signals` it is in, before a model sees it, never turned into a NaN score or attribution.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lvsdctl.errors import InputError


def nonfinite_rows(x: np.ndarray, rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """The entries of `rows` (row numbers of the ECGs of `x`, one per ECG) whose samples are not all finite."""
    if np.isfinite(x).all():  # the common case: one pass, no per-row work
        return np.empty(0, dtype=np.int64)
    bad = ~np.isfinite(np.asarray(x).reshape(len(x), -1)).all(axis=1)
    return np.asarray(rows, dtype=np.int64)[bad]


def refuse_nonfinite(source: str, bad: Sequence[int] | np.ndarray) -> None:
    """InputError naming the first of the rows `bad` (none: nothing to refuse)."""
    bad = np.asarray(bad, dtype=np.int64)
    if bad.size == 0:
        return
    more = f" (and {bad.size - 1} more ECG{'s' if bad.size > 2 else ''})" if bad.size > 1 else ""
    raise InputError(f"{source}: the ECG at /signals row {int(bad.min())} holds NaN or infinite samples{more}; "
                     "preprocess the data again (preprocess flags and interpolates them) or leave those ECGs out")


def require_finite(source: str, x: np.ndarray, rows: Sequence[int] | np.ndarray) -> None:
    """Refuse (InputError naming the row) a batch `x` of ECGs, at rows `rows` of `/signals`, holding NaN/inf."""
    refuse_nonfinite(source, nonfinite_rows(x, rows))
