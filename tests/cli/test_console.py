"""What people read on stderr: no ANSI codes unless it is a terminal, commands in messages never
wrapped (they must paste), and tables that fit 80 columns without cutting a name."""

import io
import os
import subprocess
import sys

import pandas as pd
from rich.console import Console
from typer.testing import CliRunner

from lvsdctl.cli.console import to_rich
from lvsdctl.cli.main import app

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lvsdctl(*args, env=None, cwd=None):
    full = {**os.environ, "PYTHONPATH": ROOT, **(env or {})}
    return subprocess.run([sys.executable, "-m", "lvsdctl", *args], capture_output=True, text=True, env=full, cwd=cwd)


def test_no_ansi_codes_when_stderr_is_a_file_and_commands_in_errors_are_never_wrapped(tmp_path):
    (tmp_path / "ecg").mkdir()
    env = {"COLUMNS": "40", "FORCE_COLOR": "1", "LVSDCTL_PSEUDONYM_SECRET": ""}
    res = _lvsdctl("ingest", str(tmp_path / "ecg"), "-o", str(tmp_path / "raw.h5"), env=env)
    assert res.returncode == 6  # no secret: a missing resource
    assert "\x1b[" not in res.stderr
    one_liner = 'python -c "import secrets; print(secrets.token_hex(32))" > site.secret && chmod 600 site.secret'
    assert any(one_liner in line for line in res.stderr.splitlines()), res.stderr  # whole, on one line
    res = _lvsdctl("finetune", "nothing.h5", "-o", str(tmp_path / "m.h5"), env={**env, "LVSDCTL_WEIGHTS_DIR": str(tmp_path)})
    assert "\x1b[" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if "huggingface-cli download" in line]
    assert res.returncode != 0 and (not lines or "--local-dir" in lines[0]), res.stderr


def test_tables_fit_80_columns_without_cutting_names():
    """`stats compare` at 80 columns used to print two ECG-FM rows as `ecgfm-…`."""
    names = ["fcn", "inceptiontime", "ecgfm-scratch", "ecgfm-pretrained"]
    frame = pd.DataFrame({"Model A": [names[i] for i in (0, 1, 2, 0, 1, 0)],
                          "Model B": [names[j] for j in (1, 2, 3, 2, 3, 3)],
                          "Median diff": ["+0.012"] * 6, "W": ["12"] * 6, "p": ["< 0.001"] * 6,
                          "p (Holm)": ["0.004"] * 6, "Sig. (Holm)": ["yes"] * 6, "Shapiro p (diff)": ["0.512"] * 6})
    for width in (80, 50):
        console = Console(file=io.StringIO(), width=width)
        console.print(to_rich(frame, "Pairwise Wilcoxon signed-rank, Holm-adjusted", keep=("Model A", "Model B"),
                              width=width))
        text = console.file.getvalue()
        assert "…" not in text and max(len(line) for line in text.splitlines()) <= width
        for name in names:
            assert name in text, (width, name)


def test_stats_compare_at_80_columns_keeps_model_names_whole(tmp_path):
    rows = []
    for m, base in (("ecgfm-pretrained", 0.8), ("ecgfm-scratch", 0.7), ("inceptiontime", 0.6)):
        for k, s in enumerate(("internal", "external1", "external2")):
            for j, metric in enumerate(("accuracy", "sensitivity", "specificity", "auroc")):
                rows.append({"model": m, "validation_set": s, "metric": metric, "value": base + 0.01 * (k + j)})
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    res = CliRunner().invoke(app, ["stats", "compare", "--csv", str(tmp_path / "t.csv")], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert "…" not in res.stderr and "ecgfm-pretrained" in res.stderr and "ecgfm-scratch" in res.stderr
    table = [line for line in res.stderr.splitlines() if "ecgfm" in line or "inceptiontime" in line]
    assert len(table) == 3 and max(len(line) for line in table) <= 80  # messages may be longer: never tables
