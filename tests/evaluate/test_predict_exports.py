"""`predict` straight from ECG exports: ingested and preprocessed the model's way, then scored."""

import secrets
from pathlib import Path

import numpy as np
import pytest

from lvsdctl.evaluate.store import load_predictions


@pytest.fixture()
def exports(fixtures_dir):
    files = sorted((fixtures_dir / "ecg" / "muse_xml_simulator" / "easyrecg").glob("muse_ecg*.xml"))
    if not files:
        pytest.skip("MUSE fixtures missing")
    return [str(p) for p in files]


@pytest.fixture()
def model_and_secret(tmp_path):
    """A small FCN checkpoint (tmp_path/m.h5) that records the study's preprocessing, and a site secret."""
    import torch

    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.models.registry import create_model
    from lvsdctl.signal.filters import parse_filter

    prep = {"layout": "4x5000", "fs": 500.0, "filter": parse_filter("neurokit").to_json(), "normalisation": "none"}
    torch.manual_seed(0)
    save_checkpoint(str(tmp_path / "m.h5"), create_model("fcn", in_channels=4, filters=[4, 4, 4], kernels=[3, 3, 3]),
                    preprocessing=prep)
    (tmp_path / "site.secret").write_text(secrets.token_hex(32))


def test_predict_on_muse_xml_files(exports, model_and_secret, tmp_path):
    from lvsdctl.evaluate.api import predict

    secret = tmp_path / "site.secret"
    out = tmp_path / "pred.h5"
    summary = predict(str(tmp_path / "m.h5"), exports, str(out), secret_file=str(secret), device="cpu")
    df, meta = load_predictions(str(out))
    assert summary.ecgs == len(df) == len(exports)
    assert np.isfinite(df["score"]).all() and ((df["score"] >= 0) & (df["score"] <= 1)).all()
    assert (df["label"] == -1).all()  # no echo: unlabelled
    assert meta.threshold == 0.5 and meta.model_name == "fcn" and meta.threshold_source == "default"
    assert summary.notes and "no operating point saved" in summary.notes[0]
    # what finds the ECG again: its file (relative to the input), SHA-256, acquisition time, format, rate
    assert sorted(df["file"]) == sorted(Path(e).name for e in exports)
    import hashlib

    for _, row in df.iterrows():
        src = next(e for e in exports if Path(e).name == row["file"])
        assert row["source_sha256"] == hashlib.sha256(Path(src).read_bytes()).hexdigest()
        assert row["acquired"] and row["source_format"] == "muse" and row["fs"] > 0
    assert "patient_id" not in df.columns


def test_predict_json_lists_every_file_with_its_score_and_writes_the_table(exports, model_and_secret, tmp_path):
    import json

    import pandas as pd
    import wfdb
    from typer.testing import CliRunner

    from lvsdctl.cli.main import app

    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    sub = tmp_path / "exports" / "ward"
    sub.mkdir(parents=True)
    short = np.random.default_rng(0).normal(0, 0.1, size=(1000, 12))  # 2 s: read, but not scored
    wfdb.wrsamp("short", fs=500, units=["mV"] * 12, sig_name=leads, p_signal=short, fmt=["16"] * 12,
                write_dir=str(sub))
    for e in exports[:3]:
        (sub / Path(e).name).write_bytes(Path(e).read_bytes())
    (sub / "zz-copy.xml").write_bytes(Path(exports[0]).read_bytes())  # a duplicate, found after the original
    (tmp_path / "exports" / "broken.xml").write_text("<RestingECG>")
    out = tmp_path / "pred.h5"
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "m.h5"), str(tmp_path / "exports"), "-o", str(out),
                                   "--secret-file", str(tmp_path / "site.secret"), "--table", str(tmp_path / "pred.csv"),
                                   "--device", "cpu", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    rows = {r["file"]: r for r in summary["results"]}
    for e in exports[:3]:
        r = rows[f"ward/{Path(e).name}"]
        assert 0 <= r["score"] <= 1 and r["call"] in ("LVSD", "no LVSD") and r["threshold"] == 0.5
        assert len(r["source_sha256"]) == 64 and r["acquired"] and r["record_id"]
    assert rows["ward/short.hea"]["call"] == "not scored" and "too short" in rows["ward/short.hea"]["warnings"]
    assert rows["ward/short.hea"]["score"] is None
    assert rows["broken.xml"]["call"] == "unreadable" and rows["ward/zz-copy.xml"]["call"] == "duplicate"
    assert summary["inputs"] == 6 == len(summary["results"])  # every file accounted for, once
    table = pd.read_csv(tmp_path / "pred.csv")
    assert list(table.columns[:7]) == ["file", "record_id", "acquired", "score", "call", "threshold", "warnings"]
    assert len(table) == 6 and "patient_id" not in table.columns
    # the terminal shows the same table (a small run), the threshold and where it came from
    text = " ".join(res.stderr.split())
    assert "threshold 0.5: the study's fixed 0.5" in text and "not scored" in text and "short.hea" in text


def test_rejected_exports_are_listed_and_counted(exports, model_and_secret, tmp_path):
    from typer.testing import CliRunner

    from lvsdctl.cli.main import app

    secret = tmp_path / "site.secret"
    broken = tmp_path / "broken.xml"
    broken.write_bytes(open(exports[0], "rb").read()[:5000])  # truncated mid-file
    out = tmp_path / "pred.h5"
    args = ["predict", str(tmp_path / "m.h5"), *exports[:2], str(broken), "-o", str(out), "--secret-file", str(secret),
            "--device", "cpu", "--json", "-q"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "rejected" in res.stderr and "broken.xml" in res.stderr
    summary = __import__("json").loads(res.stdout)
    assert summary["inputs"] == 3 == summary["accepted"] + len(summary["rejected"]) + summary["duplicates"]
    assert summary["ecgs"] == 2 and [r["path"] for r in summary["rejected"]] == [str(broken)]
    assert "broken.xml" in (tmp_path / "pred.h5.rejects.csv").read_text()

    # nothing readable: a clear error (exit 3), no output file
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "m.h5"), str(broken), "-o", str(tmp_path / "none.h5"),
                                   "--secret-file", str(secret), "--device", "cpu"])
    assert res.exit_code == 3 and "no ECG was accepted" in res.stderr
    assert not (tmp_path / "none.h5").exists()


def test_exports_too_short_for_the_model_are_reported_not_scored(exports, model_and_secret, tmp_path):
    import wfdb

    from lvsdctl.evaluate.api import predict

    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    short = np.random.default_rng(0).normal(0, 0.1, size=(1000, 12))  # 2 s at 500 Hz: the model needs 10 s
    wfdb.wrsamp("short", fs=500, units=["mV"] * 12, sig_name=leads, p_signal=short, fmt=["16"] * 12,
                write_dir=str(tmp_path))
    summary = predict(str(tmp_path / "m.h5"), [exports[0], str(tmp_path / "short.hea")], str(tmp_path / "p.h5"),
                      secret_file=str(tmp_path / "site.secret"), device="cpu")
    assert summary.accepted == 2 and summary.ecgs == 1
    assert sum(summary.not_preprocessable.values()) == 1
    assert "too short" in next(iter(summary.not_preprocessable))
