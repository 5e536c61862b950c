"""The LVSD model: shapes, segments, z-scoring, and proof that freezing freezes exactly what it says."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lvsdctl.models.ecgfm import ECGFMConfig
from lvsdctl.models.ecgfm_lvsd import (
    ChannelZScore,
    ECGFMLVSD,
    ECGFMLVSDConfig,
    apply_freeze,
    build_lvsd_model,
    parse_freeze,
)
from lvsdctl.models.ecgfm_weights import read_weights
from lvsdctl.models.registry import create_model, model_config


@pytest.fixture(scope="module")
def ecgfm_fixtures(fixtures_dir) -> Path:
    """The reference implementation's tiny checkpoints and outputs (../shared/fixtures/ecgfm)."""
    return fixtures_dir / "ecgfm"


# 12 layers like the public model (so --freeze 4/12 mean what they mean in the study), but narrow.
NARROW12 = ECGFMConfig(conv_layers=((16, 2, 2),) * 4, embed_dim=32, ffn_dim=64, num_layers=12, num_heads=2,
                       conv_pos=8, conv_pos_groups=2).to_dict()


def test_output_is_batch_by_two_logits():
    model = ECGFMLVSD(ECGFMLVSDConfig(size="tiny")).eval()
    with torch.no_grad():
        assert model(torch.randn(3, 4, 5000)).shape == (3, 2)
    with pytest.raises(ValueError, match=r"\(batch, 4, samples\)"):
        model(torch.randn(3, 12, 5000))


def test_five_second_segments_average_the_segment_logits():
    torch.manual_seed(0)
    seg = ECGFMLVSD(ECGFMLVSDConfig(size="tiny", segment_samples=2500)).eval()
    whole = ECGFMLVSD(ECGFMLVSDConfig(size="tiny")).eval()
    whole.load_state_dict(seg.state_dict())
    x = torch.randn(2, 4, 5000)
    # z-score per 10 s recording first (the model does), then score each half alone.
    z = ChannelZScore()(x)
    whole.normalise = torch.nn.Identity()
    with torch.no_grad():
        halves = [whole(z[..., :2500]), whole(z[..., 2500:])]
        torch.testing.assert_close(seg(x), (halves[0] + halves[1]) / 2, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="segments of 2500"):
        seg(torch.randn(1, 4, 3000))


def test_zscore_per_channel_and_flat_channels_become_zero():
    x = torch.randn(2, 4, 1000) * 3 + 5
    x[1, 2] = 0.7
    z = ChannelZScore()(x)
    torch.testing.assert_close(z[0].mean(-1), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(z[0].std(-1, unbiased=False), torch.ones(4), atol=1e-4, rtol=0)
    assert torch.equal(z[1, 2], torch.zeros(1000))


def test_input_projection_kernel_is_an_option():
    model = ECGFMLVSD(ECGFMLVSDConfig(size="tiny", proj_kernel=5))
    assert model.input_proj.weight.shape == (12, 4, 5)
    assert model(torch.randn(1, 4, 800)).shape == (1, 2)


def test_parse_freeze_values():
    assert parse_freeze("all", 12) == 12 and parse_freeze("4", 12) == 4 and parse_freeze(0, 12) == 0
    for bad in ("13", -1, "x", 13):
        with pytest.raises(ValueError, match="0..12 or 'all'"):
            parse_freeze(bad, 12)


def _names_trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_freeze_selects_the_input_side_and_lowest_layers():
    model = ECGFMLVSD(ECGFMLVSDConfig(encoder=NARROW12))
    apply_freeze(model, 4)
    trainable = _names_trainable(model)
    assert {n.split(".")[0] for n in trainable} == {"input_proj", "encoder", "proj"}
    layers = {int(n.split(".")[3]) for n in trainable if n.startswith("encoder.encoder.layers.")}
    assert layers == set(range(4, 12))
    frozen = {n for n, _ in model.named_parameters()} - trainable
    for part in ("feature_extractor", "layer_norm", "post_extract_proj", "conv_pos", "encoder.layer_norm"):
        assert any(n.startswith(f"encoder.{part}") for n in frozen), part
    info = apply_freeze(model, "all")
    assert _names_trainable(model) == {"input_proj.weight", "input_proj.bias", "proj.weight", "proj.bias"}
    assert info["trainable"] == 12 * 4 + 12 + 2 * 32 + 2
    assert apply_freeze(model, 0)["frozen"] == 0  # idempotent: unfreezing works too


@pytest.mark.parametrize("n", [0, 4, 12])
def test_frozen_parameters_never_change_and_every_trainable_one_does(n):
    torch.manual_seed(n)
    model = ECGFMLVSD(ECGFMLVSDConfig(encoder=NARROW12)).train()
    apply_freeze(model, n)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=1e-3)
    x, y = torch.randn(4, 4, 480), torch.tensor([0, 1, 0, 1])
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert not torch.equal(p.detach(), before[name]), f"{name} is trainable but did not change"
        else:
            assert torch.equal(p.detach(), before[name]), f"{name} is frozen but changed"
            assert p.grad is None, f"{name} is frozen but received a gradient"
    # The study's code starved the 4->12 projection of gradients: here it always trains.
    assert not torch.equal(model.input_proj.weight.detach(), before["input_proj.weight"])


def test_built_from_official_weights_with_sizes_from_the_file(ecgfm_fixtures):
    model, info = build_lvsd_model(ecgfm_fixtures / "tiny_finetuned_legacy_keys.pt", freeze="all", seed=0)
    assert info["origin"] == "official-finetuned" and info["freeze"] == 2
    weights = read_weights(ecgfm_fixtures / "tiny_finetuned.pt")
    for key, value in weights.encoder.items():
        assert torch.equal(model.encoder.state_dict()[key], value), key
    assert model.proj.out_features == 2  # the 5-label head is replaced, as in the study
    again, _ = build_lvsd_model(ecgfm_fixtures / "tiny_pretrained.pt", seed=0)
    torch.testing.assert_close(again.input_proj.weight, model.input_proj.weight)  # seeded new layers


def test_registry_rebuilds_the_model_from_its_config(ecgfm_fixtures):
    model, _ = build_lvsd_model(ecgfm_fixtures / "tiny_pretrained.pt", seed=1, segment_samples=2500)
    clone = create_model("ecgfm-lvsd", **model_config(model))
    clone.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(1, 4, 5000)
    with torch.no_grad():
        torch.testing.assert_close(clone.eval()(x), model.eval()(x))


def test_a_named_size_refuses_weights_of_another_size(ecgfm_fixtures):
    from lvsdctl.errors import MismatchError

    with pytest.raises(MismatchError, match=r"tiny_pretrained\.pt: tensor '.*' has shape .* but .*"):
        build_lvsd_model(ecgfm_fixtures / "tiny_pretrained.pt", size="base")
    model, _ = build_lvsd_model(ecgfm_fixtures / "tiny_pretrained.pt", size="tiny")
    assert model.config.size == "tiny"
