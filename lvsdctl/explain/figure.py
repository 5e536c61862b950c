"""The study's Fig. 4: the 12-lead printout and rhythm strip, coloured by attribution.

Drawn on ECG paper proportions (25 mm/s, 10 mm/mV; 1 mm minor and 5 mm major grid) so a clinician
reads it like the printout the model saw: each lead is the 2.5 s piece at its place in the 3 x 4
layout, and the lead II rhythm strip runs underneath.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lvsdctl.signal.layout import PIECE_S, PRINTOUT_ROWS

ROW_SPACING_MV = 3.0
SMOOTH_S = 0.02  # attribution is smoothed over 20 ms so the colour follows waves, not samples


@dataclass
class LeadTrace:
    lead: str
    t0: float  # seconds from the start of the acquisition
    signal: np.ndarray  # mV (or normalised units)
    attribution: np.ndarray


def _smooth(a: np.ndarray, fs: float) -> np.ndarray:
    k = max(1, int(SMOOTH_S * fs))
    return np.convolve(np.abs(a), np.ones(k) / k, mode="same")


def _grid(ax, x_max: float, y_min: float, y_max: float) -> None:
    """ECG paper: 1 mm lines (0.04 s, 0.1 mV) and every fifth one darker, as two LineCollections."""
    from matplotlib.collections import LineCollection

    start = np.floor(y_min / 0.5) * 0.5
    xs = np.arange(0, x_max + 1e-9, 0.04)
    ys = start + np.arange(0, int(round((y_max - start) / 0.1)) + 1) * 0.1
    x_major = np.arange(len(xs)) % 5 == 0
    y_major = np.arange(len(ys)) % 5 == 0
    for major, colour, width in ((False, "#f4c7c7", 0.3), (True, "#e59a9a", 0.7)):
        vx = xs[x_major == major]
        hy = ys[y_major == major]
        lines = [((x, y_min), (x, y_max)) for x in vx] + [((0, y), (x_max, y)) for y in hy]
        ax.add_collection(LineCollection(lines, colors=colour, linewidths=width, zorder=0))


#: How `--show-waves` draws each boundary: faint, QRS boundaries a little less so.
BOUNDARY_STYLE = {"p_onset": ("#2b8a3e", ":"), "p_offset": ("#2b8a3e", ":"), "qrs_onset": ("#1c3f94", "-"),
                  "qrs_offset": ("#1c3f94", "-"), "t_offset": ("#7b2cbf", "--")}


def _draw_boundaries(ax, boundaries: dict[str, list[float]], x0: float, x1: float, baseline: float) -> None:
    """Faint vertical lines at the wave boundaries falling within [x0, x1) of one printed row."""
    half = ROW_SPACING_MV / 2 * 0.9
    for kind, times in boundaries.items():
        colour, style = BOUNDARY_STYLE.get(kind, ("grey", ":"))
        xs = [t for t in times if x0 <= t < x1]
        if xs:
            ax.vlines(xs, baseline - half, baseline + half, colors=colour, linestyles=style,
                      linewidths=0.6, alpha=0.45 if kind.startswith("qrs") else 0.3, zorder=2)


def _wrapped(text: str | list[str] | None, chars: int) -> list[str]:
    """Lines of `text` (a string or a list of paragraphs) wrapped at `chars` characters."""
    import textwrap

    if not text:
        return []
    paragraphs = [text] if isinstance(text, str) else list(text)
    return [line for para in paragraphs for line in textwrap.wrap(para, chars, break_on_hyphens=False) or [""]]


#: Characters per line of the title (10 pt) and of the notes (7 pt) across the map's 250 mm: a margin
#: below what fits, so the widest glyphs never reach the edge.
TITLE_CHARS, NOTE_CHARS = 115, 165


def plot_attribution_map(traces: list[LeadTrace], rhythm: LeadTrace | None, fs: float, title: str,
                         outputs: list[str | Path], *, subtitle: str | list[str] | None = None,
                         cmap: str = "turbo", boundaries: dict[str, list[float]] | None = None) -> list[Path]:
    """Draw the map and save it once per output path (format from the suffix: png, svg, pdf). The title
    and the notes (`subtitle`: one string or a list of notes) are wrapped, and the figure grows to hold
    them: nothing is clipped. `boundaries` (seconds, by kind: p_onset, p_offset, qrs_onset, qrs_offset,
    t_offset) are drawn faintly on every lead piece and on the rhythm strip (`explain --show-waves`)."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    from lvsdctl.plotting import pyplot, save

    plt = pyplot()
    by_lead = {t.lead: t for t in traces}
    rows = [[(lead, k * PIECE_S) for k, lead in enumerate(row)] for row in PRINTOUT_ROWS]
    n_rows = 3 + (rhythm is not None)
    all_attr = [_smooth(t.attribution, fs) for t in traces] + ([_smooth(rhythm.attribution, fs)] if rhythm else [])
    vmax = max((float(a.max()) for a in all_attr if a.size), default=1.0) or 1.0
    norm = Normalize(0.0, vmax)
    cm = plt.get_cmap(cmap)

    height_mv = ROW_SPACING_MV * n_rows
    title_lines, note_lines = _wrapped(title, TITLE_CHARS), _wrapped(subtitle, NOTE_CHARS)
    # inches, top to bottom: margin, title, the paper (250 mm for 10 s; 10 mm per mV), colour bar, notes
    top, title_h, paper_h = 0.12, 0.19 * len(title_lines) + 0.08, height_mv * 10 / 25.4
    bar_h, notes_h = 0.75, 0.14 * len(note_lines) + 0.12
    fig_w, fig_h = 250 / 25.4, top + title_h + paper_h + bar_h + notes_h
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes([0.02, (notes_h + bar_h) / fig_h, 0.96, paper_h / fig_h])
    y_top = 0.0
    y_bottom = -height_mv
    _grid(ax, 10.0, y_bottom, y_top)

    def draw(trace: LeadTrace, x0: float, baseline: float, label: str) -> None:
        sig = np.asarray(trace.signal, dtype=float)
        t = x0 + np.arange(len(sig)) / fs
        y = baseline + np.clip(sig, -ROW_SPACING_MV / 2, ROW_SPACING_MV / 2)
        pts = np.column_stack([t, y]).reshape(-1, 1, 2)
        segs = np.concatenate([pts[:-1], pts[1:]], axis=1)
        a = _smooth(trace.attribution, fs)
        lc = LineCollection(segs, colors=cm(norm(a[:-1])), linewidths=1.1, zorder=3)
        ax.add_collection(lc)
        ax.text(x0 + 0.05, baseline + 0.9, label, fontsize=9, fontweight="bold", zorder=4)

    for r, row in enumerate(rows):
        baseline = -ROW_SPACING_MV * (r + 0.5)
        for lead, start in row:
            if lead in by_lead:
                draw(by_lead[lead], start, baseline, lead)
                if boundaries:
                    _draw_boundaries(ax, boundaries, start, start + PIECE_S, baseline)
            else:
                ax.text(start + 0.05, baseline, f"{lead}: missing", fontsize=8, color="grey")
    if rhythm is not None:
        draw(rhythm, 0.0, -ROW_SPACING_MV * 3.5, f"{rhythm.lead} (rhythm)")
        if boundaries:
            _draw_boundaries(ax, boundaries, 0.0, 10.0, -ROW_SPACING_MV * 3.5)

    ax.set_xlim(0, 10)
    ax.set_ylim(y_bottom, y_top)
    ax.set_aspect(0.4, anchor="S")  # 1 mV (10 mm) against 1 s (25 mm); the paper sits on the colour bar
    ax.set_xticks([])
    ax.set_yticks([])
    fig.text(0.02, 1 - top / fig_h, "\n".join(title_lines), fontsize=10, va="top", linespacing=1.3)
    if note_lines:
        fig.text(0.02, (notes_h - 0.06) / fig_h, "\n".join(note_lines), fontsize=7, color="#444444", va="top",
                 linespacing=1.35)
    cax = fig.add_axes([0.30, (notes_h + 0.42) / fig_h, 0.40, 0.16 / fig_h])
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cm)
    bar = fig.colorbar(sm, cax=cax, orientation="horizontal")
    bar.set_label("|attribution| (smoothed over 20 ms)", fontsize=8, labelpad=1)
    bar.ax.tick_params(labelsize=7, pad=1)
    return save(fig, list(outputs))
