"""The embedded default: a synthetic cohort of LBBB ECGs with echocardiograms (not real patients).

`synthesise(out_dir, n_ecgs=2000, n_patients=900, seed=0)` writes GE MUSE XML exports, image-
digitised printouts, an echo table and a README to `out_dir` and returns a summary dict. The
generative model is documented in docs/synthetic.md.
"""

from lvsdctl.synth.generate import synthesise

__all__ = ["synthesise"]
