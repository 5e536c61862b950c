"""The `evaluate` and `predict` stages: the study's metrics, thresholds, bootstrap CIs, DeLong,
calibration, plots, reports, and per-ECG scores.

    from lvsdctl.evaluate import evaluate, predict
    ev = evaluate("model.h5", "split.h5", "eval.h5", threshold="youden")

Modules: `api` (the verbs, scoring a file), `evaluation` (scores to metrics, pure), `metrics`,
`thresholds`, `bootstrap`, `delong`, `calibration`, `tables` (Table 2 layout), `plots`, `report`,
`store` (evaluation and prediction files). Import-light: the names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["Evaluation", "PredictSummary", "evaluate", "predict"]
__getattr__, __dir__ = lazy_exports(__name__, {"evaluate": "lvsdctl.evaluate.api", "predict": "lvsdctl.evaluate.api",
                                               "PredictSummary": "lvsdctl.evaluate.api",
                                               "Evaluation": "lvsdctl.evaluate.evaluation"})

if TYPE_CHECKING:
    from lvsdctl.evaluate.api import PredictSummary, evaluate, predict
    from lvsdctl.evaluate.evaluation import Evaluation
