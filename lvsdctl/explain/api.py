"""Explain one ECG: from an export file (any format ingest reads) or a record of an `ecg` file.

The ECG goes through the model's own preprocessing (recorded in its checkpoint), so the map shows
exactly what the model saw.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lvsdctl.errors import InputError, MismatchError, MissingResourceError, ReadError
from lvsdctl.explain.attribute import Attribution, attribute
from lvsdctl.explain.figure import LeadTrace, plot_attribution_map
from lvsdctl.explain.waves import BEAT_COLUMNS, WAVES, Delineation, from_analysis, wave_shares
from lvsdctl.io.synthetic import is_synthetic_export
from lvsdctl.outputs import claims_outputs
from lvsdctl.signal.layout import PIECE_S, PRINTOUT_ROWS, RHYTHM_KEY, RHYTHM_LEAD, pieces_from_4ch
from lvsdctl.summary import Summary
from lvsdctl.tables import write_frame, write_json

#: Where `explain` finds its model when `--model` is not given.
MODEL_ENV = "LVSDCTL_MODEL"
CONFIG_FILE = Path.home() / ".config" / "lvsdctl" / "config.toml"


def default_model() -> str:
    """The documented default model: $LVSDCTL_MODEL, else `model = "..."` in the config file."""
    if os.environ.get(MODEL_ENV):
        return os.environ[MODEL_ENV]
    config = Path(os.environ.get("LVSDCTL_CONFIG", CONFIG_FILE))
    if config.is_file():
        import tomllib

        try:
            value = tomllib.loads(config.read_text()).get("model")
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{config}: not valid TOML ({exc})") from None
        if value:
            return str(value)
    raise MissingResourceError(
        f"no model given and no default set: pass --model MODEL.h5, or set {MODEL_ENV}=/path/model.h5, "
        f"or write `model = \"/path/model.h5\"` in {config}"
    )


@dataclass
class Explanation:
    x: np.ndarray  # (C, T) what the model saw
    attribution: Attribution  # batch of one
    layout: str
    fs: float
    delineation: Delineation
    waves: list[dict]  # one row per lead: lead, P, QRS, ST-T, other, total |attribution|

    @property
    def score(self) -> float:
        return float(self.attribution.score[0])


def lead_pieces(x: np.ndarray, layout: str, fs: float) -> dict[str, tuple[float, np.ndarray]]:
    """{lead: (t0, samples)} of the 12 printout pieces plus the rhythm strip, for either layout (at any
    rate: a 4-channel layout is the printout's, "4x5000" at 500 Hz, "4x500" at 50 Hz)."""
    if str(layout).split("x")[0] == "4":
        return pieces_from_4ch(x, fs)
    from lvsdctl.record import LEADS12

    n = int(round(PIECE_S * fs))
    out = {}
    for row in PRINTOUT_ROWS:
        for k, lead in enumerate(row):
            out[lead] = (k * PIECE_S, x[..., LEADS12.index(lead), k * n:(k + 1) * n])
    out[RHYTHM_KEY] = (0.0, x[..., LEADS12.index(RHYTHM_LEAD), :])
    return out


def load_export(path: str | Path, pre: dict) -> tuple[np.ndarray, dict]:
    """Read an ECG export and preprocess it as the model expects: (C, T) float32, and the record's
    fields the per-ECG warnings look at (qrs_ms, age, quality flags, format, acquisition time)."""
    from lvsdctl.io.detect import read_ecg
    from lvsdctl.signal.chain import ChainConfig, process_batch

    try:
        record = read_ecg(Path(path))
    except ReadError as exc:  # its reason alone; the user needs the file too
        raise ReadError(f"{path}: {exc}") from None
    res = process_batch([record.segments], ChainConfig.from_attrs(pre))
    if 0 in res.rejected:
        raise InputError(f"{path}: cannot be preprocessed for this model: {res.rejected[0]}")
    fields = {"qrs_ms": record.extra.get("qrs_ms"), "age": record.age, "quality": int(res.flags[0]),
              "source_format": record.source_format,
              "acquired": record.acquired.isoformat() if record.acquired else ""}
    return res.signals[0], fields


def load_dataset_record(path: str, record_id: str, pre: dict, model_path: str) -> tuple[np.ndarray, dict, bool]:
    """One record of an `ecg` file, checked against the model's preprocessing, and whether the file is
    synthetic."""
    from lvsdctl.data.dataset import read_preprocessing
    from lvsdctl.data.finite import require_finite
    from lvsdctl.hdf5 import open_input, read_records
    from lvsdctl.models.checkpoint import check_preprocessing

    with open_input(path, kind={"ecg"}) as f:
        check_preprocessing(pre, read_preprocessing(f["signals"]), model_path=model_path, data_path=path)
        df = read_records(f)
        rows = np.flatnonzero(df["record_id"].to_numpy() == record_id)
        if not len(rows):
            raise InputError(f"{path}: no record with id {record_id!r}")
        row = int(rows[0])
        x = f["signals"][row]
        require_finite(path, x[None], [row])
        return x, df.iloc[row].to_dict(), bool(f.attrs.get("synthetic", False))


def measure_input(x: np.ndarray, layout: str, fs: float, normalised: bool = False):
    """`lvsdctl measure` of what the model saw (the printout's pieces, or 12 leads); `normalised`
    amplitudes (not mV) leave the LBBB criteria unassessed."""
    from lvsdctl.measure import measure_leads
    from lvsdctl.measure.leads import from_four_channel, from_twelve

    lm = from_four_channel(x, fs) if str(layout).split("x")[0] == "4" else from_twelve(x, fs)
    return measure_leads(lm, normalised=normalised)


def explain_array(model, x: np.ndarray, layout: str, fs: float, method: str = "deeplift",
                  precision: str = "fp32", measured=None) -> Explanation:
    """Attribute, delineate (with `measured`, an `lvsdctl.measure.Measured` of this ECG, else by
    measuring `x` itself), and summarise attribution per lead and wave."""
    if not np.isfinite(x).all():
        raise InputError("the ECG contains NaN or infinite samples after preprocessing")
    attr = attribute(model, x[None], method=method, precision=precision)
    apieces = lead_pieces(attr.values[0], layout, fs)
    measured = measured if measured is not None else measure_input(x, layout, fs)
    d = from_analysis(measured.analysis, x.shape[-1], fs)
    rows = []
    for lead, (t0, a) in apieces.items():
        start = int(round(t0 * fs))
        shares = wave_shares(a, d.masks, start)
        rows.append({"lead": lead, **shares, "abs_attribution": float(np.abs(a).sum())})
    return Explanation(x, attr, layout, fs, d, rows)


def figure_for(expl: Explanation, title: str, outputs: list[str | Path],
               subtitle: str | list[str] | None = None, show_waves: bool = False) -> list[Path]:
    pieces = lead_pieces(expl.x, expl.layout, expl.fs)
    apieces = lead_pieces(expl.attribution.values[0], expl.layout, expl.fs)
    traces = [LeadTrace(lead, t0, sig, apieces[lead][1]) for lead, (t0, sig) in pieces.items() if lead != RHYTHM_KEY]
    rhythm = LeadTrace(RHYTHM_LEAD, 0.0, pieces[RHYTHM_KEY][1], apieces[RHYTHM_KEY][1])
    boundaries = expl.delineation.boundary_times_s() if show_waves and expl.delineation.usable else None
    return plot_attribution_map(traces, rhythm, expl.fs, title, outputs, subtitle=subtitle, boundaries=boundaries)


def delineation_summary(d: Delineation) -> dict:
    """The delineation as `explain` reports it: status, method, what failed, how sure, the beats."""
    return {"status": d.status, "method": d.method, "problems": d.problems, **d.info, "beats": d.beats}


def write_wave_table(expl: Explanation, base: Path, meta: dict) -> list[Path]:
    """`<base>.waves.csv` (shares per lead) and `<base>.waves.json` (shares, delineation and every
    beat's boundaries), and `<base>.beats.csv` (the beats as a table) beside the figure."""
    import pandas as pd

    csv_path = base.with_suffix(".waves.csv")
    json_path = base.with_suffix(".waves.json")
    beats_path = base.with_suffix(".beats.csv")
    synthetic = True if meta.get("synthetic") else "model" if meta.get("model_synthetic") else False
    write_frame(pd.DataFrame(expl.waves, columns=["lead", *WAVES, "abs_attribution"]).round(6), csv_path,
                synthetic=synthetic)
    beats = pd.DataFrame(expl.delineation.beats, columns=list(BEAT_COLUMNS))
    beats.insert(0, "beat", np.arange(1, len(beats) + 1))
    write_frame(beats, beats_path, synthetic=synthetic)
    write_json({**meta, "delineation": delineation_summary(expl.delineation), "waves": expl.waves}, json_path)
    return [csv_path, json_path, beats_path]


@dataclass
class ExplainSummary(Summary):
    """What `explain` found for one ECG: its score and call at the model's operating point, the
    attribution's checks, the files written and the share of attribution per lead and wave."""

    source: str
    model: str
    model_name: str
    method: str  # deeplift | ig
    score: float  # LVSD probability
    threshold: float
    threshold_source: str  # "operating point", "command line", "default"
    threshold_origin: str
    prediction: str  # "LVSD" | "no LVSD"
    label: int  # 1, 0, or -1 unknown
    convergence_delta: float
    log_odds: float
    caveat: str | None
    synthetic: bool  # the ECG is synthetic
    model_synthetic: bool  # the model was trained on synthetic data: its call says nothing about patients
    warnings: list[str]  # per-ECG warnings (lvsdctl.evaluate.scope; not LBBB among them), on the map too
    notes: list[str]  # what a reader must not miss (e.g. no operating point saved)
    lbbb: dict  # the LBBB criteria and QRS duration measured on the ECG (lvsdctl.measure)
    files: list[str]
    waves: list[dict]  # per lead: lead, P, QRS, ST-T, other, abs_attribution
    delineation: dict  # status, method, problems, how sure, every beat's boundaries


def map_title(prediction: str, score: float, threshold: float, source: str, model_path: str, name: str,
              method: str, model_synthetic: bool) -> str:
    """The map's title: the call, the score against the threshold and where that came from, the model."""
    how = {"operating point": "the model's operating point", "command line": "--threshold",
           "default": "the study's fixed value: no operating point saved"}.get(source, source)
    sign = ">=" if score >= threshold else "<"
    title = (f"Prediction: {prediction} (LVSD score {score:.3f} {sign} threshold {threshold:.3g}, {how}); model "
             f"{Path(model_path).name} ({name}); {'DeepLIFT' if method == 'deeplift' else 'Integrated Gradients'}")
    if model_synthetic:
        title = f"SYNTHETIC model, trained on synthetic ECGs only: not for patients. {title}"
    return title


@claims_outputs("output", "out")
def explain(source: str, *, model_path: str | None = None, record: str | None = None,
            output: str | Path | None = None, formats: tuple[str, ...] = (), method: str = "deeplift",
            threshold: float | None = None, threshold_from: str | None = None,
            out: str | Path | None = None, show_waves: bool = False, precision: str = "fp32") -> ExplainSummary:
    """Explain one ECG and write the figure `output` (default map.png; .png, .svg or .pdf, plus
    `formats`) and the per-wave tables beside it (MAP.waves.csv / .json, the beats in MAP.beats.csv).
    The call uses the model's operating point (saved by `lvsdctl evaluate` or `calibrate`) unless
    `threshold` or `threshold_from` says otherwise. `out` is the former name of `output`; `show_waves`
    draws the wave boundaries faintly on the map; ``precision``: fp32 or bf16 (autocast;
    `lvsdctl.evaluate.precision`)."""
    import pandas as pd

    from lvsdctl.evaluate.operating_point import resolve_threshold
    from lvsdctl.evaluate.scope import ecg_warnings
    from lvsdctl.measure.lbbb import intended_use_warning
    from lvsdctl.models.checkpoint import load_checkpoint

    if out is not None:
        import warnings

        warnings.warn("explain(out=...) is now explain(output=...)", DeprecationWarning, stacklevel=2)
        output = output if output is not None else out
    output = Path(output if output is not None else "map.png")
    model_path = model_path or default_model()
    model, meta = load_checkpoint(model_path)
    pre = meta.get("preprocessing") or {}
    if not pre.get("layout"):
        raise MismatchError(f"{model_path}: the checkpoint does not record the preprocessing it expects")
    choice = resolve_threshold(model_path, threshold=threshold, threshold_from=threshold_from)
    if record is not None:
        x, rec, synthetic = load_dataset_record(source, record, pre, model_path)
        label = int(rec.get("label", -1))
    else:
        if str(source).endswith((".h5", ".hdf5")):
            raise InputError(f"{source}: an HDF5 dataset needs --record ID (or --set NAME with -o for a cohort)")
        x, rec = load_export(source, pre)
        label = -1
        synthetic = is_synthetic_export(source)
    layout, fs = pre["layout"], float(pre["fs"])
    measured = _measure_source(source, record, x, layout, fs, pre.get("normalisation", "none") != "none")
    expl = explain_array(model, x, layout, fs, method=method, precision=precision, measured=measured)
    thr = choice.value
    predicted = "LVSD" if expl.score >= thr else "no LVSD"
    name = meta.get("model_name", "model")
    model_synthetic = bool(meta.get("synthetic", False))
    warnings_ = ecg_warnings(pd.DataFrame([{**rec, "lbbb_warning": intended_use_warning(measured.row) or ""}]))[0]
    title = map_title(predicted, expl.score, thr, choice.source, model_path, name, method, model_synthetic)
    notes = ["SYNTHETIC ECG (lvsdctl synth), not a patient"] if synthetic else []
    notes += [f"Warning: {w}" for w in warnings_]
    notes.append(f"Threshold: {choice.origin}")
    if pre.get("normalisation") == "zscore":
        notes.append("Amplitudes z-scored per channel (the model's input), not mV")
    elif pre.get("normalisation") == "zscore-ecg":
        notes.append("Amplitudes z-scored over the whole ECG (the model's input), not mV")
    if expl.attribution.caveat:
        notes.append(expl.attribution.caveat)
    if not expl.delineation.usable:
        notes.append("delineation failed: the wave shares are not meaningful")
    notes.extend(expl.delineation.problems)
    outputs = [output] + [output.with_suffix("." + f.lstrip(".")) for f in formats
                          if "." + f.lstrip(".") != output.suffix]
    written = figure_for(expl, title, outputs, subtitle=notes, show_waves=show_waves)
    summary = {
        "source": str(source) if record is None else f"{source}#{record}",
        "model": str(model_path), "model_name": name, "method": method, "score": expl.score,
        "threshold": thr, "threshold_source": choice.source, "threshold_origin": choice.origin,
        "prediction": predicted, "label": label, "convergence_delta": float(expl.attribution.delta[0]),
        "log_odds": float(expl.attribution.logit[0]), "caveat": expl.attribution.caveat,
        "synthetic": synthetic, "model_synthetic": model_synthetic, "warnings": warnings_,
        "notes": [choice.warning] if choice.warning else [],
        "lbbb": {k: measured.row[k] for k in ("lbbb_statement", "lbbb_conventional", "lbbb_aha2009",
                                               "lbbb_strauss", "qrs_ms")},
    }
    written += write_wave_table(expl, output, summary)
    return ExplainSummary(**summary, files=[str(p) for p in written], waves=expl.waves,
                          delineation=delineation_summary(expl.delineation))


def _measure_source(source: str, record: str | None, x: np.ndarray, layout: str, fs: float, normalised: bool):
    """An export is measured as exported (all leads, its own median beat and statements: beats and
    boundaries on the same timeline as the model's input); a dataset record as the model sees it."""
    if record is None:
        from lvsdctl.measure import measure_export

        try:
            return measure_export(str(source))
        except ReadError:
            pass  # preprocessing read it: measure what the model saw
    return measure_input(x, layout, fs, normalised)
