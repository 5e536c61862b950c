"""Evaluation: the study's metrics, thresholds, bootstrap CIs, DeLong, calibration, plots, reports, predict.

Import-light: submodules pull in numpy/sklearn/matplotlib only when imported themselves.
"""
