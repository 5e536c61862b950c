"""`lvsdctl study script`: the grid as bash, sized by preset, ready for torchrun; and its `step` logic."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lvsdctl.errors import InputError
from lvsdctl.study import grid, script
from lvsdctl.study.flags import COMMANDS, FLAGS


@pytest.fixture
def split(tmp_path) -> Path:
    """A tiny split `ecg` file: what `study script` reads is the sets, their labels and the flag."""
    from lvsdctl.hdf5 import atomic_output, write_records

    sets = ["train"] * 8 + ["tune"] * 4 + ["internal"] * 4 + ["external1"] * 4 + ["external2"] * 4
    records = pd.DataFrame({"record_id": [f"r{i}" for i in range(len(sets))], "patient": [f"p{i}" for i in range(len(sets))],
                            "split": sets, "label": np.arange(len(sets)) % 2})
    path = tmp_path / "split.h5"
    with atomic_output(path, kind="ecg", synthetic=True, command="test") as f:
        write_records(f, records)
        ds = f.create_dataset("signals", data=np.zeros((len(sets), 4, 50), np.float32))
        ds.attrs["layout"] = "4x50"
    return path


def _steps(text: str) -> list[list[str]]:
    return [line.split()[1:] for line in text.splitlines() if line.startswith("step ")]


def _value(words, flag):
    return words[words.index(flag) + 1]


def test_paper_preset_is_the_articles_recipe(split, tmp_path):
    s = script(split, tmp_path / "runs", preset="paper")
    text = Path(s.script).read_text()
    assert (s.trainings, s.evaluations, s.explanations) == (19, 19, 6) and s.synthetic
    steps = _steps(text)
    train = [w for w in steps if w[0] == "train"]
    assert [_value(w, "--model") for w in train] == list(grid.BASELINES)
    assert all(_value(w, "--epochs") == "100" and _value(w, "--lr") == "5e-06" and _value(w, "--batch-size") == "16"
               and "--model-option" not in w for w in train)  # full width
    ft = {w[-1].strip('"').rsplit("/", 1)[-1][:-3]: w for w in steps if w[0] == "finetune"}
    assert set(ft) == set(grid.FAMILIES["ss"] + grid.FAMILIES["sq"] + grid.FAMILIES["scratch"])
    lrs = {m: _value(w, "--lr") for m, w in ft.items()}
    assert (lrs["ss-ff"], lrs["sq-pf4"], lrs["ss-af"]) == ("5e-07", "5e-06", "0.001")
    assert [_value(ft[f"sq-{grid.strategy(k)}"], "--freeze") for k in grid.STUDY_FREEZES] == \
        ["0", "2", "4", "6", "8", "10", "12"]
    assert all(_value(w, "--epochs") == "60" and _value(w, "--batch-size") == "256" for w in ft.values())
    assert "--sequential" in ft["sq-ff"] and "--sequential" not in ft["ss-ff"]
    assert _value(ft["ecgfm-scratch"], "--size") == "base" and "--from-scratch" in ft["ecgfm-scratch"]
    ev = [w for w in steps if w[0] == "evaluate"]
    assert all(_value(w, "--threshold") == "0.5" and _value(w, "--bootstrap") == "1000" for w in ev)
    assert {_value(w, "--set") for w in steps if w[0] == "explain"} == {"internal", "external1", "external2"}
    assert "--limit" not in text
    assert "SYNTHETIC data" in text and 'TRAIN="${TRAIN:-$LVSDCTL}"' in text
    manifest = json.loads((tmp_path / "runs" / "study.json").read_text())
    assert manifest["preset"]["name"] == "paper" and manifest["models"]["sq-pf4"]["freeze"] == 4
    assert subprocess.run(["bash", "-n", s.script]).returncode == 0


def test_quick_preset_torchrun_and_refusals(split, tmp_path):
    s = script(split, tmp_path / "runs", preset="quick", torchrun=4, output=str(tmp_path / "q.sh"))
    text = (tmp_path / "q.sh").read_text()
    assert 'TRAIN="${TRAIN:-torchrun --nproc-per-node 4 -m lvsdctl.cli.main}"' in text
    assert "--model-option 'filters=[32,64,32]'" in text and "--limit 8" in text and s.explanations == 3
    assert os.access(tmp_path / "q.sh", os.X_OK)
    with pytest.raises(InputError, match="does not split over 3 processes"):
        script(split, tmp_path / "runs", preset="paper", torchrun=3)
    with pytest.raises(InputError, match="unknown preset"):
        script(split, tmp_path / "runs", preset="huge")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="is a file; give a directory"):
        script(split, tmp_path / "afile")


def test_cli_prints_the_script_with_dash(split, tmp_path):
    from lvsdctl.cli.main import app

    res = CliRunner().invoke(app, ["study", "script", str(split), "--runs", str(tmp_path / "r"), "--preset", "paper",
                                   "-o", "-", "-q"])
    assert res.exit_code == 0 and res.stdout.startswith("#!/usr/bin/env bash")
    assert not (tmp_path / "r" / "study.sh").exists() and (tmp_path / "r" / "study.json").exists()


def test_shallow_backbones_map_the_articles_freezes():
    assert [grid.freeze_for(k, 12) for k in grid.STUDY_FREEZES] == list(grid.STUDY_FREEZES)
    assert [grid.freeze_for(k, 2) for k in grid.STUDY_FREEZES] == [0, 1, 1, 1, 1, 1, 2]  # PF stays partial
    assert [grid.freeze_for(k, 24) for k in grid.STUDY_FREEZES] == [0, 4, 8, 12, 16, 20, 24]


def test_every_flag_the_script_writes_exists_in_this_lvsdctl():
    """A renamed flag (issue 16) fails here, not in a user's six-hour run: update lvsdctl/study/flags.py."""
    import typer

    from lvsdctl.cli.main import app

    root = typer.main.get_command(app)

    def command(path: str):
        cmd = root
        for part in path.split():
            cmd = cmd.commands[part]
        return cmd

    for key, spelled in COMMANDS.items():
        command(spelled)
    for (key, idea), spelled in FLAGS.items():
        opts = {o for p in command(COMMANDS[key]).params for o in (*p.opts, *p.secondary_opts)}
        assert spelled in opts, f"{COMMANDS[key]} has no {spelled} (for {idea})"


def test_step_skips_resumes_and_launches_trainings_through_train(split, tmp_path):
    """The script's control flow with a stand-in lvsdctl that logs its calls and answers `study done`."""
    s = script(split, tmp_path / "runs", preset="quick", ss_weights=None)
    log = tmp_path / "calls.log"
    fake = tmp_path / "fake-lvsdctl"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$(basename "$0") $*" >> {log}\n'
        'if [ "$1 $2" = "study done" ]; then\n'
        '  case "$*" in *"/models/fcn.h5") exit 0 ;; *"/models/ss-ff.h5") exit 11 ;; *) exit 10 ;; esac\n'
        "fi\n")
    fake.chmod(0o755)
    trainer = tmp_path / "fake-torchrun"
    trainer.write_bytes(fake.read_bytes())
    trainer.chmod(0o755)
    (tmp_path / "w.pt").write_text("weights")
    env = dict(os.environ, LVSDCTL=str(fake), TRAIN=str(trainer), SS_WEIGHTS=str(tmp_path / "w.pt"),
               SQ_WEIGHTS=str(tmp_path / "w.pt"))
    proc = subprocess.run(["bash", s.script], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    runs = [c for c in calls if " study done " not in f" {c} "]
    by_output = {c.split()[c.split().index("-o") + 1].rsplit("/", 1)[-1]: c for c in runs if "-o" in c.split()}
    assert "fcn.h5" not in by_output  # done: kept
    assert by_output["ss-ff.h5"].startswith("fake-torchrun finetune") and by_output["ss-ff.h5"].endswith("--resume")
    assert by_output["lstm-fcn.h5"].startswith("fake-torchrun train") and "--resume" not in by_output["lstm-fcn.h5"]
    assert by_output["fcn-eval.h5"].startswith("fake-lvsdctl evaluate")
    assert runs[-1].startswith("fake-lvsdctl study report")
    # Without the weights the script stops before training anything (exit 6, as lvsdctl does).
    proc = subprocess.run(["bash", s.script], env=dict(env, SS_WEIGHTS=str(tmp_path / "none.pt")),
                          capture_output=True, text=True)
    assert proc.returncode == 6 and "missing ECG-FM weights" in proc.stderr


def test_paths_with_shell_characters_stay_literal(split, tmp_path):
    odd = tmp_path / 'we$ird "dir` x'
    odd.mkdir()
    moved = odd / "split.h5"
    split.rename(moved)
    s = script(moved, odd / "runs", preset="quick")
    assignments = "\n".join(line for line in Path(s.script).read_text().splitlines()
                            if line.startswith(("SPLIT=", "RUNS=")))
    proc = subprocess.run(["bash", "-c", assignments + '\nprintf "%s\\n%s" "$SPLIT" "$RUNS"'],
                          capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert proc.stdout.split("\n") == [str(moved.resolve()), str((odd / "runs").resolve())]
    assert subprocess.run(["bash", "-n", s.script]).returncode == 0


def test_starting_points_by_catalog_name_are_the_files_weights_fetch_gets(split, tmp_path, monkeypatch):
    """`--sq-weights ecgfm-mimic-finetuned` (a name `finetune --weights` takes) is that official file in the
    weights directory, not a path named like it; a missing start says which `lvsdctl weights fetch` gets it."""
    wdir = tmp_path / "weights"
    monkeypatch.setenv("LVSDCTL_WEIGHTS_DIR", str(wdir))
    s = script(split, tmp_path / "runs", preset="quick", sq_weights="ecgfm-mimic-finetuned")
    text = Path(s.script).read_text()
    assert 'SS_WEIGHTS="${SS_WEIGHTS:-$WEIGHTS_DIR/mimic_iv_ecg_physionet_pretrained.pt}"' in text
    assert 'SQ_WEIGHTS="${SQ_WEIGHTS:-$WEIGHTS_DIR/mimic_iv_ecg_finetuned.pt}"' in text
    assert s.encoder_layers == {"ss": None, "sq": None}  # nothing here to read: 12 layers assumed
    wdir.mkdir()
    (wdir / "mimic_iv_ecg_physionet_pretrained.pt").write_text("a stand-in")
    proc = subprocess.run(["bash", s.script], env=dict(os.environ, LVSDCTL="false"), capture_output=True, text=True)
    assert proc.returncode == 6
    assert "mimic_iv_ecg_finetuned.pt (get it: lvsdctl weights fetch ecgfm-mimic-finetuned" in proc.stderr


def test_ecgfounder_adds_its_strategies_beyond_the_article(split, tmp_path, monkeypatch):
    """`--ecgfounder`: ECGFounder's FF, PF1-6, AF fine-tuned and evaluated on $FOUNDER_SPLIT from its
    catalog weights, recorded in study.json for the report; without it the grid is the article's."""
    monkeypatch.setenv("LVSDCTL_WEIGHTS_DIR", str(tmp_path / "weights"))
    plain = script(split, tmp_path / "plain", preset="paper")
    assert "--backbone" not in plain.text and "FOUNDER" not in plain.text
    s = script(split, tmp_path / "runs", preset="paper", ecgfounder=True)
    assert (s.trainings, s.evaluations) == (plain.trainings + 8, plain.evaluations + 8)
    founder = [w for w in _steps(s.text) if "FOUNDER_SPLIT" in " ".join(w)]
    trains = [w for w in founder if w[0] == COMMANDS["finetune"]]
    assert [int(_value(w, FLAGS[("finetune", "freeze")])) for w in trains] == list(range(8))
    for w in trains:
        assert _value(w, FLAGS[("finetune", "backbone")]) == "ecgfounder"
        assert _value(w, FLAGS[("finetune", "weights")]) == '"$FOUNDER_WEIGHTS"'
        assert w[1] == '"$FOUNDER_SPLIT"'
    assert [_value(w, FLAGS[("finetune", "lr")]) for w in trains] == ["0.0001"] * 7 + ["0.001"]
    evals = [w for w in founder if w[0] == COMMANDS["evaluate"]]
    assert len(evals) == 8 and all(w[2] == '"$FOUNDER_SPLIT"' for w in evals)
    assert 'FOUNDER_WEIGHTS="${FOUNDER_WEIGHTS:-$WEIGHTS_DIR/12_lead_ECGFounder.pth}"' in s.text
    manifest = json.loads((tmp_path / "runs" / "study.json").read_text())
    assert set(grid.FOUNDER) <= set(manifest["models"]) and set(grid.FOUNDER) <= set(manifest["evaluations"])
    assert grid.LABELS["ecgfounder-pf3"] == "ECGFounder PF3"
    with pytest.raises(InputError):
        script(split, tmp_path / "x", ecgfounder_weights="ecgfounder-1lead")
