import subprocess
from pathlib import Path

from lvsdctl.cli.completions import SCRIPTS

ROOT = Path(__file__).resolve().parents[2]


def test_completions_are_up_to_date():
    for name, make in SCRIPTS.items():
        committed = (ROOT / "completions" / name).read_text()
        assert committed == make(), (
            f"completions/{name} is stale: run `python -m lvsdctl.cli.completions completions/`"
        )


def test_bash_completion_script_is_valid_bash(tmp_path):
    script = ROOT / "completions" / "lvsdctl.bash"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # Drive it: completing `lvsdctl ` offers the subcommands.
    drive = f"source {script}; COMP_WORDS=(lvsdctl ''); COMP_CWORD=1; _lvsdctl; echo ${{COMPREPLY[@]}}"
    out = subprocess.run(["bash", "-c", drive], capture_output=True, text=True, check=True).stdout
    assert "--version" not in out
    assert {"ingest", "preprocess", "split", "train", "finetune", "evaluate", "stats", "explain"} <= set(out.split())
    # ... and `lvsdctl train --mo<TAB>` offers that command's own options, `lvsdctl stats <TAB>` its subcommands.
    drive = f"source {script}; COMP_WORDS=(lvsdctl train --mo); COMP_CWORD=2; _lvsdctl; echo ${{COMPREPLY[@]}}"
    out = subprocess.run(["bash", "-c", drive], capture_output=True, text=True, check=True).stdout
    assert set(out.split()) == {"--model", "--model-option"}
    drive = f"source {script}; COMP_WORDS=(lvsdctl stats ''); COMP_CWORD=2; _lvsdctl; echo ${{COMPREPLY[@]}}"
    out = subprocess.run(["bash", "-c", drive], capture_output=True, text=True, check=True).stdout
    assert set(out.split()) == {"audit", "cohort", "compare"}
