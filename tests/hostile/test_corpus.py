"""Every subcommand on the hostile corpus (tests/hostile/cases), good inputs and bad ones.

For every invocation: the exit code is one a user's input can cause (0, 3, 4 or 6: never 1, a bug), no
traceback is printed, and no marker string appears on stdout or stderr; for ingest, inputs = accepted +
rejected + duplicates, each file classified as its case says; at the end, no marker appears in any file
any command wrote (HDF5 names, attributes and strings included).

Commands are discovered from the Typer app: a command without an entry in COMMANDS fails the test by
name, so a new command comes with its hostile cases.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from lvsdctl.cli.main import app
from tests.hostile import markers
from tests.hostile.cases import Case, build_all
from tests.hostile.echo_tables import broken_tables, write_corpus_tables
from tests.hostile.markers import marker

ALLOWED = {0, 3, 4, 6}
#: `study done` answers "run this step" with its own exit codes (lvsdctl.cli.study NOT_DONE, RESUMABLE).
DONE_CODES = {10, 11}


@dataclass
class Corpus:
    root: Path
    base: Path  # the synth cohort the corpus starts from
    inputs: Path  # every hostile ECG export
    cases: list[Case]
    echo_csv: Path
    echo_xlsx: Path
    secret: Path
    out: Path  # everything lvsdctl writes goes here: it must hold no marker
    log: list[str] = field(default_factory=list)

    def run(self, *args, codes: set[int] | int = 0, env: dict[str, str] | None = None) -> tuple[str, str]:
        """Run `lvsdctl ARGS` (with `env` added to the environment); check its exit code (one of `codes`), no
        traceback, no marker."""
        args = [str(a) for a in args]
        res = CliRunner().invoke(app, args, env=env)
        stdout, stderr = res.stdout, res.stderr
        shown = f"lvsdctl {' '.join(args)} -> {res.exit_code}\n{stderr[-3000:]}"
        self.log.append(shown)
        wanted = {codes} if isinstance(codes, int) else codes
        allowed = ALLOWED | (DONE_CODES if args[:2] == ["study", "done"] else set())
        assert res.exit_code in allowed, f"exit code {res.exit_code} is a bug's: {shown}"
        assert res.exit_code in wanted, f"expected exit code {sorted(wanted)}: {shown}"
        assert "Traceback" not in stdout + stderr, shown
        found = markers.in_text(stdout + stderr)
        assert not found, f"marker(s) {found} in the output of: {shown}"
        return stdout, stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    from lvsdctl.synth import synthesise

    root = tmp_path_factory.mktemp("hostile")
    synthesise(root / "base", n_ecgs=32, n_patients=14, seed=11)
    cases = build_all(root / "inputs", root / "base")
    csv, xlsx = write_corpus_tables(root / "base", root / "tables")
    secret = root / "site.secret"
    secret.write_text("0123456789abcdef" * 4 + "\n")
    out = root / "out"
    out.mkdir()
    return Corpus(root, root / "base", root / "inputs", cases, csv, xlsx, secret, out)


# ------------------------------------------------------------------------------------------ commands


def synth(c: Corpus) -> None:
    c.run("synth", "-o", c.out / "synth", "--n-ecgs", 6, "--n-patients", 4, "--seed", 1, "-q")
    (c.out / "a-file").write_text("x")
    c.run("synth", "-o", c.out / "a-file", "-q", codes=3)
    c.run("synth", "-o", "/proc/lvsdctl-synth", "-q", codes=3)


def ingest(c: Corpus) -> None:
    stdout, _ = c.run("ingest", c.inputs, "--echo", c.echo_csv, "--secret-file", c.secret, "-o", c.out / "raw.h5",
                      "--json", "-q", "-j", 2)
    s = json.loads(stdout)
    want = Counter(case.expect for case in c.cases)
    assert s["inputs"] == s["accepted"] + s["rejected"] + s["duplicates"] == len(c.cases)
    assert (s["accepted"], s["rejected"], s["duplicates"]) == (want["accept"], want["reject"], want["duplicate"])
    rejected = {r["path"] for r in s["rejects"]}
    assert rejected == {str(case.path) for case in c.cases if case.expect == "reject"}, rejected
    assert s["pairing"]["lvsd"] > 0 and s["pairing"]["no_lvsd"] > 0
    formats = c.inputs / "phi_markers" / "formats"
    c.run("ingest", formats, "--echo", c.echo_xlsx, "--secret-file", c.secret, "-o", c.out / "raw-xlsx.h5", "-q")
    c.run("ingest", formats, "--echo", c.echo_csv, "--secret-file", c.secret, "-o", c.out / "raw-strict.h5",
          "--strict", "-q", c.inputs / "phi_markers" / "bad", codes=4)
    for name, (table, code) in broken_tables(c.root / "broken-tables").items():
        c.run("ingest", formats, "--echo", table, "--secret-file", c.secret, "-o", c.out / f"raw-{name}.h5", "-q",
              codes=code)
    for bad_output in (c.out, c.out / "raw.h5" / "x.h5", "/proc/raw.h5", "/sys/raw.h5"):
        c.run("ingest", formats, "--secret-file", c.secret, "-o", bad_output, "-q", codes=3)
    assert not list(c.out.glob("*.ingest-state"))
    c.run("ingest", c.inputs / "phi_markers" / "bad", "--secret-file", c.secret, "-o", c.out / "none.h5", "-q",
          codes=3)  # nothing accepted: exit 3, the rejects report still written


def preprocess(c: Corpus) -> None:
    c.run("preprocess", c.out / "raw.h5", "-o", c.out / "pre.h5", "-q")
    c.run("preprocess", c.out / "raw.h5", "--layout", "12x5000", "-o", c.out / "pre12.h5", "-q")
    c.run("preprocess", c.inputs / "phi_markers" / "formats" / "aecg.xml", "-o", c.out / "pre-bad.h5", "-q", codes=3)
    c.run("preprocess", crafted(c, "marked-kind"), "-o", c.out / "pre-bad.h5", "-q", codes=3)
    c.run("preprocess", c.out / "raw.h5", "-o", c.out / "raw.h5.rejects.csv" / "x.h5", "-q", codes=3)


def split(c: Corpus) -> None:
    design = c.root / "design.json"
    design.write_text(json.dumps({"rules": [{"set": "train+tune", "until": "2022-12-31"}, {"set": "internal"}]}))
    c.run("split", c.out / "pre.h5", "--design", design, "-o", c.out / "split.h5", "--table", c.out / "table1.csv",
          "--seed", 1, "-q")
    c.run("split", c.out / "pre12.h5", "--design", design, "-o", c.out / "split12.h5", "--seed", 1, "-q")
    c.run("split", c.out / "pre.h5", "-o", c.out / "split-study.h5", "-q", codes={0, 3})  # sites are not kept
    nan_copy(c, "split.h5", "nan.h5")
    nan_copy(c, "split12.h5", "nan12.h5")


def train(c: Corpus) -> None:
    args = ["--model", "fcn", "--epochs", 1, "--lr", "1e-3", "--model-option", "filters=[4,4,4]", "-q"]
    c.run("train", c.out / "split.h5", *args, "-o", c.out / "fcn.h5")
    c.run("train", c.out / "nan.h5", *args, "-o", c.out / "fcn-nan.h5", codes=3)
    c.run("train", c.out / "split.h5", "--model", "fcn", "--epochs", 1, "--model-option", "filters=[4,3000000000,4]",
          "-o", c.out / "fcn-huge.h5", "-q", codes=3)
    c.run("train", c.out / "split.h5", *args, "-o", c.out / "fcn.h5.dir" / "..", codes=3)


def pretrain(c: Corpus) -> None:
    args = ["--size", "tiny", "--epochs", 1, "--batch-size", 8, "--set", "train", "-q"]
    c.run("pretrain", c.out / "split12.h5", *args, "-o", c.out / "fm.h5")
    c.run("pretrain", c.out / "nan12.h5", *args, "-o", c.out / "fm-nan.h5", codes=3)


def finetune(c: Corpus) -> None:
    args = ["--epochs", 1, "--batch-size", 8, "--lr", "1e-3", "-q"]
    c.run("finetune", c.out / "split.h5", "--weights", c.out / "fm.h5", *args, "-o", c.out / "ft.h5")
    c.run("finetune", c.out / "nan.h5", "--from-scratch", "--size", "tiny", *args, "-o", c.out / "ft-nan.h5", codes=3)
    c.run("finetune", c.out / "split.h5", "--weights", c.out / "missing.pt", *args, "-o", c.out / "ft-6.h5", codes=6)
    c.run("finetune", c.out / "split.h5", "--weights", crafted(c, "marked-config"), *args, "-o", c.out / "ft-3.h5",
          codes=3)


def evaluate(c: Corpus) -> None:
    c.run("evaluate", c.out / "fcn.h5", c.out / "split.h5", "-o", c.out / "fcn-eval.h5", "--bootstrap", 20,
          "--report", c.out / "report.md", "--figures", c.out / "figures", "--table", c.out / "table2.csv", "-q")
    c.run("evaluate", c.out / "ft.h5", c.out / "split.h5", "-o", c.out / "ft-eval.h5", "--bootstrap", 20, "-q")
    c.run("evaluate", c.out / "fcn.h5", c.out / "nan.h5", "-o", c.out / "nan-eval.h5", "-q", codes=3)
    for poison in POISONS:
        c.run("evaluate", crafted(c, poison), c.out / "split.h5", "-o", c.out / "poisoned-eval.h5", "-q", codes=3)


def predict(c: Corpus) -> None:
    c.run("predict", c.out / "fcn.h5", c.out / "split.h5", "-o", c.out / "pred.h5", "-q")
    c.run("predict", c.out / "fcn.h5", c.inputs / "phi_markers" / "formats", c.inputs / "phi_markers" / "bad",
          "--secret-file", c.secret, "-o", c.out / "pred-exports.h5", "-q")
    c.run("predict", c.out / "fcn.h5", c.out / "nan.h5", "-o", c.out / "pred-nan.h5", "-q", codes=3)
    c.run("predict", crafted(c, "huge-weights"), c.out / "split.h5", "-o", c.out / "pred-huge.h5", "-q", codes=3)


def explain(c: Corpus) -> None:
    export = c.inputs / "phi_markers" / "formats" / "aecg.xml"
    c.run("explain", export, "--model", c.out / "fcn.h5", "-o", c.out / "map.png", "-q")
    c.run("explain", c.out / "split.h5", "--set", "internal", "--model", c.out / "fcn.h5", "-o", c.out / "attr.h5",
          "--figure", c.out / "attr.png", "--limit", 4, "-q")
    c.run("explain", c.out / "nan.h5", "--set", "internal", "--model", c.out / "fcn.h5", "-o", c.out / "attr-nan.h5",
          "-q", codes=3)
    with h5py.File(c.out / "nan.h5") as f:
        record = f["records/record_id"].asstr()[int(np.flatnonzero(f["records/split"].asstr()[()] == "internal")[0])]
    c.run("explain", c.out / "nan.h5", "--record", record, "--model", c.out / "fcn.h5", "-o", c.out / "nan.png",
          "-q", codes=3)
    c.run("explain", c.inputs / "phi_markers" / "bad" / "muse-units.xml", "--model", c.out / "fcn.h5", "-o",
          c.out / "bad.png", "-q", codes=3)


def measure(c: Corpus) -> None:
    formats = c.inputs / "phi_markers" / "formats"
    stdout, _ = c.run("measure", formats, c.inputs / "phi_markers" / "bad", "-o", c.out / "measures.csv", "--json",
                      "-q")  # bad exports are rejected, listed by file and reason
    s = json.loads(stdout)
    assert s["inputs"] == s["measured"] + len(s["rejected"]) + s["duplicates"] and s["rejected"]
    c.run("measure", c.out / "raw.h5", "-o", c.out / "measures.h5", "-q")
    c.run("measure", c.out / "pre.h5", "-o", c.out / "measures-pre.csv", "-q")
    c.run("measure", c.out / "nan.h5", "-o", c.out / "measures-nan.csv", "-q")  # failed rows, the file goes on
    c.run("measure", crafted(c, "marked-kind"), "-o", c.out / "measures-bad.csv", "-q", codes=3)
    for bad_output in ("/proc/measures.csv", c.out / "raw.h5" / "m.csv", c.out):
        c.run("measure", c.out / "raw.h5", "-o", bad_output, "-q", codes=3)


def calibrate(c: Corpus) -> None:
    c.run("calibrate", c.out / "fcn.h5", c.out / "split.h5", "--tune-set", "tune", "-o", c.out / "fcn.threshold.json",
          "-q")
    c.run("calibrate", c.out / "fcn.h5", c.out / "split.h5", "--threshold", "0.5", "-o", c.out / "fcn-fixed.json", "-q")
    c.run("calibrate", c.out / "fcn.h5", c.out / "nan.h5", "-o", c.out / "cal-nan.json", "-q", codes=3)
    c.run("calibrate", crafted(c, "marked-config"), c.out / "split.h5", "-o", c.out / "cal-bad.json", "-q", codes=3)
    c.run("calibrate", c.out / "fcn.h5", crafted(c, "marked-kind"), "-o", c.out / "cal-kind.json", "-q", codes=3)
    c.run("calibrate", c.out / "fcn.h5", c.out / "split.h5", "-o", "/proc/cal.json", "-q", codes=3)


def merge(c: Corpus) -> None:
    c.run("merge", c.out / "raw.h5", c.out / "raw-xlsx.h5", "-o", c.out / "merged.h5", "-q")
    c.run("merge", c.out / "split.h5", c.out / "pre.h5", "-o", c.out / "merged-ecg.h5", "-q")
    c.run("merge", c.out / "raw.h5", c.out / "split.h5", "-o", c.out / "merged-kinds.h5", "-q", codes=3)
    c.run("merge", c.out / "raw.h5", crafted(c, "marked-kind"), "-o", c.out / "merged-bad.h5", "-q", codes=3)
    c.run("merge", c.out / "raw.h5", c.out / "raw-xlsx.h5", "-o", c.out / "raw.h5", "-q", codes=3)  # over an input
    for bad_output in ("/proc/merged.h5", c.out / "raw.h5" / "x.h5", c.out):
        c.run("merge", c.out / "raw.h5", c.out / "raw-xlsx.h5", "-o", bad_output, "-q", codes=3)


def stats_cohort(c: Corpus) -> None:
    c.run("stats", "cohort", c.out / "split.h5", "-o", c.out / "cohort.md")
    c.run("stats", "cohort", crafted(c, "marked-kind"), "-o", c.out / "cohort-bad.md", codes=3)


def stats_compare(c: Corpus) -> None:
    c.run("stats", "compare", c.out / "fcn-eval.h5", c.out / "ft-eval.h5", "--table", c.out / "t2.md",
          "-o", c.out / "comparison.md", "--bootstrap", 20, codes={0, 3})
    c.run("stats", "compare", c.out / "fcn-eval.h5", crafted(c, "marked-kind"), codes=3)


def inspect(c: Corpus) -> None:
    for name in ("raw.h5", "split.h5", "fcn.h5", "fcn-eval.h5", "attr.h5", "pred.h5"):
        c.run("inspect", c.out / name)
    for poison in ("marked-kind", "marked-config"):
        c.run("inspect", crafted(c, poison), codes={0, 3})
    c.run("inspect", c.inputs / "phi_markers" / "formats" / "aecg.xml", codes=3)


def stats_audit(c: Corpus) -> None:
    c.run("stats", "audit", "--study", "-o", c.out / "audit.md", "--corrected", c.out / "corrected.csv", "-q")
    tables = c.root / "audit-tables"
    tables.mkdir(exist_ok=True)
    sizes = tables / "sizes.csv"
    sizes.write_text("validation_set,n,positives\ninternal,200,40\n")
    good = tables / "good.csv"
    good.write_text("model,validation_set,metric,value\nm,internal,accuracy,0.81\nm,internal,sensitivity,0.70\n")
    c.run("stats", "audit", good, "--sizes", sizes, "-o", c.out / "audit.json", "-q")
    bad = {  # name -> (table, sizes): every one exit 3, no cell quoted
        "empty": ("", None), "noise": (os.urandom(2048), None), "one-column": ("value\n1\n", None),
        "marked-value": (f"model,validation_set,metric,value\nm,internal,accuracy,{marker('audit value')}\n", None),
        "marked-metric": (f"model,validation_set,metric,value\nm,internal,{marker('metric')},x{marker('v')}\n", None),
        "marked-size": (None, f"validation_set,n,positives\ninternal,{marker('n')},1\n"),
        "huge-size": (None, "validation_set,n,positives\ninternal,100000000000,1\n"),
        "empty-sizes": (None, ""),
    }
    for name, (table, size_text) in bad.items():
        t, z = good, sizes
        if table is not None:
            t = tables / f"{name}.csv"
            t.write_bytes(table if isinstance(table, bytes) else table.encode())
        if size_text is not None:
            z = tables / f"{name}-sizes.csv"
            z.write_text(size_text)
        c.run("stats", "audit", t, "--sizes", z, "-q", codes=3)
    c.run("stats", "audit", tables, "--sizes", sizes, "-q", codes=3)  # a directory
    c.run("stats", "audit", "--study", "-o", "/proc/audit.md", "-q", codes=3)
    c.run("stats", "audit", "--study", "-o", c.out / "audit.md" / "x.md", "-q", codes=3)


def study_script(c: Corpus) -> None:
    c.run("study", "script", c.out / "split.h5", "--runs", c.out / "runs", "-q")
    c.run("study", "script", c.out / "split.h5", "--runs", c.out / "a-file", "-q", codes=3)
    c.run("study", "script", c.out / "split.h5", "--runs", "/proc/runs", "-q", codes=3)
    c.run("study", "script", crafted(c, "marked-kind"), "--runs", c.out / "runs-bad", "-q", codes=3)
    shutil.copyfile(c.out / "split.h5", c.inputs / "shell-set.h5")
    with h5py.File(c.inputs / "shell-set.h5", "r+") as f:
        sets = f["records/split"].asstr()[()]
        sets[sets == "internal"] = "x'$(touch pwned)'"
        del f["records/split"]
        f["records"].create_dataset("split", data=sets.astype(object), dtype=h5py.string_dtype())
    c.run("study", "script", c.inputs / "shell-set.h5", "--runs", c.out / "runs-shell", "-q", codes=3)
    for poisoned in poisoned_checkpoints(c):  # a starting point is read (its layer count) before the script is written
        c.run("study", "script", c.out / "split.h5", "--runs", c.out / "runs-poisoned", "--ss-weights", poisoned, "-q",
              codes=3)
    assert not (c.out / "runs-shell" / "study.sh").exists()


def study_done(c: Corpus) -> None:
    c.run("study", "done", "--", "train", c.out / "split.h5", "-o", c.out / "fcn.h5", codes={0, 10})
    c.run("study", "done", "--", "train", c.out / "split.h5", "-o", c.out / "none.h5", codes=10)
    for poison in ("marked-kind", "marked-name"):
        c.run("study", "done", "--", "train", c.out / "split.h5", "-o", crafted(c, poison), codes={10, 11})
    c.run("study", "done", "--", "train", c.out / "split.h5", "-o", c.inputs / "phi_markers" / "formats" / "aecg.xml",
          codes={10, 11})
    c.run("study", "done", "--", "train", c.out / "split.h5", codes=3)  # no -o


def study_report(c: Corpus) -> None:
    runs = c.root / "runs"  # an input: the script's manifest, real results and crafted files
    for sub in ("models", "eval", "explain"):
        (runs / sub).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(c.out / "runs" / "study.json", runs / "study.json")
    shutil.copyfile(c.out / "fcn.h5", runs / "models" / "fcn.h5")
    shutil.copyfile(c.out / "fcn-eval.h5", runs / "eval" / "fcn.h5")
    shutil.copyfile(crafted(c, "marked-kind"), runs / "eval" / "inceptiontime.h5")
    shutil.copyfile(crafted(c, "marked-name"), runs / "models" / "inceptiontime.h5")
    (runs / "eval" / "resnet.h5").write_bytes(b"not hdf5 " + marker("eval").encode())
    c.run("study", "report", runs, "-o", c.out / "study-report.md", "--html", c.out / "study-report.html", "-q")
    c.run("study", "report", runs, "-o", "/proc/report.md", "-q", codes=3)
    c.run("study", "report", c.out / "a-file", "-o", c.out / "report-x.md", "-q", codes=3)
    (c.root / "bad-runs").mkdir(exist_ok=True)
    (c.root / "bad-runs" / "study.json").write_text("[" + json.dumps(marker("manifest")) + "]")
    c.run("study", "report", c.root / "bad-runs", "-o", c.out / "report-bad.md", "-q", codes=3)


def weights_list(c: Corpus) -> None:
    c.run("weights", "list", "--weights-dir", c.root / "weights", "--json")
    c.run("weights", "list", "--weights-dir", c.out / "a-file", "--json")


def _offline() -> dict[str, str]:
    """An offline machine, as lvsdctl reads it when `fetch` runs. huggingface_hub reads its own settings once,
    at import: imported here first, so this environment does not outlive the test in the process."""
    import huggingface_hub.constants  # noqa: F401

    return {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}


def weights_fetch(c: Corpus) -> None:
    wdir, cache = c.root / "weights", ["--cache-dir", c.root / "hf-cache"]
    c.run("weights", "fetch", "ecgfm-pretrained", "--weights-dir", wdir, *cache, "-q", env=_offline(), codes=6)
    c.run("weights", "fetch", "ecgfm-pretrained", "--weights-dir", c.out / "a-file", *cache, "-q", env=_offline(),
          codes=3)
    c.run("weights", "fetch", "ecgfm-pretrained", "--weights-dir", "/proc/weights", *cache, "-q", env=_offline(),
          codes=3)
    c.run("weights", "fetch", "no-such-model", "--weights-dir", wdir, *cache, "-q", env=_offline(), codes=3)
    assert not [p.name for p in wdir.glob(".*")] if wdir.exists() else True


def weights_verify(c: Corpus) -> None:
    from lvsdctl.weights import lookup

    wdir = c.root / "weights"
    wdir.mkdir(exist_ok=True)
    (wdir / lookup("ecgfm-pretrained").filename).write_bytes(b"PK\x03\x04" + marker("weights").encode())
    c.run("weights", "verify", "--weights-dir", wdir, "-q", codes=3)  # not the published file
    c.run("weights", "verify", "ecgfm-physionet-finetuned", "--weights-dir", wdir, "-q", codes=6)  # not there
    c.run("weights", "verify", c.inputs / "phi_markers" / "formats" / "aecg.xml", "--weights-dir", wdir)  # unknown
    c.run("weights", "verify", c.inputs / "no-such.pt", "--weights-dir", wdir, "-q", codes=3)
    for poisoned in poisoned_checkpoints(c):  # a weights file is loaded with weights_only=True, its text never quoted
        c.run("finetune", c.out / "split.h5", "--weights", poisoned, "--epochs", 1, "-o", c.out / "ft-poisoned.h5",
              "-q", codes=3)


#: command (as typed) -> what it is run on. Order matters: later commands read earlier outputs.
COMMANDS = {
    "synth": synth, "ingest": ingest, "preprocess": preprocess, "split": split, "train": train,
    "pretrain": pretrain, "finetune": finetune, "evaluate": evaluate, "predict": predict, "explain": explain,
    "calibrate": calibrate, "merge": merge, "measure": measure,
    "stats cohort": stats_cohort, "stats compare": stats_compare, "stats audit": stats_audit, "inspect": inspect,
    "study script": study_script, "study done": study_done, "study report": study_report,
    "weights list": weights_list, "weights fetch": weights_fetch, "weights verify": weights_verify,
}


def poisoned_checkpoints(c: Corpus) -> list[Path]:
    """PyTorch files that must never run or be quoted: a pickle calling a foreign global named with a marker,
    a zip that is not a checkpoint, a state dict whose config holds a marker and out-of-bound sizes."""
    import torch

    folder = c.inputs / "poisoned-pt"
    folder.mkdir(exist_ok=True)
    name = marker("global")
    (folder / "global.pt").write_bytes(b"\x80\x02c" + name.encode() + b"\nrun\nq\x00)\x81q\x01.")
    (folder / "zip.pt").write_bytes(b"PK\x03\x04" + os.urandom(64) + marker("zip").encode())
    torch.save({"cfg": {"model": {"encoder_embed_dim": 3_000_000_000, marker("cfg key"): marker("cfg value")}},
                "model": {marker("tensor") + ".weight": torch.zeros(2)}}, folder / "config.pt")
    torch.save({"cfg": {"model": {}}, "model": {"encoder.layers.0.weight": torch.zeros(2)},
                "optimizer_history": [{"num_updates": -(10**30)}]}, folder / "updates.pt")
    return sorted(folder.iterdir())


# ------------------------------------------------------------------------------ crafted HDF5 inputs

POISONS = ("huge-config", "huge-weights", "marked-name", "marked-config", "marked-kind", "not-json", "many-layers")


def nan_copy(c: Corpus, name: str, to: str) -> Path:
    """A copy of an `ecg` file with NaN and infinity in the first row of each set (train, tune, internal)."""
    shutil.copyfile(c.out / name, c.out / to)
    with h5py.File(c.out / to, "r+") as f:
        sets = f["records/split"].asstr()[()]
        for s in ("train", "tune", "internal"):
            row = int(np.flatnonzero(sets == s)[0])
            x = f["signals"][row]
            x[0, :10] = np.nan
            x[-1, -1] = np.inf
            f["signals"][row] = x
    return c.out / to


def crafted(c: Corpus, kind: str) -> Path:
    """A hostile HDF5 file in the inputs: a poisoned copy of the fcn checkpoint, or a marked kind."""
    path = c.inputs / f"crafted-{kind}.h5"
    if path.exists():
        return path
    source = c.out / "fcn.h5"
    if not source.exists():  # before training: any lvsdctl file will do for the kinds below
        source = c.out / "raw.h5"
    shutil.copyfile(source, path)
    with h5py.File(path, "r+") as f:
        if kind == "marked-kind":
            f.attrs["lvsdctl_kind"] = marker("kind")
            f.attrs[marker("attribute name")] = marker("attribute")
        elif kind == "huge-config":
            f.attrs["config"] = json.dumps({"filters": [4, 3_000_000_000, 4]})
        elif kind == "huge-weights":  # a dataset declared at 40 GB that stores nothing
            f["weights"].create_dataset(marker("key"), shape=(10_000_000_000,), dtype="f4", chunks=(1 << 20,))
        elif kind == "marked-name":
            f.attrs["model_name"] = marker("model name")
        elif kind == "marked-config":
            f.attrs["config"] = json.dumps({marker("option"): marker("value"), "filters": [4, 4, 4]})
        elif kind == "not-json":
            f.attrs["config"] = "{" + marker("broken json")
        elif kind == "many-layers":
            f.attrs["config"] = json.dumps({"filters": [4] * 4000, "kernels": [3] * 4000})
    return path


# ----------------------------------------------------------------------------------------------- tests


def _commands() -> list[str]:
    import typer

    def walk(cmd, prefix: tuple[str, ...] = ()):
        subs = getattr(cmd, "commands", None)
        if subs is None:
            yield " ".join(prefix)
            return
        for name, sub in subs.items():
            yield from walk(sub, (*prefix, name))

    return sorted(walk(typer.main.get_command(app)))


def test_every_command_has_hostile_cases():
    missing = [name for name in _commands() if name not in COMMANDS]
    assert not missing, (f"command(s) without hostile cases: {', '.join(missing)}; add an entry to COMMANDS in "
                         "tests/hostile/test_corpus.py that runs it on good and bad corpus inputs")
    gone = [name for name in COMMANDS if name not in _commands()]
    assert not gone, f"COMMANDS lists command(s) the CLI does not have: {', '.join(gone)}"


def test_every_command_on_the_hostile_corpus(corpus):
    for name, drive in COMMANDS.items():
        drive(corpus)
    if os.environ.get("LVSDCTL_SHOW_CORPUS_LOG"):
        print("\n\n".join(corpus.log))
    found = markers.in_files(corpus.out)
    assert not found, f"markers in written files: {found}"
    leftovers = sorted(p.name for p in corpus.out.rglob(".*"))
    assert not leftovers, f"hidden leftovers (partial files, locks): {leftovers}"
