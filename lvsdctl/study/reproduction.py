"""`lvsdctl study report RUNS`: the reproduction report, this site's study beside the article's.

One markdown file (and its HTML twin with `html=`), with its figures in `<report>_files/`:
the data per set beside Table 1; what was trained (epochs, learning rates, devices); Table 2 for the
article's six models with patient-bootstrap CIs; their comparison (repeated-measures ANOVA, Friedman,
Wilcoxon + Holm: Fig. 3); Table 3; the SS and Sq strategy families (Supplementary Tables S1/S2 with
the same tests); attribution summaries by lead and wave (Fig. 4); every number beside the article's
published value with the difference and its 95% CI (`side_by_side`); the article's Table 2 audited
(`lvsdctl stats audit`); and every expected file that is missing. Synthetic data are flagged at the
top. The report holds aggregates only: no record, patient or date.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from lvsdctl import __version__
from lvsdctl.outputs import atomic_file, check_output, claims_outputs
from lvsdctl.study import grid
from lvsdctl.summary import Summary

#: The article's Table 2 rows, in its order.
ARTICLE_ORDER = ("fcn", "lstm-fcn", "resnet", "inceptiontime", "sq-pf4", "ss-ff")


@dataclass
class ReportSummary(Summary):
    """What `report` wrote: the report (and its HTML), its figures, which models were found, what is missing."""

    output: str
    html: str | None
    figures: list[str]
    models_expected: int
    models_evaluated: int
    missing: dict[str, list[str]]
    synthetic: bool
    preset: str | None
    side_by_side: str | None
    problems: list[str] = field(default_factory=list)


class _Doc:
    """Markdown lines with numbered sections, and the figures written beside the report."""

    def __init__(self, out: Path):
        self.lines: list[str] = []
        self.section = 0
        self.out = out
        self.files = out.parent / f"{out.stem}_files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.figures: list[str] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def heading(self, title: str) -> None:
        self.section += 1
        self.add(f"## {self.section}. {title}", "")

    def figure(self, path: Path, alt: str) -> None:
        self.figures.append(str(path))
        self.add(f"![{alt}]({path.relative_to(self.out.parent).as_posix()})", "")


def _fmt(v, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}f}"


def _md(frame) -> str:
    from lvsdctl.tables import to_markdown

    return to_markdown(frame)


def _site_long(runs, models, pub):
    """model label, validation_set (the article's set names), metric, value: the set rows of ``models``."""
    t = runs.metrics[runs.metrics["model"].isin(models) & (runs.metrics["set"] != "Average")]
    return t.assign(model=t["model"].map(grid.LABELS), validation_set=t["set"].map(lambda s: pub.sets.get(s, s)))[
        ["model", "validation_set", "metric", "value"]]


def _compare(doc: _Doc, runs, models, pub, name: str, alpha: float) -> None:
    """The study's tests over the evaluated ``models``: lines, pairwise table, p-value figure."""
    from lvsdctl.errors import InputError
    from lvsdctl.stats.comparison import compare_models
    from lvsdctl.stats.figures import pvalue_matrix_figure
    from lvsdctl.stats.output import compare_summary_lines, pairwise_frame

    have = [m for m in models if runs.has(m)]
    if len(have) < 3:
        doc.add(f"- not run: {len(have)} of these models evaluated; the Friedman test needs 3", "")
        return
    long = _site_long(runs, have, pub)
    undefined = sorted(set(long.loc[long["value"].isna(), "metric"]))
    if undefined:
        doc.add(f"- left out, undefined for some model on some set: {', '.join(undefined)}")
        long = long[~long["metric"].isin(undefined)]
    try:
        result = compare_models(long, alpha=alpha)
    except InputError as exc:
        doc.add(f"- not run: {exc}", "")
        return
    doc.add(*[f"- {x}" for x in compare_summary_lines(result)], "")
    sig = result.pairwise[result.pairwise["significant"]]
    doc.add(f"Significant pairs (Wilcoxon, Holm, alpha {alpha}): "
            + (", ".join(f"{r.model_a} vs {r.model_b}" for r in sig.itertuples()) or "none") + ".", "")
    if len(have) <= 6:
        doc.add(_md(pairwise_frame(result).drop(columns=["W", "Shapiro p (diff)"])), "")
    path = doc.files / name
    pvalue_matrix_figure(result.p_matrix(), path, alpha=alpha, synthetic=runs.synthetic)
    doc.figure(path.with_suffix(".png"), f"{name}: Holm-adjusted Wilcoxon p-values")


def _table2_md(runs, models, pub, *, with_ci: bool = True, average_only: bool = False) -> str:
    from lvsdctl.evaluate.tables import table2

    t = runs.metrics[runs.metrics["model"].isin(models)].copy()
    if average_only:
        t = t[t["set"] == "Average"]
    if t.empty:
        return "_no evaluation found_\n"
    order = {m: i for i, m in enumerate(models)}
    t = t.sort_values("model", key=lambda c: c.map(order), kind="stable")
    t["model"] = t["model"].map(grid.LABELS)
    t["set"] = t["set"].map(lambda s: pub.sets.get(s, s))
    return _md(table2(t, with_ci=with_ci))


def _header(doc: _Doc, runs, pub, preset: str | None) -> list[str]:
    doc.add(f"# Reproduction report: {pub.citation['short_title']}", "")
    if runs.synthetic:
        doc.add("> **SYNTHETIC DATA.** These results come from lvsdctl's synthetic cohort: no real patient is in it, "
                "and they say nothing about real patients or about the article's claims.", "")
    if preset == "quick":
        doc.add("> **Quick preset.** The models were trained briefly and narrow, to try the pipeline; the numbers "
                "say nothing about the models. `lvsdctl study script --preset paper` runs the study.", "")
    doc.add(f"This site's run of the study (`{runs.root.name}/`), beside {pub.citation['text']}. Written by lvsdctl "
            f"{__version__} on {datetime.now(timezone.utc):%Y-%m-%d}" + (f", preset `{preset}`." if preset else "."), "")
    evaluated = [m for m in runs.names if runs.has(m)]
    doc.add(f"- models evaluated: {len(evaluated)} of {len(runs.names)}")
    for what, names in runs.missing.items():
        if names:
            doc.add(f"- **missing {what}**: " + ", ".join(grid.LABELS.get(n, n) for n in names))
    doc.add(*[f"- problem: {p}" for p in runs.problems], "")
    return evaluated


def _data_section(doc: _Doc, runs, pub) -> None:
    import pandas as pd

    from lvsdctl.evaluate.evaluation import validation_sets_of

    doc.heading("Data")
    t1 = pub.table1().set_index("validation_set")
    rows = []
    for s in validation_sets_of(pd.Series(list(runs.set_counts))):
        c, art = runs.set_counts[s], pub.sets.get(s)
        a = t1.loc[art] if art in t1.index else None
        rows.append({"Set": s, "Article's set": art or "", "ECGs": c["ecgs"], "Patients": c["patients"],
                     "LVSD": f"{c['lvsd']} ({c['lvsd'] / c['ecgs']:.1%})" if c["ecgs"] else "",
                     "Article ECGs": int(a["n"]) if a is not None else "",
                     "Article LVSD": f"{int(a['positives'])} ({a['positives'] / a['n']:.1%})" if a is not None else ""})
    doc.add(_md(pd.DataFrame(rows)) if rows else "_no evaluation, so no set counts_", "")


def _training_section(doc: _Doc, runs, pub) -> None:
    import pandas as pd

    doc.heading("What was trained")
    doc.add(f"The article: baselines {pub.recipe['baselines']}; ECG-FM {pub.recipe['ecgfm']}.", "")
    rows = [{"Model": grid.LABELS[m], "Epochs": f"{i['epochs_run']}/{i['epochs']}",
             "lr": f"{i['lr']:g}" if i["lr"] else "", "Batch": i["batch_size"],
             "Frozen layers": "" if i["freeze"] is None else i["freeze"],
             "Device": f"{i['device']} x{i['world_size']}" if (i.get("world_size") or 1) > 1 else i["device"],
             "Training (min)": f"{i['seconds'] / 60:.1f}"} for m, i in runs.models.items()]
    doc.add(_md(pd.DataFrame(rows)) if rows else "_no model file found_", "")
    notes = (runs.manifest.get("preset") or {}).get("notes", [])
    doc.add(*[f"- {n}" for n in notes], *([""] if notes else []))


def _table3_section(doc: _Doc, runs, pub) -> None:
    import pandas as pd

    doc.heading("Table 3: ECG-FM from scratch")
    rows = []
    for label, m in (("InceptionTime", "inceptiontime"), ("ECG-FM scratch", grid.SCRATCH), ("SS-FF", "ss-ff")):
        art = pub.table3["rows"][label]
        avg = runs.metrics[(runs.metrics["model"] == m) & (runs.metrics["set"] == "Average")]
        value = {r.metric: r.value for r in avg.itertuples()}
        rows.append({"Model": label, "Accuracy": _fmt(value.get("accuracy")), "AUROC": _fmt(value.get("auroc")),
                     "Article accuracy": _fmt(art["accuracy"]), "Article AUROC": _fmt(art["auroc"])})
    doc.add(f"{pub.table3['caption']}.", "", _md(pd.DataFrame(rows)))


def _attribution_section(doc: _Doc, runs) -> None:
    """Per explained model: each lead's share of the 12 leads' attribution on each set, and wave shares."""
    import numpy as np
    import pandas as pd

    doc.heading("Where the models look (Fig. 4)")
    doc.add("DeepLIFT (all-zero reference, as the article) over whole validation sets, summarised per lead and per "
            "wave (the article showed single ECGs; it found the QRS complexes and T waves of V1-V4 most important). "
            "Share = a lead's mean absolute attribution over the 12 leads' total; waves: the mean share of each lead's "
            "attribution in each wave.", "")
    if not runs.attributions:
        doc.add("_no attribution file found_", "")
        return
    by_model: dict[str, list[dict]] = {}
    for a in runs.attributions:
        by_model.setdefault(a["model"], []).append(a)
    for model, items in by_model.items():
        doc.add(f"### {grid.LABELS.get(model, model)}", "")
        table = {}
        for a in items:
            try:
                _attribution_lines(doc, a, table)
            except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError):  # a damaged summary
                table.pop(a["set"], None)
                doc.add(f"- {a['set']}: the summary in {Path(a['file']).name} is not in the form explain writes")
        if table:
            frame = pd.DataFrame(table)
            frame = frame.loc[frame.mean(axis=1).sort_values(ascending=False).index]
            doc.add("", _md(frame.map(lambda v: f"{v:.1%}").rename_axis("Lead").reset_index()))
        for a in items:
            try:
                fig = _attribution_figure(a, doc.files)
            except (KeyError, TypeError, ValueError, AttributeError):
                fig = None
            if fig is not None:
                doc.figure(fig, f"attributions of {model} on {a['set']}")


def _attribution_lines(doc: _Doc, a: dict, table: dict) -> None:
    """One set's line (and its column of `table`) from an attributions file's summary; every value printed
    is a number read as one (a damaged summary raises, and the caller says so)."""
    import numpy as np

    s = (a["summary"] or {}).get("all")
    if not s:
        doc.add(f"- {a['set']}: no summary in {Path(a['file']).name}")
        return
    twelve = [x for x in a["leads"] if "rhythm" not in x]
    shares = {x: float(s["lead_mean_abs"][x]) for x in twelve}
    total = sum(shares.values()) or np.nan
    column = {x: v / total for x, v in shares.items()}
    waves = {k: np.nanmean([float(s["wave_share"][x][k]) for x in a["leads"] if s["wave_share"][x].get(k) is not None])
             for k in a["waves"]}
    v14 = sum(column.get(x, 0.0) for x in ("V1", "V2", "V3", "V4"))
    outcomes = ", ".join(f"{g} {int(a['summary'][g]['n'])}" for g in ("TP", "FN", "FP", "TN") if g in a["summary"])
    table[a["set"]] = column
    doc.add(f"- {a['set']}: {a['ecgs']} ECGs ({outcomes}), {a['method']}, max |convergence delta| "
            f"{a['max_abs_convergence_delta']:.2g}; V1-V4 carry {v14:.0%} of the attribution (a third if "
            "even); waves: " + ", ".join(f"{k} {v:.2f}" for k, v in waves.items()))


def _article_section(doc: _Doc, runs, pub, audited, corrected):
    """Side by side with the article; returns the full frame (or None)."""
    from lvsdctl.study.side_by_side import article_values, side_by_side

    doc.heading("Beside the article")
    doc.add("Difference = this site minus the article. Its 95% CI combines this site's patient-bootstrap CI with the "
            "article's own sampling uncertainty (from the confusion matrix its row implies; none for AUPRC). The "
            "article's values are taken as audited (next section); cells the audit moved say so.", "")
    if runs.metrics.empty:
        doc.add("_no evaluation to compare_", "")
        return None
    sbs = side_by_side(runs.metrics, article_values(pub, audited, corrected), pub)
    if sbs.empty:
        doc.add("_none of the article's six models was evaluated_", "")
        return None
    from lvsdctl.tables import write_text

    path = doc.files / "side_by_side.csv"
    write_text(path, sbs.to_csv(index=False, lineterminator="\n"))
    inside = sbs["article_in_site_ci"].dropna()
    differ = sbs[(sbs["diff_ci_low"] > 0) | (sbs["diff_ci_high"] < 0)]
    doc.add(f"- {int(inside.sum())} of {len(inside)} published values lie inside this site's 95% CI; {len(differ)} of "
            f"{len(sbs)} differences have a 95% CI that excludes 0.", "",
            f"Average rows (every set: appendix B and `{path.relative_to(doc.out.parent).as_posix()}`):", "",
            _md(_sbs_frame(sbs[sbs["set"] == "Average"], pub)), "")
    return sbs


@claims_outputs("output", "html")
def report(runs: str | os.PathLike, output: str | os.PathLike = "report.md", *, html: str | os.PathLike | None = None,
           alpha: float = 0.05, progress: Callable[[int, int], None] | None = None) -> ReportSummary:
    """Write the reproduction report of the study run directory ``runs``; see the module docstring."""
    from lvsdctl.stats import audit
    from lvsdctl.stats.audit_readings import corrected_table
    from lvsdctl.stats.consistency import findings
    from lvsdctl.study.gather import gather
    from lvsdctl.study.published import published
    from lvsdctl.tables import write_text

    steps = 6
    tick = (lambda i: progress(i, steps)) if progress else (lambda i: None)
    out = Path(output)
    check_output(out.parent / f"{out.stem}_files", directory=True, what="figures folder")  # before any work
    data = gather(runs)
    pub = published()
    doc = _Doc(out)
    preset = (data.manifest.get("preset") or {}).get("name")
    evaluated = _header(doc, data, pub, preset)
    _data_section(doc, data, pub)
    _training_section(doc, data, pub)
    tick(1)

    doc.heading("Table 2: the article's six models")
    thresholds = sorted({f"{v['threshold']:g}" for v in data.thresholds.values()})
    doc.add(f"Threshold {', '.join(thresholds) or 'n/a'}; 95% CIs from a patient bootstrap; Average = plain mean over "
            "the validation sets. Sq-PF4 is the article's Sq-PF (8 of 12 layers trained).", "",
            _table2_md(data, list(ARTICLE_ORDER), pub), "")
    t = pub.tests["table2"]
    doc.heading("Model comparison (Fig. 3)")
    doc.add(f"The article: repeated-measures ANOVA F = {t['rm_anova_F']}, p {t['rm_anova_p']}; Friedman p "
            f"{t['friedman_p']}; {t['posthoc']}. This site:", "")
    _compare(doc, data, list(ARTICLE_ORDER), pub, "fig3", alpha)
    _table3_section(doc, data, pub)
    tick(2)

    for key, family, title in (("s1", "ss", "Supplementary Table S1: single-step (SS) strategies"),
                               ("s2", "sq", "Supplementary Table S2: sequential (Sq) strategies")):
        models, tests = list(grid.FAMILIES[family]), pub.tests[key]
        doc.heading(title)
        doc.add(f"The article: {tests['text']} (RM-ANOVA p {tests['rm_anova_p']}, Friedman p {tests['friedman_p']}). "
                f"{pub.supplementary[key]['note']}.", "", "This site, Average rows:", "",
                _table2_md(data, models, pub, with_ci=False, average_only=True), "")
        _compare(doc, data, models, pub, key, alpha)
    founder = [m for m in data.names if m in grid.FOUNDER]
    if founder:
        doc.heading("Beyond the article: ECGFounder's strategies")
        doc.add("ECGFounder (`study script --ecgfounder`) fine-tuned with the study's strategies counted in its 7 stages; "
                "the article has no numbers to compare. Average rows:", "",
                _table2_md(data, founder, pub, with_ci=False, average_only=True), "")
    tick(3)

    _attribution_section(doc, data)
    tick(4)

    audited = audit(pub.table2(), pub.sizes(), source="the article's Table 2")
    sbs = _article_section(doc, data, pub, audited, corrected_table(pub.table2(), audited))
    doc.heading("The article's Table 2, audited")
    doc.add("`lvsdctl stats audit --study`: can each row's accuracy, sensitivity, specificity, PPV, NPV and F1 come "
            "from one confusion matrix of its set's size (Table 1) at the printed precision?", "",
            *[f"- {x}" for x in findings(audited)], "")
    tick(5)

    doc.add("## Appendix A. Every model (Table 2 layout)", "", _table2_md(data, list(data.names), pub), "")
    if sbs is not None:
        doc.add("## Appendix B. Beside the article, every set", "", _md(_sbs_frame(sbs[sbs["set"] != "Average"], pub)), "")
    text = "\n".join(doc.lines)
    write_text(out, text)
    html_path = None
    if html:
        from lvsdctl.study.html import markdown_to_html

        html_path = str(html)
        write_text(Path(html), markdown_to_html(text, title=f"Reproduction report ({data.root.name})",
                                                base=Path(html).parent, md_base=out.parent))
    tick(6)
    missing = {k: v for k, v in data.missing.items() if v}
    return ReportSummary(str(out), html_path, doc.figures, len(data.names), len(evaluated), missing, data.synthetic,
                         preset, str(doc.files / "side_by_side.csv") if sbs is not None else None, data.problems)


def _sbs_frame(df, pub):
    import pandas as pd

    from lvsdctl.evaluate.metrics import METRIC_LABELS

    def site(v, lo, hi) -> str:
        if not math.isfinite(v):
            return "n/a"
        return _fmt(v) + (f" ({_fmt(lo, 2)}-{_fmt(hi, 2)})" if math.isfinite(lo) and math.isfinite(hi) else "")

    def diff(d, lo, hi) -> str:
        return "n/a" if not math.isfinite(d) else f"{d:+.3f} ({lo:+.2f} to {hi:+.2f})"

    return pd.DataFrame({
        "Model": df["model"].map(lambda m: grid.LABELS.get(pub.models.get(m, ""), m)), "Set": df["set"],
        "Metric": df["metric"].map(METRIC_LABELS),
        "This site (95% CI)": [site(v, lo, hi) for v, lo, hi in zip(df["site"], df["ci_low"], df["ci_high"])],
        "Article": df["article"].map(_fmt),
        "Difference (95% CI)": [diff(d, lo, hi) for d, lo, hi in zip(df["difference"], df["diff_ci_low"],
                                                                     df["diff_ci_high"])],
        "Note": df["note"],
    })


def _is_png(path: Path) -> bool:
    """Whether `path` is a PNG image of at most 64 MiB (the explain step's figure; anything else is not copied)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89PNG\r\n\x1a\n" and path.stat().st_size <= 64 << 20
    except OSError:
        return False


def _attribution_figure(a: dict, files_dir: Path) -> Path | None:
    """The explain step's own figure, or one drawn from the file's summary when it is missing."""
    figure = Path(a["figure"]) if a.get("figure") else None
    if figure is not None and figure.is_file() and not figure.is_symlink() and _is_png(figure):
        import shutil

        dst = files_dir / figure.name
        with atomic_file(dst, what="figure") as tmp:
            shutil.copyfile(figure, tmp)
        return dst
    if not a["summary"]:
        return None
    from lvsdctl.explain.cohort import plot_cohort_summary

    dst = files_dir / f"{a['model']}-{a['set']}.png"
    plot_cohort_summary(a["summary"], a["leads"], dst, title=f"{a['model']} on {a['set']} ({a['ecgs']} ECGs, "
                        f"{a['method']}){', SYNTHETIC data' if a['synthetic'] else ''}")
    return dst
