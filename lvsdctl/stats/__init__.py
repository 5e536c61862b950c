"""The `stats` stage: the study's statistics, the cohort table (Table 1), model comparisons
(Table 2, Fig. 3) and the audit of published tables.

    from lvsdctl.stats import audit, cohort, compare

Modules: `api` (the verbs), `table1` (Table 1, computed once), `comparison` (RM-ANOVA, Friedman,
Wilcoxon + Holm), `paired` (per-ECG DeLong, bootstrap, McNemar), `inputs` (reading evaluation and
prediction files), `figures` (Fig. 3), `output` (text and files), `confusion` (what a set's confusion
matrix can print), `consistency` (a published table audited row by row), `audit_readings` (the nearest
consistent readings of a failing row). Import-light: the names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["AuditResult", "CohortTable", "Comparison", "audit", "cohort", "compare"]
__getattr__, __dir__ = lazy_exports(__name__, {"cohort": "lvsdctl.stats.api", "compare": "lvsdctl.stats.api",
                                               "audit": "lvsdctl.stats.api", "Comparison": "lvsdctl.stats.api",
                                               "AuditResult": "lvsdctl.stats.consistency",
                                               "CohortTable": "lvsdctl.stats.table1"})

if TYPE_CHECKING:
    from lvsdctl.stats.api import Comparison, audit, cohort, compare
    from lvsdctl.stats.consistency import AuditResult
    from lvsdctl.stats.table1 import CohortTable
