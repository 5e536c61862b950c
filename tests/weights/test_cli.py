"""`lvsdctl weights list | fetch | verify` through the CLI, against the fake Hub."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lvsdctl.cli.main import app


def _run(*args):
    return CliRunner().invoke(app, ["weights", *args])


def test_list_json_names_every_checkpoint():
    res = _run("list", "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["weights"]
    names = {r["name"] for r in rows}
    assert {"ecgfm-pretrained", "ecgfm-physionet-finetuned", "ecgfm-mimic-finetuned", "ecgfounder-12lead"} <= names
    for r in rows:
        assert {"repo", "filename", "revision", "size", "sha256", "licence", "purpose", "state"} <= set(r)


def test_list_o_writes_the_json_document(tmp_path):
    res = _run("list", "-q", "-o", str(tmp_path / "weights.json"))
    assert res.exit_code == 0 and res.stdout == ""
    assert json.loads((tmp_path / "weights.json").read_text()) == json.loads(_run("list", "--json").stdout)


def test_fetch_verify_and_their_exit_codes(hub, dirs, test_catalog):
    wdir, cache = dirs
    res = _run("fetch", "tiny-pretrained", "tiny-unpinned", "--cache-dir", str(cache), "--json")
    assert res.exit_code == 0, res.output
    results = json.loads(res.stdout)
    assert [r["status"] for r in results] == ["downloaded", "downloaded"]
    assert (wdir / "mimic_iv_ecg_physionet_pretrained.pt.sha256").is_file()
    human = _run("fetch", "tiny-pretrained", "--cache-dir", str(cache))
    assert human.exit_code == 0 and "present" in human.output and "SHA-256" in human.output
    res = _run("verify", "--json", "-o", str(wdir.parent / "verify.json"))
    assert res.exit_code == 0 and json.loads(res.stdout)["ok"]
    assert json.loads((wdir.parent / "verify.json").read_text()) == json.loads(res.stdout)  # -o: the same document
    (wdir / "mimic_iv_ecg_physionet_pretrained.pt").write_bytes(b"truncated")
    res = _run("verify")
    assert res.exit_code == 3 and "mismatch" in res.output
    res = _run("verify", "tiny-finetuned", "-q")
    assert res.exit_code == 6
    hub.repos["test/ecg-fm"]["files"]["physionet_finetuned.pt"].fault = "truncate"
    res = _run("fetch", "tiny-finetuned", "--cache-dir", str(cache), "-q")
    assert res.exit_code == 6 and "truncated" in res.output
