"""Waveform measurement that holds on wide QRS: multi-lead beats, wave boundaries on the median
beat and under every beat, global intervals and axis, and the LBBB criteria (docs/measure.md).

    from lvsdctl.measure import measure
    summary = measure(["exports/"], "measures.csv")

Modules: `api` (the verb, one export, one lead matrix), `leads` (every format on one 500 Hz
timeline), `beats`, `median`, `delineate`, `morphology`, `lbbb`, `statements`, `pacing`, `analyse`
(one ECG end to end), `table`/`store` (the outputs), `join` (measures beside an ECG file's records),
`reference`/`agreement` (GE 12SL and the generator's fiducials). Light on purpose: numpy and scipy
load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["MeasureSummary", "Measured", "measure", "measure_export", "measure_leads"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "lvsdctl.measure.api"))

if TYPE_CHECKING:
    from lvsdctl.measure.api import MeasureSummary, Measured, measure, measure_export, measure_leads
