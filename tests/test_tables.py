"""lvsdctl.tables: the one writer of tables and result documents."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lvsdctl.errors import InputError
from lvsdctl.tables import table_format, write_frame, write_json


def test_formats_by_suffix_and_refusal_before_work(tmp_path):
    frame = pd.DataFrame({"set": ["a", "b"], "value": [0.5, math.nan], "n": np.array([1, 2], dtype=np.int64)})
    for suffix in ("csv", "md", "json"):
        write_frame(frame, tmp_path / f"t.{suffix}")
    assert pd.read_csv(tmp_path / "t.csv")["value"].isna().tolist() == [False, True]
    assert (tmp_path / "t.md").read_text().splitlines()[0] == "| set | value | n |"
    rows = json.loads((tmp_path / "t.json").read_text())  # strict JSON: NaN is null, numpy ints are ints
    assert rows == [{"set": "a", "value": 0.5, "n": 1}, {"set": "b", "value": None, "n": 2}]
    with pytest.raises(InputError, match=r"\.csv, \.md or \.json"):
        table_format(tmp_path / "t.xlsx")
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_documents_and_csv_number_format(tmp_path):
    write_json({"p": np.float64(0.25), "inf": math.inf, "path": tmp_path}, tmp_path / "d.json")
    assert json.loads((tmp_path / "d.json").read_text()) == {"p": 0.25, "inf": None, "path": str(tmp_path)}
    write_frame(pd.DataFrame({"x": [1 / 3]}), tmp_path / "f.csv", float_format="%.2f")
    assert (tmp_path / "f.csv").read_text() == "x\n0.33\n"


def test_synthetic_tables_say_which_part_is_synthetic(tmp_path):
    """Synthetic data: SYNTHETIC data; real ECGs scored by a model trained on synthetic ECGs: SYNTHETIC
    model (never "no real patient" about real patients' ECGs)."""
    frame = pd.DataFrame({"file": ["a.xml"], "score": [0.6]})
    write_frame(frame, tmp_path / "d.md", caption="Results", synthetic=True)
    write_frame(frame, tmp_path / "m.md", caption="Results", synthetic="model")
    write_frame(frame, tmp_path / "m.csv", synthetic="model")
    assert (tmp_path / "d.md").read_text().startswith("SYNTHETIC data (lvsdctl synth): no real patient")
    model = (tmp_path / "m.md").read_text()
    assert model.startswith("SYNTHETIC model (trained on synthetic ECGs only") and "no real patient" not in model
    assert pd.read_csv(tmp_path / "m.csv")["data"].tolist() == ["SYNTHETIC model"]
