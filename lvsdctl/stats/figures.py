"""Figure 3 of the study: the matrix of Holm-adjusted pairwise p-values between models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def pvalue_matrix_figure(p_matrix: pd.DataFrame, path: str | Path, *, alpha: float = 0.05,
                         title: str = "Wilcoxon signed-rank, Holm-adjusted p", synthetic: bool = False) -> list[Path]:
    """Lower-triangle heat map of adjusted p-values, significant cells starred; writes PNG and SVG
    (``path`` without or with either suffix). Returns the written paths. ``synthetic``: the models or
    their data are synthetic (the title says so)."""
    from lvsdctl.plotting import pyplot, save, synthetic_title

    plt = pyplot()
    names = list(p_matrix.index)
    k = len(names)
    values = p_matrix.to_numpy(dtype=float)
    # lower triangle without the empty first row and last column: each pair once
    sub = values[1:, :-1]
    mask = np.triu(np.ones((k - 1, k - 1), dtype=bool), k=1) | ~np.isfinite(sub)
    shown = np.ma.masked_array(sub, mask=mask)
    longest = max((len(n) for n in names), default=8)
    size = (2.2 + 0.9 * k + 0.06 * longest, 1.6 + 0.75 * k + 0.05 * longest)
    fig, ax = plt.subplots(figsize=size, dpi=150, layout="constrained")
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
    ax.set_title(synthetic_title(title, synthetic), fontsize=9, wrap=True)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="adjusted p")
    base = Path(path)
    base = base.with_suffix("") if base.suffix.lower() in (".png", ".svg") else base
    return save(fig, [base.with_suffix(".png"), base.with_suffix(".svg")])
