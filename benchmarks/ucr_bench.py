"""The four baselines against their papers on public benchmark data (UCR archive), through lvsdctl.

Each dataset's official train/test split is written as an lvsdctl `ecg` file (one channel, the
series as given: UCR series are already z-normalised), each model is trained with `--preset
published` (the papers' own recipes: Adam 1e-3, plateau schedule, lowest training loss kept, 1,500-
2,000 epochs, InceptionTime as an ensemble of 5) by `lvsdctl.train.baseline.train`, exactly the code
`lvsdctl train` runs, and scored on the test split by `lvsdctl.evaluate.api.score_file`. Printed:
test accuracy beside the published figure.

Published (accuracy %, UCR 2015 version of the datasets):
- FCN, ResNet: Ismail Fawaz et al., "Deep learning for time series classification: a review",
  DMKD 2019, mean (SD) of 10 runs (their repository's results-uea-avg-std.csv);
- InceptionTime: Ismail Fawaz et al., DMKD 2020, the 5-network ensemble (results-InceptionTime-85.csv);
- LSTM-FCN: Karim et al. (IEEE Access 2018) report the best of a cell-count search per dataset, not a
  fixed recipe: no figure is set beside it.

The data: the UCR files bundled inside the `sktime` wheel (`pip install -e .[ucr]`; only the data
files are read, sktime is never imported). Only two-class datasets are used (the engine's task is
binary, as LVSD is).

    python benchmarks/ucr_bench.py                           # GunPoint and ItalyPowerDemand, all models
    python benchmarks/ucr_bench.py --models fcn resnet --epochs-scale 0.1    # a quick look
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

PUBLISHED = {  # dataset -> model -> (accuracy %, SD or None)
    "GunPoint": {"fcn": (100.0, 0.0), "resnet": (99.1, 0.7), "inceptiontime": (100.0, None)},
    "ItalyPowerDemand": {"fcn": (96.1, 0.3), "resnet": (96.3, 0.4), "inceptiontime": (96.8, None)},
}
MODELS = ("fcn", "resnet", "lstm-fcn", "inceptiontime")


def sktime_data_dir() -> Path:
    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the UCR data come with the sktime wheel: pip install -e .[ucr]  (sktime is never imported)")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def read_ts(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A univariate, equal-length `.ts` file (the UCR/UEA text format): (N, T) float32 and the labels."""
    rows, labels, in_data = [], [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("@data"):
            in_data = True
            continue
        if in_data:
            values, label = line.rsplit(":", 1)
            rows.append(np.array(values.split(","), dtype=np.float32))
            labels.append(label.strip())
    return np.stack(rows), np.array(labels)


def write_dataset(name: str, out: Path) -> tuple[int, int, int]:
    """The dataset's TRAIN and TEST files as one `ecg` file (split train / test); returns sizes."""
    from lvsdctl.hdf5 import atomic_output, write_records

    folder = sktime_data_dir() / name
    x_tr, y_tr = read_ts(folder / f"{name}_TRAIN.ts")
    x_te, y_te = read_ts(folder / f"{name}_TEST.ts")
    classes = sorted(set(y_tr))
    if len(classes) != 2:
        raise SystemExit(f"{name} has {len(classes)} classes; this benchmark uses two-class datasets")
    x = np.concatenate([x_tr, x_te])[:, None, :]
    y = np.array([classes.index(v) for v in np.concatenate([y_tr, y_te])], dtype=np.int8)
    n = len(y)
    records = pd.DataFrame({
        "record_id": [f"{name}-{i}" for i in range(n)],
        "patient": [f"{name}-{i}" for i in range(n)],  # every series its own "patient"
        "label": y,
        "split": ["train"] * len(y_tr) + ["test"] * len(y_te),
    })
    with atomic_output(out, kind="ecg", parameters={"source": f"UCR {name} (sktime's bundled copy)"}) as f:
        ds = f.create_dataset("signals", data=x, chunks=(1, 1, x.shape[2]))
        ds.attrs["layout"] = f"1x{x.shape[2]}"
        write_records(f, records)
    return len(y_tr), len(y_te), x.shape[2]


def run(name: str, model: str, data: Path, work: Path, epochs_scale: float, seed: int,
        ensemble: int | None) -> tuple[float, float]:
    from lvsdctl.evaluate.api import score_file
    from lvsdctl.train.baseline import build_config, train

    cfg, _, _ = build_config("published", model, {})
    epochs = max(1, round(cfg.epochs * epochs_scale))
    ckpt = work / f"{name}-{model}.h5"
    started = time.perf_counter()
    train(str(data), model, str(ckpt), preset="published", tune_split=None, epochs=epochs, seed=seed,
          device="cpu", ensemble=ensemble if model == "inceptiontime" else None)
    seconds = time.perf_counter() - started
    scored = score_file(str(ckpt), str(data), sets=["test"])
    accuracy = float(np.mean((scored.score >= 0.5) == (scored.records["label"].to_numpy() == 1)))
    return 100.0 * accuracy, seconds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=list(PUBLISHED), choices=list(PUBLISHED))
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--epochs-scale", type=float, default=1.0,
                    help="fraction of the published epochs (1.0: as published; less for a quick look)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inception-ensemble", type=int, default=None,
                    help="InceptionTime networks (default: the published 5; 1 is 5x faster, a single network)")
    args = ap.parse_args(argv)

    import torch

    print(f"UCR datasets through lvsdctl's engine, --preset published, {args.epochs_scale:g} x the published "
          f"epochs, seed {args.seed}, InceptionTime ensemble {args.inception_ensemble or 5}, "
          f"CPU ({torch.get_num_threads()} threads)")
    print(f"{'dataset':<18}{'model':<15}{'accuracy %':>11}{'published %':>14}{'train s':>9}")
    with tempfile.TemporaryDirectory(prefix="lvsdctl-ucr-") as tmp:
        work = Path(tmp)
        for name in args.datasets:
            data = work / f"{name}.h5"
            n_train, n_test, length = write_dataset(name, data)
            print(f"{name}: {n_train} train / {n_test} test series of length {length}")
            for model in args.models:
                acc, seconds = run(name, model, data, work, args.epochs_scale, args.seed, args.inception_ensemble)
                pub = PUBLISHED[name].get(model)
                shown = "-" if pub is None else (f"{pub[0]:.1f}" + (f" ({pub[1]:.1f})" if pub[1] is not None else ""))
                print(f"{'':<18}{model:<15}{acc:>11.1f}{shown:>14}{seconds:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
