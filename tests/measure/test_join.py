"""Measures in the rest of the pipeline: split restricts by criterion, evaluate and stats cohort
report by it, predict warns about ECGs that are not LBBB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lvsdctl.measure import measure
from lvsdctl.measure.join import annotate, intended_use, meets, subgroups


@pytest.fixture(scope="module")
def pipeline(cohort, tmp_path_factory):
    """The cohort ingested (with its echoes), preprocessed, and measured from the raw file."""
    from lvsdctl.ingest import ingest
    from lvsdctl.signal import preprocess

    d = tmp_path_factory.mktemp("join")
    ingest([str(cohort / "ecg")], d / "raw.h5", echo=cohort / "echo.csv", demo_secret=True)
    preprocess(str(d / "raw.h5"), str(d / "pre.h5"))
    measure(str(d / "raw.h5"), str(d / "measures.h5"))
    return d


def test_split_restricted_to_a_criterion(pipeline):
    from lvsdctl.data import split
    from lvsdctl.hdf5 import open_input, read_records

    d = pipeline
    plain = split(str(d / "pre.h5"), str(d / "split-all.h5"), measures=str(d / "measures.h5"), seed=1)
    strict = split(str(d / "pre.h5"), str(d / "split-strauss.h5"), measures=str(d / "measures.h5"),
                   criterion="strauss", seed=1)
    assert plain.unmeasured == 0 and plain.criterion_excluded == 0
    with open_input(str(d / "split-strauss.h5")) as f:
        rec = read_records(f)
    assert {"delineation", "lbbb_conventional", "lbbb_strauss", "measured_qrs_ms"} <= set(rec.columns)
    assert (rec.loc[rec.split != "", "lbbb_strauss"] == 1).all()
    not_strict = int((rec.lbbb_strauss != 1).sum())
    assert 0 < strict.criterion_excluded <= not_strict
    assert strict.assigned == plain.assigned - strict.criterion_excluded
    assert (rec.lbbb_conventional == 1).all()  # every synthetic ECG is LBBB by the conventional criteria


def test_stats_cohort_and_evaluate_subgroups_use_the_columns(pipeline):
    from lvsdctl.evaluate.report import subgroup_table
    from lvsdctl.hdf5 import open_input, read_records
    from lvsdctl.stats.table1 import cohort_table

    with open_input(str(pipeline / "split-all.h5")) as f:
        rec = read_records(f)
    table = cohort_table(rec)
    names = [r["characteristic"] for r in table.rows]
    assert "QRS duration (measured), mean ± SD (ms)" in names and "LBBB, Strauss strict criteria, n (%)" in names
    scored = rec[rec.split != ""].assign(score=np.linspace(0, 1, int((rec.split != "").sum())))
    sets = sorted(set(scored.split) - {"train", "tune"})
    sub = subgroup_table(scored, sets, 0.5, formatted=False)
    variables = set(sub.Variable)
    assert {"LBBB strauss", "LBBB conventional", "QRS duration (measured)"} <= variables
    strauss = sub[sub.Variable == "LBBB strauss"].set_index("Group").ECGs
    assert strauss.sum() == int((scored.split.isin(sets) & scored.label.isin([0, 1])).sum())


def test_annotate_and_meets_by_record_id(pipeline):
    from lvsdctl.hdf5 import open_input, read_records

    with open_input(str(pipeline / "pre.h5")) as f:
        rec = read_records(f)
    extra = pd.concat([rec, rec.iloc[:1].assign(record_id="not-measured")], ignore_index=True)
    out, missing = annotate(extra, str(pipeline / "measures.h5"))
    assert missing == 1 and out.loc[len(out) - 1, "lbbb_conventional"] == -1
    assert meets(out, "conventional").sum() == len(rec)
    assert not meets(out, "statement")[out.source_format == "digitised"].any()
    groups = {(v, g) for v, g, _ in subgroups(out)}
    assert ("LBBB statement", "met") in groups and ("QRS duration (measured)", "QRS 150-179 ms") in groups


def test_predict_warns_about_ecgs_that_are_not_lbbb(pipeline, fixtures_dir, tmp_path):
    from lvsdctl.hdf5 import open_input, read_records

    with open_input(str(pipeline / "pre.h5")) as f:
        rec = read_records(f)
    lbbb = intended_use(str(pipeline / "pre.h5"), np.arange(len(rec)), rec)
    assert (lbbb == "").all()  # every synthetic ECG, measured on the model's own input
    from lvsdctl.ingest import ingest
    from lvsdctl.signal import preprocess

    real = fixtures_dir / "ecg" / "muse_xml" / "braveheart"
    ingest([str(real)], tmp_path / "raw.h5", secret=_secret(tmp_path))
    preprocess(str(tmp_path / "raw.h5"), str(tmp_path / "pre.h5"))
    with open_input(str(tmp_path / "pre.h5")) as f:
        rec = read_records(f)
    warned = intended_use(str(tmp_path / "pre.h5"), np.arange(len(rec)), rec)
    assert len(warned) == 4 and all("not LBBB" in w or "paced" in w for w in warned)


def _secret(tmp_path):
    p = tmp_path / "site.key"
    p.write_text("a-test-secret-of-enough-length-1234567890\n")
    return str(p)
