"""DeepLIFT rules captum lacks, switched on only while captum's DeepLift runs.

- ``nn.SiLU`` (Swish, ECGFounder's activation): an elementwise nonlinearity like ReLU or Sigmoid,
  so DeepLIFT's Rescale rule (multiplier = delta out / delta in) is exact for it; captum 0.9 simply
  does not list it and would fall back to the gradient.
- Modules with a ``deeplift_mode`` switch adapt themselves (``lvsdctl.models.ecgfounder``): the
  squeeze-excite gate's product of two activations uses the exact product rule over the
  input/reference pair that captum runs as one batch, and a block gives its first Swish a copy of
  its input, because captum rescales the whole gradient of a nonlinearity's input tensor and the
  block's shortcut reads that tensor too.

Both are restored on exit, so nothing leaks into other uses of captum or of the model.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def deeplift_rules(model: nn.Module) -> Iterator[None]:
    from captum.attr._core import deep_lift

    table = deep_lift.SUPPORTED_NON_LINEAR
    added = nn.SiLU not in table
    if added:
        table[nn.SiLU] = deep_lift.nonlinear
    switched = [m for m in model.modules() if hasattr(m, "deeplift_mode")]
    for m in switched:
        m.deeplift_mode = True
    try:
        yield
    finally:
        for m in switched:
            m.deeplift_mode = False
        if added:
            table.pop(nn.SiLU, None)
