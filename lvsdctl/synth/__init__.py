"""The embedded default: a synthetic cohort of LBBB ECGs with echocardiograms (not real patients).

    from lvsdctl.synth import synthesise
    summary = synthesise("cohort/", n_ecgs=2000, n_patients=900, seed=0)

writes GE MUSE XML exports, image-digitised printouts, an echo table and a README to the folder and
returns a `SynthSummary`. The generative model is documented in docs/synthetic.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvsdctl.lazy import lazy_exports

__all__ = ["SynthSummary", "synthesise"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "lvsdctl.synth.generate"))

if TYPE_CHECKING:
    from lvsdctl.synth.generate import SynthSummary, synthesise
