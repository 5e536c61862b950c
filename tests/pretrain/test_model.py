"""The pretraining forward pass, the fairseq export and the checkpoint that `finetune` loads."""

from __future__ import annotations

import pytest
import torch

from lvsdctl.models.ecgfm_weights import load_encoder, load_pretrain_model, read_official
from lvsdctl.pretrain.api import build_model
from lvsdctl.pretrain.export import export_fairseq
from lvsdctl.pretrain.model import GradMultiply, ObjectiveConfig, PretrainNet


def _net(seed: int = 0, **objective) -> PretrainNet:
    return PretrainNet(build_model("tiny", seed=seed), ObjectiveConfig(**objective), seed=seed)


def _batch(b: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 2, 12, 2500, generator=g), torch.arange(b)


def test_masked_frames_become_mask_emb_before_positions():
    net = _net().train()
    seen = {}
    net.w2v.conv_pos.register_forward_pre_hook(lambda mod, args: seen.setdefault("x", args[0].detach()))
    x, keys = _batch()
    out = net(x, keys)
    h = seen["x"]  # (segments, frames, dim): the input of the positional conv
    is_emb = torch.isclose(h, net.w2v.mask_emb.detach()).all(-1)
    assert is_emb.sum(1).unique().numel() == 1  # the same masked count in every segment
    assert int(is_emb.sum(1)[0]) == int(out["masked_steps"])
    assert 0.3 < is_emb.float().mean() < 0.7  # ~ the expected coverage for mask_prob 0.65, span 10


def test_loss_terms_and_schedule_state():
    net = _net().train()
    x, keys = _batch()
    out = net(x, keys)
    o = ObjectiveConfig()
    total = out["contrastive"] + o.diversity_weight * out["diversity"] + o.feature_weight * out["features_pen"] + out["cmsc"]
    assert torch.isclose(out["loss"].detach(), total, rtol=1e-5)
    assert float(out["temperature"]) == 2.0 and int(net.num_updates) == 1
    net(x, keys)
    assert float(net.w2v.quantizer.curr_temp) == pytest.approx(2.0 * 0.999995)
    assert 1 <= float(out["code_perplexity"]) <= 16  # tiny: 2 groups x 8 entries
    assert int(out["negatives"]) == int(out["masked_steps"]) - 1  # fewer than 100 masked steps


def test_feature_grad_mult_scales_not_freezes():
    x = torch.ones(3, requires_grad=True)
    GradMultiply.apply(x * 2, 0.1).sum().backward()
    assert torch.allclose(x.grad, torch.full((3,), 0.2))
    grads = {}
    for mult in (1.0, 0.1):
        net = _net(feature_grad_mult=mult, rlm_prob=0.0).train()
        torch.manual_seed(0)  # same dropout draws
        net(*_batch())["loss"].backward()
        grads[mult] = net.w2v.feature_extractor.conv_layers[0][0].weight.grad.clone()
    assert grads[0.1].abs().sum() > 0
    assert torch.allclose(grads[0.1], 0.1 * grads[1.0], rtol=1e-3, atol=1e-7)


NO_DROPOUT = dict(dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, dropout_input=0.0, dropout_features=0.0)


def test_draws_are_keyed_by_seed_update_and_ecg():
    x, keys = _batch()
    losses = []
    for k in (keys, keys, keys + 10):
        net = PretrainNet(build_model("tiny", seed=0, **NO_DROPOUT), seed=0).train()
        losses.append(float(net(x, k)["total"]))
    assert losses[0] == losses[1] and losses[0] != losses[2]


@pytest.mark.parametrize("legacy", [True, False])
def test_fairseq_export_loads_back_through_the_official_loader(tmp_path, legacy):
    model = build_model("tiny", seed=3)
    path = export_fairseq(model, tmp_path / "site-fm.pt", num_updates=7, legacy=legacy)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)  # plain containers only
    assert ckpt["args"] is None and ckpt["cfg"]["model"]["encoder_embed_dim"] == 64
    assert ("conv_pos.pos_conv.0.weight_g" in ckpt["model"]) == legacy
    assert "mask_emb" in ckpt["model"] and "quantizer.vars" in ckpt["model"]
    assert ckpt["optimizer_history"][-1]["num_updates"] == 7
    for key in ("criterion", "task_state", "extra_state", "last_optimizer_state"):
        assert key in ckpt
    assert read_official(path)["model"].keys() == ckpt["model"].keys()
    back = load_pretrain_model(path)
    ref = model.state_dict()
    assert all(torch.equal(ref[k], v) for k, v in back.state_dict().items())
    enc, w = load_encoder(path)
    assert w.origin == "official-pretrained" and w.config.num_layers == 2 and w.config.latent_vars == 8
    x = torch.randn(1, 12, 2500)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(enc.eval()(x), model(x), atol=1e-6)
