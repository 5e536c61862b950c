"""The `study` stage: the whole study on a site's own data, the grid as a script, and the reproduction report.

    from lvsdctl.study import script, done, report

`script(split, runs, preset="paper")` writes the article's experiment (4 baselines, 14 ECG-FM
strategies, ECG-FM from scratch, every evaluation, the Fig. 4 explanations) as an editable, resumable
bash script of lvsdctl calls; `done(argv)` tells that script whether a step's output is done;
`report(runs)` gathers the results into one report beside the article's published values.

Modules: `shell` (`script`: the script and its manifest), `status` (`done`), `reproduction` (`report`),
`grid` (the steps), `presets`, `flags` (every CLI flag the script writes), `gather` (a run directory
read back), `side_by_side` and `published` (the article's values), `html`. Import-light: the
names load on first use; numpy, pandas, h5py or torch only inside the verbs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["DoneStatus", "ReportSummary", "ScriptSummary", "done", "report", "script"]
__getattr__, __dir__ = lazy_exports(__name__, {"script": "lvsdctl.study.shell", "ScriptSummary": "lvsdctl.study.shell",
                                               "done": "lvsdctl.study.status", "DoneStatus": "lvsdctl.study.status",
                                               "report": "lvsdctl.study.reproduction",
                                               "ReportSummary": "lvsdctl.study.reproduction"})

if TYPE_CHECKING:
    from lvsdctl.study.reproduction import ReportSummary, report
    from lvsdctl.study.shell import ScriptSummary, script
    from lvsdctl.study.status import DoneStatus, done
