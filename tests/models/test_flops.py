"""Analytic FLOPs: the formula of the docs, torch's own counter, and the bf16 peaks table."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from lvsdctl.models.ecgfm_lvsd import ECGFMLVSD, ECGFMLVSDConfig
from lvsdctl.models.flops import ecgfm_forward_flops, flops_per_sample, forward_flops, peak_bf16_tflops
from lvsdctl.models.registry import create_model


def test_ecgfm_base_forward_is_the_documented_sum():
    with torch.device("meta"):  # shapes only: no memory, no compute
        model = ECGFMLVSD(ECGFMLVSDConfig(size="base"))
        fwd = forward_flops(model, torch.zeros(1, 4, 5000))
    terms = ecgfm_forward_flops()
    assert fwd == terms["total"] == 60_268_748_544
    assert terms["feed-forward"] > terms["attention projections (q, k, v, out)"] > terms["positional conv"]


@pytest.mark.parametrize("name", ["fcn", "resnet", "inceptiontime", "ecgfm", "ecgfounder"])
def test_counts_agree_with_torchs_flop_counter(name):
    x = torch.randn(2, 4, 400)
    if name == "ecgfm":
        model = ECGFMLVSD(ECGFMLVSDConfig(size="tiny")).eval()
        cfg = model.encoder.cfg
        tokens = 400 // cfg.downsampling
        # torch's counter does not count CPU scaled_dot_product_attention: add q k^T and (weights) v
        extra = cfg.num_layers * 4 * 2 * tokens * tokens * cfg.embed_dim
    elif name == "ecgfounder":
        model, extra = create_model("ecgfounder-lvsd", size="tiny", in_channels=4).eval(), 0
    else:
        model, extra = create_model(name, in_channels=4).eval(), 0
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    assert forward_flops(model, x) == counter.get_total_flops() + extra


def test_ecgfounder_full_forward_is_the_documented_figure():
    """docs/ecgfounder.md: 2.34 GFLOP per 4 x 5000 ECG, 26 times fewer than ECG-FM base."""
    from lvsdctl.models.ecgfounder_lvsd import ECGFounderLVSD, ECGFounderLVSDConfig

    with torch.device("meta"):
        fwd = forward_flops(ECGFounderLVSD(ECGFounderLVSDConfig(size="full", in_channels=4)), torch.zeros(1, 4, 5000))
    assert fwd == 2_337_459_456
    assert round(ecgfm_forward_flops()["total"] / fwd) == 26


def test_lstm_and_training_counts():
    model = create_model("lstm-fcn", in_channels=4, in_samples=300).eval()
    seen = {}
    model.lstm.register_forward_hook(lambda m, inp, out: seen.update(shape=tuple(inp[0].shape)))
    counter = FlopCounterMode(display=False)  # it counts the convolutions and the head, not the LSTM
    with counter, torch.no_grad():
        model(torch.zeros(1, 4, 300))
    lstm = model.lstm
    steps = seen["shape"][0] * seen["shape"][1]
    expected_lstm = 8 * lstm.hidden_size * (lstm.input_size + lstm.hidden_size) * steps
    ours = forward_flops(model, torch.zeros(1, 4, 300))
    assert lstm.num_layers == 1 and not lstm.bidirectional
    assert ours == counter.get_total_flops() + expected_lstm
    assert flops_per_sample(model, 4, 300) == 3 * ours


def test_bf16_peaks_by_device_name():
    assert peak_bf16_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert peak_bf16_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_bf16_tflops("NVIDIA H200") == 989.0
    assert peak_bf16_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_bf16_tflops("NVIDIA A10") == 125.0 and peak_bf16_tflops("NVIDIA L40S") == 362.0
    assert peak_bf16_tflops("Tesla V100-SXM2-16GB") is None
