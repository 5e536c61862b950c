"""The study commands on damaged and crafted inputs: clear refusals or problems listed, never an internal
error, no text of the files in what is written, one writer per report."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from lvsdctl.errors import InputError
from lvsdctl.hdf5 import atomic_output, write_json_attr, write_records
from lvsdctl.outputs import OutputBusyError, output_lock
from lvsdctl.study import done, report, script

from tests.hostile import markers
from tests.hostile.markers import marker


def _split_file(path, sets: list[str]) -> None:
    n = 4 * len(sets)
    with atomic_output(path, kind="ecg", synthetic=True) as f:
        f.create_dataset("signals", data=np.zeros((n, 4, 10), dtype="float32"))
        write_records(f, pd.DataFrame({"record_id": [f"r{i}" for i in range(n)],
                                       "patient": [f"p{i}" for i in range(n)], "label": [i % 2 for i in range(n)],
                                       "split": [s for s in sets for _ in range(4)]}))


@pytest.mark.parametrize("name", ["x'$(touch pwned)'", "a b", "../up", "x\nrm -rf ~", ""])
def test_a_set_name_that_cannot_be_a_file_name_is_refused(tmp_path, name):
    _split_file(tmp_path / "split.h5", ["train", "tune", name or "-"])
    with pytest.raises(InputError, match="validation set's name") as err:
        script(tmp_path / "split.h5", tmp_path / "runs")
    assert name not in str(err.value) or not name
    assert not (tmp_path / "runs" / "study.sh").exists()


def test_a_split_without_split_column_is_an_input_error(tmp_path):
    with atomic_output(tmp_path / "pre.h5", kind="ecg", synthetic=True) as f:
        f.create_dataset("signals", data=np.zeros((2, 4, 10), dtype="float32"))
        write_records(f, pd.DataFrame({"record_id": ["a", "b"], "patient": ["p", "q"], "label": [0, 1]}))
    with pytest.raises(InputError, match="no validation set|no split or label column"):
        script(tmp_path / "pre.h5", tmp_path / "runs")


def _crafted_runs(root):
    (root / "models").mkdir(parents=True)
    (root / "eval").mkdir()
    (root / "explain").mkdir()
    (root / "study.json").write_text(json.dumps({
        "models": {"fcn": {"file": "/etc/passwd"}, "ss-ff": "not an object"},
        "evaluations": {"fcn": "../../outside.h5"},
        "explanations": [{"model": "ss-ff", "set": "internal", "file": "explain/ss-ff-internal.h5"}, 7],
    }))
    with h5py.File(root / "models" / "fcn.h5", "w") as f:
        f.attrs["lvsdctl_kind"] = "model"
        f.attrs["model_name"] = marker("model name")
        write_json_attr(f, "training", {"device": marker("device"), "start": marker("start"),
                                        "train": {"epochs": marker("epochs"), "lr": "x"}})
        write_json_attr(f, "history", [{"seconds": marker("seconds")}])
    with h5py.File(root / "models" / "inceptiontime.h5", "w") as f:
        f.attrs["lvsdctl_kind"] = "model"
        f.attrs["training"] = json.dumps([marker("list")])
    (root / "eval" / "fcn.h5").write_bytes(b"not hdf5 " + marker("eval").encode())
    with h5py.File(root / "explain" / "ss-ff-internal.h5", "w") as f:
        f.attrs["lvsdctl_kind"] = "attributions"
        f.attrs["lvsdctl_format_version"] = 2
        f.attrs["leads"] = [marker("lead")]
        write_json_attr(f, "summary", {"all": {marker("k"): 1}})


def test_report_on_crafted_run_files_lists_problems_and_quotes_none(tmp_path):
    runs = tmp_path / "runs"
    _crafted_runs(runs)
    summary = report(runs, runs / "report.md")
    assert summary.problems and summary.models_evaluated == 0
    assert not markers.in_files(runs / "report_files") and not markers.in_text((runs / "report.md").read_text())
    assert not markers.in_text(json.dumps(summary.to_dict()))
    assert not [p.name for p in runs.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", "\xff\xfe"])
def test_a_damaged_manifest_is_an_input_error(tmp_path, text):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "study.json").write_text(text, encoding="latin-1")
    with pytest.raises(InputError, match="study.json"):
        report(runs, runs / "report.md")


def test_one_report_writer_at_a_time(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    import subprocess
    import sys

    code = ("import time; from lvsdctl.outputs import output_lock\n"
            f"with output_lock({str(runs / 'report.md')!r}):\n    print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputBusyError):
            report(runs, runs / "report.md")
    finally:
        holder.kill()
        holder.wait()
    with output_lock(runs / "other.md"):
        pass


def test_done_on_crafted_outputs_never_quotes_them(tmp_path):
    out = tmp_path / "fcn.h5"
    with h5py.File(out, "w") as f:
        f.attrs["lvsdctl_kind"] = marker("kind")
    status = done(["train", "split.h5", "-o", str(out)])
    assert not status.done and not markers.in_text(status.reason)
    for entries in ([json.dumps({"command": f"lvsdctl train {marker('word')} -o x", "inputs": [3]})],
                    [json.dumps({"command": f"lvsdctl train split.h5 -o {out}", "inputs": [3]})],
                    ["{" + marker("not json")], [json.dumps([marker("list")])]):
        with h5py.File(out, "w") as f:
            f.attrs["lvsdctl_kind"] = "model"
            f.create_dataset("provenance", data=entries, dtype=h5py.string_dtype())
        for words in (["train", "split.h5", "-o", str(out)], ["train", "a", "b", "c", "-o", str(out)]):
            status = done(words)
            assert not status.done and not markers.in_text(status.reason), status.reason
