import json

import numpy as np
import pandas as pd

from lvsdctl.evaluate.tables import AVERAGE, table2, transposed, with_average
from lvsdctl.tables import to_markdown, write_frame


def _long():
    rows = []
    for model in ("A", "B"):
        for s, base in (("internal", 0.7), ("external1", 0.6)):
            for m in ("accuracy", "auroc", "npv"):
                v = np.nan if (model == "B" and s == "internal" and m == "npv") else base + (0.1 if model == "B" else 0)
                rows.append({"model": model, "set": s, "metric": m, "value": v, "ci_low": v - 0.05, "ci_high": v + 0.05})
    return pd.DataFrame(rows)


def test_average_is_the_plain_mean_and_nan_propagates():
    df = with_average(_long())
    avg = df[df["set"] == AVERAGE].set_index(["model", "metric"])["value"]
    assert abs(avg[("A", "accuracy")] - 0.65) < 1e-12
    assert np.isnan(avg[("B", "npv")])


def test_table2_layout_and_formats(tmp_path):
    wide = table2(with_average(_long()))
    assert list(wide.columns) == ["Model", "Set", "Accuracy", "NPV", "AUROC"]
    assert list(wide["Set"]) == ["internal", "external1", AVERAGE] * 2
    assert wide.iloc[0]["Accuracy"] == "0.700 (0.65-0.75)"
    assert wide.iloc[2]["Accuracy"] == "0.650"  # no CI on the average
    assert wide.iloc[3]["NPV"] == "n/a"
    md = to_markdown(wide)
    assert md.splitlines()[0].startswith("| Model | Set | Accuracy")
    for ext in ("csv", "md", "json"):
        write_frame(wide, tmp_path / f"t.{ext}")
    assert len(pd.read_csv(tmp_path / "t.csv")) == 6
    assert json.loads((tmp_path / "t.json").read_text())[0]["Set"] == "internal"
    one = _long()
    one = with_average(one[one["model"] == "A"].drop(columns="model"))
    t = transposed(one)
    assert list(t.columns) == ["Metric", "internal", "external1", AVERAGE]
