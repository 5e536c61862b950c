"""ECGFounder for LVSD: the projection, the z-score, the study's freezing strategies and the weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lvsdctl.models.ecgfounder_lvsd import (
    ECGFounderLVSD,
    ECGFounderLVSDConfig,
    ECGZScore,
    apply_freeze,
    build_lvsd_model,
)
from lvsdctl.models.registry import create_model, model_config


@pytest.fixture(scope="module")
def founder_fixtures(fixtures_dir) -> Path:
    return fixtures_dir / "ecgfounder"


def _trainable(model) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_projection_only_where_the_channels_differ():
    four = ECGFounderLVSD(ECGFounderLVSDConfig(size="tiny", in_channels=4))
    twelve = ECGFounderLVSD(ECGFounderLVSDConfig(size="tiny", in_channels=12))
    assert tuple(four.input_proj.weight.shape) == (12, 4, 1)
    assert not any(k.startswith("input_proj") for k in twelve.state_dict())
    with torch.no_grad():
        assert four(torch.randn(2, 4, 700)).shape == (2, 2) and twelve(torch.randn(2, 12, 700)).shape == (2, 2)
    with pytest.raises(ValueError, match="expected"):
        four(torch.randn(2, 12, 700))


def test_zscore_is_the_authors_formula():
    x = torch.randn(3, 12, 500, dtype=torch.float64) * 0.3 + 0.1
    ref = np.stack([(e - e.mean()) / (e.std() + 1e-8) for e in x.numpy()])
    np.testing.assert_allclose(ECGZScore()(x).numpy(), ref, rtol=0, atol=1e-12)
    assert torch.equal(ECGZScore()(torch.zeros(1, 4, 10)), torch.zeros(1, 4, 10))  # flat: zeros, no NaN


def test_freeze_counts_stages_from_the_input_side():
    model = ECGFounderLVSD(ECGFounderLVSDConfig(size="tiny", in_channels=4))
    info = apply_freeze(model, 2)
    stages = {int(n.split(".")[2]) for n in _trainable(model) if n.startswith("backbone.stage_list.")}
    assert stages == {2, 3} and info["freeze"] == 2
    assert not any(n.startswith(("backbone.first_conv", "backbone.first_bn")) for n in _trainable(model))
    assert not any(".bn" in n for n in _trainable(model))  # use_bn=False: BatchNorm tensors never train
    apply_freeze(model, "all")
    assert _trainable(model) == {"input_proj.weight", "input_proj.bias", "backbone.dense.weight",
                                 "backbone.dense.bias"}
    with pytest.raises(ValueError, match="0..4 or 'all' for this 4-stage network"):
        apply_freeze(model, 5)


@pytest.mark.parametrize("n", [0, 2, "all"])
def test_frozen_parameters_never_change_and_every_trainable_one_does(n):
    torch.manual_seed(0)
    model = ECGFounderLVSD(ECGFounderLVSDConfig(size="tiny", in_channels=4)).train()
    apply_freeze(model, n)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    x, y = torch.randn(4, 4, 600), torch.tensor([0, 1, 0, 1])
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert not torch.equal(p.detach(), before[name]), f"{name} is trainable but did not change"
        else:
            assert torch.equal(p.detach(), before[name]) and p.grad is None, f"{name} is frozen but moved"
    assert not torch.equal(model.input_proj.weight.detach(), before["input_proj.weight"])


def test_built_from_the_official_layout_and_rebuilt_by_the_registry(founder_fixtures):
    path = founder_fixtures / "tiny_12lead.pth"
    model, info = build_lvsd_model(path, freeze=3, seed=0, in_channels=4)
    assert info["origin"] == "official" and info["freeze"] == 3 and info["weights"] == str(path)
    official = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    for key, value in official.items():
        if not key.startswith("dense."):
            assert torch.equal(model.backbone.state_dict()[key], value), key
    assert model.backbone.dense.out_features == 2
    again, _ = build_lvsd_model(path, seed=0, in_channels=4)
    torch.testing.assert_close(again.input_proj.weight, model.input_proj.weight)  # seeded new layers
    clone = create_model("ecgfounder-lvsd", **model_config(model))
    clone.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 4, 800)
    with torch.no_grad():
        torch.testing.assert_close(clone.eval()(x), model.eval()(x))


def test_the_one_lead_network_under_four_channels_projects_to_one(founder_fixtures):
    model, _ = build_lvsd_model(founder_fixtures / "tiny_1lead.pth", seed=0, in_channels=4)
    assert tuple(model.input_proj.weight.shape) == (1, 4, 1)


def test_checkpointed_stages_give_the_same_gradients():
    torch.manual_seed(0)
    plain = ECGFounderLVSD(ECGFounderLVSDConfig(size="tiny", in_channels=4)).train()
    ckpt = ECGFounderLVSD(ECGFounderLVSDConfig(size="tiny", in_channels=4, checkpoint_activations=True)).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 4, 400)
    for m in (plain, ckpt):
        m(x).sum().backward()
    for (name, a), (_, b) in zip(plain.named_parameters(), ckpt.named_parameters()):
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad, msg=name)
