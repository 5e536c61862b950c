"""`split`: reproducible from the seed, no patient in two sets, stratified, straddlers handled."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lvsdctl.data.api import STUDY_DESIGN, assign_sets, load_design, split
from lvsdctl.errors import InputError
from lvsdctl.hdf5 import atomic_output, read_records, write_records
from lvsdctl.stats.table1 import table1


def cohort(n_patients: int = 400, seed: int = 0) -> pd.DataFrame:
    """A synthetic cohort like the study's: sites A (2015-2024), B (2022-2024), C (2008-2021),
    1-6 ECGs per patient over up to 3 years (so some straddle 2023/2024), 40 % LVSD."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        site = rng.choice(["A", "A", "A", "B", "C"])
        first = {"A": (2015, 2024), "B": (2022, 2024), "C": (2008, 2021)}[site]
        year0 = int(rng.integers(first[0], first[1] + 1))
        lvsd = rng.random() < 0.4
        for j in range(int(rng.integers(1, 7))):
            year = min(first[1], year0 + j // 2)
            rows.append({
                "record_id": f"e{len(rows)}", "patient": f"P{p:04d}", "site": site,
                "acquired": f"{year}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}T09:30:00",
                "age": float(rng.normal(72, 10)), "sex": str(rng.choice(["F", "M"])),
                "lvef": float(rng.normal(32 if lvsd else 52, 6)), "label": int(lvsd),
            })
    df = pd.DataFrame(rows)
    df.loc[rng.choice(len(df), 10, replace=False), "label"] = -1  # a few unpaired ECGs
    return df


def _patients_per_set(df, values):
    placed = pd.DataFrame({"patient": df["patient"], "set": values})
    return placed[placed["set"] != ""].groupby("patient")["set"].nunique()


def test_reproducible_from_the_seed_and_seed_matters():
    df = cohort()
    a, _ = assign_sets(df, seed=7)
    b, _ = assign_sets(df, seed=7)
    c, _ = assign_sets(df, seed=8)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert set(a) == {"", "train", "tune", "internal", "external1", "external2"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_patient_in_two_sets_and_rules_hold(seed):
    df = cohort(seed=seed)
    values, report = assign_sets(df, seed=seed)
    assert _patients_per_set(df, values).max() == 1
    assert report["patients_in_two_sets"] == 0
    assert report["straddling_patients"] > 0 and report["straddling_ecgs_moved"] > 0
    ext1 = df[values == "external1"]
    assert (ext1["site"] == "C").all()
    # Policy "first": an internal-set ECG is from 2024; a moved one comes from a patient whose first
    # ECG decided, so every train/tune ECG's patient started at site A before 2024.
    dev = df[np.isin(values, ["train", "tune"])]
    first = df.sort_values("acquired").groupby("patient")["acquired"].first()
    assert (first[dev["patient"].unique()] < "2024").all()


def test_stratified_and_tune_fraction_roughly_holds():
    df = cohort(n_patients=800)
    values, report = assign_sets(df, seed=3)
    train, tune = df[values == "train"], df[values == "tune"]
    share = len(tune) / (len(train) + len(tune))
    assert 0.15 < share < 0.25
    assert abs(train["label"].mean() - tune["label"].mean()) < 0.08
    assert report["sets"]["tune"] == len(tune)


def test_straddle_policies():
    df = cohort()
    _, first = assign_sets(df, straddle="first")
    dropped, rep = assign_sets(df, straddle="drop")
    assert rep["straddling_ecgs_dropped"] > 0
    assert rep["assigned"] == first["assigned"] - rep["straddling_ecgs_dropped"]
    allowed, rep = assign_sets(df, straddle="allow")
    assert rep["patients_in_two_sets"] == rep["straddling_patients"] > 0
    placed = pd.DataFrame({"patient": df["patient"], "set": allowed})
    tt = placed[placed["set"].isin(["train", "tune"])]
    assert tt.groupby("patient")["set"].nunique().max() == 1  # train/tune never share a patient
    with pytest.raises(InputError, match="more than one set"):
        assign_sets(df, straddle="error")


def test_unlabelled_go_nowhere_unless_asked():
    df = cohort()
    unl = (df["label"] == -1).to_numpy()
    values, rep = assign_sets(df)
    assert (values[unl] == "").all() and rep["unlabelled_excluded"] > 0
    values, _ = assign_sets(df, include_unlabelled=True)
    assert (values[unl] != "").any()


def test_design_files_parse(tmp_path):
    toml = tmp_path / "design.toml"
    toml.write_text('tune_fraction = 0.25\n[[rules]]\nset = "train+tune"\nsite = "A"\nuntil = 2021-12-31\n'
                    '[[rules]]\nset = "later"\nsite = ["A", "B"]\nfrom = "2022-01-01"\n')
    d = load_design(toml)
    assert d.tune_fraction == 0.25 and d.rules[1].sites == ("A", "B") and str(d.rules[0].end) == "2021-12-31"
    js = tmp_path / "design.json"
    js.write_text(json.dumps(STUDY_DESIGN))
    assert load_design(js).rules == load_design("study").rules
    values, rep = assign_sets(cohort(), d)
    assert set(values) <= {"", "train", "tune", "later"} and rep["unmatched"] > 0
    for bad, msg in [({"rules": []}, "non-empty"), ({"rules": [{"site": "A"}]}, "needs a 'set'"),
                     ({"rules": [{"set": "x", "when": 1}]}, "unknown key"),
                     ({"rules": [{"set": "x", "from": "2024-13-01"}]}, "not a date"),
                     ({"rules": [{"set": "train"}]}, "train\\+tune")]:
        with pytest.raises(InputError, match=msg):
            load_design(bad)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError, match="not a valid"):
        load_design(tmp_path / "broken.json")


def test_table1_counts():
    df = cohort()
    values, _ = assign_sets(df, seed=0)
    tab = table1(df, values).set_index("set")
    assert list(tab.index[:3]) == ["train+tune", "train", "tune"]
    tune = df[values == "tune"]
    assert tab.loc["tune", "pairs"] == len(tune)
    assert tab.loc["tune", "patients"] == tune["patient"].nunique()
    assert tab.loc["tune", "females_n"] == (tune["sex"] == "F").sum()
    assert tab.loc["tune", "lvsd_pct"] == pytest.approx(100 * tune["label"].mean())
    assert tab.loc["train+tune", "pairs"] == tab.loc["train", "pairs"] + tab.loc["tune", "pairs"]


def _ecg_file(path, df: pd.DataFrame) -> None:
    with atomic_output(path, kind="ecg", synthetic=True) as f:
        sig = f.create_dataset("signals", data=np.arange(len(df), dtype=np.float32)[:, None, None]
                               * np.ones((1, 4, 8), np.float32), chunks=(1, 4, 8), compression="gzip")
        sig.attrs["layout"] = "4x8"
        write_records(f, df)


def test_split_file_and_cli(tmp_path):
    df = cohort(n_patients=60)
    _ecg_file(tmp_path / "pre.h5", df)
    rep = split(str(tmp_path / "pre.h5"), str(tmp_path / "split.h5"), seed=5, table=tmp_path / "t1.csv")
    with h5py.File(tmp_path / "split.h5") as f:
        out = read_records(f)
        np.testing.assert_array_equal(f["signals"][:, 0, 0], np.arange(len(df)))
        assert f["signals"].attrs["layout"] == "4x8" and f.attrs["lvsdctl_kind"] == "ecg"
    assert (out["split"].to_numpy() == assign_sets(df, seed=5)[0]).all()
    assert pd.read_csv(tmp_path / "t1.csv")["set"].tolist()[:3] == ["train+tune", "train", "tune"]
    assert rep.table1[0]["set"] == "train+tune"

    from lvsdctl.cli.main import app

    res = CliRunner().invoke(app, ["split", str(tmp_path / "pre.h5"), "-o", str(tmp_path / "s2.h5"), "--seed", "5",
                                   "--json", "--table", str(tmp_path / "t1.json")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["sets"] == rep.sets
    assert json.loads((tmp_path / "t1.json").read_text())[1]["set"] == "train"
    res = CliRunner().invoke(app, ["split", str(tmp_path / "pre.h5"), "-o", str(tmp_path / "s3.h5"),
                                   "--straddle", "error"])
    assert res.exit_code == 3 and "more than one set" in res.output


def test_no_matching_site_warns_with_the_data_sites(tmp_path):
    df = cohort(n_patients=20).assign(site="St Elsewhere")
    _ecg_file(tmp_path / "pre.h5", df)
    from lvsdctl.cli.main import app

    res = CliRunner().invoke(app, ["split", str(tmp_path / "pre.h5"), "-o", str(tmp_path / "s.h5"), "-q"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.stderr.split())
    assert "no ECG was assigned to a set" in text and f"St Elsewhere ({len(df)})" in text
