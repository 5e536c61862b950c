"""The `evaluate`, `predict` and `calibrate` stages: the study's metrics, thresholds, bootstrap CIs,
DeLong, calibration, plots, reports, per-ECG scores and calls, and the operating point that carries the
frozen threshold from an evaluation to every prediction.

    from lvsdctl.evaluate import evaluate, predict
    ev = evaluate("model.h5", "split.h5", "eval.h5", threshold="youden")   # saves model.h5.threshold.json
    summary = predict("model.h5", ["exports/"], "pred.h5", secret_file="site.secret")   # uses it

Modules: `api` (evaluate, predict, scoring a file), `operating_point` (the saved threshold, and
`calibrate`), `evaluation` (scores to metrics, pure), `metrics`, `thresholds`, `bootstrap`, `delong`,
`calibration` (probability calibration), `tables` (Table 2 layout), `results` (per-ECG results),
`scope` (per-ECG warnings), `plots`, `report`, `store` (evaluation and prediction files).
Import-light: the names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["Evaluation", "OperatingPointSummary", "PredictSummary", "calibrate", "evaluate", "predict"]
__getattr__, __dir__ = lazy_exports(__name__, {"evaluate": "lvsdctl.evaluate.api", "predict": "lvsdctl.evaluate.api",
                                               "PredictSummary": "lvsdctl.evaluate.api",
                                               "Evaluation": "lvsdctl.evaluate.evaluation",
                                               "calibrate": "lvsdctl.evaluate.operating_point",
                                               "OperatingPointSummary": "lvsdctl.evaluate.operating_point"})

if TYPE_CHECKING:
    from lvsdctl.evaluate.api import PredictSummary, evaluate, predict
    from lvsdctl.evaluate.evaluation import Evaluation
    from lvsdctl.evaluate.operating_point import OperatingPointSummary, calibrate
