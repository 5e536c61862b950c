"""The training stage: the shared engine (`engine.fit`), baselines from scratch (`train`).

Import-light: `from lvsdctl.train import train` loads torch only when called.
"""


def __getattr__(name):
    if name == "train":
        from lvsdctl.train.baseline import train

        return train
    raise AttributeError(name)
