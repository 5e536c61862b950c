"""Figure 3 of the study: the matrix of Holm-adjusted pairwise p-values between models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.outputs import save_figure


def pvalue_matrix_figure(p_matrix: pd.DataFrame, path: str | Path, *, alpha: float = 0.05,
                         title: str = "Wilcoxon signed-rank, Holm-adjusted p") -> list[Path]:
    """Lower-triangle heat map of adjusted p-values, significant cells starred; writes PNG and SVG
    (``path`` without or with either suffix). Returns the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(p_matrix.index)
    k = len(names)
    values = p_matrix.to_numpy(dtype=float)
    # lower triangle without the empty first row and last column: each pair once
    sub = values[1:, :-1]
    mask = np.triu(np.ones((k - 1, k - 1), dtype=bool), k=1) | ~np.isfinite(sub)
    shown = np.ma.masked_array(sub, mask=mask)
    fig, ax = plt.subplots(figsize=(1.6 + 0.9 * k, 1.0 + 0.75 * k), dpi=150)
    im = ax.imshow(shown, cmap="viridis_r", vmin=0, vmax=1)
    for i in range(k - 1):
        for j in range(i + 1):
            p = sub[i, j]
            if np.isfinite(p):
                text = ("< 0.001" if p < 0.001 else f"{p:.3f}") + ("*" if p < alpha else "")
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="black" if p < 0.5 else "white")  # light cells (small p) get dark text
    ax.set_xticks(range(k - 1), names[:-1], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k - 1), names[1:], fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="adjusted p")
    fig.tight_layout()
    base = Path(path)
    base = base.with_suffix("") if base.suffix.lower() in (".png", ".svg") else base
    base.parent.mkdir(parents=True, exist_ok=True)
    out = [base.with_suffix(".png"), base.with_suffix(".svg")]
    for p in out:
        save_figure(fig, p)
    plt.close(fig)
    return out
