"""`lvsdctl study done`: a step is done when its output is complete, made by the same command, from
unchanged inputs; a training with per-epoch state left behind is resumable."""

from __future__ import annotations

from typer.testing import CliRunner

from lvsdctl.hdf5 import atomic_output
from lvsdctl.study import done
from lvsdctl.study.status import normalise

CMD = "train {split} --model fcn --epochs 2 --lr 0.001 --seed 0 --device auto -o {out}"


def _make(path, kind, command, inputs=()):
    with atomic_output(path, kind=kind, inputs=list(inputs), command=command) as f:
        f.attrs["model_name"] = "fcn"


def _words(split, out, **replace):
    text = CMD.format(split=split, out=out)
    for a, b in replace.items():
        text = text.replace(a, b)
    return text.split()


def test_done_only_when_complete_same_command_same_inputs(tmp_path):
    split, out = tmp_path / "split.h5", tmp_path / "fcn.h5"
    split.write_bytes(b"the split file")
    words = _words(split, out)
    assert done(words).reason == "missing" and not done(words).done
    # Made by the same command (through torchrun, with --resume and another device: all neutral).
    _make(out, "model", "main.py " + " ".join(_words(split, out, **{"--device auto": "--device cuda"})) + " --resume",
          inputs=[str(split)])
    status = done(words)
    assert status.done and status.reason == "done"
    # Another setting: not done, and the reason names the difference.
    status = done(_words(split, out, **{"--epochs 2": "--epochs 3"}))
    assert not status.done and "differs: this step has '3'" in status.reason
    # An input re-made since: stale, as in make.
    split.write_bytes(b"a new split file")
    assert done(words).reason == f"its input {split} changed since"
    split.unlink()
    assert done(words).reason == f"its input {split} is gone"


def test_a_file_of_another_kind_or_not_lvsdctl_is_not_done(tmp_path):
    out = tmp_path / "fcn.h5"
    _make(out, "evaluation", "lvsdctl " + " ".join(_words("s.h5", out)))
    assert "a 'evaluation' file where `train` writes 'model'" in done(_words("s.h5", out)).reason
    out.write_bytes(b"not hdf5")
    assert done(_words("s.h5", out)).reason == "not a readable HDF5 file"


def test_resume_state_makes_a_missing_training_resumable(tmp_path):
    out = tmp_path / "fcn.h5"
    (tmp_path / ".fcn.h5.resume.h5").write_bytes(b"state")
    status = done(_words("s.h5", out))
    assert not status.done and status.resumable
    ft = ["finetune", "s.h5", "--freeze", "4", "-o", str(tmp_path / "ss-pf4.h5")]
    assert not done(ft).resumable
    (tmp_path / ".ss-pf4.h5.resume.h5").write_bytes(b"state")
    assert done(ft).resumable
    assert not done(["evaluate", "m.h5", "s.h5", "-o", str(out)]).resumable


def test_normalise_drops_only_neutral_flags():
    assert normalise("train a.h5 -q --device=cuda -j 4 --json --resume --epochs 2 -o x.h5".split()) == \
        "train a.h5 --epochs 2 -o x.h5".split()


def test_cli_exit_codes(tmp_path):
    from lvsdctl.cli.main import app

    runner = CliRunner()
    out = tmp_path / "fcn.h5"
    res = runner.invoke(app, ["study", "done", "-q", "--", *_words("s.h5", out)])
    assert res.exit_code == 10
    (tmp_path / ".fcn.h5.resume.h5").write_bytes(b"state")
    assert runner.invoke(app, ["study", "done", "-q", "--", *_words("s.h5", out)]).exit_code == 11
    _make(out, "model", "lvsdctl " + " ".join(_words("s.h5", out)))
    res = runner.invoke(app, ["study", "done", "--json", "--", *_words("s.h5", out)])
    assert res.exit_code == 0 and '"done": true' in res.stdout
    res = runner.invoke(app, ["study", "done", "--", "train", "s.h5"])
    assert res.exit_code == 3 and "-o OUTPUT" in res.output
