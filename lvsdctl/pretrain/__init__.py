"""The `pretrain` stage: self-supervised pretraining of an ECG-FM backbone (W2V + CMSC + RLM).

    from lvsdctl.pretrain import pretrain
    summary = pretrain("archive12.h5", "site-fm.h5", size="tiny")

Modules: `api` (the verb), `segments` (5 s pieces, CMSC pairs), `rlm` (random lead masking), `masking`
(time spans), `negatives`, `losses`, `model` (the forward pass and its DDP collectives), `task` (the
engine's Task), `export` (fairseq-signals file layout). Import-light: torch loads only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["PretrainSummary", "pretrain"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "lvsdctl.pretrain.api"))

if TYPE_CHECKING:
    from lvsdctl.pretrain.api import PretrainSummary, pretrain
