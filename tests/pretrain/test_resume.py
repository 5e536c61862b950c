"""An interrupted pretraining run, resumed, ends with exactly the weights of an uninterrupted one (CPU)."""

from __future__ import annotations

import pytest
import torch

import lvsdctl.models.checkpoint as checkpoint
from lvsdctl.models.checkpoint import load_checkpoint
from lvsdctl.pretrain.api import pretrain, resume_path

from tests.pretrain.pretrain_data import make_12lead_file

OPTS = dict(size="tiny", batch_size=4, lr=1e-3, device="cpu", seed=3)


def test_resume_equals_uninterrupted(tmp_path, monkeypatch):
    data = make_12lead_file(tmp_path / "a.h5", n=8, seed=2)
    straight = pretrain(data, tmp_path / "straight.h5", epochs=2, **OPTS)

    out = tmp_path / "resumed.h5"
    with monkeypatch.context() as m:
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        m.setattr(checkpoint, "save_checkpoint", interrupted)  # dies after epoch 1's resume state
        with pytest.raises(KeyboardInterrupt):
            pretrain(data, out, epochs=1, **OPTS)
    assert resume_path(str(out)).exists()
    resumed = pretrain(data, out, epochs=2, resume=True, **OPTS)
    assert resumed.resumed_from_epoch == 1 and resumed.num_updates == straight.num_updates == 4

    a, _ = load_checkpoint(tmp_path / "straight.h5")
    b, meta = load_checkpoint(out)
    assert len(meta["history"]) == 2
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
