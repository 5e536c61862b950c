"""`--micro-batch`: a batch run as micro-batches gives the gradients and steps of the unsplit batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lvsdctl.train import accumulate
from lvsdctl.train.distributed import DistInfo
from lvsdctl.errors import InputError
from lvsdctl.train.engine import TrainConfig, fit, seed_everything
from lvsdctl.train.tasks import Classification, Context, Task


class Data(torch.utils.data.Dataset):
    def __init__(self, n: int = 40):
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(n, 4, 64, generator=g)
        self.labels = (torch.arange(n) % 3 == 0).long()  # imbalanced: class weights matter
        self.x[self.labels == 1, 0, 20:40] += 1.5

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.x[i], self.labels[i]


def model() -> nn.Module:
    seed_everything(5)
    return nn.Sequential(nn.Conv1d(4, 8, 7), nn.GELU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 2))


def weighted() -> Classification:
    task = Classification("none")
    task.weights = torch.tensor([1.0, 2.5])
    return task


CTX = Context(device=torch.device("cpu"), dist=DistInfo(), amp=False)


@pytest.mark.parametrize("micro", [1, 4, 5])
def test_accumulated_gradients_equal_the_whole_batch(micro):
    data = Data(12)
    batch = (data.x, data.labels)
    grads = []
    for m in (None, micro):
        net = model()
        reported = accumulate.backward(net, weighted(), batch, CTX, m)
        grads.append(([p.grad.clone() for p in net.parameters()], float(reported)))
    (whole, r0), (split, r1) = grads
    for a, b in zip(whole, split):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)
    assert r0 == pytest.approx(r1, rel=1e-6)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_with_micro_batches_matches_training_without(optimizer):
    base = dict(epochs=2, batch_size=16, lr=1e-3, optimizer=optimizer, device="cpu", seed=2)
    whole = fit(model(), Data(), None, TrainConfig(**base), task=weighted())
    split = fit(model(), Data(), None, TrainConfig(**base, micro_batch=3), task=weighted())
    moved = False
    for key, value in whole.state_dict.items():
        assert torch.allclose(value, split.state_dict[key], atol=1e-5), key
        moved |= not torch.equal(value, model().state_dict()[key])
    assert moved
    assert whole.history[-1]["train_loss"] == pytest.approx(split.history[-1]["train_loss"], rel=1e-5)


def test_a_task_that_couples_its_samples_refuses_micro_batches():
    class Coupled(Task):
        def loss(self, net, batch, ctx):
            out = net(batch[0])
            return out.std(), out.sum().detach()

    with pytest.raises(InputError, match="cannot split"):
        fit(model(), Data(), None, TrainConfig(epochs=1, batch_size=8, micro_batch=2, device="cpu"), task=Coupled())
    with pytest.raises(InputError, match="micro-batch must be at least 1"):
        TrainConfig(micro_batch=0)
