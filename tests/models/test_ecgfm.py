"""ECG-FM encoder: exact parameter counts and key layout of the public model, attention and checkpointing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from lvsdctl.models.ecgfm import (
    ECGFMClassifier,
    ECGFMConfig,
    ECGFMEncoder,
    config_for_size,
    count_parameters,
    parse_conv_layers,
)
from lvsdctl.models.ecgfm_pretrain import ECGFMPretrainModel, GumbelVectorQuantizer


@pytest.fixture(scope="module")
def ecgfm_fixtures(fixtures_dir) -> Path:
    """The reference implementation's tiny checkpoints and outputs (../shared/fixtures/ecgfm)."""
    return fixtures_dir / "ecgfm"


def _on_meta(build):
    with torch.device("meta"):  # real module classes, no memory, no init time
        return build()


def _keys_table(ecgfm_fixtures, name: str) -> dict[str, tuple[int, ...]]:
    table = {}
    for line in (ecgfm_fixtures / name).read_text().splitlines():
        key, shape, *_ = line.split("\t")
        table[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    return table


def test_base_parameter_counts_are_exact():
    cfg = config_for_size("base")
    assert count_parameters(_on_meta(lambda: ECGFMEncoder(cfg))) == 90_373_248
    assert count_parameters(_on_meta(lambda: ECGFMPretrainModel(cfg))) == 90_883_072
    assert count_parameters(_on_meta(lambda: ECGFMClassifier(cfg, num_labels=17))) == 90_386_321


def test_large_24x1024_parameter_count_is_the_papers():
    cfg = config_for_size("large")
    assert (cfg.num_layers, cfg.embed_dim) == (24, 1024)
    assert count_parameters(_on_meta(lambda: ECGFMPretrainModel(cfg))) == 311_940_352


@pytest.mark.parametrize(("size", "table"), [("base", "full_keys.txt"), ("tiny", "tiny_pretrained_keys.txt")])
def test_state_dict_keys_and_shapes_equal_the_official_layout(ecgfm_fixtures, size, table):
    model = _on_meta(lambda: ECGFMPretrainModel(config_for_size(size)))
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert ours == _keys_table(ecgfm_fixtures, table)


def test_parse_conv_layers_is_safe_and_complete():
    assert parse_conv_layers("[(256, 2, 2)] * 4") == ((256, 2, 2),) * 4
    assert parse_conv_layers("[(8, 3, 1)] + [(16, 2, 2)] * 2") == ((8, 3, 1), (16, 2, 2), (16, 2, 2))
    with pytest.raises(ValueError, match="unsupported"):
        parse_conv_layers("__import__('os').system('true')")
    with pytest.raises(ValueError, match="dim, kernel, stride"):
        parse_conv_layers("[(1, 2)]")


def test_ten_seconds_give_312_tokens_and_bad_input_is_refused():
    enc = ECGFMEncoder(config_for_size("tiny")).eval()
    with torch.no_grad():
        assert enc(torch.randn(1, 12, 5000)).shape == (1, 312, 64)
    with pytest.raises(ValueError, match=r"\(batch, 12, samples\)"):
        enc(torch.randn(1, 4, 5000))


def _eager_attention(attn, x):
    """Textbook attention on the same projections, the reference's q scaling."""
    b, t, d = x.shape
    h = attn.num_heads
    q, k, v = (p(x).view(b, t, h, -1).transpose(1, 2) for p in (attn.q_proj, attn.k_proj, attn.v_proj))
    w = torch.softmax((q / math.sqrt(d // h)) @ k.transpose(-1, -2), dim=-1)
    return attn.out_proj((w @ v).transpose(1, 2).reshape(b, t, d))


def test_sdpa_attention_equals_eager_attention():
    torch.manual_seed(0)
    layer = ECGFMEncoder(config_for_size("tiny")).encoder.layers[0].eval()
    x = torch.randn(2, 30, 64)
    torch.testing.assert_close(layer.self_attn(x), _eager_attention(layer.self_attn, x), atol=1e-6, rtol=1e-5)


def test_activation_checkpointing_changes_nothing_but_memory():
    cfg = ECGFMConfig(conv_layers=((16, 2, 2),) * 4, embed_dim=32, ffn_dim=64, num_layers=3, num_heads=2,
                      conv_pos=8, conv_pos_groups=2, activation_dropout=0.0)
    torch.manual_seed(1)
    plain = ECGFMEncoder(cfg).train()
    ckpt = ECGFMEncoder(ECGFMConfig(**{**cfg.to_dict(), "checkpoint_activations": True})).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 12, 800)
    grads = []
    for model in (plain, ckpt):
        model.zero_grad()
        model(x).square().mean().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_group_norm_runs_in_float32_under_bf16_autocast():
    enc = ECGFMEncoder(config_for_size("tiny")).eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = enc(torch.randn(1, 12, 800))
    assert out.shape == (1, 50, 64) and torch.isfinite(out.float()).all()


def test_pretraining_model_masks_and_quantizes():
    torch.manual_seed(2)
    model = ECGFMPretrainModel(config_for_size("tiny")).eval()
    x = torch.randn(2, 12, 800)
    mask = torch.zeros(2, 50, dtype=torch.bool)
    mask[:, 10:20] = True
    with torch.no_grad():
        out = model.forward_pretrain(x, mask)
        plain = model.forward_pretrain(x)
    assert out["x"].shape == (2, 50, 64) and out["projected"].shape == (2, 50, 32)
    assert out["targets"].shape == (2, 50, 32)
    assert not torch.allclose(out["x"], plain["x"])  # mask_emb replaced the masked steps
    torch.testing.assert_close(out["targets"], plain["targets"])  # targets come from unmasked features
    assert 1.0 <= float(out["code_perplexity"]) <= 2 * 8
    # Quantized vectors are codebook entries: one per group.
    q = model.quantizer(torch.randn(1, 3, 32))["x"].view(3, 2, 16)
    books = model.quantizer.vars.view(2, 8, 16)
    for g in range(2):
        assert all(any(torch.equal(q[t, g], books[g, i]) for i in range(8)) for t in range(3))
    # The encoder-only copy computes exactly the encoder's features.
    with torch.no_grad():
        torch.testing.assert_close(model.encoder_only().eval()(x), model(x))


def test_gumbel_temperature_anneals_to_its_floor():
    quant = GumbelVectorQuantizer(dim=8, num_vars=4, groups=2, vq_dim=8)
    quant.set_num_updates(0)
    assert quant.curr_temp == 2.0
    quant.set_num_updates(100_000)
    assert quant.curr_temp == pytest.approx(2.0 * 0.999995**100_000)
    quant.set_num_updates(10**7)
    assert quant.curr_temp == 0.5


def test_config_round_trips_through_a_dict_and_rejects_unknown_fields():
    cfg = config_for_size("large")
    assert ECGFMConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown ECG-FM config field"):
        ECGFMConfig.from_dict({"layers": 3})
    with pytest.raises(ValueError, match="unknown ECG-FM size"):
        config_for_size("huge")
