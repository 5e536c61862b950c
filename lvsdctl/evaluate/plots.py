"""Evaluation figures (matplotlib, Agg backend; PNG and SVG of each):
ROC and precision-recall curves per set with the operating point of the frozen threshold, the
reliability diagram, and the score distributions by class. Figures of synthetic data, or of a model
trained on it, say SYNTHETIC in their title."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.plotting import pyplot as _plt
from lvsdctl.plotting import save, synthetic_title


def _save(fig, outdir: Path, name: str) -> list[Path]:
    return save(fig, [outdir / f"{name}.png", outdir / f"{name}.svg"])


def pr_steps(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) of the precision-recall step curve whose area is the average precision.

    `precision_recall_curve` gives a point per threshold; several share a recall (negatives added
    between two positives), with falling precision. Drawn as they are, those points make spikes below
    the curve. Average precision counts, at each recall, the precision where that recall is first
    reached: only those points are kept, in increasing recall, for `drawstyle="steps-pre"`."""
    from sklearn.metrics import precision_recall_curve

    prec, rec, _ = precision_recall_curve(y, score)
    prec, rec = prec[::-1], rec[::-1]  # thresholds decreasing: recall rises from 0 to 1
    first = np.concatenate([[True], np.diff(rec) > 0])
    rec, prec = rec[first], prec[first].copy()
    if prec.size > 1:  # sklearn's starting point (recall 0, precision 1) has no width: start level instead
        prec[0] = prec[1]
    return rec, prec


def _sets(df: pd.DataFrame, sets: list[str]):
    for s in sets:
        d = df[(df["split"] == s) & df["label"].isin([0, 1])]
        if d["label"].nunique() == 2:
            yield s, d["label"].to_numpy().astype(int), d["score"].to_numpy(dtype=float)


def roc_pr_figures(df: pd.DataFrame, sets: list[str], threshold: float, outdir: str | Path, *,
                   synthetic: bool = False) -> list[Path]:
    """ROC and PR curves, one line per set, a marker where the frozen threshold operates."""
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    plt = _plt()
    outdir = Path(outdir)
    fig_r, ax_r = plt.subplots(figsize=(5, 5.3), layout="constrained")
    fig_p, ax_p = plt.subplots(figsize=(5, 5.3), layout="constrained")
    for s, y, sc in _sets(df, sets):
        fpr, tpr, _ = roc_curve(y, sc)
        line, = ax_r.plot(fpr, tpr, label=f"{s} (AUROC {roc_auc_score(y, sc):.3f})")
        pred = sc >= threshold
        sens, spec = pred[y == 1].mean(), (~pred[y == 0]).mean()
        ax_r.plot(1 - spec, sens, "o", color=line.get_color())
        rec, prec = pr_steps(y, sc)
        ax_p.plot(rec, prec, drawstyle="steps-pre", color=line.get_color(),
                  label=f"{s} (AP {average_precision_score(y, sc):.3f})")
        ppv = y[pred].mean() if pred.any() else np.nan
        ax_p.plot(sens, ppv, "o", color=line.get_color())
    ax_r.plot([0, 1], [0, 1], ":", color="grey", lw=1)
    ax_r.set(xlabel="1 - specificity", ylabel="sensitivity", xlim=(-0.01, 1.01), ylim=(-0.01, 1.02),
             title=synthetic_title(f"ROC\n(dots: threshold {threshold:.3g})", synthetic))
    ax_p.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", xlim=(-0.01, 1.01), ylim=(-0.01, 1.02),
             title=synthetic_title(f"Precision-recall\n(dots: threshold {threshold:.3g})", synthetic))
    ax_r.legend(loc="lower right", fontsize=8)
    ax_p.legend(loc="lower left", fontsize=8)
    return _save(fig_r, outdir, "roc") + _save(fig_p, outdir, "pr")


def reliability_figure(calibration: dict[str, dict], outdir: str | Path, *, synthetic: bool = False) -> list[Path]:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5.3), layout="constrained")
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=1, label="perfect")
    for s, c in calibration.items():
        ax.plot(c["curve_mean_predicted"], c["curve_fraction_positive"], "o-",
                label=f"{s} (slope {c['slope']:.2f}, intercept {c['intercept']:.2f})")
    ax.set(xlabel="mean predicted LVSD probability", ylabel="observed LVSD fraction",
           title=synthetic_title("Reliability (quantile bins)", synthetic), xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=7)
    return _save(fig, Path(outdir), "reliability")


def score_distribution_figure(df: pd.DataFrame, sets: list[str], threshold: float, outdir: str | Path, *,
                              synthetic: bool = False) -> list[Path]:
    plt = _plt()
    n = max(1, len(sets))
    fig, axes = plt.subplots(1, n, figsize=(max(3.2 * n, 5.0), 3.4), sharey=True, squeeze=False,
                             layout="constrained")
    bins = np.linspace(0, 1, 26)
    for ax, s in zip(axes[0], sets):
        d = df[df["split"] == s]
        for label, name, color in ((0, "no LVSD", "tab:blue"), (1, "LVSD", "tab:red")):
            ax.hist(d.loc[d["label"] == label, "score"], bins=bins, alpha=0.6, color=color, label=name, density=True)
        ax.axvline(threshold, color="black", ls="--", lw=1)
        ax.set(title=s, xlabel="LVSD score")
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(synthetic_title(f"LVSD scores by class (dashed: threshold {threshold:.3g})", synthetic), fontsize=10)
    return _save(fig, Path(outdir), "scores")


def evaluation_figures(df: pd.DataFrame, sets: list[str], threshold: float, calibration: dict[str, dict],
                       outdir: str | Path, *, synthetic: bool = False) -> list[Path]:
    """All evaluation figures into ``outdir``; returns the written files. ``synthetic``: the data or the
    model's training data are synthetic (every title says so)."""
    return (roc_pr_figures(df, sets, threshold, outdir, synthetic=synthetic)
            + reliability_figure(calibration, outdir, synthetic=synthetic)
            + score_distribution_figure(df, sets, threshold, outdir, synthetic=synthetic))
