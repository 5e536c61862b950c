"""Statistics of the study: the cohort table (Table 1) and model comparisons (Table 2, Fig. 3).

Import-light: submodules import scipy/statsmodels themselves.
"""
