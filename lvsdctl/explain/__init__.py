"""The `explain` stage: DeepLIFT / Integrated Gradients attributions, the study's Fig. 4, per-wave
summaries, and the cohort view (where the model looks, by outcome group).

    from lvsdctl.explain import explain, explain_cohort
    summary = explain("ecg.xml", model_path="model.h5", out="map.png")

Modules: `api` (one ECG), `cohort` (a whole set), `attribute`, `waves`, `figure`. Import-light: the
names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["CohortExplanation", "ExplainSummary", "explain", "explain_cohort"]
__getattr__, __dir__ = lazy_exports(__name__, {"explain": "lvsdctl.explain.api", "ExplainSummary": "lvsdctl.explain.api",
                                               "explain_cohort": "lvsdctl.explain.cohort",
                                               "CohortExplanation": "lvsdctl.explain.cohort"})

if TYPE_CHECKING:
    from lvsdctl.explain.api import ExplainSummary, explain
    from lvsdctl.explain.cohort import CohortExplanation, explain_cohort
