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


def _drawn_tick_labels(axis, renderer) -> list[tuple[str, object]]:
    """(text, extent) of the tick labels matplotlib draws: ticks inside the view interval only."""
    lo, hi = sorted(axis.get_view_interval())
    span = (hi - lo) * 1e-9
    out = []
    for tick in axis.get_major_ticks():
        if not lo - span <= tick.get_loc() <= hi + span:
            continue
        for label in (tick.label1, tick.label2):
            if label.get_visible() and label.get_text().strip():
                box = _extent(label, renderer)
                if box is not None:
                    out.append((label.get_text(), box))
    return out


def _overlap(a, b, tolerance: float) -> bool:
    return a.x0 < b.x1 - tolerance and b.x0 < a.x1 - tolerance and a.y0 < b.y1 - tolerance and b.y0 < a.y1 - tolerance


def text_problems(fig, tolerance: float = 1.0) -> list[str]:
    """Text that does not fit: the figure's tight bounding box (everything drawn) beyond the canvas, a
    title or note outside it, tick labels of one axis overlapping, or tick labels running into another
    panel. Empty when the figure reads well."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    problems = []
    tight = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)
    if (tight.x0 < canvas.x0 - tolerance or tight.y0 < canvas.y0 - tolerance or tight.x1 > canvas.x1 + tolerance
            or tight.y1 > canvas.y1 + tolerance):
        problems.append("the figure's tight bounding box leaves the canvas")
    ticks = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for t in axis.get_ticklabels(which="both")}
    for text in fig.findobj(Text):
        if id(text) in ticks or not text.get_visible() or not text.get_text().strip():
            continue
        box = _extent(text, renderer)
        if box is not None and (box.x0 < canvas.x0 - tolerance or box.y0 < canvas.y0 - tolerance
                                or box.x1 > canvas.x1 + tolerance or box.y1 > canvas.y1 + tolerance):
            problems.append(f"text {text.get_text()[:40]!r} leaves the canvas")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = _drawn_tick_labels(axis, renderer)
            for i in range(len(labels)):
                for j in range(i + 1, len(labels)):
                    if _overlap(labels[i][1], labels[j][1], tolerance):
                        problems.append(f"tick labels {labels[i][0]!r} and {labels[j][0]!r} overlap")
            for text, box in labels:
                if any(other is not ax and _overlap(box, other.get_window_extent(renderer), tolerance)
                       for other in axes):
                    problems.append(f"tick label {text!r} runs into another panel")
    return problems


def save(fig, paths: list[str | Path], *, dpi: int = 150) -> list[Path]:
    """Save `fig` once per path (the format from the suffix), at its own size, each file written
    atomically (`lvsdctl.outputs.save_figure`), and close it."""
    plt = pyplot()
    try:
        if os.environ.get(CHECK_ENV):
            problems = text_problems(fig)
            if problems:
                raise AssertionError(f"{Path(paths[0]).name}: " + "; ".join(problems))
        from lvsdctl.outputs import save_figure  # atomic, checked and locked like any output

        return [save_figure(fig, p, dpi=dpi) for p in paths]
    finally:
        plt.close(fig)
