"""`lvsdctl synth` on the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lvsdctl.cli.main import app


def test_synth_command_writes_a_cohort(tmp_path):
    out = tmp_path / "cohort"
    res = CliRunner().invoke(app, ["synth", "-o", str(out), "--n-ecgs", "10", "--n-patients", "6",
                                   "--seed", "3", "--json", "-q"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["synthetic"] is True and summary["n_ecgs"] == 10 and summary["n_patients"] == 6
    assert len(list((out / "ecg").iterdir())) == 10 and (out / "echo.csv").is_file()


def test_synth_command_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["synth", "-o", "-"])
    assert res.exit_code == 2
    out = tmp_path / "busy"
    out.mkdir()
    (out / "x.txt").write_text("mine")
    res = runner.invoke(app, ["synth", "-o", str(out), "--n-ecgs", "10", "--n-patients", "6", "-q"])
    assert res.exit_code == 3 and "not empty" in res.output
    res = runner.invoke(app, ["synth", "-o", str(tmp_path / "n"), "--n-ecgs", "900", "--n-patients", "6", "-q"])
    assert res.exit_code == 3 and "between" in res.output


def test_help_teaches():
    res = CliRunner().invoke(app, ["synth", "--help"])
    assert res.exit_code == 0 and "lvsdctl synth -o" in res.output and "SYNTHETIC" in res.output
