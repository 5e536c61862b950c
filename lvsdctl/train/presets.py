"""Training recipes by name (`lvsdctl train --preset NAME`); explicit options override them.

- `article` (the default): what the article reports for its baselines: Adam, cross-entropy,
  lr 5e-6, 100 epochs, batch 16 (the authors' sktime batch), no class weights, last epoch kept.
- `sktime`: what the authors actually ran (sktime's Keras classifiers): as `article` plus class
  weights "balanced", sktime's InceptionTime kernels 39/19/9 and sktime's LSTM-FCN without the
  dimension shuffle.
- `published`: each baseline's own paper and reference code. FCN and ResNet (Wang et al. 2017, code
  of Fawaz et al. 2019): Adam lr 1e-3, batch 16, 2000 / 1500 epochs, lr halved after 50 epochs
  without training-loss improvement (min 1e-4), model with the lowest training loss kept.
  LSTM-FCN (Karim et al.): Adam lr 1e-3, batch 128, 2000 epochs, lr divided by 2^(1/3) after 100
  epochs without improvement (min 1e-4), balanced class weights, lowest training loss kept.
  InceptionTime (Ismail Fawaz et al. 2020): Adam lr 1e-3, batch 64, 1500 epochs, plateau 0.5 / 50
  (min 1e-4), lowest training loss kept, an ensemble of 5 networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    train: dict = field(default_factory=dict)  # TrainConfig fields
    model: dict = field(default_factory=dict)  # create_model options
    ensemble: int = 1


_ARTICLE = {"optimizer": "adam", "lr": 5e-6, "epochs": 100, "batch_size": 16, "class_weight": "none", "select": "last"}
_FAWAZ = {"optimizer": "adam", "lr": 1e-3, "batch_size": 16, "schedule": "plateau", "plateau_factor": 0.5,
          "plateau_patience": 50, "min_lr": 1e-4, "select": "best", "metric": "train_loss", "class_weight": "none"}

PRESETS: dict[str, dict[str, Preset]] = {
    "article": {m: Preset(train=dict(_ARTICLE)) for m in ("fcn", "lstm-fcn", "resnet", "inceptiontime")},
    "sktime": {
        "fcn": Preset(train={**_ARTICLE, "class_weight": "balanced"}),
        "resnet": Preset(train={**_ARTICLE, "class_weight": "balanced"}),
        "lstm-fcn": Preset(train={**_ARTICLE, "class_weight": "balanced"}, model={"shuffle": False}),
        "inceptiontime": Preset(train={**_ARTICLE, "class_weight": "balanced"}, model={"kernels": (39, 19, 9)}),
    },
    "published": {
        "fcn": Preset(train={**_FAWAZ, "epochs": 2000}),
        "resnet": Preset(train={**_FAWAZ, "epochs": 1500}),
        "lstm-fcn": Preset(
            train={**_FAWAZ, "epochs": 2000, "batch_size": 128, "plateau_factor": 2 ** (-1 / 3),
                   "plateau_patience": 100, "class_weight": "balanced"},
            model={"shuffle": True},
        ),
        "inceptiontime": Preset(train={**_FAWAZ, "epochs": 1500, "batch_size": 64}, ensemble=5),
    },
}


def get_preset(name: str, model: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    family = PRESETS[name]
    if model not in family:
        raise ValueError(f"preset {name!r} has no recipe for model {model!r} (it covers {', '.join(family)})")
    return family[model]
