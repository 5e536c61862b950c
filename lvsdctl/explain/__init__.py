"""Explanations: DeepLIFT / Integrated Gradients attributions, the study's Fig. 4, per-wave summaries."""
