import subprocess
import sys

from typer.testing import CliRunner

from lvsdctl import __version__
from lvsdctl.cli.main import app

HEAVY = ("torch", "h5py", "pandas", "matplotlib", "scipy", "neurokit2", "captum", "sklearn", "numpy")


def test_importing_the_cli_stays_light():
    code = ("import sys, lvsdctl.cli.main\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing the CLI pulled in: {out}"


def test_version_and_help():
    runner = CliRunner()
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and __version__ in res.output
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    assert "not implemented" not in res.output.lower()


def test_every_command_help_teaches():
    runner = CliRunner()
    names = list(app.registered_commands)
    for cmd in names:
        name = cmd.name or cmd.callback.__name__
        res = runner.invoke(app, [name, "--help"])
        assert res.exit_code == 0, name
        assert "lvsdctl " + name in res.output or "Example" in res.output, f"{name} --help shows no example"


def test_a_bug_is_reported_by_type_and_place_without_its_message(monkeypatch, tmp_path):
    import lvsdctl.ingest.api

    def broken(*args, **kwargs):
        raise KeyError("ZZPATIENTNAME")  # an exception message may quote input data

    monkeypatch.setattr(lvsdctl.ingest.api, "ingest", broken)
    monkeypatch.delenv("LVSDCTL_DEBUG", raising=False)
    res = CliRunner().invoke(app, ["ingest", str(tmp_path), "-o", str(tmp_path / "raw.h5"), "--demo-secret"])
    assert res.exit_code == 1
    assert "internal error: KeyError at lvsdctl/cli/ingest.py:" in " ".join(res.stderr.split())
    assert "ZZPATIENTNAME" not in res.output + res.stderr and "Traceback" not in res.stderr

    monkeypatch.setenv("LVSDCTL_DEBUG", "1")  # developers get the exception itself
    res = CliRunner().invoke(app, ["ingest", str(tmp_path), "-o", str(tmp_path / "raw.h5"), "--demo-secret"])
    assert isinstance(res.exception, KeyError)
