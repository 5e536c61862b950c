"""The whole study on a site's own data: the grid as a script, and the reproduction report.

`script(split, runs, preset="paper")` writes the article's experiment (4 baselines, 14 ECG-FM
strategies, ECG-FM from scratch, every evaluation, the Fig. 4 explanations) as an editable, resumable
bash script of lvsdctl calls; `done(argv)` tells that script whether a step's output is done;
`report(runs)` gathers the results into one report beside the article's published values.

Import-light: the modules load numpy, pandas, h5py or torch only inside the verbs.
"""

from lvsdctl.study.done import DoneStatus, done
from lvsdctl.study.report import ReportSummary, report
from lvsdctl.study.script import ScriptSummary, script

__all__ = ["script", "ScriptSummary", "done", "DoneStatus", "report", "ReportSummary"]
