"""Who the synthetic patients are: sites, dates, demographics, echocardiograms (all synthetic).

The shape follows the study's Table 1 (2,031 ECG-echo pairs of 892 LBBB patients at three
hospitals), scaled to the requested size:

| site | years | share of pairs | patients | ECGs per patient | age | female | LVSD |
|---|---|---|---|---|---|---|---|
| A | 2015-2023 | ~74% | ~67% | 1-10 | 72.6 +- 10.5 | 49% | 45% |
| A | 2024 | ~10% | ~10% | 1-10 | 76.7 +- 9.9 | 45% | 35% |
| B | 2022-2024 | ~11% | ~10% | 1-10 | 75.5 +- 10.8 | 55% | 36% |
| C | 2008-2021 | ~6% | ~13% | exactly 1 | 71.8 +- 11 | 70% | 39% |

A few patients have ECGs at both A and B (the study had five), and a few site-A patients have
ECGs in both 2023 and 2024, so that the split step's patient-overlap handling is exercised.

LVEF: each patient has a latent LVEF (a two-component mixture: systolic dysfunction around 30%,
preserved function around 55%) that drifts slowly over the years; every echo measures it with
error and reports a whole percent, so values of exactly 40 occur (they must be labelled negative:
LVSD is LVEF < 40). The ECG's latent driver (see ecg_model.py) is the patient's true LVEF at the
time of the ECG, plus a patient effect and ECG-level noise, scaled so that the driver alone
separates LVSD from no LVSD with an AUROC of about 0.9: a good model on the signals should land
around 0.8-0.9, as in the study, not at 1.0.

Echo table: each ECG gets an echo within 30 days, except ~3% whose nearest echo is 31-120 days
away (unpaired ECGs); ~10% of patients have an extra echo with no ECG near it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from lvsdctl.errors import InputError

MAX_ECGS_PER_PATIENT = 10
PAIR_WINDOW_DAYS = 30
LVSD_THRESHOLD = 40.0


@dataclass(frozen=True)
class Stratum:
    """A site and period with its own demographics and LVSD prevalence (Table 1 of the study)."""

    site: str
    start: date
    end: date
    pair_share: float  # share of all ECG-echo pairs
    patient_share: float  # share of all patients
    age_mean: float
    age_sd: float
    female: float
    lvsd: float  # share of patients with LV systolic dysfunction


STRATA = (
    Stratum("A", date(2015, 1, 1), date(2023, 12, 31), 1500 / 2031, 602 / 892, 72.6, 10.5, 0.492, 0.453),
    Stratum("A", date(2024, 1, 1), date(2024, 12, 31), 194 / 2031, 89 / 892, 76.7, 9.9, 0.454, 0.351),
    Stratum("B", date(2022, 1, 1), date(2024, 12, 31), 222 / 2031, 86 / 892, 75.5, 10.8, 0.545, 0.360),
    Stratum("C", date(2008, 1, 1), date(2021, 12, 31), 115 / 2031, 115 / 892, 71.8, 11.0, 0.704, 0.391),
)


@dataclass(frozen=True)
class SiteInfo:
    """What a site's MUSE exports say about it (all invented)."""

    number: int
    name: str
    location: str
    device: str
    mains_hz: float  # all three study hospitals are in Korea: 60 Hz mains


#: SiteName is the bare letter, the same string the digitised files carry in <Site>, so that every
#: format of one site ingests to one site value (A, B, C); the invented hospital goes in LocationName.
SITES = {
    "A": SiteInfo(1, "A", "SYNTHETIC UNIVERSITY HOSPITAL A CARDIOLOGY", "MAC5000", 60.0),
    "B": SiteInfo(2, "B", "SYNTHETIC UNIVERSITY HOSPITAL B ECG LAB", "MAC5500", 60.0),
    "C": SiteInfo(3, "C", "SYNTHETIC UNIVERSITY HOSPITAL C INTERNAL MEDICINE", "MAC5000", 60.0),
}

#: Paper ECGs were scanned and digitised at sites A and C before this date (see docs/synthetic.md).
DIGITISED_BEFORE = date(2020, 1, 1)
DIGITISED_SITES = ("A", "C")

# Fake names: obviously invented syllables, so a test can prove they never reach any output.
_FIRST = ("SYNA", "TESTRO", "FAKELI", "MOCKEUN", "DUMMYJI", "PSEUDOHA", "SAMPLEO", "PLACEMI")
_LAST = ("SYNTHKIM", "FAKELEE", "MOCKPARK", "TESTCHOI", "DUMMYJUNG", "SAMPLEKANG", "PSEUDOYOON")
#: Invented over-reading physicians (last, first).
OVERREADERS = (("FAKEDOC", "SYNTHIA"), ("MOCKMD", "TESTER"), ("PSEUDOCARD", "SAMPLE"))
#: Every fake name a synthetic export can carry (for tests proving that no output repeats them).
FAKE_NAMES = _FIRST + _LAST + tuple(name for pair in OVERREADERS for name in pair)


def _allocate(total: int, shares: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """Integers summing to `total`, each >= its minimum, close to total * shares (largest remainder)."""
    extra = total - int(minimum.sum())
    if extra < 0:
        raise InputError(f"cannot fit {total} into {len(shares)} groups with at least {minimum.tolist()} each")
    raw = shares / shares.sum() * extra
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out), kind="stable")[: extra - out.sum()]] += 1
    return out + minimum


def _ecg_counts(rng: np.random.Generator, n_patients: int, n_ecgs: int) -> np.ndarray:
    """ECGs per patient: 1-10, heavy-tailed like a follow-up clinic (most have few, some many)."""
    if n_ecgs < n_patients or n_ecgs > MAX_ECGS_PER_PATIENT * n_patients:
        raise InputError(f"{n_ecgs} ECGs cannot be spread over {n_patients} patients with 1-10 ECGs each")
    counts = np.ones(n_patients, dtype=int)
    weights = rng.gamma(0.8, 1.0, n_patients)
    left = n_ecgs - n_patients
    while left > 0:
        room = counts < MAX_ECGS_PER_PATIENT
        w = np.where(room, weights, 0.0)
        add = rng.multinomial(left, w / w.sum())
        add = np.minimum(add, MAX_ECGS_PER_PATIENT - counts)
        counts += add
        left -= int(add.sum())
    return counts


def _dates(rng: np.random.Generator, k: int, start: date, end: date) -> list[date]:
    """k visit dates of one patient within [start, end]: a first visit, then follow-ups."""
    span = (end - start).days
    gaps = rng.exponential(150.0, k - 1)
    total = float(gaps.sum())
    if total > span * 0.9:  # a long follow-up squeezed into the period
        gaps *= span * 0.9 / total
        total = float(gaps.sum())
    first = rng.uniform(0.0, span - total)
    offsets = np.round(first + np.concatenate([[0.0], np.cumsum(gaps)])).astype(int)
    return [start + timedelta(days=int(o)) for o in offsets]


def _lvef_base(rng: np.random.Generator, lvsd: bool) -> float:
    if lvsd:
        return float(np.clip(rng.normal(30.0, 6.5), 12.0, 45.0))
    return float(np.clip(rng.normal(55.0, 7.5), 36.0, 75.0))


def build_cohort(n_ecgs: int, n_patients: int, seed: int,
                 digitised_share: float = 0.25) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cohort's ECG table (one row per ECG, in time order, with generator truth) and echo table.

    ECG columns: patient_index, patient_id, site, acquired (datetime), sex, dob, first_name,
    last_name (fake), lvef_base, lvef_slope, patient_effect, years (since the patient's first
    ECG), format ("muse" or "digitised"), lvef_true, driver.
    Echo columns: patient_id, echo_date (date), lvef (whole percent).
    """
    if n_patients < 4:
        raise InputError("a synthetic cohort needs at least 4 patients (one per site and period)")
    if not 0.0 <= digitised_share <= 1.0:
        raise InputError("digitised_share must lie between 0 and 1")
    rng = np.random.default_rng([seed, 0])
    shares_p = np.array([s.patient_share for s in STRATA])
    shares_e = np.array([s.pair_share for s in STRATA])
    # Shared patients are drawn as separate A and B patients and then merged into one identity,
    # so draw that many more to end with exactly n_patients distinct patients.
    n_shared = int(round(n_patients * 5 / 892))
    n_cross = int(round(n_patients * 6 / 892))
    if not n_patients + n_shared <= n_ecgs <= 8 * n_patients:
        raise InputError(f"the number of ECGs must lie between the number of patients "
                         f"({n_patients + n_shared}) and 8 times it ({8 * n_patients}); got {n_ecgs}")
    pats = _allocate(n_patients + n_shared, shares_p, np.ones(4, dtype=int))
    # Site C patients have exactly one ECG each; the other strata share the rest by pair share.
    ecgs = np.zeros(4, dtype=int)
    ecgs[3] = pats[3]
    ecgs[:3] = _allocate(n_ecgs - pats[3], shares_e[:3], pats[:3])

    rows: list[dict] = []
    patient_index = 0
    for s_idx, stratum in enumerate(STRATA):
        if stratum.site == "C":
            counts = np.ones(pats[s_idx], dtype=int)
        else:
            counts = _ecg_counts(rng, pats[s_idx], ecgs[s_idx])
        for k in counts:
            rows.extend(_patient_rows(rng, patient_index, stratum, int(k)))
            patient_index += 1

    ecg = pd.DataFrame(rows)
    _link_shared_patients(rng, ecg, n_shared)
    _cross_2024(rng, ecg, n_cross)
    first_seen = ecg.groupby("patient_index").acquired.transform("min")
    ecg["years"] = (ecg.acquired - first_seen).dt.days.to_numpy() / 365.25
    ecg = ecg.sort_values(["acquired", "patient_index"], kind="stable").reset_index(drop=True)
    _assign_format(rng, ecg, digitised_share)
    echo = _echoes(rng, ecg)
    _driver(rng, ecg)
    return ecg, echo


def _patient_rows(rng: np.random.Generator, index: int, stratum: Stratum, k: int) -> list[dict]:
    lvsd = rng.random() < stratum.lvsd
    base = _lvef_base(rng, lvsd)
    slope = rng.normal(0.0, 2.5)  # LVEF points per year: recovery or decline
    age0 = float(np.clip(rng.normal(stratum.age_mean, stratum.age_sd), 25.0, 99.0))
    female = rng.random() < stratum.female
    dates = _dates(rng, k, stratum.start, stratum.end)
    dob = dates[0] - timedelta(days=int(age0 * 365.25))
    first = _FIRST[rng.integers(len(_FIRST))]
    last = _LAST[rng.integers(len(_LAST))]
    effect = rng.standard_normal()
    out = []
    for d in dates:
        when = datetime.combine(d, datetime.min.time()) + timedelta(seconds=int(rng.integers(8 * 3600, 18 * 3600)))
        out.append({
            "patient_index": index, "patient_id": f"SYN{index + 1:07d}", "site": stratum.site,
            "acquired": when, "sex": "F" if female else "M", "dob": dob,
            "first_name": first, "last_name": last, "lvef_base": base, "lvef_slope": slope,
            "patient_effect": effect,
        })
    return out


def _link_shared_patients(rng: np.random.Generator, ecg: pd.DataFrame, n: int) -> None:
    """Give n site-B patients the identity of site-A patients (the study had 5 such patients)."""
    a = ecg.loc[ecg.site == "A", "patient_index"].unique()
    b = ecg.loc[ecg.site == "B", "patient_index"].unique()
    n = min(n, len(a), len(b))
    if n == 0:
        return
    for pa, pb in zip(rng.choice(a, n, replace=False), rng.choice(b, n, replace=False)):
        src = ecg.loc[ecg.patient_index == pa].iloc[0]
        mask = ecg.patient_index == pb
        for col in ("patient_index", "patient_id", "sex", "dob", "first_name", "last_name",
                    "lvef_base", "lvef_slope", "patient_effect"):
            ecg.loc[mask, col] = src[col]


def _cross_2024(rng: np.random.Generator, ecg: pd.DataFrame, n: int) -> None:
    """Move the last ECG of n site-A patients (seen before 2024 and with >= 2 ECGs) into 2024."""
    a_early = ecg[(ecg.site == "A") & (ecg.acquired < datetime(2024, 1, 1))]
    multi = a_early.groupby("patient_index").size()
    candidates = multi[multi >= 2].index.to_numpy()
    n = min(n, len(candidates))
    for p in rng.choice(candidates, n, replace=False) if n else []:
        rows = ecg.index[ecg.patient_index == p]
        last = ecg.loc[rows, "acquired"].idxmax()
        prev = ecg.loc[rows, "acquired"].drop(last).max()
        day = max(date(2024, 1, 1), prev.date()) + timedelta(days=int(rng.integers(30, 180)))
        new = datetime.combine(day, datetime.min.time()) + timedelta(seconds=int(rng.integers(8 * 3600, 18 * 3600)))
        ecg.loc[last, "acquired"] = new


def _assign_format(rng: np.random.Generator, ecg: pd.DataFrame, share: float) -> None:
    """Which ECGs were paper printouts, scanned and digitised (only at A and C, before 2020)."""
    eligible = ecg.site.isin(DIGITISED_SITES) & (ecg.acquired < datetime.combine(DIGITISED_BEFORE, datetime.min.time()))
    p = min(1.0, share * len(ecg) / max(int(eligible.sum()), 1))
    digitised = eligible.to_numpy() & (rng.random(len(ecg)) < p)
    if share > 0 and not digitised.any() and eligible.any():  # small cohorts still get one
        digitised[rng.choice(np.flatnonzero(eligible.to_numpy()))] = True
    ecg["format"] = np.where(digitised, "digitised", "muse")


def _true_lvef(ecg: pd.DataFrame, years: np.ndarray) -> np.ndarray:
    return np.clip(ecg.lvef_base.to_numpy() + ecg.lvef_slope.to_numpy() * years, 8.0, 80.0)


def _echoes(rng: np.random.Generator, ecg: pd.DataFrame) -> pd.DataFrame:
    """One echo per ECG within 30 days (a few farther away), some extra echoes; LVEF in whole %."""
    n = len(ecg)
    offset = np.clip(np.round(rng.laplace(0.0, 6.0, n)), -PAIR_WINDOW_DAYS, PAIR_WINDOW_DAYS).astype(int)
    far = rng.random(n) < 0.03
    if not far.any() and n >= 10:  # small cohorts still get an ECG without an echo, where possible
        single = ecg.groupby("patient_id").patient_id.transform("size").to_numpy() == 1
        far[rng.choice(np.flatnonzero(single)) if single.any() else rng.integers(n)] = True
    offset[far] = rng.integers(PAIR_WINDOW_DAYS + 1, 121, int(far.sum())) * rng.choice([-1, 1], int(far.sum()))
    echo_dates = [a.date() + timedelta(days=int(o)) for a, o in zip(ecg.acquired, offset)]
    ecg["lvef_true"] = _true_lvef(ecg, ecg.years.to_numpy())
    lvef = _true_lvef(ecg, ecg.years.to_numpy() + offset / 365.25) + rng.normal(0.0, 3.0, n)
    echo = pd.DataFrame({"patient_id": ecg.patient_id, "echo_date": echo_dates, "lvef": lvef})
    # Extra echoes of ~10% of patients, far from their ECGs (follow-up without an ECG).
    firsts = ecg.groupby("patient_id", sort=True).first()
    extra = firsts[rng.random(len(firsts)) < 0.10]
    extra_dates = [a.date() + timedelta(days=int(rng.integers(150, 400))) for a in extra.acquired]
    extra_lvef = np.clip(extra.lvef_base.to_numpy() + rng.normal(0.0, 4.0, len(extra)), 8.0, 80.0)
    echo = pd.concat([echo, pd.DataFrame({"patient_id": extra.index, "echo_date": extra_dates, "lvef": extra_lvef})])
    echo["lvef"] = np.clip(np.round(echo.lvef.to_numpy()), 10.0, 80.0)
    echo = echo.drop_duplicates(["patient_id", "echo_date"]).sort_values(["patient_id", "echo_date"], kind="stable")
    echo = echo.reset_index(drop=True)
    # The strict threshold must be exercised: make sure a few echoes read exactly 40.
    want = max(2, int(round(0.01 * len(echo))))
    have = int((echo.lvef == LVSD_THRESHOLD).sum())
    if have < want:
        near = (echo.lvef - LVSD_THRESHOLD).abs().sort_values(kind="stable")
        near = near[near > 0].index[: want - have]
        echo.loc[near, "lvef"] = LVSD_THRESHOLD
    return echo


def _driver(rng: np.random.Generator, ecg: pd.DataFrame) -> None:
    """The latent that shapes each ECG: true LVEF (scaled), a patient effect, ECG-level noise."""
    ecg["driver"] = ((47.0 - ecg.lvef_true.to_numpy()) / 12.0 + 0.8 * ecg.patient_effect.to_numpy()
                     + 0.6 * rng.standard_normal(len(ecg)))


def pair_echoes(ecg: pd.DataFrame, echo: pd.DataFrame) -> pd.DataFrame:
    """Each ECG's nearest echo of the same patient within 30 days: columns echo_lvef, echo_delta_days.

    This is the study's pairing rule; ECGs with no echo within 30 days get NaN.
    """
    by_patient = {pid: (g.echo_date.to_numpy(), g.lvef.to_numpy()) for pid, g in echo.groupby("patient_id")}
    lvefs = np.full(len(ecg), np.nan)
    deltas = np.full(len(ecg), np.nan)
    for i, (pid, when) in enumerate(zip(ecg.patient_id, ecg.acquired)):
        if pid not in by_patient:
            continue
        dates, values = by_patient[pid]
        delta = np.array([(d - when.date()).days for d in dates])
        j = int(np.argmin(np.abs(delta)))
        if abs(delta[j]) <= PAIR_WINDOW_DAYS:
            lvefs[i], deltas[i] = values[j], delta[j]
    return pd.DataFrame({"echo_lvef": lvefs, "echo_delta_days": deltas}, index=ecg.index)


def age_at(dob: date, when: datetime) -> int:
    """Whole years between a birth date and an acquisition."""
    d = when.date()
    return d.year - dob.year - ((d.month, d.day) < (dob.month, dob.day))
