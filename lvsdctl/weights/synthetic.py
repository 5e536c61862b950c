"""A random-weights ECG-FM checkpoint in the official file layout, at any size (full size included).

What the 1 GB official files look like, without downloading them: the trainer's top-level layout
(``args``, ``cfg``, ``model``, ``criterion``, ``optimizer_history``, ``task_state``, ``extra_state``,
``last_optimizer_state``), the public 2024 key names, and optionally the Adam state that makes up most
of an official file's size. Such a file goes through exactly the path a downloaded one takes (put it in
the weights directory under the official name, or pass it with ``--weights``): the tests and the
benchmarks use it to run the full-size model end to end on machines without the real weights.

The file says what it is: ``cfg["lvsdctl_synthetic"]`` is True, and its hash is no catalog entry's.

    python -m lvsdctl.weights.synthetic base-random.pt --size base --finetuned 26
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def write_random_checkpoint(path: str | os.PathLike, *, size: str = "base", finetuned_labels: int | None = None,
                            optimizer_state: bool = False, seed: int = 0, legacy_keys: bool = True) -> dict:
    """Write a randomly initialised ECG-FM checkpoint; return {path, bytes, encoder_parameters, kind}.

    ``finetuned_labels`` None writes a pretrained-layout file (encoder + quantizer, ``mask_emb``, ...),
    a number N a fine-tuned one (``encoder.``-prefixed encoder + an N-label ``proj`` head, as
    ``physionet_finetuned.pt``). ``optimizer_state`` adds zeroed Adam moments for every parameter, as
    the official files carry (their size then matches: ~1.09 GB at ``base``).
    """
    import torch

    from lvsdctl.models.ecgfm import ECGFMClassifier, config_for_size, count_parameters
    from lvsdctl.models.ecgfm_pretrain import ECGFMPretrainModel
    from lvsdctl.models.ecgfm_weights import official_cfg, to_official_state_dict

    torch.manual_seed(seed)
    cfg = config_for_size(size)
    if finetuned_labels is None:
        model = ECGFMPretrainModel(cfg)
        full = model.state_dict()
        prefixes = ("mask_emb", "quantizer.", "project_q.", "final_proj.")
        encoder = {k: v for k, v in full.items() if not k.startswith(prefixes)}
        state = to_official_state_dict(encoder, pretraining={k: v for k, v in full.items() if k.startswith(prefixes)},
                                       legacy=legacy_keys)
        encoder_params = sum(v.numel() for v in encoder.values())
        criterion, model_cfg = "Wav2Vec2WithCMSCCriterion", official_cfg(cfg)
    else:
        model = ECGFMClassifier(cfg, num_labels=finetuned_labels)
        enc = model.encoder.state_dict()
        head = {k.removeprefix("proj."): v for k, v in model.state_dict().items() if k.startswith("proj.")}
        state = to_official_state_dict(enc, head=head, legacy=legacy_keys)
        encoder_params = count_parameters(model.encoder)
        criterion, model_cfg = "BinaryCrossEntropyWithLogitsCriterion", official_cfg(cfg, finetuned_labels)
    last_optimizer_state = None
    if optimizer_state:  # fairseq's Adam keeps two moments per parameter: zeros compress nothing away
        tensors = [v for v in state.values() if v.is_floating_point()]
        last_optimizer_state = {
            "state": {i: {"step": 0, "exp_avg": torch.zeros_like(v), "exp_avg_sq": torch.zeros_like(v)}
                      for i, v in enumerate(tensors)},
            "param_groups": [{"lr": [5e-05], "betas": [0.9, 0.98], "eps": 1e-06, "weight_decay": 0.01,
                              "params": list(range(len(tensors)))}],
        }
    ckpt = {
        "args": None,
        "cfg": {"model": model_cfg, "lvsdctl_synthetic": True,
                "note": "random weights written by lvsdctl.weights.synthetic: not ECG-FM's"},
        "model": state,
        "criterion": None,
        "optimizer_history": [{"criterion_name": criterion, "optimizer_name": "Adam",
                               "lr_scheduler_state": {"lr": 5e-05}, "num_updates": 0}],
        "task_state": {},
        "extra_state": {"metrics": {}, "previous_training_time": 0.0, "val_loss": None,
                        "train_iterator": {"version": 2, "epoch": 1, "iterations_in_epoch": 0, "shuffle": True}},
        "last_optimizer_state": last_optimizer_state,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(ckpt, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": str(path), "bytes": path.stat().st_size, "encoder_parameters": int(encoder_params),
            "kind": "pretrained" if finetuned_labels is None else f"finetuned ({finetuned_labels} labels)"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--size", default="base", choices=["tiny", "base", "large"])
    ap.add_argument("--finetuned", type=int, default=None, metavar="N", help="a fine-tuned file with N labels")
    ap.add_argument("--optimizer-state", action="store_true", help="add Adam moments (the official file size)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    info = write_random_checkpoint(args.path, size=args.size, finetuned_labels=args.finetuned,
                                   optimizer_state=args.optimizer_state, seed=args.seed)
    print(f"{info['path']}: {info['kind']}, {info['encoder_parameters']:,} encoder parameters, "
          f"{info['bytes'] / 1e6:.0f} MB (random weights)")


if __name__ == "__main__":
    main()
