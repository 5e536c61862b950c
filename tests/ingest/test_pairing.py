"""Pairing ECGs with echoes: window edges, ties, policies, threshold, unpaired counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lvsdctl.errors import InputError
from lvsdctl.ingest.pairing import pair_echoes, pairing_counts


def _echoes(*rows):
    return pd.DataFrame({"patient": [r[0] for r in rows], "echo_date": pd.to_datetime([r[1] for r in rows]),
                         "lvef": [float(r[2]) for r in rows]})


def _ecgs(*rows):
    return pd.DataFrame({"patient": [r[0] for r in rows], "acquired": [r[1] for r in rows]})


def test_window_edges_inclusive_both_sides():
    echoes = _echoes(("a", "2021-03-01", 35))
    ecgs = _ecgs(("a", "2021-03-31T08:00:00"),  # echo 30 days before: in
                 ("a", "2021-04-01T08:00:00"),  # 31 days: out
                 ("a", "2021-01-30T23:59:00"),  # echo 30 days after: in (time of day ignored)
                 ("a", "2021-01-29T00:00:00"))  # 31 days after: out
    r = pair_echoes(ecgs, echoes)
    assert list(r["echo_delta_days"].fillna(999)) == [-30, 999, 30, 999]
    assert list(r["label"]) == [1, -1, 1, -1]
    assert list(r["unpaired_reason"]) == ["", "no echo within the window", "", "no echo within the window"]
    assert list(pair_echoes(ecgs, echoes, window_days=31)["label"]) == [1, 1, 1, 1]


def test_tie_prefers_the_earlier_echo_and_nearest_wins():
    echoes = _echoes(("a", "2021-03-01", 30), ("a", "2021-03-11", 60), ("a", "2021-03-13", 50))
    r = pair_echoes(_ecgs(("a", "2021-03-06"), ("a", "2021-03-10")), echoes)
    assert list(r["echo_delta_days"]) == [-5, 1]  # 5 days before vs 5 after: the earlier
    assert list(r["lvef"]) == [30, 60]


def test_before_and_after_only():
    echoes = _echoes(("a", "2021-03-01", 30), ("a", "2021-03-10", 60))
    ecgs = _ecgs(("a", "2021-03-09"), ("a", "2021-03-10"), ("a", "2021-02-27"))
    before = pair_echoes(ecgs, echoes, policy="before-only")
    assert list(before["echo_delta_days"].fillna(999)) == [-8, 0, 999]  # same day counts as before
    after = pair_echoes(ecgs, echoes, policy="after-only")
    assert list(after["echo_delta_days"]) == [1, 0, 2]
    nearest = pair_echoes(ecgs, echoes)
    assert list(nearest["echo_delta_days"]) == [1, 0, 2]


def test_threshold_strict():
    echoes = _echoes(("a", "2021-01-01", 40), ("b", "2021-01-01", 39.9), ("c", "2021-01-01", 40.1))
    ecgs = _ecgs(("a", "2021-01-01"), ("b", "2021-01-01"), ("c", "2021-01-01"))
    assert list(pair_echoes(ecgs, echoes)["label"]) == [0, 1, 0]  # LVEF == 40 is negative
    assert list(pair_echoes(ecgs, echoes, threshold=50)["label"]) == [1, 1, 1]
    assert list(pair_echoes(ecgs, echoes, threshold=40.05)["label"]) == [1, 1, 0]


def test_unpaired_reasons_and_counts():
    echoes = _echoes(("a", "2021-01-01", 35), ("b", "2021-01-01", 55))
    ecgs = _ecgs(("a", "2021-01-02"), ("b", "2021-01-01"), ("a", "2022-01-01"), ("z", "2021-01-01"),
                 ("", "2021-01-01"), ("a", ""), ("a", None))
    r = pair_echoes(ecgs, echoes)
    assert list(r["unpaired_reason"]) == ["", "", "no echo within the window", "no echo of this patient",
                                          "no patient id", "no acquisition date", "no acquisition date"]
    c = pairing_counts(r)
    assert (c["paired"], c["lvsd"], c["no_lvsd"], c["unpaired"]) == (2, 1, 1, 5)
    assert c["unpaired: no acquisition date"] == 2
    assert c["paired"] + c["unpaired"] == len(ecgs)


def test_index_kept_and_empty_inputs():
    echoes = _echoes(("a", "2021-01-01", 35))
    ecgs = _ecgs(("a", "2021-01-01")).set_axis([17])
    assert list(pair_echoes(ecgs, echoes).index) == [17]
    assert len(pair_echoes(_ecgs(), echoes)) == 0
    assert list(pair_echoes(ecgs, echoes.iloc[:0])["label"]) == [-1]


def test_bad_policy_or_window():
    with pytest.raises(InputError, match="policy"):
        pair_echoes(_ecgs(), _echoes(), policy="closest")
    with pytest.raises(InputError, match="window"):
        pair_echoes(_ecgs(), _echoes(), window_days=-1)


def _brute(ecgs, echoes, window, policy, threshold):
    out = []
    for p, a in zip(ecgs["patient"], pd.to_datetime(ecgs["acquired"]).dt.normalize()):
        best = None
        for q, d, v in zip(echoes["patient"], echoes["echo_date"], echoes["lvef"]):
            delta = (d - a).days
            if q != p or abs(delta) > window or (policy == "before-only" and delta > 0):
                continue
            if best is None or (abs(delta), delta) < (abs(best[0]), best[0]):
                best = (delta, v)
        out.append(-1 if best is None else int(best[1] < threshold))
    return out


@pytest.mark.parametrize("policy", ["nearest", "before-only"])
def test_vectorised_equals_brute_force(policy):
    rng = np.random.default_rng(7)
    n_pat = 40
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 400, 300), unit="D")
    echoes = pd.DataFrame({"patient": [f"p{i}" for i in rng.integers(0, n_pat, 300)], "echo_date": days,
                           "lvef": rng.uniform(15, 70, 300).round(0)}).drop_duplicates(["patient", "echo_date"])
    hours = pd.to_timedelta(rng.integers(0, 400 * 24, 500), unit="h")
    ecgs = pd.DataFrame({"patient": [f"p{i}" for i in rng.integers(0, n_pat + 5, 500)],
                         "acquired": (pd.Timestamp("2020-01-01") + hours).strftime("%Y-%m-%dT%H:%M:%S")})
    got = pair_echoes(ecgs, echoes, window_days=30, policy=policy)
    assert list(got["label"]) == _brute(ecgs, echoes, 30, policy, 40.0)
