"""`lvsdctl measure` on the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lvsdctl.cli.main import app

runner = CliRunner()


def test_measure_writes_csv_and_prints_json(fixtures_dir, tmp_path):
    muse = fixtures_dir / "ecg" / "muse_xml"
    res = runner.invoke(app, ["measure", str(muse), "-o", str(tmp_path / "m.csv"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["measured"] == 7 and doc["lbbb"]["conventional"] == 0
    assert {e["status"] for e in doc["ecgs"]} == {"ok"}
    assert (tmp_path / "m.csv").read_text().startswith("record_id,")


def test_measure_needs_an_output_and_reports_rejects(tmp_path):
    res = runner.invoke(app, ["measure", str(tmp_path)])
    assert res.exit_code == 3 and "-o" in res.output
    (tmp_path / "bad.xml").write_text("<RestingECG/>")
    res = runner.invoke(app, ["measure", str(tmp_path / "bad.xml"), "-o", str(tmp_path / "m.csv")])
    assert res.exit_code == 0 and "rejected" in res.output
    assert "inputs = measured + rejected + duplicates: 1 = 0 + 1 + 0" in res.output


def test_split_criterion_needs_measures(tmp_path):
    res = runner.invoke(app, ["split", str(tmp_path / "pre.h5"), "-o", str(tmp_path / "s.h5"),
                              "--criterion", "strauss"])
    assert res.exit_code == 3 and "--measures" in res.output
    res = runner.invoke(app, ["split", str(tmp_path / "pre.h5"), "-o", str(tmp_path / "s.h5"),
                              "--criterion", "bogus"])
    assert res.exit_code == 2
