"""The `evaluate` and `predict` verbs (file to file), and scoring ECG files with a checkpoint.

Inference streams `/signals` in blocks of rows (one h5py read per batch), so memory stays flat on
large files. Every model returns logits (batch, 2); the LVSD score is softmax(logits)[:, 1].
The model's expected preprocessing (layout, fs, filter, normalisation) must equal the data's, else
MismatchError (exit code 5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.evaluate.evaluation import Evaluation
from lvsdctl.summary import Summary
from lvsdctl.tables import table_format, write_frame, write_text


@dataclass
class Scored:
    records: pd.DataFrame  # /records rows of the scored ECGs (file order)
    rows: np.ndarray  # their row indices in the data file
    score: np.ndarray  # float64 LVSD probability
    model_meta: dict
    model_sha256: str
    data_records: pd.DataFrame  # every row of the data file's /records (for the report's data section)
    provenance: list[dict]
    synthetic: bool


def score_file(model_path: str, data_path: str, *, sets: list[str] | None = None, batch_size: int = 64,
               device: str = "cpu", progress: Callable[[int, int], None] | None = None,
               precision: str = "fp32") -> Scored:
    """Scores of the ECGs of ``data_path`` (all rows, or those whose split is in ``sets``);
    ``progress(done, total)`` after every batch; ``precision``: see `lvsdctl.evaluate.precision` (CPU only)."""
    import torch

    from lvsdctl.data.dataset import check_layout, read_preprocessing
    from lvsdctl.evaluate.precision import prepare
    from lvsdctl.hdf5 import open_input, provenance, read_records, sha256_file
    from lvsdctl.models.checkpoint import check_preprocessing, load_checkpoint
    from lvsdctl.train.devices import resolve_device

    dev = resolve_device(device)
    model, meta = load_checkpoint(model_path, map_location=dev)
    model, autocast = prepare(model, precision, dev)
    model_sha = sha256_file(model_path) if model_path != "-" else ""
    with open_input(data_path, kind={"ecg"}) as f:
        if "signals" not in f:
            raise InputError(f"{data_path}: has no /signals (run `lvsdctl preprocess` first)")
        signals = f["signals"]
        check_layout(data_path, signals)
        check_preprocessing(meta.get("preprocessing") or {}, read_preprocessing(signals),
                            model_path=model_path, data_path=data_path)
        records = read_records(f)
        if len(records) != signals.shape[0]:
            raise InputError(f"{data_path}: /records has {len(records)} rows but /signals {signals.shape[0]}")
        if sets:
            unknown = set(sets) - set(records["split"].astype(str))
            if unknown:
                raise InputError(f"{data_path}: no ECG in set(s) {', '.join(sorted(unknown))}")
            rows = np.flatnonzero(records["split"].astype(str).isin(sets).to_numpy())
        else:
            rows = np.arange(len(records))
        scores = np.empty(rows.size, dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, rows.size, batch_size):
                idx = rows[start:start + batch_size]
                span = int(idx[-1] - idx[0] + 1)
                if span <= 4 * idx.size:  # nearly contiguous rows: one slice read is fastest
                    x = np.asarray(signals[idx[0]:idx[-1] + 1], dtype=np.float32)[idx - idx[0]]
                else:  # sparse rows (e.g. a set interleaved with others): h5py point selection
                    x = np.asarray(signals[idx], dtype=np.float32)
                if not np.isfinite(x).all():
                    raise InputError(f"{data_path}: non-finite samples in ECG rows {idx[0]}-{idx[-1]}")
                with autocast:
                    logits = model(torch.from_numpy(x).to(dev))
                if logits.ndim != 2 or logits.shape[1] != 2:
                    raise MismatchError(f"{model_path}: model returned shape {tuple(logits.shape)}, expected (batch, 2)")
                scores[start:start + idx.size] = torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy()
                if progress is not None:
                    progress(start + idx.size, rows.size)
        prov = provenance(f)
        synthetic = bool(f.attrs.get("synthetic", False))
    return Scored(records.iloc[rows].reset_index(drop=True), rows, scores, meta, model_sha, records, prov, synthetic)


def is_lvsdctl_file(path: str) -> bool:
    """True for an HDF5 file (or stdin); anything else is taken for ECG exports to ingest."""
    import h5py

    return path == "-" or (Path(path).is_file() and h5py.is_hdf5(path))


def prepare_exports(inputs: list[str], model_path: str, workdir: str | Path, *, secret_file: str | None = None,
                    demo_secret: bool = False, jobs: int = 1, rejects: str | None = None):
    """Ingest ECG exports (XML, DICOM, WFDB, ... files or folders) and preprocess them exactly as the model
    expects (its recorded layout, rate, filter and normalisation); returns the temporary `ecg` file, the
    ingest summary (every rejected file with its reason; the report goes to `rejects` if given) and the
    preprocess summary (ECGs read but not usable by this model, e.g. too short, by reason)."""
    from lvsdctl.hdf5 import open_input
    from lvsdctl.ingest import ingest
    from lvsdctl.models.checkpoint import read_meta
    from lvsdctl.signal.filters import FilterSpec
    from lvsdctl.signal import preprocess

    with open_input(model_path, kind={"model"}) as f:
        prep = read_meta(f).get("preprocessing") or {}
    if not {"layout", "fs", "filter"} <= set(prep):
        raise MismatchError(f"{model_path}: the model does not record its preprocessing; run `lvsdctl ingest` and "
                            "`lvsdctl preprocess` yourself and pass the resulting file")
    workdir = Path(workdir)
    raw, ecg = workdir / "exports-raw.h5", workdir / "exports-ecg.h5"
    summary = ingest(inputs, raw, secret=secret_file, demo_secret=demo_secret, jobs=jobs,
                     rejects=rejects)
    filt = prep["filter"]
    pre = preprocess(str(raw), str(ecg), layout=prep["layout"], fs=float(prep["fs"]),
                     filter=FilterSpec.from_json(filt) if isinstance(filt, dict) else filt,
                     resample=prep.get("resample", "linear"), normalise=prep.get("normalisation", "none"))
    return str(ecg), summary, pre


@dataclass
class PredictSummary(Summary):
    """What `predict` wrote; with exports as input, also what became of them (every file accounted for:
    inputs = accepted + rejected + duplicates; ECGs read but not preprocessable for this model by reason)."""

    output: str
    ecgs: int
    predicted_lvsd: int
    threshold: float
    threshold_origin: str
    model: str
    inputs: int | None = None  # the export files given (None: an `ecg` file was given)
    accepted: int | None = None
    duplicates: int | None = None
    rejected: list[dict] = field(default_factory=list)  # {"path", "reason"} per rejected export
    rejects_csv: str | None = None
    not_preprocessable: dict[str, int] = field(default_factory=dict)
    not_lbbb: int = 0  # ECGs outside the model's intended use (not LBBB, or not assessable)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = super().to_dict()
        if self.inputs is None:  # an `ecg` file was scored: nothing about exports to report
            for key in ("inputs", "accepted", "duplicates", "rejected", "rejects_csv", "not_preprocessable"):
                del d[key]
        return d


def predict(model_path: str, data: str | list[str], output: str, *, threshold: str = "0.5",
            sets: list[str] | None = None, batch_size: int = 64, device: str = "cpu", secret_file: str | None = None,
            demo_secret: bool = False, jobs: int = 1, progress: Callable[[int, int], None] | None = None,
            precision: str = "fp32", check_lbbb: bool = True) -> PredictSummary:
    """Score ECGs and write a `predictions` file; returns what it did.

    ``data``: one `ecg` file, or ECG exports (files/folders of any format `ingest` reads), which are
    ingested and preprocessed the model's way in a temporary folder first (needs the site's
    pseudonymisation secret, like `ingest`)."""
    import tempfile

    from lvsdctl.evaluate.metrics import predict_labels
    from lvsdctl.evaluate.store import PredictionMeta, write_predictions
    from lvsdctl.evaluate.thresholds import choose_threshold, parse_policy
    from lvsdctl.hdf5 import atomic_output

    pol = parse_policy(threshold)
    inputs = [data] if isinstance(data, (str, Path)) else [str(d) for d in data]
    with tempfile.TemporaryDirectory(prefix="lvsdctl-predict-") as tmp:
        ingested = prepared = None
        if len(inputs) == 1 and is_lvsdctl_file(inputs[0]):
            data_path = inputs[0]
        else:
            # rejected exports are listed beside the output, as `ingest` does
            rejects = None if output == "-" else f"{output}.rejects.csv"
            data_path, ingested, prepared = prepare_exports(inputs, model_path, tmp, secret_file=secret_file,
                                                  demo_secret=demo_secret, jobs=jobs, rejects=rejects)
        scored = score_file(model_path, data_path, sets=sets, batch_size=batch_size, device=device,
                            progress=progress, precision=precision)
        if pol.kind == "fixed":
            thr = choose_threshold(pol)
        else:
            rec = scored.records
            sel = (rec["split"].astype(str) == "tune").to_numpy() & rec["label"].isin([0, 1]).to_numpy()
            thr = choose_threshold(pol, rec["label"].to_numpy()[sel], scored.score[sel], set_name="tune")
        pred = predict_labels(scored.score, thr.value)
        warnings = _not_lbbb(data_path, scored) if check_lbbb else np.full(len(scored.rows), "", dtype=object)
        scored.records["lbbb_warning"] = warnings
        meta = PredictionMeta(thr.value, thr.origin, thr.policy, str(scored.model_meta.get("model_name", "")),
                              scored.model_sha256)
        params = {"threshold": thr.policy, "sets": sets or "all", "batch_size": batch_size, "precision": precision,
                  "exports": None if data_path == inputs[0] else len(inputs)}
        with atomic_output(output, kind="predictions", inputs=[model_path, data_path], parameters=params) as f:
            write_predictions(f, scored.records, scored.score, pred, meta)
    summary = PredictSummary(output=output, ecgs=int(scored.score.size), predicted_lvsd=int(pred.sum()),
                             threshold=thr.value, threshold_origin=thr.origin, model=meta.model_name,
                             not_lbbb=int((warnings != "").sum()), warnings=_lbbb_summary(warnings, check_lbbb))
    if ingested is not None:
        summary.inputs, summary.accepted, summary.duplicates = ingested.inputs, ingested.accepted, ingested.duplicates
        summary.rejected = [{"path": r.path, "reason": r.reason} for r in ingested.rejects]
        summary.rejects_csv, summary.not_preprocessable = ingested.rejects_csv, prepared.rejected_reasons
    return summary


def _not_lbbb(data_path: str, scored: Scored) -> np.ndarray:
    """Per scored ECG, why it may be outside the model's intended use (not LBBB), "" when it is LBBB."""
    from lvsdctl.measure.join import intended_use

    return intended_use(data_path, scored.rows, scored.records)


def _lbbb_summary(warnings: np.ndarray, checked: bool) -> list[str]:
    if not checked:
        return ["LBBB not checked (--no-lbbb-check): the model is meant for ECGs with LBBB"]
    n = int((warnings != "").sum())
    return [f"{n} of {len(warnings)} ECG(s) are not LBBB by the conventional criteria or the machine's statement, "
            "or could not be assessed: the model is meant for ECGs with LBBB; see the lbbb_warning column"] if n else []


def evaluate(model_path: str, data_path: str, output: str | None = None, *, threshold: str = "0.5",
             tune_set: str = "tune", sets: list[str] | None = None, n_boot: int = 1000, seed: int = 0,
             batch_size: int = 64, device: str = "cpu", report: str | None = None, figures: str | None = None,
             table: str | None = None, measures: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Score the tuning and validation sets, freeze the threshold on the tuning set, compute metrics with
    patient-bootstrap CIs and calibration, write an `evaluation` file (and the report, figures and Table 2
    layout (.csv, .md or .json) if asked). Returns the ``Evaluation``."""
    from lvsdctl.evaluate.evaluation import evaluate_scores, validation_sets_of
    from lvsdctl.evaluate.store import PredictionMeta, write_calibration, write_metrics, write_predictions
    from lvsdctl.evaluate.thresholds import parse_policy
    from lvsdctl.hdf5 import open_input, read_records

    if table:
        table_format(table)  # before any work
    with open_input(data_path, kind={"ecg"}) as f:
        splits = read_records(f)["split"].astype(str)
    val = sets or validation_sets_of(splits)
    if not val:
        raise InputError(f"{data_path}: no validation set (run `lvsdctl split` first)")
    needs_tune = parse_policy(threshold).kind != "fixed"
    if needs_tune and tune_set not in set(splits):
        raise InputError(f"{data_path}: threshold '{threshold}' is chosen on set '{tune_set}', which is absent")
    wanted = list(dict.fromkeys(([tune_set] if needs_tune else []) + list(val)))
    scored = score_file(model_path, data_path, sets=wanted, batch_size=batch_size, device=device, progress=progress)
    ev = evaluate_scores(scored.records, scored.score, policy=threshold, tune_set=tune_set, validation_sets=val,
                         n_boot=n_boot, seed=seed)
    meta = PredictionMeta(ev.threshold.value, ev.threshold.origin, ev.threshold.policy,
                          str(scored.model_meta.get("model_name", "")), scored.model_sha256,
                          extra={"validation_sets": val})
    if output:
        from lvsdctl.hdf5 import atomic_output

        params = {"threshold": threshold, "tune_set": tune_set, "validation_sets": val, "bootstrap": n_boot,
                  "seed": seed}
        with atomic_output(output, kind="evaluation", inputs=[model_path, data_path], parameters=params) as f:
            write_predictions(f, scored.records, scored.score, ev.pred, meta)
            write_metrics(f, ev.metrics)
            write_calibration(f, ev.calibration)
            f.attrs["bootstrap"] = int(n_boot)
            f.attrs["bootstrap_unit"] = "patient"
            f.attrs["ci_level"] = 0.95
            f.attrs["seed"] = int(seed)
    scored_df = scored.records.assign(score=scored.score, pred=ev.pred)
    if measures:  # LBBB criteria and measured QRS width for the subgroups (split --measures stores them)
        from lvsdctl.measure.join import annotate

        scored_df, _ = annotate(scored_df, measures)
    from lvsdctl.evaluate.report import subgroup_table

    ev.subgroups = subgroup_table(scored_df, val, ev.threshold.value, formatted=False).to_dict(orient="records")
    if figures:
        from lvsdctl.evaluate.plots import evaluation_figures

        evaluation_figures(scored_df, val, ev.threshold.value, ev.calibration, figures)
    if report:
        from lvsdctl.evaluate.report import render_report

        text = render_report(evaluation=ev, scored=scored_df, data_records=scored.data_records,
                             model_meta=scored.model_meta, model_sha256=scored.model_sha256,
                             model_path=Path(model_path).name, data_path=Path(data_path).name,
                             provenance=scored.provenance, synthetic=scored.synthetic)
        write_text(report, text)
    if table:
        from lvsdctl.evaluate.tables import drop_blank_model, table2

        write_frame(drop_blank_model(table2(ev.metrics)), table)
    return ev
