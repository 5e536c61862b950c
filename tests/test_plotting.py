"""Every figure lvsdctl draws is rendered here and checked: its text stays inside the canvas (matplotlib's
tight bounding box within the figure), tick labels do not overlap or run into another panel, and a
figure made from synthetic data says SYNTHETIC in its title."""

import numpy as np
import pandas as pd
import pytest

from lvsdctl.plotting import CHECK_ENV, pyplot, text_problems

LONG_CAVEAT = ("DeepLIFT's rules do not hold for GELU, LayerNorm, MultiheadAttention, self-attention: captum "
               "propagates plain gradients through them, so these values are an approximation; Integrated "
               "Gradients (--method ig) satisfies completeness for any differentiable model")
MODELS = ["fcn", "lstm-fcn", "resnet", "inceptiontime", "ecgfm-scratch", "ecgfm-pretrained"]


@pytest.fixture(autouse=True)
def _check_every_saved_figure(monkeypatch):
    monkeypatch.setenv(CHECK_ENV, "1")  # lvsdctl.plotting.save raises on any text problem


def _texts(path) -> str:
    return path.with_suffix(".svg").read_text() if path.with_suffix(".svg").exists() else ""


def test_the_check_catches_clipped_text_and_overlapping_labels():
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(3, 2))
    fig.text(0.5, 0.5, "a note far too long for this small figure, as the ECG-FM map's note was")
    assert any("leaves the canvas" in p for p in text_problems(fig))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_yticks(range(13), ["II (rhythm)"] * 13, fontsize=14)
    assert any("overlap" in p for p in text_problems(fig))
    plt.close(fig)


def _scores(sets=("internal", "external1", "external2"), n=120, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in sets:
        y = rng.integers(0, 2, n)
        rows.append(pd.DataFrame({"split": s, "label": y, "score": np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)}))
    return pd.concat(rows, ignore_index=True)


def test_evaluation_figures_fit_and_say_synthetic(tmp_path):
    from lvsdctl.evaluate.calibration import calibration_summary
    from lvsdctl.evaluate.plots import evaluation_figures

    df = _scores()
    sets = ["internal", "external1", "external2"]
    calib = {s: calibration_summary(df[df["split"] == s]["label"].to_numpy(), df[df["split"] == s]["score"].to_numpy())
             for s in sets}
    files = evaluation_figures(df, sets, 0.4331, calib, tmp_path, synthetic=True)
    assert {p.name for p in files} == {f"{n}.{e}" for n in ("roc", "pr", "reliability", "scores") for e in ("png", "svg")}
    for name in ("roc", "pr", "reliability", "scores"):
        assert "SYNTHETIC" in (tmp_path / f"{name}.svg").read_text(), name


def test_pr_curve_is_the_step_curve_whose_area_is_average_precision():
    """No spikes below the curve: one point per recall, the precision where that recall is first reached,
    drawn as steps; the area under the drawn steps is exactly sklearn's average precision."""
    from sklearn.metrics import average_precision_score

    from lvsdctl.evaluate.plots import pr_steps

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    s = np.round(np.clip(0.25 * y + 0.75 * rng.random(300), 0, 1), 2)  # ties too
    rec, prec = pr_steps(y, s)
    assert np.all(np.diff(rec) > 0) and rec[0] == 0 and rec[-1] == 1
    assert np.sum(np.diff(rec) * prec[1:]) == pytest.approx(average_precision_score(y, s))


def test_figure3_fits_with_long_model_names(tmp_path):
    from lvsdctl.stats.figures import pvalue_matrix_figure

    rng = np.random.default_rng(1)
    p = pd.DataFrame(rng.random((6, 6)) / 20, index=MODELS, columns=MODELS)
    files = pvalue_matrix_figure(p, tmp_path / "fig3", synthetic=True)
    assert [f.suffix for f in files] == [".png", ".svg"] and "SYNTHETIC" in files[1].read_text()


def test_attribution_map_fits_a_long_title_and_notes(tmp_path):
    from lvsdctl.explain.api import map_title
    from lvsdctl.explain.figure import LeadTrace, plot_attribution_map
    from lvsdctl.signal.layout import PIECE_S, PRINTOUT_ROWS

    fs = 500.0
    rng = np.random.default_rng(0)
    n = int(PIECE_S * fs)
    traces = [LeadTrace(lead, k * PIECE_S, rng.normal(0, 0.3, n), rng.normal(0, 1, n))
              for row in PRINTOUT_ROWS for k, lead in enumerate(row)]
    rhythm = LeadTrace("II", 0.0, rng.normal(0, 0.3, 5000), rng.normal(0, 1, 5000))
    title = map_title("LVSD", 0.652, 0.4331, "operating point", "/models/a-long-model-file-name-ecgfm-pretrained.h5",
                      "ecgfm_lvsd", "deeplift", model_synthetic=True)
    notes = ["SYNTHETIC ECG (lvsdctl synth), not a patient",
             "Warning: QRS 96 ms < 120 ms (device measurement): not LBBB, outside the model's intended use",
             "Threshold: the model's operating point: Youden's J on set 'tune' (n=300 ECGs, J=0.412: sensitivity "
             "0.800, specificity 0.612); data split.h5 (SYNTHETIC); saved by lvsdctl evaluate on 2026-12-01",
             "Amplitudes z-scored per channel (the model's input), not mV", LONG_CAVEAT]
    files = plot_attribution_map(traces, rhythm, fs, title, [tmp_path / "map.png", tmp_path / "map.svg"], subtitle=notes)
    svg = files[1].read_text()
    assert "SYNTHETIC model" in svg and "Integrated" in svg and "differentiable model" in svg  # nothing clipped


def test_cohort_summary_fits_with_four_groups(tmp_path):
    from lvsdctl.explain.cohort import aggregate, plot_cohort_summary
    from lvsdctl.explain.waves import WAVES
    from lvsdctl.record import LEADS12
    from lvsdctl.signal.layout import RHYTHM_KEY

    leads = [*LEADS12, RHYTHM_KEY]
    rng = np.random.default_rng(2)
    n = 40
    groups = np.array(["TP", "FN", "FP", "TN"] * 10)
    shares = rng.dirichlet(np.ones(len(WAVES)), size=(n, len(leads)))
    summary = aggregate(leads, rng.random((n, len(leads))) * 1e-4, shares, groups)
    files = plot_cohort_summary(summary, leads, tmp_path / "attributions.png",
                                title="SYNTHETIC data: model.h5 on set internal (40 ECGs, deeplift; threshold 0.433)")
    assert files[0].exists() and "SYNTHETIC" in files[1].read_text()
