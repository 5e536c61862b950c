"""The `train` stage (baselines from scratch) and the training engine every model shares.

    from lvsdctl.train import train
    summary = train("split.h5", model="inceptiontime", output="incep.h5")

Modules: `baseline` (the verb), `engine` (`fit` and `TrainConfig`), `tasks` (what a batch's loss and
the tuning scores are), `optim` (optimiser and schedule), `resume` (interrupted runs), `state`
(nested state in HDF5), `presets`, `devices`, `distributed`. `lvsdctl.finetune` and
`lvsdctl.pretrain` train through the same engine. Import-light: torch loads only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["TrainConfig", "TrainSummary", "fit", "train"]
__getattr__, __dir__ = lazy_exports(__name__, {"train": "lvsdctl.train.baseline", "TrainSummary": "lvsdctl.train.baseline",
                                               "fit": "lvsdctl.train.engine", "TrainConfig": "lvsdctl.train.engine"})

if TYPE_CHECKING:
    from lvsdctl.train.baseline import TrainSummary, train
    from lvsdctl.train.engine import TrainConfig, fit
