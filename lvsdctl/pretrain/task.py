"""The engine's `Task` for pretraining: run `PretrainNet`, report each loss term and the perplexity."""

from __future__ import annotations

import math

import torch

from lvsdctl.train.devices import autocast
from lvsdctl.train.tasks import Context, Task

#: Terms averaged per epoch into the history (the last step's are in the epoch's log line).
TERMS = ("contrastive", "diversity", "features_pen", "cmsc", "code_perplexity", "prob_perplexity", "accuracy",
         "temperature")


class PretrainTask(Task):
    def __init__(self, objective: dict):
        self.objective = objective
        self._sums: dict[str, float] = {}
        self._steps = 0
        self._last: dict[str, torch.Tensor] = {}

    def loss(self, model, batch, ctx: Context):
        segments, keys = batch
        segments = segments.to(ctx.device, non_blocking=True)
        with autocast(ctx.device, ctx.amp):
            out = model(segments, keys)
        self._last = {k: out[k] for k in TERMS}
        self._steps += 1
        for k in TERMS:  # kept on the device: summed lazily, no synchronisation per step
            self._sums[k] = self._sums.get(k, 0.0) + out[k].detach().float()
        # The step's loss is global (reduced over ranks): weight it by this rank's ECG count.
        return out["loss"], out["total"].detach().float() * len(keys)

    def progress_text(self) -> str:
        if not self._last:
            return ""
        v = {k: float(t) for k, t in self._last.items()}
        return (f"w2v {v['contrastive']:.3f} div {v['diversity']:.3f} feat {v['features_pen']:.4f} "
                f"cmsc {v['cmsc']:.3f} ppl {v['code_perplexity']:.1f}")

    def epoch_summary(self) -> dict[str, float]:
        out = {k: float(v) / self._steps for k, v in self._sums.items()} if self._steps else {}
        self._sums, self._steps = {}, 0
        return {k: v for k, v in out.items() if not math.isnan(v)}

    def describe(self) -> dict:
        return {"loss": "wav2vec 2.0 + CMSC + RLM (ECG-FM)", "objective": self.objective}
