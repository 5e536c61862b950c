"""A fast generative model of 10 s, 12-lead resting ECGs with left bundle branch block (synthetic).

Each beat of each lead is a sum of Gaussian waves (the idea of McSharry's ECGSYN, as in neurokit2's
`ecg_simulate`, but written per lead and vectorised in numpy, which is ~100x faster): a P wave, an
initial r, two R peaks (the notched / slurred R of LBBB), an S wave, an ST shift and a T wave made
of two Gaussians (slow rise, faster fall). The stored leads are I, II and V1-V6; III, aVR, aVL and
aVF follow from Einthoven's and Goldberger's identities, as on a real cart.

LBBB morphology comes from the lead table below: broad notched R without q in I, V5, V6 (and
hence aVL = I - II/2), rS or QS in V1-V3, a QRS of 120-200 ms, and ST-T discordant to the main QRS
deflection. A latent `driver` (standardised; higher means a worse left ventricle, see cohort.py)
widens the QRS, lowers limb-lead and V5-V6 voltage, deepens the S in V1-V3 and the lateral T
inversion, and raises the heart rate a little. Every effect is weak next to the patient-to-patient
and ECG-to-ECG spread, so the ECG carries information on LVEF without giving it away.

Nothing here is fitted to real patients: these are synthetic signals for testing software.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FS = 500  # Hz, as GE MUSE stores native ECGs
N_RHYTHM = 5000  # 10 s
N_MEDIAN = 600  # 1.2 s median beat, as MUSE stores it
MEDIAN_ONSET = 215  # QRS onset sample in the median beat (real exports: ~210-220)

STORED_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
LEADS12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

QRS_RAMP_S = 0.012  # the QRS waves fade in and out over 12 ms at the QRS onset and offset

# Wave components of one beat, columns of the tables below.
P, R0, R1, R2, S, ST, T1, T2 = range(8)
N_COMPONENTS = 8

# Typical LBBB amplitudes (mV) per stored lead (rows I, II, V1..V6) and component (columns above).
# V4 is blended per patient between an rS row (like V3) and a lateral row (like V5): the
# precordial transition moves from patient to patient.
_AMP = np.array(
    [
        # P     r0     R1     R2     S      ST     T1     T2
        [0.06, 0.00, 0.50, 0.60, 0.00, -0.05, -0.16, -0.10],  # I
        [0.11, 0.00, 0.30, 0.36, -0.08, -0.03, -0.06, -0.04],  # II
        [0.05, 0.10, 0.00, 0.00, -1.50, 0.12, 0.22, 0.14],  # V1
        [0.06, 0.16, 0.00, 0.00, -2.10, 0.22, 0.38, 0.24],  # V2
        [0.06, 0.22, 0.00, 0.00, -1.80, 0.18, 0.32, 0.20],  # V3
        [0.06, 0.30, 0.00, 0.00, -1.00, 0.08, 0.14, 0.09],  # V4 (rS form)
        [0.06, 0.00, 0.75, 0.95, -0.05, -0.07, -0.20, -0.12],  # V5
        [0.05, 0.00, 0.65, 0.80, 0.00, -0.06, -0.18, -0.11],  # V6
    ]
)
_V4_LATERAL = np.array([0.06, 0.00, 0.45, 0.55, -0.35, -0.03, -0.06, -0.04])  # V4 (lateral form)

_LIMB = np.array([True, True, False, False, False, False, False, False])
_RIGHT_PRECORDIAL = np.array([False, False, True, True, True, False, False, False])  # V1-V3
_LATERAL = np.array([True, False, False, False, False, False, True, True])  # I, V5, V6
_QRS = np.array([False, True, True, True, True, False, False, False])


@dataclass(frozen=True)
class PatientMorphology:
    """What stays the same across one patient's ECGs (anatomy, axis, conduction)."""

    gain: np.ndarray  # (8,) per-lead voltage factor (body habitus, heart position)
    qrs_base_ms: float  # QRS duration with an average left ventricle
    hr_base: float  # resting heart rate, bpm
    pr_ms: float
    qtc_s: float  # Fridericia-corrected QT
    r1_frac: float  # first R peak, fraction of the QRS
    r2_frac: float  # second R peak: a wider gap gives a deeper notch, a narrow one a slur
    r_v1: float  # factor of the small r in V1 (0: QS pattern)
    ii_qrs: float  # factor of the R in II (small values, with a deeper S: left axis deviation)
    v4_lateral: float  # 0: V4 looks like V3 (rS), 1: like V5 (broad R)
    t_factor: float  # depth of the discordant T waves
    mains_hz: float  # powerline frequency at the patient's hospital


@dataclass
class ECGParams:
    """Everything that defines one 10 s ECG, drawn from a patient's morphology and the driver."""

    amp: np.ndarray  # (8, K) mV
    center: np.ndarray  # (8, K) s, relative to the QRS onset
    sigma: np.ndarray  # (8, K) s
    qrs_s: float
    pr_s: float
    qt_s: float
    hr: float
    rr_jitter: float
    rsa: float  # respiratory sinus arrhythmia, fraction of RR
    resp_hz: float
    driver: float
    mains_hz: float


@dataclass
class SimulatedECG:
    """One simulated acquisition: rhythm and median beat of the 8 stored leads, in mV."""

    rhythm: np.ndarray  # (8, 5000) float64, with noise
    median: np.ndarray  # (8, 600) float64, nearly clean (as an averaged beat is)
    onsets_s: np.ndarray  # QRS onsets inside the 10 s, seconds
    params: ECGParams
    measurements: dict[str, int] = field(default_factory=dict)
    #: QRS onsets (s) of every beat whose QRS overlaps the 10 s, including one cut by either edge.
    visible_onsets_s: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def fiducials(self) -> dict[str, np.ndarray]:
        """The wave boundaries the generator drew, per visible beat, in seconds from the start of the
        recording (keys and meaning: FIDUCIALS)."""
        return beat_fiducials(self.params, self.visible_onsets_s)

    def median_fiducials(self) -> dict[str, int]:
        """The same boundaries on the median beat, as sample indices of its 500 Hz timeline."""
        f = beat_fiducials(self.params, np.array([MEDIAN_ONSET / FS]))
        return {k: int(round(float(v[0]) * FS)) for k, v in f.items()}


#: What the generator's fiducials mean, relative to a beat's QRS onset (the waves are Gaussians: a
#: wave is taken to span its centre +- ~2.5 sigma, the extent the wave table was built for).
FIDUCIALS = {
    "p_onset": "P wave start: QRS onset - PR",
    "p_offset": "P wave end: P onset + 100 ms (P centred 50 ms after its onset, sigma 22 ms)",
    "qrs_onset": "QRS onset: the beat's onset",
    "qrs_offset": "QRS offset (J point): QRS onset + the drawn QRS duration",
    "t_offset": "T wave end: QRS onset + QT",
}


def beat_fiducials(params: "ECGParams", onsets_s: np.ndarray) -> dict[str, np.ndarray]:
    """Wave boundaries (s) of beats whose QRS starts at `onsets_s` (keys: FIDUCIALS)."""
    on = np.asarray(onsets_s, dtype=np.float64)
    return {"p_onset": on - params.pr_s, "p_offset": on - params.pr_s + 0.10, "qrs_onset": on,
            "qrs_offset": on + params.qrs_s, "t_offset": on + params.qt_s}


def draw_patient(rng: np.random.Generator, mains_hz: float = 60.0) -> PatientMorphology:
    """A patient's persistent ECG morphology."""
    return PatientMorphology(
        gain=np.exp(rng.normal(0.0, 0.2, 8)),
        qrs_base_ms=float(np.clip(rng.normal(148.0, 11.0), 128.0, 185.0)),
        hr_base=float(rng.normal(72.0, 9.0)),
        pr_ms=float(np.clip(rng.normal(180.0, 22.0), 130.0, 260.0)),
        qtc_s=float(rng.normal(0.475, 0.02)),
        r1_frac=float(rng.uniform(0.24, 0.32)),
        r2_frac=float(rng.uniform(0.60, 0.74)),
        r_v1=float(0.0 if rng.random() < 0.4 else rng.uniform(0.5, 1.5)),
        ii_qrs=float(rng.uniform(0.3, 1.1)),
        v4_lateral=float(rng.uniform(0.0, 0.8)),
        t_factor=float(np.exp(rng.normal(0.0, 0.2))),
        mains_hz=mains_hz,
    )


def draw_params(rng: np.random.Generator, pat: PatientMorphology, driver: float) -> ECGParams:
    """One ECG's wave table: the patient's morphology, the LV driver, and this day's variation."""
    d = float(driver)
    qrs_ms = float(np.clip(pat.qrs_base_ms + 6.0 * d + rng.normal(0.0, 3.0), 126.0, 200.0))
    qrs = qrs_ms / 1000.0
    hr = float(np.clip(pat.hr_base + 3.0 * d + rng.normal(0.0, 5.0), 50.0, 110.0))
    rr = 60.0 / hr
    qt = pat.qtc_s * rr ** (1.0 / 3.0)
    pr = pat.pr_ms / 1000.0 * float(np.exp(rng.normal(0.0, 0.03)))

    amp = _AMP.copy()
    amp[5] = (1.0 - pat.v4_lateral) * _AMP[5] + pat.v4_lateral * _V4_LATERAL
    amp[2, R0] *= pat.r_v1
    amp[1, R0:S + 1] *= pat.ii_qrs
    amp[1, S] -= 0.6 * (1.1 - pat.ii_qrs)  # left axis: II turns rS
    # The LV driver, weakly (see the module docstring).
    amp[_LIMB, R0:S + 1] *= np.exp(-0.08 * d)
    amp[6:8, R1:R2 + 1] *= np.exp(-0.10 * d)
    amp[_RIGHT_PRECORDIAL, S] *= np.exp(0.06 * d)
    amp[_LATERAL, ST:] *= pat.t_factor * max(0.3, 1.0 + 0.12 * d)
    amp[_RIGHT_PRECORDIAL, ST:] *= pat.t_factor * np.exp(0.05 * d)
    # Day-to-day: electrode placement, respiration phase, skin.
    amp *= pat.gain[:, None] * np.exp(rng.normal(0.0, 0.07, (8, 1)))
    amp *= np.exp(rng.normal(0.0, 0.05, amp.shape))

    t_peak = qt - 0.135  # T2 ends ~2.5 sigma after its centre: T offset = QRS onset + QT
    center = np.empty((8, N_COMPONENTS))
    sigma = np.empty((8, N_COMPONENTS))
    center[:, P], sigma[:, P] = -pr + 0.05, 0.022
    center[:, R0], sigma[:, R0] = 0.10 * qrs, 0.045 * qrs
    center[:, R1], sigma[:, R1] = pat.r1_frac * qrs, 0.12 * qrs
    center[:, R2], sigma[:, R2] = pat.r2_frac * qrs, 0.13 * qrs
    center[:, S], sigma[:, S] = 0.50 * qrs, 0.20 * qrs
    center[5, S] = 0.58 * qrs  # V4's S follows its r
    center[:, ST], sigma[:, ST] = qrs + 0.07, 0.05
    center[:, T1], sigma[:, T1] = t_peak - 0.03, 0.065
    center[:, T2], sigma[:, T2] = t_peak + 0.035, 0.04
    center += rng.normal(0.0, 0.002, center.shape)

    return ECGParams(
        amp=amp, center=center, sigma=sigma, qrs_s=qrs, pr_s=pr, qt_s=qt, hr=hr,
        rr_jitter=float(rng.uniform(0.005, 0.03)), rsa=float(rng.uniform(0.01, 0.05)),
        resp_hz=float(rng.uniform(0.15, 0.35)), driver=d, mains_hz=pat.mains_hz,
    )


def beat_waveform(params: ECGParams, t_rel: np.ndarray) -> np.ndarray:
    """The 8 stored leads of one beat at times `t_rel` (s from the QRS onset): (8, len(t_rel))."""
    # float32: numpy's float64 exp is several times slower, and the waves are later quantised to
    # 4.88 uV steps, far coarser than float32's precision.
    z = ((t_rel[None, None, :] - params.center[:, :, None]) / params.sigma[:, :, None]).astype(np.float32)
    waves = np.exp(np.float32(-0.5) * z * z)
    # Ventricular depolarisation lasts exactly the QRS duration: the QRS waves are faded in and out
    # over the first and last QRS_RAMP_S of [onset, onset + QRS] (raised cosine) and are zero
    # outside it, so the QRS boundaries the generator reports (FIDUCIALS) are where the QRS visibly
    # starts and ends, as on a real ECG (Gaussian tails alone would smear both by ~15 ms).
    waves[:, R0:S + 1] *= qrs_window(t_rel, params.qrs_s)[None, None, :]
    return np.einsum("lk,lkt->lt", params.amp.astype(np.float32), waves)


def qrs_window(t_rel: np.ndarray, qrs_s: float) -> np.ndarray:
    """1 inside the QRS, raised-cosine ramps of QRS_RAMP_S at its two ends, 0 outside (float32)."""
    t = np.asarray(t_rel, dtype=np.float64)
    ramp = min(QRS_RAMP_S, qrs_s / 4)
    up = np.clip(t / ramp, 0.0, 1.0)
    down = np.clip((qrs_s - t) / ramp, 0.0, 1.0)
    return (0.25 * (1 - np.cos(np.pi * up)) * (1 - np.cos(np.pi * down))).astype(np.float32)


def limb_leads(i: np.ndarray, ii: np.ndarray) -> dict[str, np.ndarray]:
    """III, aVR, aVL, aVF from I and II (Einthoven, Goldberger)."""
    return {"III": ii - i, "aVR": -(i + ii) / 2.0, "aVL": i - ii / 2.0, "aVF": ii - i / 2.0}


def twelve_leads(stored: np.ndarray) -> dict[str, np.ndarray]:
    """All 12 leads by name from the 8 stored ones (rows in STORED_LEADS order)."""
    leads = dict(zip(STORED_LEADS, stored))
    leads.update(limb_leads(leads["I"], leads["II"]))
    return {name: leads[name] for name in LEADS12}


def _band_noise(rng: np.random.Generator, shape: tuple[int, int], lo_hz: float, hi_hz: float) -> np.ndarray:
    """Unit-variance Gaussian noise limited to [lo_hz, hi_hz], drawn directly in the frequency domain
    (random complex amplitudes in the band, then an inverse real FFT)."""
    leads, n = shape
    lo, hi = int(lo_hz * n / FS), int(hi_hz * n / FS) + 1
    spec = np.zeros((leads, n // 2 + 1), dtype=np.complex128)
    band = rng.standard_normal((2, leads, hi - lo))
    spec[:, lo:hi] = band[0] + 1j * band[1]
    return np.fft.irfft(spec, n, axis=1) * (n / (2.0 * np.sqrt(hi - lo)))


def _noise(rng: np.random.Generator, params: ECGParams, n: int) -> np.ndarray:
    """Baseline wander, powerline, muscle (EMG) and amplifier noise for the 8 leads: (8, n)."""
    t = np.arange(n) / FS
    # Baseline wander (< 0.5 Hz): respiration, shared and lead-weighted, plus slow electrode drift
    # per lead; evaluated every 0.1 s and interpolated, which is exact enough for such slow waves.
    t_slow = np.arange(0.0, n / FS + 0.1, 0.1)
    resp = np.sin(2 * np.pi * params.resp_hz * t_slow + rng.uniform(0, 2 * np.pi))
    slow = rng.uniform(0.0, 0.08) * rng.uniform(-1, 1, (8, 1)) * resp[None, :]
    f = rng.uniform(0.03, 0.4, (8, 2, 1))
    phase = rng.uniform(0, 2 * np.pi, (8, 2, 1))
    drift_amp = rng.uniform(0.0, 1.0, (8, 2, 1)) * rng.uniform(0.0, 0.12)
    slow += (drift_amp * np.sin(2 * np.pi * f * t_slow[None, None, :] + phase)).sum(axis=1)
    out = np.stack([np.interp(t, t_slow, lead) for lead in slow])
    # Powerline: present on about half the ECGs (the cart's AC filter removes the rest); each lead
    # its own amplitude and phase, written as a mix of one sine and one cosine.
    if rng.random() < 0.5:
        level = rng.uniform(0.002, 0.03) * rng.uniform(0.3, 1.0, (8, 1))
        phi = rng.uniform(0, 2 * np.pi, (8, 1))
        w = 2 * np.pi * params.mains_hz * t
        out += level * (np.cos(phi) * np.sin(w)[None, :] + np.sin(phi) * np.cos(w)[None, :])
    # Muscle noise: band-limited, sometimes in bursts (a patient who moves or shivers). Its floor
    # of 2 uV also stands for amplifier noise (below the 4.88 uV step it only dithers).
    emg = _band_noise(rng, (8, n), 20.0, 150.0) * rng.uniform(0.002, 0.025)
    if rng.random() < 0.3:
        mid, width = rng.uniform(0, n / FS), rng.uniform(0.3, 2.0)
        emg *= 1.0 + 3.0 * np.exp(-0.5 * ((t - mid) / width) ** 2)[None, :]
    out += emg
    return out


def simulate(params: ECGParams, rng: np.random.Generator, noise: bool = True) -> SimulatedECG:
    """A 10 s ECG (8 stored leads at 500 Hz) and its median beat, in mV."""
    rr0 = 60.0 / params.hr
    pre, post = 0.35, 0.80  # a beat's window around its QRS onset, s
    n_beats = int(np.ceil((N_RHYTHM / FS + 2.5) / (rr0 * 0.85))) + 2
    # Beat onsets: mean RR, respiratory sinus arrhythmia, and beat-to-beat jitter.
    rr = rr0 * (1.0 + params.rr_jitter * rng.standard_normal(n_beats))
    start = -1.0 - rng.uniform(0.0, rr0)  # beats before t=0 still show their T waves
    onsets = start + np.concatenate([[0.0], np.cumsum(rr[:-1])])
    rr *= 1.0 + params.rsa * np.sin(2 * np.pi * params.resp_hz * onsets)
    onsets = start + np.concatenate([[0.0], np.cumsum(rr[:-1])])
    onsets = onsets[(onsets > -post) & (onsets < N_RHYTHM / FS + pre)]

    # One template beat, placed at every onset with a respiratory amplitude modulation.
    w = np.arange(-int(pre * FS), int(post * FS))
    template = beat_waveform(params, w / FS)  # (8, W)
    pad = int(pre * FS) + int(post * FS) + 10
    n_pad = N_RHYTHM + 2 * pad
    starts = np.round(onsets * FS).astype(np.int64) + pad
    resp = 1.0 + rng.uniform(0.0, 0.06, (8, 1)) * np.sin(
        2 * np.pi * params.resp_hz * onsets[None, :] + rng.uniform(0, 2 * np.pi))  # (8, B)
    idx = starts[:, None] + w[None, :]  # (B, W)
    weights = resp[:, :, None] * template[:, None, :]  # (8, B, W)
    flat = (np.arange(8)[:, None, None] * n_pad + idx[None, :, :]).ravel()
    rhythm = np.bincount(flat, weights=weights.ravel(), minlength=8 * n_pad).reshape(8, n_pad)
    rhythm = rhythm[:, pad:pad + N_RHYTHM]
    if noise:
        rhythm = rhythm + _noise(rng, params, N_RHYTHM)

    median = beat_waveform(params, (np.arange(N_MEDIAN) - MEDIAN_ONSET) / FS).astype(np.float64)
    if noise:  # what averaging ~10 noisy beats leaves
        median += rng.normal(0.0, 0.003, median.shape)
    inside = onsets[(onsets >= 0) & (onsets < N_RHYTHM / FS)]
    visible = onsets[(onsets + params.qrs_s > 0) & (onsets < N_RHYTHM / FS)]
    return SimulatedECG(rhythm=rhythm, median=median, onsets_s=inside, params=params,
                        measurements=measurements(params, median, inside, rng), visible_onsets_s=visible)


def _axis(i: np.ndarray, ii: np.ndarray) -> int:
    """Frontal axis (degrees) from the net areas in I and aVF."""
    avf = ii - i / 2.0
    return int(round(np.degrees(np.arctan2(avf.sum(), i.sum()))))


def measurements(params: ECGParams, median: np.ndarray, onsets: np.ndarray,
                 rng: np.random.Generator) -> dict[str, int]:
    """The cart's global measurements, as a MUSE export reports them (ms, bpm, degrees, samples).

    Like a real cart's, QRSDuration is measured with a few ms of error (and is >= 120 ms: LBBB).
    """
    rr = np.diff(onsets)
    rate = 60.0 / float(rr.mean()) if len(rr) else params.hr
    # The cohort was selected on the cart's LBBB criteria, which need QRSDuration >= 120 ms.
    qrs_ms = max(120.0, params.qrs_s * 1000.0 + rng.normal(0.0, 4.0))
    qt_ms = params.qt_s * 1000.0
    rr_s = 60.0 / rate
    p_on = MEDIAN_ONSET - int(round(params.pr_s * FS))
    q_off = MEDIAN_ONSET + int(round(qrs_ms / 1000.0 * FS))
    qrs_win = slice(MEDIAN_ONSET, q_off)
    t_win = slice(q_off, MEDIAN_ONSET + int(round(params.qt_s * FS)))
    p_win = slice(max(p_on, 0), MEDIAN_ONSET)
    return {
        "VentricularRate": int(round(rate)),
        "AtrialRate": int(round(rate)),
        "PRInterval": int(round(params.pr_s * 1000.0)),
        "QRSDuration": int(round(qrs_ms)),
        "QTInterval": int(round(qt_ms)),
        "QTCorrected": int(round(qt_ms / np.sqrt(rr_s))),
        "PAxis": _axis(median[0, p_win], median[1, p_win]),
        "RAxis": _axis(median[0, qrs_win], median[1, qrs_win]),
        "TAxis": _axis(median[0, t_win], median[1, t_win]),
        "QRSCount": int(len(onsets)),
        "QOnset": MEDIAN_ONSET,
        "QOffset": q_off,
        "POnset": p_on,
        "POffset": MEDIAN_ONSET - int(round((params.pr_s - 0.1) * FS)),
        "TOffset": MEDIAN_ONSET + int(round(params.qt_s * FS)),
        "QTcFrederica": int(round(qt_ms / rr_s ** (1.0 / 3.0))),
    }
