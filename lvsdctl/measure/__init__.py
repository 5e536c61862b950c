"""Waveform measurement that holds on wide QRS: multi-lead beats, wave boundaries on the median
beat and under every beat, global intervals and axis, and the LBBB criteria (docs/measure.md).

    from lvsdctl.measure import measure
    summary = measure(["exports/"], "measures.csv")
"""

from lvsdctl.measure.api import MeasureSummary, Measured, measure, measure_export, measure_leads

__all__ = ["MeasureSummary", "Measured", "measure", "measure_export", "measure_leads"]
