"""Rendering of stats results as text and files (CSV, markdown, JSON); the terminal is the CLI's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.tables import SYNTHETIC_NOTE, table_format, to_markdown, write_frame, write_json, write_text


def fmt_p(p, missing: str = "n/a") -> str:
    """'< 0.001' or '0.012'; `missing` for None or a non-finite p."""
    if p is None or not np.isfinite(p):
        return missing
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
        "Sig. (Holm)": p["significant"].map({True: "yes", False: "no"}),
        "Shapiro p (diff)": p["shapiro_p_differences"].map(fmt_p),
    })


def write_compare(result, path: str | Path, per_ecg: pd.DataFrame | None = None, *, synthetic: bool = False) -> None:
    """The model comparison as .json (everything), .csv (the pairwise tests) or .md (summary + tables);
    `synthetic`: made from synthetic data (the document says so first)."""
    fmt = table_format(path)
    if fmt == "json":
        d = result.to_dict()
        if per_ecg is not None:
            d["per_ecg"] = per_ecg.to_dict(orient="records")
        write_json({**d, "synthetic": synthetic}, path)
    elif fmt == "csv":
        write_frame(result.pairwise, path, synthetic=synthetic)
    else:
        head = f"{SYNTHETIC_NOTE}.\n\n" if synthetic else ""
        text = (head + "Model comparison (the study's tests)\n\n"
                + "\n".join(f"- {line}" for line in compare_summary_lines(result)) + "\n\n"
                + "Pairwise Wilcoxon signed-rank tests, Holm-adjusted\n\n" + to_markdown(pairwise_frame(result)))
        if per_ecg is not None:
            text += "\n## Per-ECG comparisons\n\n" + to_markdown(per_ecg)
        write_text(path, text)
