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
from lvsdctl.outputs import claims_outputs
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
    from lvsdctl.data.finite import require_finite
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
                require_finite(data_path, x, idx)
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
    ingest summary (every rejected file with its reason; the report goes to `rejects` if given), the
    preprocess summary (ECGs read but not usable by this model, e.g. too short, by reason) and the
    temporary `ecg-raw` file."""
    from lvsdctl.hdf5 import open_input
    from lvsdctl.ingest import ingest
    from lvsdctl.models.checkpoint import read_meta
    from lvsdctl.signal import preprocess
    from lvsdctl.signal.chain import ChainConfig

    with open_input(model_path, kind={"model"}) as f:
        prep = read_meta(f).get("preprocessing") or {}
    if not {"layout", "fs", "filter"} <= set(prep):
        raise MismatchError(f"{model_path}: the model does not record its preprocessing; run `lvsdctl ingest` and "
                            "`lvsdctl preprocess` yourself and pass the resulting file")
    workdir = Path(workdir)
    raw, ecg = workdir / "exports-raw.h5", workdir / "exports-ecg.h5"
    summary = ingest(inputs, raw, secret=secret_file, demo_secret=demo_secret, jobs=jobs,
                     rejects=rejects)
    cfg = ChainConfig.from_attrs(prep)
    pre = preprocess(str(raw), str(ecg), layout=cfg.layout, fs=cfg.fs, filter=cfg.filter, resample=cfg.resample,
                     normalise=cfg.normalise)
    return str(ecg), summary, pre, str(raw)


@dataclass
class PredictSummary(Summary):
    """What `predict` wrote: the threshold and where it came from, the per-ECG `results` (file, record,
    acquisition time, score, call, warnings), and with exports as input what became of every file
    (inputs = accepted + rejected + duplicates; ECGs read but not preprocessable for this model by reason)."""

    output: str
    ecgs: int  # ECGs scored
    predicted_lvsd: int
    threshold: float
    threshold_source: str  # "operating point", "command line", "fitted", "default"
    threshold_origin: str
    model: str
    model_synthetic: bool  # the model was trained on synthetic data: its calls say nothing about patients
    data_synthetic: bool
    table: str | None = None  # the per-ECG table written (--table)
    notes: list[str] = field(default_factory=list)  # what a reader must not miss (e.g. no operating point)
    inputs: int | None = None  # the export files given (None: an `ecg` file was given)
    accepted: int | None = None
    duplicates: int | None = None
    rejected: list[dict] = field(default_factory=list)  # {"path", "reason"} per rejected export
    rejects_csv: str | None = None
    not_preprocessable: dict[str, int] = field(default_factory=dict)
    results: list[dict] = field(default_factory=list)  # one row per ECG (and per rejected/duplicate export)
    not_lbbb: int = 0  # ECGs outside the model's intended use (not LBBB, or not assessable)
    warnings: list[str] = field(default_factory=list)  # cohort-level: how many ECGs are not LBBB

    @property
    def synthetic(self) -> bool:
        return self.model_synthetic or self.data_synthetic

    def to_dict(self) -> dict:
        d = super().to_dict()
        if self.inputs is None:  # an `ecg` file was scored: nothing about exports to report
            for key in ("inputs", "accepted", "duplicates", "rejected", "rejects_csv", "not_preprocessable"):
                del d[key]
        d["synthetic"] = self.synthetic
        return d


def _choose(threshold, threshold_from, model_path: str, scored: Scored, data_path: str):
    """The threshold of a `predict` run (lvsdctl.evaluate.operating_point.resolve_threshold), or a policy
    ('youden', 'sens:0.9') fitted on the data's own labelled tuning set."""
    from lvsdctl.evaluate.operating_point import ThresholdChoice, resolve_threshold
    from lvsdctl.evaluate.thresholds import choose_threshold, parse_policy

    if threshold is not None and parse_policy(threshold).kind != "fixed":
        if threshold_from is not None:
            raise InputError("give --threshold or --threshold-from, not both")
        rec = scored.records
        sel = (rec["split"].astype(str) == "tune").to_numpy() & rec["label"].isin([0, 1]).to_numpy()
        if not sel.any():
            raise InputError(f"{data_path}: --threshold {threshold} is fitted on the labelled ECGs of set 'tune', "
                             "and there are none among those scored")
        thr = choose_threshold(threshold, rec["label"].to_numpy()[sel], scored.score[sel], set_name="tune")
        return ThresholdChoice(thr.value, "fitted", f"{thr.origin} of {Path(data_path).name} (--threshold "
                               f"{threshold})"), thr.policy
    choice = resolve_threshold(model_path, threshold=threshold, threshold_from=threshold_from,
                               model_sha256=scored.model_sha256 or None)
    policy = choice.operating_point.policy if choice.operating_point else f"{choice.value:g}"
    return choice, policy


@claims_outputs("output")
def predict(model_path: str, data: str | list[str], output: str, *, threshold: str | float | None = None,
            threshold_from: str | None = None, sets: list[str] | None = None, batch_size: int = 64,
            device: str = "cpu", secret_file: str | None = None, demo_secret: bool = False, jobs: int = 1,
            table: str | None = None, progress: Callable[[int, int], None] | None = None,
            precision: str = "fp32", check_lbbb: bool = True) -> PredictSummary:
    """Score ECGs and write a `predictions` file (and the per-ECG `table`, .csv, .md or .json); returns
    what it did, every ECG's result included.

    ``data``: one `ecg` file, or ECG exports (files/folders of any format `ingest` reads), which are
    ingested and preprocessed the model's way in a temporary folder first (needs the site's
    pseudonymisation secret, like `ingest`). The threshold is the model's operating point (saved by
    `evaluate` or `calibrate`) unless ``threshold`` (a number, or a policy fitted on the data's tuning
    set) or ``threshold_from`` (an operating-point or evaluation file) says otherwise."""
    import tempfile

    from lvsdctl.evaluate.metrics import predict_labels
    from lvsdctl.evaluate.results import not_scored_records, relative_names, results_frame
    from lvsdctl.evaluate.store import PredictionMeta, write_predictions
    from lvsdctl.hdf5 import atomic_output

    if table:
        table_format(table)  # before any work
    inputs = [data] if isinstance(data, (str, Path)) else [str(d) for d in data]
    skipped, names, rejected, duplicates = None, {}, [], []
    with tempfile.TemporaryDirectory(prefix="lvsdctl-predict-") as tmp:
        ingested = prepared = None
        if len(inputs) == 1 and is_lvsdctl_file(inputs[0]):
            data_path = inputs[0]
        else:
            # rejected exports are listed beside the output, as `ingest` does
            rejects = None if output == "-" else f"{output}.rejects.csv"
            data_path, ingested, prepared, raw = prepare_exports(inputs, model_path, tmp, secret_file=secret_file,
                                                                 demo_secret=demo_secret, jobs=jobs, rejects=rejects)
        scored = score_file(model_path, data_path, sets=sets, batch_size=batch_size, device=device,
                            progress=progress, precision=precision)
        choice, policy = _choose(threshold, threshold_from, model_path, scored, data_path)
        pred = predict_labels(scored.score, choice.value)
        lbbb = _not_lbbb(data_path, scored) if check_lbbb else np.full(len(scored.rows), "", dtype=object)
        scored.records["lbbb_warning"] = lbbb  # one of the per-ECG warnings (lvsdctl.evaluate.scope)
        if ingested is not None:
            shown = relative_names([*ingested.sources.values(), *(r.path for r in ingested.rejects),
                                    *(d.path for d in ingested.duplicate_files),
                                    *(d.duplicate_of for d in ingested.duplicate_files)], inputs)
            names = {sha: shown[p] for sha, p in ingested.sources.items()}
            rejected = [{"path": shown[r.path], "reason": r.reason} for r in ingested.rejects]
            duplicates = [{"path": shown[d.path], "duplicate_of": shown[d.duplicate_of]}
                          for d in ingested.duplicate_files]
            if prepared.rejected:
                skipped = not_scored_records(raw, data_path, scored.model_meta.get("preprocessing") or {})
        results = results_frame(scored.records, scored.score, pred, choice.value, names=names, skipped=skipped,
                                rejected=rejected, duplicates=duplicates)
        meta = PredictionMeta(choice.value, choice.origin, policy, str(scored.model_meta.get("model_name", "")),
                              scored.model_sha256, threshold_source=choice.source,
                              extra={"operating_point": choice.operating_point.to_dict()} if choice.operating_point
                              else {})
        params = {"threshold": threshold, "threshold_from": threshold_from, "sets": sets or "all",
                  "batch_size": batch_size, "precision": precision, "check_lbbb": check_lbbb,
                  "exports": None if data_path == inputs[0] else len(inputs)}
        kept = scored.records.assign(file=results["file"].to_numpy()[:len(pred)],
                                     warnings=results["warnings"].to_numpy()[:len(pred)])
        with atomic_output(output, kind="predictions", inputs=[model_path, data_path], parameters=params) as f:
            write_predictions(f, kept, scored.score, pred, meta)
    model_synthetic = bool(scored.model_meta.get("synthetic", False))
    if table:
        write_frame(results, table, synthetic=True if scored.synthetic else "model" if model_synthetic else False,
                    caption=f"Per-ECG results of {meta.model_name or 'the model'}: {choice.origin}")
    summary = PredictSummary(output=output, ecgs=int(scored.score.size), predicted_lvsd=int(pred.sum()),
                             threshold=choice.value, threshold_source=choice.source, threshold_origin=choice.origin,
                             model=meta.model_name, model_synthetic=model_synthetic,
                             data_synthetic=scored.synthetic, table=table,
                             notes=[choice.warning] if choice.warning else [],
                             results=results.to_dict(orient="records"),
                             not_lbbb=int((lbbb != "").sum()), warnings=_lbbb_summary(lbbb, check_lbbb))
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
            "or could not be assessed: the model is meant for ECGs with LBBB; see each ECG's warnings"] if n else []


@claims_outputs("output", "report", "table", dirs=("figures",))
def evaluate(model_path: str, data_path: str, output: str | None = None, *, threshold: str = "0.5",
             tune_set: str = "tune", sets: list[str] | None = None, n_boot: int = 1000, seed: int = 0,
             batch_size: int = 64, device: str = "cpu", report: str | None = None, figures: str | None = None,
             table: str | None = None, save_threshold: bool = True, measures: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Score the tuning and validation sets, freeze the threshold on the tuning set, compute metrics with
    patient-bootstrap CIs and calibration, write an `evaluation` file (and the report, figures and Table 2
    layout (.csv, .md or .json) if asked), and save the frozen threshold as the model's operating point
    (`MODEL.threshold.json`, read by `predict` and `explain`) unless ``save_threshold`` is false.
    Returns the ``Evaluation``."""
    from lvsdctl.evaluate.evaluation import evaluate_scores, validation_sets_of
    from lvsdctl.evaluate.operating_point import OperatingPoint
    from lvsdctl.evaluate.store import PredictionMeta, write_calibration, write_metrics, write_predictions
    from lvsdctl.evaluate.thresholds import parse_policy
    from lvsdctl.hdf5 import open_input, read_records, sha256_file

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
    ev.model_synthetic = bool(scored.model_meta.get("synthetic", False))
    ev.data_synthetic = scored.synthetic
    point = OperatingPoint.from_threshold(ev.threshold, data_path=data_path, model_path=model_path,
                                          data_sha256=sha256_file(data_path) if data_path != "-" else None,
                                          synthetic=scored.synthetic, model_sha256=scored.model_sha256,
                                          chosen_by="lvsdctl evaluate")
    meta = PredictionMeta(ev.threshold.value, ev.threshold.origin, ev.threshold.policy,
                          str(scored.model_meta.get("model_name", "")), scored.model_sha256,
                          extra={"validation_sets": val, "operating_point": point.to_dict()})
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
    if save_threshold:
        _save_operating_point(ev, point, model_path)
    synthetic = ev.model_synthetic or ev.data_synthetic
    scored_df = scored.records.assign(score=scored.score, pred=ev.pred)
    if measures:  # LBBB criteria and measured QRS width for the subgroups (split --measures stores them)
        from lvsdctl.measure.join import annotate

        scored_df, _ = annotate(scored_df, measures)
    from lvsdctl.evaluate.report import subgroup_table

    ev.subgroups = subgroup_table(scored_df, val, ev.threshold.value, formatted=False).to_dict(orient="records")
    if figures:
        from lvsdctl.evaluate.plots import evaluation_figures

        evaluation_figures(scored_df, val, ev.threshold.value, ev.calibration, figures, synthetic=synthetic)
    if report:
        from lvsdctl.evaluate.report import render_report

        text = render_report(evaluation=ev, scored=scored_df, data_records=scored.data_records,
                             model_meta=scored.model_meta, model_sha256=scored.model_sha256,
                             model_path=Path(model_path).name, data_path=Path(data_path).name,
                             provenance=scored.provenance, synthetic=scored.synthetic)
        write_text(report, text)
    if table:
        from lvsdctl.evaluate.tables import drop_blank_model, table2

        write_frame(drop_blank_model(table2(ev.metrics)), table,
                    caption=f"LVSD detection by {Path(model_path).name} (95% CI, patient bootstrap)",
                    synthetic=True if ev.data_synthetic else "model" if ev.model_synthetic else False)
    return ev


def _save_operating_point(ev: Evaluation, point, model_path: str) -> None:
    """The frozen threshold beside the model; a model that cannot have one (stdin, a read-only folder)
    is said so in the log, and the evaluation goes on."""
    import logging

    from lvsdctl.evaluate.operating_point import sidecar_path, write_operating_point

    log = logging.getLogger(__name__)
    if model_path == "-":
        log.warning("the model was read from stdin: its operating point is not saved (it is in the evaluation file)")
        return
    path = sidecar_path(model_path)
    try:
        replaced = write_operating_point(point, path)
    except OSError as exc:
        log.warning("%s: cannot save the operating point (%s); `predict --threshold-from EVAL.h5` reads it from "
                    "the evaluation file", path, exc.strerror or type(exc).__name__)
        return
    ev.operating_point_file = str(path)
    if replaced is not None and replaced.threshold != point.threshold:
        ev.replaced_threshold = replaced.threshold
        log.info("operating point %.4g saved to %s (replaces %.4g: %s)", point.threshold, path, replaced.threshold,
                 replaced.describe())
    else:
        log.info("operating point %.4g saved to %s", point.threshold, path)
