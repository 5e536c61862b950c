"""The quick-preset study script, end to end on a small synthetic cohort, then the report.

The script runs under bash exactly as a user runs it; each lvsdctl call goes to the fork server
(conftest), which runs the real CLI in a forked child, so ~45 commands do not pay torch's import each.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import h5py
import pytest

from lvsdctl.study import grid

from .conftest import run_lvsdctl


def _bash(script, env) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _ran(stderr: str) -> list[str]:
    """The step lines the script ran (not kept), as 'command output-file-name'."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("== running: lvsdctl "):
            words = line.split()
            out.append(f"{words[3]} {words[words.index('-o') + 1].rsplit('/', 1)[-1]}")
    return out


@pytest.fixture(scope="module")
def study_run(tmp_path_factory, fork_env, study_cohort, tiny_starts):
    runs = tmp_path_factory.mktemp("runs") / "runs"
    ss, sq = tiny_starts
    run_lvsdctl(fork_env, "study", "script", study_cohort, "--runs", runs, "--preset", "quick",
                "--ss-weights", ss, "--sq-weights", sq, "-q")
    first = _bash(runs / "study.sh", fork_env)
    return runs, first


def test_the_quick_script_runs_the_whole_grid(study_run):
    runs, first = study_run
    ran = _ran(first.stderr)
    assert sum(r.startswith("train ") for r in ran) == 4
    assert sum(r.startswith("finetune ") for r in ran) == 15  # 14 strategies + ECG-FM from scratch
    assert sum(r.startswith("evaluate ") for r in ran) == 19
    assert sum(r.startswith("explain ") for r in ran) == 3  # SS-FF (Fig. 4) on the three validation sets
    for m in grid.MODELS:
        with h5py.File(runs / "models" / f"{m}.h5") as f:
            assert f.attrs["lvsdctl_kind"] == "model"
        with h5py.File(runs / "eval" / f"{m}-eval.h5") as f:
            assert f.attrs["lvsdctl_kind"] == "evaluation" and bool(f.attrs["synthetic"])
    # The 4-layer starting points: the article's PF2..PF10 mapped onto 4 layers, written in the script.
    with h5py.File(runs / "models" / "sq-pf8.h5") as f:
        training = json.loads(f.attrs["training"])
    assert training["freeze"] == 3 and training["start"] == "sq"
    assert "this 4-layer backbone freezes 3" in (runs / "study.sh").read_text()


def test_the_report_sits_beside_the_article(study_run):
    runs, _ = study_run
    text = (runs / "report.md").read_text()
    assert "**SYNTHETIC DATA.**" in text and "**Quick preset.**" in text
    assert "models evaluated: 19 of 19" in text and "**missing" not in text
    for needle in ("Table 2: the article's six models", "Model comparison (Fig. 3)", "Repeated-measures ANOVA",
                   "Friedman", "Table 3: ECG-FM from scratch", "Supplementary Table S1", "Supplementary Table S2",
                   "Where the models look (Fig. 4)", "Beside the article", "F = 16.67",
                   # the audit of the article's Table 2, in plain words
                   "fit 46", "specificity and NPV exchanged"):
        assert needle in text, needle
    files = runs / "report_files"
    for name in ("fig3.png", "s1.png", "s2.png", "ss-ff-internal.png", "side_by_side.csv"):
        assert (files / name).is_file(), name
    import pandas as pd

    sbs = pd.read_csv(files / "side_by_side.csv")
    assert set(sbs["model"]) == {"FCN", "LSTM-FCN", "ResNet", "InceptionTime", "Sq-PF", "SS-FF"}
    assert len(sbs) == 6 * 4 * 8  # 6 models x (3 sets + Average) x 8 metrics
    ssff = sbs[(sbs["model"] == "SS-FF") & (sbs["set"] == "Int. val") & (sbs["metric"] == "specificity")].iloc[0]
    assert ssff["article"] == pytest.approx(0.817) and "printed 0.831" in ssff["note"]
    assert (sbs["difference"] - (sbs["site"] - sbs["article"])).abs().max() < 1e-12


def test_a_second_run_redoes_only_what_a_retrained_model_makes_stale(study_run, fork_env):
    runs, _ = study_run
    # SS-FF retrained (its file gone): its evaluation and explanations are stale, since their input
    # changed; every other step is kept.
    (runs / "models" / "ss-ff.h5").unlink()
    again = _bash(runs / "study.sh", fork_env)
    assert sorted(_ran(again.stderr)) == sorted(["finetune ss-ff.h5", "evaluate ss-ff-eval.h5",
                                                 "explain ss-ff-internal.h5", "explain ss-ff-external1.h5",
                                                 "explain ss-ff-external2.h5"])
    assert again.stderr.count("== kept (done)") == 36  # of 41 steps (19 + 19 + 3), 5 ran again


def test_the_report_lists_what_is_missing(study_run, fork_env, tmp_path):
    runs, _ = study_run
    partial = tmp_path / "partial"
    shutil.copytree(runs, partial, ignore=shutil.ignore_patterns("report*"))
    for name in ("eval/sq-af-eval.h5", "eval/resnet-eval.h5", "explain/ss-ff-external2.h5"):
        (partial / name).unlink()
    (partial / "models" / "sq-af.h5").unlink()
    res = run_lvsdctl(fork_env, "study", "report", partial, "-o", partial / "r.md", "--html", partial / "r.html", "--json")
    summary = json.loads(res.stdout)
    assert summary["models_evaluated"] == 17
    assert summary["missing"] == {"models": ["sq-af"], "evaluations": ["resnet", "sq-af"],
                                  "explanations": ["ss-ff on external2"]}
    text = (partial / "r.md").read_text()
    assert "**missing evaluations**: ResNet, Sq-AF" in text
    html = (partial / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and 'src="r_files/fig3.png"' in html
