"""`--help` of every command at 80 columns (COLUMNS=80): nothing cut, no `<bool>`, examples that paste;
and one spelling per flag, the former ones still accepted with a deprecation note."""

import re

import pytest
import typer
from typer.testing import CliRunner

from lvsdctl.cli.app import _rename
from lvsdctl.cli.main import app
from lvsdctl.cli.options import RENAMED, renamed_in


def _commands():
    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None) or {}
        if path:
            out.append((path, cmd))
        for name, sub in subs.items():
            walk(sub, [*path, name])

    walk(root, [])
    return out


COMMANDS = _commands()


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_reads_well_at_80_columns(path, cmd):
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    text = res.output
    long = [line for line in text.splitlines() if len(line) > 80]
    assert not long, long
    assert "…" not in text and "<bool>" not in text and not re.search(r"<(str|int|float)", text)
    for param in cmd.params:
        if getattr(param, "param_type_name", "") == "option" and not param.hidden:
            for flag in [*param.opts, *param.secondary_opts]:
                assert re.search(rf"(^|[ ,]){re.escape(flag)}([ ,]|$)", text, re.M), f"{flag} not shown in full"
    # a command in a paragraph is never broken inside a word: continued with a backslash, so it pastes
    for line in text.splitlines():
        if line.strip().startswith("lvsdctl ") and not line.rstrip().endswith("\\"):
            assert len(line) <= 80


def test_finetune_help_at_80_columns_shows_every_option_and_choice_whole():
    res = CliRunner().invoke(app, ["finetune", "--help"], env={"COLUMNS": "80"})
    text = res.output
    assert "--checkpoint-activations" in text and "[auto|cpu|cuda|mps]" in text
    assert "--zscore / --no-zscore" in text and "--sequential  " in text  # a flag: no value shown


def test_the_same_flag_for_the_same_idea():
    """Sets are --set / --train-set / --tune-set everywhere; -o/--output and --json in every command;
    the decision threshold is --threshold, the LVEF cut-off --lvef-cutoff."""
    flags = {" ".join(p): {f for prm in c.params for f in getattr(prm, "opts", [])} for p, c in COMMANDS}
    everything = set().union(*flags.values())
    assert not everything & {"--sets", "--train-split", "--tune-split", "--out"}
    leaves = [" ".join(p) for p, c in COMMANDS if not getattr(c, "commands", None)]
    assert {"calibrate", "stats audit", "weights fetch", "study report"} <= set(leaves)
    for name in leaves:
        assert "--json" in flags[name], name
        if name != "study done":  # a predicate on another command's words (its -o among them): writes nothing
            assert {"-o", "--output"} <= flags[name], name
    assert "--lvef-cutoff" in flags["ingest"] and "--threshold" not in flags["ingest"]
    for name in ("evaluate", "predict", "calibrate", "explain"):
        assert "--threshold" in flags[name], name
    for name in ("train", "finetune"):
        assert {"--train-set", "--tune-set"} <= flags[name], name
    for name in ("evaluate", "predict", "pretrain", "stats compare", "explain"):
        assert "--set" in flags[name], name


def test_former_spellings_still_work_with_a_note():
    args, notes = _rename(["a.h5", "--sets=internal", "--tune-split", "", "--", "--sets"], renamed_in("evaluate"))
    assert args == ["a.h5", "--set=internal", "--tune-set", "", "--", "--sets"]  # nothing after `--`
    assert len(notes) == 2 and "--sets is deprecated: it is now --set" in notes[0]
    assert _rename(["--threshold", "35"], renamed_in("ingest"))[0] == ["--lvef-cutoff", "35"]
    assert _rename(["--threshold", "0.4"], renamed_in("predict"))[0] == ["--threshold", "0.4"]  # not renamed there
    assert _rename(["--out", "m.png"], renamed_in("explain"))[0] == ["--output", "m.png"]
    assert _rename(["--out", "runs/"], renamed_in("study script"))[0] == ["--runs", "runs/"]  # a directory there
    res = CliRunner().invoke(app, ["stats", "compare", "--study", "--sets", "Ext. val 1,Ext. val 2", "--json", "-q"])
    assert res.exit_code == 0, res.output
    assert "--sets is deprecated: it is now --set" in res.stderr
    assert set(__import__("json").loads(res.stdout)["validation_sets"]) == {"Ext. val 1", "Ext. val 2"}
    assert all(old.startswith("--") and new.startswith("--") for m in RENAMED.values() for old, new in m.items())
