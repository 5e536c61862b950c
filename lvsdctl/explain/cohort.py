"""Cohort mode: explain many ECGs in batches and aggregate where the model looks.

The study's limitation was that its explanations were only local; this gives the global view: mean
absolute attribution per lead and per wave, separately for true/false positives and negatives.
Waves come from `lvsdctl measure` on each ECG as the model saw it; an ECG whose delineation failed
keeps its attribution map but is left out of the wave summary (and counted), so failed delineation
never shows as model behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lvsdctl.errors import InputError
from lvsdctl.explain.api import lead_pieces, measure_input
from lvsdctl.explain.attribute import attribute
from lvsdctl.explain.waves import WAVES, from_analysis, wave_shares
from lvsdctl.measure.lbbb import intended_use_warning
from lvsdctl.outputs import claims_outputs
from lvsdctl.record import LEADS12
from lvsdctl.signal.layout import RHYTHM_KEY
from lvsdctl.summary import Summary

GROUPS = ("TP", "FN", "FP", "TN", "unlabelled")


def outcome(label: int, predicted: bool) -> str:
    if label not in (0, 1):
        return "unlabelled"
    return {(1, True): "TP", (1, False): "FN", (0, True): "FP", (0, False): "TN"}[(label, predicted)]


@dataclass
class CohortExplanation(Summary):
    """What `explain_cohort` found: where the model looks, per outcome group (TP, FN, FP, TN)."""

    input: str
    model: str
    set: str | None
    ecgs: int
    method: str
    threshold: float
    threshold_source: str  # "operating point", "command line", "default"
    threshold_origin: str
    synthetic: bool  # the ECGs are synthetic, or the model was trained on synthetic data
    caveat: str | None
    max_abs_convergence_delta: float
    delineation_problems: dict[str, int]
    groups: dict[str, int]  # ECGs per outcome group
    delineation: dict[str, int]  # ECGs per delineation status (ok, partial, failed)
    excluded_failed_delineation: int  # left out of `summary`: their wave shares would mean nothing
    not_lbbb: int  # ECGs outside the model's intended use (not LBBB, or not assessable)
    warnings: list[str]
    summary: dict  # per group: mean |attribution| per lead, mean share per lead and wave
    output: str
    files: list[str]


@claims_outputs("output", "figure")
def explain_cohort(data_path: str, *, model_path: str, output: str, split: str | None = "internal",
                   method: str = "deeplift", threshold: float | None = None, threshold_from: str | None = None,
                   batch_size: int = 16, limit: int | None = None, figure: str | Path | None = None,
                   save_maps: bool = True, progress: Callable[[int, int], None] | None = None,
                   precision: str = "fp32") -> CohortExplanation:
    """Explain every ECG of set `split` of an `ecg` file into an `attributions` file (-o), aggregated by
    outcome group at the model's operating point (or `threshold` / `threshold_from`, as `explain`);
    `progress(done, total)` after every batch; ``precision``: fp32 or bf16 (autocast)."""
    from lvsdctl.data.dataset import read_preprocessing
    from lvsdctl.evaluate.operating_point import resolve_threshold
    from lvsdctl.data.finite import require_finite
    from lvsdctl.hdf5 import atomic_output, open_input, read_records, write_json_attr, write_records
    from lvsdctl.models.checkpoint import check_preprocessing, load_checkpoint

    model, meta = load_checkpoint(model_path)
    pre = meta.get("preprocessing") or {}
    choice = resolve_threshold(model_path, threshold=threshold, threshold_from=threshold_from)
    if choice.warning:
        import logging

        logging.getLogger(__name__).warning(choice.warning)
    thr = choice.value
    with open_input(data_path, kind={"ecg"}) as f:
        signals = f["signals"]
        found = read_preprocessing(signals)
        check_preprocessing(pre, found, model_path=model_path, data_path=data_path)
        layout, fs = found["layout"], float(found["fs"])
        normalised = found.get("normalisation", "none") not in ("none", None)  # LBBB criteria need mV
        synthetic = bool(f.attrs.get("synthetic", False)) or bool(meta.get("synthetic", False))
        df = read_records(f)
        rows = np.arange(len(df)) if split is None else np.flatnonzero(df["split"].to_numpy() == split)
        if not len(rows):
            sets = sorted(set(df["split"]) - {""})
            raise InputError(f"{data_path}: no ECG in set {split!r} (sets: {', '.join(sets) or 'none: run split'})")
        if limit:
            rows = rows[:limit]
        leads = [*LEADS12, RHYTHM_KEY]  # the standard order, rhythm strip last
        n = len(rows)
        lead_abs = np.zeros((n, len(leads)), dtype=np.float64)
        shares = np.full((n, len(leads), len(WAVES)), np.nan)
        scores = np.zeros(n)
        deltas = np.zeros(n)
        problems: dict[str, int] = {}
        status = np.full(n, "", dtype=object)
        lbbb = np.full(n, "", dtype=object)  # the intended-use warning, "" for an LBBB ECG
        beat_cols: dict[str, list] = {}
        caveat = None
        with atomic_output(output, kind="attributions", inputs=[f, model_path],
                           parameters={"model": str(model_path), "set": split, "method": method,
                                       "threshold": thr, "threshold_origin": choice.origin, "n": n,
                                       "precision": precision}) as out:
            maps = (out.create_dataset("attributions", shape=(n, *signals.shape[1:]), dtype="float32",
                                       chunks=(1, *signals.shape[1:]), compression="gzip", compression_opts=1)
                    if save_maps else None)
            for lo in range(0, n, batch_size):
                idx = np.sort(rows[lo:lo + batch_size])
                x = signals[idx]
                require_finite(data_path, x, idx)
                attr = attribute(model, x, method=method, batch_size=batch_size, precision=precision)
                caveat = attr.caveat
                scores[lo:lo + len(idx)] = attr.score
                deltas[lo:lo + len(idx)] = attr.delta
                if maps is not None:
                    maps[lo:lo + len(idx)] = attr.values
                apieces = lead_pieces(attr.values, layout, fs)
                for b in range(len(idx)):
                    m = measure_input(x[b], layout, fs, normalised)
                    d = from_analysis(m.analysis, x.shape[-1], fs)
                    status[lo + b] = d.status
                    lbbb[lo + b] = intended_use_warning(m.row)
                    _collect_beats(beat_cols, m.beats, lo + b)
                    for p in d.problems:
                        problems[p] = problems.get(p, 0) + 1
                    for j, lead in enumerate(leads):
                        t0, a = apieces[lead]
                        lead_abs[lo + b, j] = np.abs(a[b]).mean()
                        if d.usable:  # a failed delineation's shares would show as model behaviour
                            sh = wave_shares(a[b], d.masks, int(round(t0 * fs)))
                            shares[lo + b, j] = [sh[w] for w in WAVES]
                if progress is not None:
                    progress(lo + len(idx), n)
            sub = df.iloc[np.sort(rows)].reset_index(drop=True)
            sub = sub[[c for c in ("record_id", "patient", "site", "split", "label", "sex", "age", "qrs_ms")
                       if c in sub.columns]]
            groups = np.array([outcome(int(l), s >= thr) for l, s in zip(sub["label"], scores)])
            sub["score"] = scores
            sub["outcome"] = groups
            sub["convergence_delta"] = deltas
            sub["delineation"] = status
            sub["lbbb_warning"] = lbbb
            write_records(out, sub)
            g = out.create_group("beats", track_order=True)
            for c, parts in beat_cols.items():
                g.create_dataset(c, data=np.concatenate(parts) if parts else np.zeros(0))
            out.create_dataset("lead_abs_attribution", data=lead_abs)
            out.create_dataset("wave_shares", data=shares)
            out.attrs["leads"] = leads
            out.attrs["waves"] = list(WAVES)
            out.attrs["method"] = method
            out.attrs["threshold"] = thr
            out.attrs["threshold_origin"] = choice.origin
            out.attrs["synthetic"] = synthetic
            usable = np.isin(status, ("ok", "partial"))
            summary = aggregate(leads, lead_abs[usable], shares[usable], groups[usable])
            summary["excluded_failed_delineation"] = int((~usable).sum())
            write_json_attr(out, "summary", summary)
    files = []
    if figure:
        from lvsdctl.plotting import synthetic_title

        title = synthetic_title(f"{Path(model_path).name} on set {split or 'all'} ({n} ECGs, {method}; threshold "
                                f"{thr:.3g}, {choice.source})", synthetic)
        files = plot_cohort_summary(summary, leads, figure, title=title)
    not_lbbb = int((lbbb != "").sum())
    warnings = ([f"{not_lbbb} of {n} ECGs are not LBBB by the conventional criteria or could not be assessed: "
                 "the model is meant for ECGs with LBBB (records column lbbb_warning)"] if not_lbbb else [])
    return CohortExplanation(input=str(data_path), model=str(model_path), set=split, ecgs=n, method=method,
                             threshold=thr, threshold_source=choice.source, threshold_origin=choice.origin,
                             synthetic=synthetic, caveat=caveat, max_abs_convergence_delta=float(np.abs(deltas).max()),
                             delineation_problems=problems, groups={g: int((groups == g).sum()) for g in GROUPS},
                             delineation={st: int((status == st).sum()) for st in ("ok", "partial", "failed")},
                             excluded_failed_delineation=int((~usable).sum()), not_lbbb=not_lbbb,
                             warnings=warnings, summary=summary, output=str(output), files=[str(p) for p in files])


def _collect_beats(cols: dict[str, list], beats: dict[str, np.ndarray], row: int) -> None:
    """Append one ECG's beats (lvsdctl.measure.table.BEAT_COLUMNS) to the per-beat columns."""
    for k, v in beats.items():
        cols.setdefault(k, []).append(np.full(len(v), row, dtype=np.int64) if k == "record" else v)


def aggregate(leads: list[str], lead_abs: np.ndarray, shares: np.ndarray, groups: np.ndarray) -> dict:
    """Per outcome group: mean |attribution| per lead and mean wave shares per lead."""
    out = {}
    for g in (*GROUPS, "all"):
        m = np.ones(len(groups), bool) if g == "all" else groups == g
        if not m.any():
            continue
        out[g] = {
            "n": int(m.sum()),
            "lead_mean_abs": {lead: float(lead_abs[m, j].mean()) for j, lead in enumerate(leads)},
            "wave_share": {lead: {w: float(np.nanmean(shares[m, j, k])) if np.isfinite(shares[m, j, k]).any()
                                  else None for k, w in enumerate(WAVES)} for j, lead in enumerate(leads)},
        }
    return out


def plot_cohort_summary(summary: dict, leads: list[str], path: str | Path, title: str) -> list[Path]:
    """Mean |attribution| per lead by outcome group (bars), and the lead x wave share matrix of each
    group (heat maps sharing the lead axis: its labels are written once, on the first)."""
    from lvsdctl.plotting import pyplot, save

    plt = pyplot()
    groups = [g for g in ("TP", "FN", "FP", "TN") if g in summary] or ["all"]
    fig = plt.figure(figsize=(3.0 * (len(groups) + 1) + 2.5, 6.0), layout="constrained")
    grid = fig.add_gridspec(1, len(groups) + 1, width_ratios=[1.5] + [1] * len(groups))
    ax = fig.add_subplot(grid[0])
    width = 0.8 / len(groups)
    for i, g in enumerate(groups):
        vals = [summary[g]["lead_mean_abs"][lead] for lead in leads]
        ax.barh(np.arange(len(leads)) + i * width, vals, height=width, label=f"{g} (n={summary[g]['n']})")
    ax.set_yticks(np.arange(len(leads)) + width * (len(groups) - 1) / 2, leads, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("mean |attribution| per sample", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title("by lead", fontsize=9)
    ax.legend(fontsize=7)
    heat = []
    for k, g in enumerate(groups):
        hx = fig.add_subplot(grid[k + 1], sharey=heat[0] if heat else None)
        mat = np.array([[summary[g]["wave_share"][lead][w] if summary[g]["wave_share"][lead][w] is not None
                         else np.nan for w in WAVES] for lead in leads])
        im = hx.imshow(mat, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        hx.set_xticks(range(len(WAVES)), WAVES, fontsize=7)
        if heat:
            hx.tick_params(labelleft=False)
        else:
            hx.set_yticks(range(len(leads)), leads, fontsize=7)
        hx.set_title(f"{g}: share per wave", fontsize=9)
        heat.append(hx)
    fig.colorbar(im, ax=heat, shrink=0.7, label="share of |attribution|")
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    return save(fig, [path.with_suffix(suffix) for suffix in dict.fromkeys([path.suffix or ".png", ".svg"])],
                dpi=130)
