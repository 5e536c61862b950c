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


def _chain_for(pre: dict):
    from lvsdctl.signal.chain import ChainConfig
    from lvsdctl.signal.filters import FilterSpec, parse_filter

    filt = pre.get("filter") or "neurokit"
    spec = FilterSpec.from_json(filt) if isinstance(filt, dict) else parse_filter(str(filt))
    return ChainConfig(layout=pre.get("layout", "4x5000"), fs=float(pre.get("fs", 500.0)), filter=spec,
                       resample=pre.get("resample", "linear"), normalise=pre.get("normalisation", "none"))


def load_export(path: str | Path, pre: dict) -> np.ndarray:
    """Read an ECG export and preprocess it as the model expects: (C, T) float32."""
    from lvsdctl.io.detect import read_ecg
    from lvsdctl.signal.chain import process_batch

    try:
        record = read_ecg(Path(path))
    except ReadError as exc:  # its reason alone; the user needs the file too
        raise ReadError(f"{path}: {exc}") from None
    res = process_batch([record.segments], _chain_for(pre))
    if 0 in res.rejected:
        raise InputError(f"{path}: cannot be preprocessed for this model: {res.rejected[0]}")
    return res.signals[0]


def load_dataset_record(path: str, record_id: str, pre: dict, model_path: str) -> tuple[np.ndarray, dict, bool]:
    """One record of an `ecg` file, checked against the model's preprocessing, and whether the file is
    synthetic."""
    from lvsdctl.data.dataset import read_preprocessing
    from lvsdctl.hdf5 import open_input, read_records
    from lvsdctl.models.checkpoint import check_preprocessing

    with open_input(path, kind={"ecg"}) as f:
        check_preprocessing(pre, read_preprocessing(f["signals"]), model_path=model_path, data_path=path)
        df = read_records(f)
        rows = np.flatnonzero(df["record_id"].to_numpy() == record_id)
        if not len(rows):
            raise InputError(f"{path}: no record with id {record_id!r}")
        row = int(rows[0])
        return f["signals"][row], df.iloc[row].to_dict(), bool(f.attrs.get("synthetic", False))


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


def figure_for(expl: Explanation, title: str, outputs: list[str | Path], subtitle: str | None = None,
               show_waves: bool = False) -> list[Path]:
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
    write_frame(pd.DataFrame(expl.waves, columns=["lead", *WAVES, "abs_attribution"]).round(6), csv_path)
    beats = pd.DataFrame(expl.delineation.beats, columns=list(BEAT_COLUMNS))
    beats.insert(0, "beat", np.arange(1, len(beats) + 1))
    write_frame(beats, beats_path)
    write_json({**meta, "delineation": delineation_summary(expl.delineation), "waves": expl.waves}, json_path)
    return [csv_path, json_path, beats_path]


@dataclass
class ExplainSummary(Summary):
    """What `explain` found for one ECG: its score and call, the attribution's checks, the files written
    and the share of attribution per lead and wave."""

    source: str
    model: str
    model_name: str
    method: str  # deeplift | ig
    score: float  # LVSD probability
    threshold: float
    prediction: str  # "LVSD" | "no LVSD"
    label: int  # 1, 0, or -1 unknown
    convergence_delta: float
    log_odds: float
    caveat: str | None
    synthetic: bool
    warnings: list[str]  # the ECG is not LBBB (the model's intended use), or could not be assessed
    lbbb: dict  # the LBBB criteria and QRS duration measured on the ECG (lvsdctl.measure)
    files: list[str]
    waves: list[dict]  # per lead: lead, P, QRS, ST-T, other, abs_attribution
    delineation: dict  # status, method, problems, how sure, every beat's boundaries


def explain(source: str, *, model_path: str | None = None, record: str | None = None,
            out: str | Path = "map.png", formats: tuple[str, ...] = (), method: str = "deeplift",
            threshold: float | None = None, show_waves: bool = False, precision: str = "fp32") -> ExplainSummary:
    """Explain one ECG and write the figure(s) and the per-wave tables (MAP.waves.csv / .json, the
    beats in MAP.beats.csv); `show_waves` draws the wave boundaries faintly on the map;
    ``precision``: fp32 or bf16 (autocast; `lvsdctl.evaluate.precision`)."""
    from lvsdctl.models.checkpoint import load_checkpoint

    model_path = model_path or default_model()
    model, meta = load_checkpoint(model_path)
    pre = meta.get("preprocessing") or {}
    if not pre.get("layout"):
        raise MismatchError(f"{model_path}: the checkpoint does not record the preprocessing it expects")
    if record is not None:
        x, rec, synthetic = load_dataset_record(source, record, pre, model_path)
        label = int(rec.get("label", -1))
    else:
        if str(source).endswith((".h5", ".hdf5")):
            raise InputError(f"{source}: an HDF5 dataset needs --record ID (or --set NAME with -o for a cohort)")
        x = load_export(source, pre)
        label = -1
        synthetic = is_synthetic_export(source)
    layout, fs = pre["layout"], float(pre["fs"])
    measured = _measure_source(source, record, x, layout, fs, pre.get("normalisation", "none") != "none")
    expl = explain_array(model, x, layout, fs, method=method, precision=precision, measured=measured)
    thr = float(threshold if threshold is not None else meta.get("threshold", 0.5))
    predicted = "LVSD" if expl.score >= thr else "no LVSD"
    name = meta.get("model_name", "model")
    title = (f"Prediction {predicted}: LVSD score {expl.score:.3f} (threshold {thr:.2f}) - "
             f"model {Path(model_path).name} ({name}) - {'DeepLIFT' if method == 'deeplift' else 'Integrated Gradients'}")
    notes = ["SYNTHETIC ECG (lvsdctl synth), not a patient"] if synthetic else []
    if pre.get("normalisation") == "zscore":
        notes.append("amplitudes z-scored per channel (the model's input), not mV")
    elif pre.get("normalisation") == "zscore-ecg":
        notes.append("amplitudes z-scored over the whole ECG (the model's input), not mV")
    if expl.attribution.caveat:
        notes.append(expl.attribution.caveat)
    from lvsdctl.measure.lbbb import intended_use_warning

    warning = intended_use_warning(measured.row)
    if warning:
        notes.insert(0, f"WARNING: {warning}")
    if not expl.delineation.usable:
        notes.append("delineation failed: the wave shares are not meaningful")
    notes.extend(expl.delineation.problems)
    out = Path(out)
    outputs = [out] + [out.with_suffix("." + f.lstrip(".")) for f in formats if "." + f.lstrip(".") != out.suffix]
    written = figure_for(expl, title, outputs, subtitle="; ".join(notes) or None, show_waves=show_waves)
    meta = {
        "source": str(source) if record is None else f"{source}#{record}",
        "model": str(model_path), "model_name": name, "method": method, "score": expl.score,
        "threshold": thr, "prediction": predicted, "label": label,
        "convergence_delta": float(expl.attribution.delta[0]),
        "log_odds": float(expl.attribution.logit[0]), "caveat": expl.attribution.caveat,
        "synthetic": synthetic, "warnings": [warning] if warning else [],
        "lbbb": {k: measured.row[k] for k in ("lbbb_statement", "lbbb_conventional", "lbbb_aha2009",
                                               "lbbb_strauss", "qrs_ms")},
    }
    written += write_wave_table(expl, out, meta)
    return ExplainSummary(**meta, files=[str(p) for p in written], waves=expl.waves,
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
