"""The `finetune` stage: ECG-FM fine-tuned for LVSD through the shared training engine.

    from lvsdctl.finetune import finetune
    summary = finetune("split.h5", "sq-pf4.h5", freeze=4, sequential=True)

`all_strategies` trains the study's 14 models. Modules: `api`. Import-light: torch loads only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["FinetuneSummary", "all_strategies", "finetune"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "lvsdctl.finetune.api"))

if TYPE_CHECKING:
    from lvsdctl.finetune.api import FinetuneSummary, all_strategies, finetune
