"""Markdown evaluation report following the TRIPOD+AI checklist items a reader looks for, and a short
model card. Aggregates only: no record id, patient pseudonym or exact date appears (dates as years).

TRIPOD+AI: Collins GS et al. BMJ 2024;385:e078378. Model cards: Mitchell M et al. FAT* 2019.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.evaluate.metrics import METRIC_LABELS, compute_metrics
from lvsdctl.evaluate.tables import drop_blank_model, table2
from lvsdctl.tables import to_markdown

AGE_BANDS = [0, 65, 75, 85, np.inf]
AGE_LABELS = ["< 65", "65-74", "75-84", ">= 85"]
QRS_BANDS = [0, 150, np.inf]  # 150 ms: the usual CRT cut-off in LBBB
QRS_LABELS = ["QRS < 150 ms", "QRS >= 150 ms"]


def _years(acquired: pd.Series) -> str:
    years = pd.to_datetime(acquired.replace("", np.nan), errors="coerce", utc=True).dt.year.dropna()
    if years.empty:
        return "unknown"
    lo, hi = int(years.min()), int(years.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def data_section(records: pd.DataFrame) -> pd.DataFrame:
    """Per set: ECGs, patients, sites, years, LVSD prevalence (from the data file's /records)."""
    from lvsdctl.evaluate.evaluation import FITTING_SETS, validation_sets_of

    present = set(records["split"].astype(str))
    rows = []
    for s in [x for x in FITTING_SETS if x in present] + validation_sets_of(records["split"]):
        d = records[records["split"] == s]
        lab = d[d["label"].isin([0, 1])]
        rows.append({"Set": s, "ECGs": len(d), "Patients": d["patient"].nunique(),
                     "Sites": ", ".join(sorted(set(d["site"].astype(str)) - {""})) or "unknown",
                     "Years": _years(d["acquired"]) if "acquired" in d else "unknown",
                     "LVSD, n (%)": f"{int((lab['label'] == 1).sum())} ({100 * (lab['label'] == 1).mean():.1f})"
                     if len(lab) else "unlabelled"})
    return pd.DataFrame(rows)


def subgroup_table(df: pd.DataFrame, sets: list[str], threshold: float, *, formatted: bool = True) -> pd.DataFrame:
    """Sensitivity, specificity and AUROC by sex, age band, site and QRS duration, and (when the records
    carry `lvsdctl measure` columns) by LBBB criterion and measured QRS width; validation sets pooled."""
    d = df[df["split"].isin(sets) & df["label"].isin([0, 1])].copy()
    groups: list[tuple[str, str, pd.Series]] = []
    if "sex" in d:
        for v, name in (("F", "female"), ("M", "male")):
            groups.append(("sex", name, d["sex"] == v))
    if "age" in d and d["age"].notna().any():
        band = pd.cut(d["age"], AGE_BANDS, right=False, labels=AGE_LABELS)
        groups += [("age", lab, band == lab) for lab in AGE_LABELS]
    if "site" in d:
        groups += [("site", s, d["site"] == s) for s in sorted(set(d["site"].astype(str)) - {""})]
    if "qrs_ms" in d and d["qrs_ms"].notna().any():
        band = pd.cut(d["qrs_ms"], QRS_BANDS, right=False, labels=QRS_LABELS)
        groups += [("QRS duration", lab, band == lab) for lab in QRS_LABELS]
    from lvsdctl.measure.join import subgroups as measured_subgroups

    groups += [(var, name, pd.Series(mask, index=d.index)) for var, name, mask in measured_subgroups(d)]
    rows = []
    for var, name, mask in groups:
        g = d[mask.to_numpy()]
        if len(g) == 0:
            continue
        m = compute_metrics(g["label"].to_numpy(), g["score"].to_numpy(), threshold)
        rows.append({"Variable": var, "Group": name, "ECGs": len(g), "Patients": g["patient"].nunique(),
                     "LVSD": int(g["label"].sum()), "Sensitivity": m["sensitivity"], "Specificity": m["specificity"],
                     "AUROC": m["auroc"]})
    out = pd.DataFrame(rows)
    for c in ("Sensitivity", "Specificity", "AUROC"):
        if c in out and formatted:
            out[c] = out[c].map(lambda v: "n/a" if not np.isfinite(v) else f"{v:.3f}")
    return out


def calibration_table(calibration: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame([{"Set": s, "ECGs": c["n"], "Brier": f"{c['brier']:.3f}",
                          "Intercept": "n/a" if not np.isfinite(c["intercept"]) else f"{c['intercept']:.2f}",
                          "Slope": "n/a" if not np.isfinite(c["slope"]) else f"{c['slope']:.2f}"}
                         for s, c in calibration.items()])


def model_card(model_meta: dict, model_sha256: str, threshold, evaluation_metrics: pd.DataFrame) -> str:
    prep = model_meta.get("preprocessing") or {}
    history = model_meta.get("history") or []
    avg = evaluation_metrics[evaluation_metrics["set"] == "Average"].set_index("metric")["value"]
    perf = ", ".join(f"{METRIC_LABELS[m]} {avg[m]:.3f}" for m in ("accuracy", "sensitivity", "specificity", "auroc")
                     if m in avg)
    return "\n".join([
        "## Model card",
        "",
        f"- **Model**: `{model_meta.get('model_name', 'unknown')}`, checkpoint SHA-256 `{model_sha256[:16]}...`; "
        "its configuration is below.",
        "- **Training data**: SYNTHETIC ECGs only (lvsdctl synth): the model has never seen a patient's ECG."
        if model_meta.get("synthetic") else "- **Training data**: as recorded in the model file's provenance "
        "(`lvsdctl inspect`).",
        f"- **Trained for**: {len(history)} recorded epochs; task `{model_meta.get('task', 'lvsd')}`",
        "- **Intended use**: research on LVSD (LVEF < 40 %) detection from resting ECGs of adults with left bundle "
        "branch block, as a prompt for echocardiography; not a diagnosis, not for other rhythms or populations.",
        f"- **Input**: {'chain ' + str(prep['chain']) + ', ' if prep.get('chain') else ''}layout "
        f"{prep.get('layout', '?')}, {prep.get('fs', '?')} Hz, filter "
        f"`{json.dumps(prep.get('filter'))}`, normalisation `{prep.get('normalisation', '?')}`; data preprocessed "
        "otherwise are refused.",
        f"- **Operating point**: threshold {threshold.value:.4g} ({threshold.origin}); saved beside the model "
        "for `lvsdctl predict` and `lvsdctl explain`; `lvsdctl calibrate` chooses one on a site's own tuning data.",
        f"- **Performance (average of validation sets)**: {perf}.",
        "- **Limits**: small, retrospective cohorts; digitised paper ECGs resampled from 99-221 Hz; calibration and "
        "threshold may not transfer to other sites or prevalences; no prospective evaluation.",
        "",
        "Configuration (every key, as the model file records it):",
        "",
        "```json",
        json.dumps(model_meta.get("config") or {}, sort_keys=True, indent=2),
        "```",
        "",
    ])


def render_report(*, evaluation, scored: pd.DataFrame, data_records: pd.DataFrame, model_meta: dict,
                  model_sha256: str, model_path: str, data_path: str, provenance: list[dict],
                  synthetic: bool) -> str:
    """The report as markdown text. ``scored``: records of the evaluated ECGs with score and pred."""
    thr = evaluation.threshold
    prep = model_meta.get("preprocessing") or {}
    stages = [p.get("command", "?").split(" ")[1] if " " in p.get("command", "") else p.get("command", "?")
              for p in provenance]
    model_synthetic = bool(model_meta.get("synthetic", False))
    warning = ("> **SYNTHETIC data**: these figures describe lvsdctl's synthetic cohort, not patients."
               if synthetic else "")
    if model_synthetic:
        warning += ("\n>\n" if warning else "") + ("> **SYNTHETIC model**: trained on synthetic ECGs only; whatever "
                                                   "it scores, its output says nothing about patients.")
    lines = [
        f"# LVSD evaluation{' (SYNTHETIC)' if synthetic or model_synthetic else ''}: "
        f"{model_meta.get('model_name', 'model')}",
        "",
        warning,
        "",
        "## Data (TRIPOD+AI 5-8, 20)",
        "",
        f"Data file `{data_path}`; outcome: LVSD = LVEF < 40 % on an echocardiogram paired with the ECG; "
        "unit of analysis: the ECG-echo pair; patients are kept within one set.",
        "",
        to_markdown(data_section(data_records)),
        "## Preprocessing (TRIPOD+AI 9)",
        "",
        f"Stages applied: {' -> '.join(stages) or 'unknown'}. Signals: layout {prep.get('layout', '?')}, "
        f"{prep.get('fs', '?')} Hz, filter `{json.dumps(prep.get('filter'))}`, normalisation "
        f"`{prep.get('normalisation', '?')}`.",
        "",
        "## Model (TRIPOD+AI 12)",
        "",
        f"`{model_path}` (SHA-256 `{model_sha256}`), family `{model_meta.get('model_name', '?')}`. "
        "Score = softmax(logits)[:, 1], the predicted LVSD probability.",
        "",
        "## Threshold",
        "",
        f"{thr.value:.4g}: {thr.origin}. Frozen before any validation set was scored; an ECG is called LVSD when "
        "its score is at or above it. "
        + (f"Saved as the model's operating point (`{Path(evaluation.operating_point_file).name}`), which `lvsdctl "
           "predict` and `lvsdctl explain` use by default." if evaluation.operating_point_file else
           "Not saved as the model's operating point (`--no-save-threshold`)."),
        "",
        "## Discrimination and classification (TRIPOD+AI 23)",
        "",
        f"95 % CIs: percentile bootstrap, {evaluation.n_boot} replicates resampling patients (all ECGs of a drawn "
        f"patient together), seed {evaluation.seed}. \"Average\" is the plain mean over the validation sets "
        "(the study's definition).",
        "",
        to_markdown(drop_blank_model(table2(evaluation.metrics))),
        "## Calibration",
        "",
        "Brier score; calibration intercept (logit(p) as offset; 0 ideal) and slope (1 ideal) by logistic "
        "recalibration.",
        "",
        to_markdown(calibration_table(evaluation.calibration)),
        "## Subgroups (validation sets pooled)",
        "",
        to_markdown(subgroup_table(scored, evaluation.validation_sets, thr.value)),
        "Subgroups are small; read them as descriptions, not tests (the study planned none).",
        "",
        "## Limitations (TRIPOD+AI 27)",
        "",
        "- Retrospective data; several ECGs per patient (CIs account for it, point estimates weight patients by "
        "their number of ECGs).",
        "- Metrics at one threshold depend on prevalence (PPV, NPV); AUROC/AUPRC summarise all thresholds.",
        "- Digitised printouts and native ECGs were merged into one layout; performance may differ on other formats "
        "or sampling rates.",
        "- Comorbidities and medication were not available; LBBB by conventional, not strict, criteria.",
        "",
        model_card(model_meta, model_sha256, thr, evaluation.metrics),
    ]
    return "\n".join(lines).rstrip() + "\n"
