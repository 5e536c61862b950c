"""Models that z-score their own input are attributed on the z-scored input (lvsdctl.explain.attribute).

Inside the model a z-score is scale-invariant: gradient x input through it sums to zero for every ECG.
Outside it, with the reference all zeros in the normalised space, ECGFounder's DeepLIFT is complete
again; ECG-FM's is not (its GroupNorm and attention), which is kept here as a known failure.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lvsdctl.explain.attribute import attribute
from lvsdctl.models.registry import create_model


def _model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, size="tiny", in_channels=4, zscore=True).eval()


def _ecgs(n: int = 2, samples: int = 2500) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (0.3 * rng.standard_normal((n, 4, samples)) + 0.1).astype(np.float32)


def _log_odds(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = model(torch.as_tensor(x))
    return (out[:, 1] - out[:, 0]).numpy()


def test_ecgfounder_zscored_inside_is_complete_on_the_normalised_input():
    model = _model("ecgfounder-lvsd")
    x = _ecgs(samples=800)
    a = attribute(model, x)
    diff = _log_odds(model, x) - _log_odds(model, np.zeros_like(x[:1]))
    assert np.abs(diff).max() > 1e-3
    np.testing.assert_allclose(a.values.reshape(len(x), -1).sum(axis=1), diff, atol=1e-5, rtol=0)
    assert np.abs(a.delta).max() < 1e-5 and a.caveat is None
    assert type(model.normalise).__name__ == "ECGZScore"  # the model's own step is back after attribution
    np.testing.assert_allclose(a.logit, _log_odds(model, x), atol=1e-5)


@pytest.mark.parametrize("name", ["ecgfm-lvsd", "ecgfounder-lvsd"])
def test_maps_are_those_of_the_zscored_ecg(name):
    """A z-score forgets each channel's offset and scale: so do the maps, as attributions of the
    normalised input must (gradient x raw input would scale with the ECG)."""
    model = _model(name)
    x = _ecgs(samples=800 if "founder" in name else 2500)
    scaled = 3.0 * x + (0.5 if "founder" in name else np.array([0.5, -1.0, 2.0, 0.0], np.float32)[None, :, None])
    a, b = attribute(model, x), attribute(model, scaled)
    np.testing.assert_allclose(b.values, a.values, atol=2e-4 * np.abs(a.values).max())
    np.testing.assert_allclose(b.logit, a.logit, atol=1e-4)


def test_ecgfm_says_its_deeplift_is_not_complete():
    model = _model("ecgfm-lvsd")
    a = attribute(model, _ecgs())
    assert a.caveat and "not complete for ECG-FM" in a.caveat
    diff = _log_odds(model, _ecgs()) - _log_odds(model, np.zeros_like(_ecgs()[:1]))
    np.testing.assert_allclose(a.delta, a.values.reshape(2, -1).sum(axis=1) - diff, atol=1e-4)  # the gap, shown


@pytest.mark.xfail(strict=True, reason="ECG-FM's GroupNorm makes it nearly scale-invariant and captum has no rules "
                                       "for its attention: DeepLIFT from the all-zero reference sums to ~0 "
                                       "(docs/explain.md, 'Methods and their limits')")
def test_ecgfm_deeplift_is_complete():
    model = _model("ecgfm-lvsd")
    x = _ecgs()
    a = attribute(model, x)
    diff = _log_odds(model, x) - _log_odds(model, np.zeros_like(x[:1]))
    np.testing.assert_allclose(a.values.reshape(len(x), -1).sum(axis=1), diff, rtol=0.05)
