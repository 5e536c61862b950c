"""Each baseline against its published architecture: layers, parameter counts, outputs, learning."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lvsdctl.models.layers import MaxPool3
from lvsdctl.models.registry import create_model, list_models, make_config, model_config

C, T = 4, 5000  # the study's input: 4 channels x 5,000 samples


def conv(cin, cout, k, bias=True):
    return cin * cout * k + (cout if bias else 0)


def bn(c):
    return 2 * c  # gamma and beta (running statistics are buffers, not parameters)


def linear(cin, cout, bias=True):
    return cin * cout + (cout if bias else 0)


def lstm(inputs, cells):
    # PyTorch keeps two bias vectors per gate (Keras one): 4 gates x (W_ih, W_hh, b_ih, b_hh)
    return 4 * cells * (inputs + cells) + 8 * cells


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


FCN_BODY = conv(C, 128, 8) + bn(128) + conv(128, 256, 5) + bn(256) + conv(256, 128, 3) + bn(128)


def test_registry_lists_the_four_baselines():
    assert {"fcn", "lstm-fcn", "resnet", "inceptiontime"} <= set(list_models())
    with pytest.raises(KeyError, match="unknown model"):
        create_model("alexnet")
    with pytest.raises(TypeError, match="no option"):
        create_model("fcn", kernel=3)


def test_fcn_matches_wang_2017():
    m = create_model("fcn", in_channels=C)
    convs = [mod for mod in m.modules() if isinstance(mod, nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(128, 8), (256, 5), (128, 3)]
    assert sum(isinstance(mod, nn.BatchNorm1d) for mod in m.modules()) == 3
    assert not any(isinstance(mod, (nn.MaxPool1d, nn.AvgPool1d)) for mod in m.modules())  # no local pooling
    assert n_params(m) == FCN_BODY + linear(128, 2) == 268_034


def test_lstm_fcn_published_and_sktime_variants():
    published = create_model("lstm-fcn", in_channels=C, in_samples=T)
    assert published.config.shuffle and published.config.lstm_cells == 8 and published.config.dropout == 0.8
    assert published.lstm.input_size == T  # dimension shuffle: each of the 4 channels is one step
    assert n_params(published) == FCN_BODY + lstm(T, 8) + linear(128 + 8, 2)
    sk = create_model("lstm-fcn", in_channels=C, in_samples=T, shuffle=False)
    assert sk.lstm.input_size == C  # sktime: 5,000 steps of 4 features
    assert n_params(sk) == FCN_BODY + lstm(C, 8) + linear(128 + 8, 2)
    se = create_model("lstm-fcn", in_channels=C, in_samples=T, squeeze_excite=True, lstm_cells=128)
    squeeze = linear(128, 8, bias=False) + linear(8, 128, bias=False) + linear(256, 16, bias=False) + linear(16, 256, bias=False)
    assert n_params(se) == FCN_BODY + squeeze + lstm(T, 128) + linear(128 + 128, 2)


def test_resnet_matches_wang_2017_and_the_articles_11_layers():
    m = create_model("resnet", in_channels=C)
    block = lambda cin, cout: conv(cin, cout, 8) + conv(cout, cout, 5) + conv(cout, cout, 3) + 3 * bn(cout)
    expected = (
        block(C, 64) + conv(C, 64, 1) + bn(64)
        + block(64, 128) + conv(64, 128, 1) + bn(128)
        + block(128, 128) + bn(128)  # equal widths: BN-only shortcut, as the reference code
        + linear(128, 2)
    )
    assert n_params(m) == expected
    # The article's "4 + 4 + 3 = 11 Conv1D layers" is this network counting the 1x1 shortcut convs.
    per_block = [sum(isinstance(x, nn.Conv1d) for x in b.modules()) for b in m.blocks]
    assert per_block == [4, 4, 3] and sum(per_block) == 11
    literal = create_model("resnet", in_channels=C, convs_per_block=(4, 4, 3))
    assert [len(b.convs) for b in literal.blocks] == [4, 4, 3]


def inception_params(kernels, c_in=C, depth=6, f=32, b=32):
    total = 0
    for d in range(depth):
        cin = c_in if d == 0 else 4 * f
        total += conv(cin, b, 1, bias=False) + sum(conv(b, f, k, bias=False) for k in kernels)
        total += conv(cin, f, 1, bias=False) + bn(4 * f)
    total += conv(c_in, 4 * f, 1, bias=False) + bn(4 * f) + conv(4 * f, 4 * f, 1, bias=False) + bn(4 * f)
    return total + linear(4 * f, 2)


def test_inceptiontime_matches_ismail_fawaz_2020():
    m = create_model("inceptiontime", in_channels=C)
    net = m.members[0]
    assert len(net.modules_) == 6 and len(net.shortcuts) == 2
    first = net.modules_[0]
    assert [c.kernel_size[0] for c in first.convs] == [40, 20, 10]
    assert first.bottleneck.out_channels == 32 and first.bn.num_features == 128
    assert n_params(m) == inception_params((40, 20, 10)) == 490_498
    sk = make_config("inceptiontime", kernels=[39, 19, 9])  # sktime's, JSON lists accepted
    assert n_params(create_model("inceptiontime", **vars(sk))) == inception_params((39, 19, 9))
    ens = create_model("inceptiontime", in_channels=C, ensemble=5)
    assert n_params(ens) == 5 * inception_params((40, 20, 10))


def test_single_channel_inception_skips_the_bottleneck():
    m = create_model("inceptiontime", in_channels=1)
    assert isinstance(m.members[0].modules_[0].bottleneck, nn.Identity)


def test_relu_max_pool_equals_max_pool():
    x = torch.randn(3, 5, 41)
    # b + (a - b) rounds to a within one ulp
    assert torch.allclose(MaxPool3()(x), nn.MaxPool1d(3, stride=1, padding=1)(x), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["fcn", "lstm-fcn", "resnet", "inceptiontime"])
def test_output_is_two_logits_and_config_round_trips(name):
    m = create_model(name, in_channels=C, **({"in_samples": 96} if name == "lstm-fcn" else {}))
    out = m(torch.randn(2, C, 96))
    assert out.shape == (2, 2) and out.dtype == torch.float32
    rebuilt = create_model(name, **model_config(m))
    assert rebuilt.config == m.config


def test_ensemble_returns_log_of_mean_probability():
    torch.manual_seed(0)
    m = create_model("inceptiontime", in_channels=C, ensemble=3).eval()
    x = torch.randn(2, C, 64)
    mean_p = torch.stack([torch.softmax(net(x), 1) for net in m.members]).mean(0)
    assert torch.allclose(torch.softmax(m(x), 1), mean_p, atol=1e-6)


@pytest.mark.parametrize("name", ["fcn", "lstm-fcn", "resnet", "inceptiontime"])
def test_each_model_overfits_a_small_batch(name):
    torch.manual_seed(0)
    n, t = 8, 32
    x = torch.randn(n, C, t)
    y = torch.arange(n) % 2  # labels unrelated to the noise: only memorisation fits them
    m = create_model(name, in_channels=C, **({"in_samples": t} if name == "lstm-fcn" else {}))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    m.train()
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    assert (m(x).argmax(1) == y).all()
