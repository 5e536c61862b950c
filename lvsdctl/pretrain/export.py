"""Export a pretrained backbone in the fairseq-signals file layout (ECG-FM's own tools read it).

A `torch.save`d dict of plain containers and tensors only, so it loads with `weights_only=True`:
`args` None, `cfg` {"model": sizes as fairseq-signals names them}, `model` (OrderedDict, the
official pretrained keys, weight-norm halves as legacy `weight_g`/`weight_v` or the newer
`parametrizations.weight.original0/1`), and the trainer's entries. `optimizer_history` holds one
small entry, not none: fairseq's checkpoint upgrade reads `optimizer_history[-1]`.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import torch

from lvsdctl.models.ecgfm_pretrain import PRETRAINING_PREFIXES, ECGFMPretrainModel
from lvsdctl.models.ecgfm_weights import official_cfg, to_official_state_dict


def fairseq_checkpoint(model: ECGFMPretrainModel, *, num_updates: int = 0, epoch: int = 0,
                       legacy: bool = True) -> dict:
    """The dict `export_fairseq` saves (CPU, contiguous float tensors)."""
    full = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    encoder = OrderedDict((k, v) for k, v in full.items() if not k.startswith(PRETRAINING_PREFIXES))
    pretraining = OrderedDict((k, v) for k, v in full.items() if k.startswith(PRETRAINING_PREFIXES))
    cfg_model = official_cfg(model.cfg)
    cfg_model["_name"] = "wav2vec2_cmsc"  # fairseq-signals' model name for W2V + CMSC pretraining
    return {
        "args": None,
        "cfg": {"model": cfg_model},
        "model": to_official_state_dict(encoder, pretraining=pretraining, legacy=legacy),
        "criterion": {},
        "optimizer_history": [{"criterion_name": "Wav2Vec2WithCMSCCriterion", "optimizer_name": "FairseqAdam",
                               "lr_scheduler_state": {}, "num_updates": int(num_updates)}],
        "task_state": {},
        "extra_state": {"epoch": int(epoch)},
        "last_optimizer_state": {},
    }


def export_fairseq(model: ECGFMPretrainModel, path: str | os.PathLike, *, num_updates: int = 0, epoch: int = 0,
                   legacy: bool = True) -> str:
    """Write `model` to `path` (atomically: a temporary file beside it, then renamed)."""
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        torch.save(fairseq_checkpoint(model, num_updates=num_updates, epoch=epoch, legacy=legacy), tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
