"""Self-supervised pretraining of an ECG-FM backbone (W2V + CMSC + RLM), `lvsdctl pretrain`.

Modules: `segments` (5 s pieces, CMSC pairs), `rlm` (random lead masking), `masking` (time spans),
`negatives`, `losses`, `model` (the forward pass and its DDP collectives), `export` (fairseq-signals
file layout), `api` (`pretrain(...)`). Import-light: `from lvsdctl.pretrain import pretrain`
loads torch only when called.
"""


def __getattr__(name):
    if name == "pretrain":
        from lvsdctl.pretrain.api import pretrain

        return pretrain
    raise AttributeError(name)
