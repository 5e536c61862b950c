"""The `stats` stage: the study's statistics, the cohort table (Table 1) and model comparisons
(Table 2, Fig. 3).

    from lvsdctl.stats import cohort, compare

Modules: `api` (the verbs), `table1` (Table 1, computed once), `comparison` (RM-ANOVA, Friedman,
Wilcoxon + Holm), `paired` (per-ECG DeLong, bootstrap, McNemar), `inputs` (reading evaluation and
prediction files), `figures` (Fig. 3), `output` (text and files). Import-light: the names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["CohortTable", "Comparison", "cohort", "compare"]
__getattr__, __dir__ = lazy_exports(__name__, {"cohort": "lvsdctl.stats.api", "compare": "lvsdctl.stats.api",
                                               "Comparison": "lvsdctl.stats.api",
                                               "CohortTable": "lvsdctl.stats.table1"})

if TYPE_CHECKING:
    from lvsdctl.stats.api import Comparison, cohort, compare
    from lvsdctl.stats.table1 import CohortTable
