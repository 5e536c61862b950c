"""What every lvsdctl figure shares: the Agg backend, saving, the SYNTHETIC label, and the check that
its text fits.

Figures are laid out to fit their canvas (constrained layout, or explicit room) and saved at that size,
so nothing is clipped and nothing depends on `bbox_inches="tight"` cropping. `text_problems(fig)` lists
text that leaves the canvas, tick labels that overlap each other, and tick labels that run into
another panel; with `LVSDCTL_CHECK_FIGURES=1` in the environment `save` raises on any (the tests set
it, so every figure lvsdctl draws is checked).
"""

from __future__ import annotations

import os
from pathlib import Path

from lvsdctl.tables import SYNTHETIC

CHECK_ENV = "LVSDCTL_CHECK_FIGURES"


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def synthetic_title(title: str, synthetic: bool) -> str:
    """`title` with the SYNTHETIC label in front when the figure comes from synthetic data or a model
    trained on it."""
    return f"{SYNTHETIC} data: {title}" if synthetic else title


def _extent(artist, renderer):
    try:
        box = artist.get_window_extent(renderer)
    except (RuntimeError, TypeError, ValueError):
        return None
    return box if box.width > 0 and box.height > 0 else None


def text_problems(fig, tolerance: float = 1.0) -> list[str]:
    """Text that does not fit: outside the canvas, tick labels of one axis overlapping, or tick labels
    running into another panel. Empty when the figure reads well."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    problems = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        box = _extent(text, renderer)
        if box is None:
            continue
        if (box.x0 < canvas.x0 - tolerance or box.y0 < canvas.y0 - tolerance or box.x1 > canvas.x1 + tolerance
                or box.y1 > canvas.y1 + tolerance):
            problems.append(f"text {text.get_text()[:40]!r} leaves the canvas")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [(t.get_text(), _extent(t, renderer)) for t in axis.get_ticklabels() if t.get_visible()
                      and t.get_text().strip()]
            labels = [(s, b) for s, b in labels if b is not None]
            for i in range(len(labels)):
                for j in range(i + 1, len(labels)):
                    a, b = labels[i][1], labels[j][1]
                    if a.x0 < b.x1 - tolerance and b.x0 < a.x1 - tolerance and a.y0 < b.y1 - tolerance \
                            and b.y0 < a.y1 - tolerance:
                        problems.append(f"tick labels {labels[i][0]!r} and {labels[j][0]!r} overlap")
            for s, box in labels:
                for other in axes:
                    if other is ax or getattr(other, "_colorbar", None) is not None:
                        continue
                    o = other.get_window_extent(renderer)
                    if box.x0 < o.x1 - tolerance and o.x0 < box.x1 - tolerance and box.y0 < o.y1 - tolerance \
                            and o.y0 < box.y1 - tolerance:
                        problems.append(f"tick label {s!r} runs into another panel")
    return problems


def save(fig, paths: list[str | Path], *, dpi: int = 150) -> list[Path]:
    """Save `fig` once per path (the format from the suffix), at its own size, and close it."""
    plt = pyplot()
    try:
        if os.environ.get(CHECK_ENV):
            problems = text_problems(fig)
            if problems:
                raise AssertionError(f"{Path(paths[0]).name}: " + "; ".join(problems))
        written = []
        for p in paths:
            p = Path(p)
            p.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(p, dpi=dpi)
            written.append(p)
        return written
    finally:
        plt.close(fig)
