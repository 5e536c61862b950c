"""Statistics of the study: the cohort table (Table 1), model comparisons (Table 2, Fig. 3), and the
audit of published tables (`from lvsdctl.stats import audit`).

Import-light: submodules import scipy/statsmodels themselves.
"""

from lvsdctl.stats.audit import audit

__all__ = ["audit"]
