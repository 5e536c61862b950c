"""The faster CPU inference paths: what int8 quantizes, that fp32 is untouched, and scores stay close."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from lvsdctl.evaluate.precision import PRECISIONS, describe, prepare, quantized_layers
from lvsdctl.models.ecgfm_lvsd import ECGFMLVSD, ECGFMLVSDConfig
from lvsdctl.models.registry import create_model


@pytest.fixture(scope="module")
def ecgfm():
    torch.manual_seed(0)
    return ECGFMLVSD(ECGFMLVSDConfig(size="tiny")).eval()


def test_int8_quantizes_the_transformer_blocks_only_and_copies(ecgfm):
    names = quantized_layers(ecgfm)
    assert names and all(".layers." in n for n in names)
    quantized, ctx = prepare(ecgfm, "int8")
    assert isinstance(ctx, contextlib.nullcontext)
    kinds = {n: type(m).__module__ for n, m in quantized.named_modules() if n in names or n == "proj"}
    assert all("quantized" in kinds[n] for n in names) and "quantized" not in kinds["proj"]
    assert all(type(m).__module__ == "torch.nn.modules.linear"  # the original is left as it was
               for n, m in ecgfm.named_modules() if n in names)
    x = torch.randn(3, 4, 5000)
    with torch.inference_mode():
        a, b = torch.softmax(ecgfm(x), 1)[:, 1], torch.softmax(quantized(x), 1)[:, 1]
    assert float((a - b).abs().max()) < 0.01


def test_fp32_and_bf16_keep_the_model_and_cnn_baselines_have_nothing_to_quantize(ecgfm):
    model, ctx = prepare(ecgfm, "fp32")
    assert model is ecgfm and isinstance(ctx, contextlib.nullcontext)
    model, ctx = prepare(ecgfm, "bf16")
    assert model is ecgfm and isinstance(ctx, torch.autocast)
    fcn = create_model("fcn", in_channels=4, filters=[4, 4, 4], kernels=[3, 3, 3])
    assert quantized_layers(fcn) == []
    with pytest.raises(ValueError, match="unknown precision"):
        prepare(ecgfm, "fp16")
    assert describe("fp32") == "" and "int8" in describe("int8") and "bf16" in describe("bf16")
    assert PRECISIONS == ("fp32", "int8", "bf16")


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_predict_scores_at_another_precision_stay_close(tiny_study, tmp_path, precision):
    from lvsdctl.evaluate.api import score_file

    d = tiny_study["dir"]
    ref = score_file(str(d / "model.h5"), str(d / "split.h5"))
    got = score_file(str(d / "model.h5"), str(d / "split.h5"), precision=precision)
    assert np.abs(got.score - ref.score).max() < 0.01


def test_explain_refuses_int8(tiny_study):
    from lvsdctl.errors import InputError
    from lvsdctl.explain.attribute import attribute

    with pytest.raises(InputError, match="gradients"):
        attribute(tiny_study["model"], tiny_study["signals"][:2], precision="int8")
