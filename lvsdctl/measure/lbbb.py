"""LBBB criteria measured on the median beat: the article's conventional list, AHA/ACCF/HRS 2009,
and Strauss's strict criteria (the article's stated limitation).

- **conventional** (the article's: "QRS duration greater than 120 ms; the presence or absence of Q
  wave in lateral leads; the morphology of R waves in lateral leads; morphology of QRS complex in
  right precordial leads including dominant S wave, QS or rS pattern; R wave peak time in V5/V6",
  as ECG machines apply it): QRS >= 120 ms; QS or rS in V1; a broad R (lasting >= 50 ms above half
  its height) in at least two of I, aVL, V5, V6; no q in I, V5, V6; R-peak time > 60 ms in V5 or V6.
- **aha2009** (Surawicz et al., Circulation 2009;119:e235): QRS >= 120 ms; broad notched or slurred
  R in I, aVL, V5 and V6 (an RS pattern in V5 and V6 is allowed: displaced transition); no q in
  I, V5, V6; R-peak time > 60 ms in V5 and V6 (when they have an R).
- **strauss** (Strauss et al., Am J Cardiol 2011;107:927): QRS >= 140 ms in men, >= 130 ms in
  women (140 when the sex is unknown); QS or rS in V1 and V2; mid-QRS notching or slurring (40 ms
  after the onset to half the QRS) in at least two of V1, V2, V5, V6, I, aVL.

A ventricular-paced ECG meets none of them (pacing from the right ventricle imitates LBBB), and
none is assessed where the delineation failed (the criteria are then None, not False).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lvsdctl.record import LEADS12
from lvsdctl.measure import morphology
from lvsdctl.measure.analyse import Analysis

CRITERIA = ("conventional", "aha2009", "strauss")
LATERAL = ("I", "aVL", "V5", "V6")
NO_Q = ("I", "V5", "V6")
STRAUSS_LEADS = ("V1", "V2", "V5", "V6", "I", "aVL")
BROAD_R_MS = 50.0
RPT_MS = 60.0


@dataclass
class LbbbCriteria:
    """Each criterion (True, False, or None when not assessable) and what it rests on."""

    conventional: bool | None = None
    aha2009: bool | None = None
    strauss: bool | None = None
    qrs_ms: float = float("nan")
    v1_pattern: str = ""
    v2_pattern: str = ""
    q_leads: list[str] = field(default_factory=list)  # of I, V5, V6
    broad_r_leads: list[str] = field(default_factory=list)  # of I, aVL, V5, V6
    notched_r_leads: list[str] = field(default_factory=list)  # broad and notched or slurred
    mid_qrs_notch_leads: list[str] = field(default_factory=list)  # Strauss's six leads
    rpt_v5_ms: float = float("nan")
    rpt_v6_ms: float = float("nan")
    not_assessed: str = ""  # why the criteria are None, or "paced rhythm"

    def met(self, criterion: str) -> bool | None:
        if criterion not in CRITERIA:
            raise ValueError(f"unknown LBBB criterion {criterion!r}")
        return getattr(self, criterion)

    @property
    def any(self) -> bool | None:
        values = [self.conventional, self.aha2009, self.strauss]
        return None if all(v is None for v in values) else any(bool(v) for v in values)


def assess(a: Analysis, sex: str | None = None) -> LbbbCriteria:
    """The three criteria on an analysed ECG."""
    out = LbbbCriteria()
    if a.beat is None or not a.bounds.ok:
        out.not_assessed = "delineation failed"
        return out
    on, off = a.bounds.qrs_onset, a.bounds.qrs_offset
    qrs = a.ms(on, off)
    out.qrs_ms = qrs
    smooth = morphology.smooth_beat(a.beat)
    shapes = {lead: morphology.shape(smooth[LEADS12.index(lead)], on, off) for lead in LEADS12}
    missing = [lead for lead in (*LATERAL, "V1", "V2") if not np.isfinite(shapes[lead].r_mv)]
    if missing:
        out.not_assessed = f"leads missing from the median beat: {' '.join(missing)}"
        return out
    out.v1_pattern, out.v2_pattern = shapes["V1"].pattern, shapes["V2"].pattern
    out.q_leads = [lead for lead in NO_Q if shapes[lead].q]
    out.broad_r_leads = [lead for lead in LATERAL if shapes[lead].r_duration_ms >= BROAD_R_MS]
    out.notched_r_leads = [lead for lead in out.broad_r_leads if shapes[lead].notched_or_slurred]
    out.mid_qrs_notch_leads = [lead for lead in STRAUSS_LEADS if shapes[lead].mid_qrs(qrs)]
    out.rpt_v5_ms, out.rpt_v6_ms = shapes["V5"].r_peak_time_ms, shapes["V6"].r_peak_time_ms
    if a.ventricular_paced:
        out.conventional = out.aha2009 = out.strauss = False
        out.not_assessed = "paced rhythm"
        return out
    dominant_s = {"QS", "rS"}
    rpt = [t for t in (out.rpt_v5_ms, out.rpt_v6_ms) if np.isfinite(t)]
    out.conventional = bool(
        qrs >= 120 and out.v1_pattern in dominant_s and len(out.broad_r_leads) >= 2
        and not out.q_leads and any(t > RPT_MS for t in rpt))
    rs_allowed = {lead for lead in ("V5", "V6") if shapes[lead].pattern == "RS"}
    out.aha2009 = bool(
        qrs >= 120 and all(lead in out.notched_r_leads or lead in rs_allowed for lead in LATERAL)
        and not out.q_leads and bool(rpt) and all(t > RPT_MS for t in rpt))
    limit = 130.0 if sex == "F" else 140.0
    out.strauss = bool(
        qrs >= limit and out.v1_pattern in dominant_s and out.v2_pattern in dominant_s
        and len(out.mid_qrs_notch_leads) >= 2)
    return out


def intended_use_warning(row: dict) -> str:
    """Why an ECG may lie outside an LVSD-in-LBBB model's intended use ("" when it is LBBB): not LBBB
    by the conventional criteria nor by the machine's statement, paced, or not assessable. Works on
    a `measure` table row (lvsdctl.measure.table.COLUMNS)."""
    if row.get("status") == "failed":
        return "LBBB could not be assessed (delineation failed): the model is meant for ECGs with LBBB"
    if row.get("paced"):
        return "a ventricular-paced ECG, not LBBB: the model is meant for ECGs with LBBB"
    statement = row.get("lbbb_statement") == "complete"
    conventional = row.get("lbbb_conventional")
    if conventional is True or statement:
        return ""
    qrs = row.get("qrs_ms")
    width = f"QRS {qrs:.0f} ms" if isinstance(qrs, float) and np.isfinite(qrs) else "QRS unknown"
    if conventional is None:
        return (f"LBBB could not be assessed ({row.get('lbbb_not_assessed') or 'not measurable'}; {width}): "
                "the model is meant for ECGs with LBBB")
    return f"not LBBB by the conventional criteria ({width}): the model is meant for ECGs with LBBB"
