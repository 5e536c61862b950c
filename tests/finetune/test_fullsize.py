"""The full-size ECG-FM (base, 90,373,248 encoder parameters) through the path a downloaded file takes.

A random-weights checkpoint in the official layout goes into the weights directory under the official
name; `finetune --weights ecgfm-pretrained` resolves it by name, loads it, runs one optimizer step
made of two micro-batches on 10 s ECGs, writes the model, and `predict` scores with it. The whole study
batch (256) and evaluate/explain at full size are in benchmarks/fullsize_e2e.sh (minutes on a CPU).
"""

from __future__ import annotations

import torch

from lvsdctl.models.checkpoint import load_checkpoint
from lvsdctl.models.ecgfm import count_parameters
from lvsdctl.finetune import finetune
from lvsdctl.weights import WEIGHTS_DIR_ENV
from lvsdctl.weights.synthetic import write_random_checkpoint
from tests.train.conftest import make_ecg_file

BASE_ENCODER = 90_373_248


def test_full_size_checkpoint_finetunes_with_micro_batches_and_predicts(tmp_path, monkeypatch):
    from lvsdctl.evaluate import predict

    wdir = tmp_path / "weights"
    info = write_random_checkpoint(wdir / "mimic_iv_ecg_physionet_pretrained.pt", size="base", seed=1)
    assert info["encoder_parameters"] == BASE_ENCODER
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(wdir))
    data = make_ecg_file(tmp_path / "split.h5", splits={"train": 2, "tune": 2}, samples=5000, labels=[0, 1, 1, 0])
    out = tmp_path / "ss-af.h5"
    summary = finetune(data, out, weights="ecgfm-pretrained", freeze="all", epochs=1, batch_size=2, micro_batch=1,
                       tune_split=None, device="cpu")
    assert summary.trainable_parameters < 10_000  # AF: the input projection and the head
    model, meta = load_checkpoint(out)
    assert count_parameters(model.encoder) == BASE_ENCODER
    assert meta["training"]["train"]["micro_batch"] == 1 and meta["training"]["train"]["batch_size"] == 2
    assert meta["training"]["weights_catalog"]["catalog_name"] == "ecgfm-pretrained"
    # The file's weights are in the model, bit for bit (AF trains none of them).
    official = torch.load(wdir / "mimic_iv_ecg_physionet_pretrained.pt", map_location="cpu", weights_only=True)
    key = "encoder.layers.11.fc2.weight"
    assert torch.equal(model.encoder.state_dict()[key], official["model"][key])
    res = predict(str(out), str(data), str(tmp_path / "pred.h5"), sets=["tune"], device="cpu")
    assert res.ecgs == 2
