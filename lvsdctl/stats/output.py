"""Rendering of stats results for the terminal and for files (CSV, markdown, JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.evaluate.tables import to_markdown, to_rich


def fmt_p(p) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_eq(p) -> str:
    """'p < 0.001' or 'p = 0.012'."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def compare_summary_lines(result) -> list[str]:
    rm, fr, sph = result.rm_anova, result.friedman, result.sphericity
    lines = [
        f"{len(result.models)} models x {result.n_blocks} blocks ({len(result.sets)} validation sets x "
        f"{len(result.metrics)} metrics)",
        f"Repeated-measures ANOVA: F({rm['df_num']:g}, {rm['df_den']:g}) = {rm['F']:.2f}, {p_eq(rm['p'])}"
        + (f" (Greenhouse-Geisser {p_eq(rm['p_greenhouse_geisser'])})" if "p_greenhouse_geisser" in rm else ""),
        f"Friedman: chi2({fr['df']}) = {fr['statistic']:.2f}, {p_eq(fr['p'])}",
    ]
    if sph.get("computable"):
        lines.append(f"Mauchly's sphericity: W = {sph['W']:.3f}, chi2({sph['df']}) = {sph['chi2']:.2f}, "
                     f"{p_eq(sph['p'])}, Greenhouse-Geisser epsilon = {sph['gg_epsilon']:.3f}")
    else:
        lines.append(f"Mauchly's sphericity: not computable ({sph.get('reason')})")
    return lines + [f"note: {n}" for n in result.notes]


def pairwise_frame(result) -> pd.DataFrame:
    p = result.pairwise.copy()
    return pd.DataFrame({
        "Model A": p["model_a"], "Model B": p["model_b"], "Median diff": p["median_difference"].map("{:+.3f}".format),
        "W": p["statistic"].map("{:g}".format), "p": p["p"].map(fmt_p), "p (Holm)": p["p_holm"].map(fmt_p),
        "Significant": p["significant"].map({True: "yes", False: "no"}),
        "Shapiro p (diff)": p["shapiro_p_differences"].map(fmt_p),
    })


def write_compare(result, path: str | Path, per_ecg: pd.DataFrame | None = None) -> None:
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt == "json":
        d = result.to_dict()
        if per_ecg is not None:
            d["per_ecg"] = per_ecg.to_dict(orient="records")
        path.write_text(json.dumps(_clean(d), indent=2), encoding="utf-8")
    elif fmt == "csv":
        result.pairwise.to_csv(path, index=False)
    elif fmt in ("md", "markdown"):
        text = "\n".join(f"- {line}" for line in compare_summary_lines(result)) + "\n\n" + to_markdown(pairwise_frame(result))
        if per_ecg is not None:
            text += "\n## Per-ECG comparisons\n\n" + to_markdown(per_ecg)
        path.write_text(text, encoding="utf-8")
    else:
        from lvsdctl.errors import InputError

        raise InputError(f"{path}: unknown output format; use .csv, .md or .json")


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


def print_frame(console, frame: pd.DataFrame, title: str | None = None) -> None:
    console.print(to_rich(frame, title))
