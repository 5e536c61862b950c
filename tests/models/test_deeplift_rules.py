"""captum's DeepLIFT needs every nonlinearity as its own module instance, called once per forward.

Proved by running each model under hooks: every nonlinear module must be called exactly once,
no module instance may sit at two places of the tree, and no nonlinear *function* (F.relu,
torch.sigmoid, softmax, max-pool...) may be called outside a nonlinear module. Then DeepLIFT with
the study's all-zero reference must be complete on the CNN baselines: attributions sum to the
output difference (captum's convergence delta ~ 0).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from lvsdctl.models.registry import create_model

# captum announces its hooks and the input's requires_grad change: expected here, not news.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:captum.*")

NONLINEAR_MODULES = (nn.ReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.LeakyReLU, nn.MaxPool1d, nn.SiLU)
NONLINEAR_FUNCTIONS = {
    F.relu, torch.relu, torch.relu_, F.elu, F.gelu, F.silu, torch.sigmoid, torch.tanh, F.softmax, torch.softmax,
    F.max_pool1d, torch.max_pool1d, F.leaky_relu, torch.Tensor.relu, torch.Tensor.sigmoid, torch.Tensor.softmax,
}
T = 48
CNNS = ["fcn", "resnet", "inceptiontime"]


class _Spy(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.depth = 0  # > 0 while inside a nonlinear module's forward
        self.stray: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in NONLINEAR_FUNCTIONS and self.depth == 0:
            self.stray.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


def build(name: str, **kw) -> nn.Module:
    torch.manual_seed(0)
    extra = {"in_samples": T} if name == "lstm-fcn" else {}
    m = create_model(name, in_channels=4, **extra, **kw).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, as after training
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm1d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    return m


def nonlinearity_report(model: nn.Module, x: torch.Tensor) -> tuple[bool, dict[str, int], list[str]]:
    """(a module instance is reused, calls per nonlinear module, nonlinear functions called bare)."""
    every = list(model.named_modules(remove_duplicate=False))
    reused = len({id(m) for _, m in every}) != len(every)
    calls: dict[str, int] = {}
    spy = _Spy()

    def pre(mod, _):
        spy.depth += 1

    def post(name):
        def hook(mod, _, __):
            calls[name] = calls.get(name, 0) + 1
            spy.depth -= 1

        return hook

    handles = []
    names = [n for n, m in model.named_modules() if isinstance(m, NONLINEAR_MODULES)]
    for name in names:
        mod = model.get_submodule(name)
        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post(name))]
    try:
        with spy:
            model(x)
    finally:
        for h in handles:
            h.remove()
    return reused, {n: calls.get(n, 0) for n in names}, spy.stray


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 4, 3)

    def forward(self, x):
        return F.relu(self.conv(x)).mean(-1)


class _SharedReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.relu = nn.Conv1d(4, 4, 3), nn.Conv1d(4, 2, 3), nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.relu(self.conv1(x)))).mean(-1)


def test_the_checker_catches_functional_and_reused_nonlinearities():
    x = torch.randn(2, 4, T)
    assert nonlinearity_report(_Functional(), x)[2] == ["relu"]
    assert nonlinearity_report(_SharedReLU(), x)[1] == {"relu": 2}


@pytest.mark.parametrize("name,kw", [("fcn", {}), ("lstm-fcn", {}), ("lstm-fcn", {"squeeze_excite": True}),
                                     ("resnet", {}), ("inceptiontime", {}), ("inceptiontime", {"ensemble": 2})])
def test_every_nonlinearity_is_its_own_module_used_once(name, kw):
    reused, calls, stray = nonlinearity_report(build(name, **kw), torch.randn(2, 4, T))
    assert not reused, "a module instance sits at two places of the model"
    assert calls, "no nonlinear module at all?"
    assert calls == {n: 1 for n in calls}
    assert stray == [], f"nonlinear functions called outside modules: {stray}"


@pytest.mark.parametrize("name", CNNS)
def test_deeplift_is_complete_on_the_cnn_baselines(name):
    from captum.attr import DeepLift

    model = build(name)
    x = torch.randn(3, 4, T)
    zero = torch.zeros_like(x)  # the study's reference input
    attr, delta = DeepLift(model).attribute(x, baselines=zero, target=1, return_convergence_delta=True)
    with torch.no_grad():
        diff = model(x)[:, 1] - model(zero)[:, 1]
    assert attr.shape == x.shape
    assert diff.abs().max() > 1e-3  # a non-trivial output difference to explain
    assert delta.abs().max() < 1e-5 * max(1.0, float(diff.abs().max()))
    assert torch.allclose(attr.sum(dim=(1, 2)), diff, atol=1e-5)


def test_models_say_whether_deeplift_is_exact():
    assert build("fcn").deeplift_exact and build("resnet").deeplift_exact and build("inceptiontime").deeplift_exact
    assert not build("lstm-fcn").deeplift_exact
    assert not build("inceptiontime", ensemble=2).deeplift_exact


def _founder(zscore: bool = False, in_channels: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return create_model("ecgfounder-lvsd", size="tiny", in_channels=in_channels, zscore=zscore).eval()


def test_ecgfounder_has_every_nonlinearity_as_its_own_module_used_once():
    reused, calls, stray = nonlinearity_report(_founder(), torch.randn(2, 4, 300))
    assert not reused and calls and calls == {n: 1 for n in calls}
    assert stray == [], f"nonlinear functions called outside modules: {stray}"
    kinds = {type(_founder().get_submodule(n)).__name__ for n in calls}
    assert kinds == {"SiLU", "Sigmoid", "ReLU"}  # Swish, the gate, the shortcut's max-pool


@pytest.mark.parametrize("in_channels", [4, 12])
def test_deeplift_is_complete_on_ecgfounder_with_its_rules(in_channels):
    """SiLU's Rescale rule, the gate's product rule and the block's input copy (lvsdctl.explain.rules)."""
    from captum.attr import DeepLift

    from lvsdctl.explain.rules import deeplift_rules

    model = _founder(in_channels=in_channels)
    x = torch.randn(3, in_channels, 500)
    zero = torch.zeros_like(x)
    with deeplift_rules(model):
        attr, delta = DeepLift(model).attribute(x, baselines=zero, target=1, return_convergence_delta=True)
    with torch.no_grad():
        diff = model(x)[:, 1] - model(zero)[:, 1]
    assert diff.abs().max() > 1e-3
    assert delta.abs().max() < 1e-5 * max(1.0, float(diff.abs().max()))
    torch.testing.assert_close(attr.sum(dim=(1, 2)), diff, atol=1e-5, rtol=0)
    # Without them captum falls back to gradients and completeness fails: the rules are what makes it exact.
    _, plain = DeepLift(model).attribute(x, baselines=zero, target=1, return_convergence_delta=True)
    assert plain.abs().max() > 100 * delta.abs().max()
    assert not any(getattr(m, "deeplift_mode", False) for m in model.modules())  # switched off again
    from captum.attr._core.deep_lift import SUPPORTED_NON_LINEAR

    assert nn.SiLU not in SUPPORTED_NON_LINEAR  # and captum's table restored


def test_ecgfounder_deeplift_is_exact_with_or_without_its_zscore():
    from lvsdctl.explain.attribute import attribute

    exact = attribute(_founder(), torch.randn(2, 4, 400).numpy())
    assert exact.caveat is None and abs(exact.delta).max() < 1e-5
    zscored = attribute(_founder(zscore=True), torch.randn(2, 4, 400).numpy())  # on the z-scored input
    assert zscored.caveat is None and abs(zscored.delta).max() < 1e-5
