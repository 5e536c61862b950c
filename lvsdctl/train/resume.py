"""Resuming an interrupted training run: where its state lives, what it holds, and restoring it.

After every epoch the engine writes the full state (weights, optimiser, scheduler, the best weights
so far, RNG states, history) atomically, through `save_checkpoint`, to a hidden file beside the
output (`.OUTPUT.resume.h5`); it is a valid `model` file as well. A run resumed from it ends with
exactly the weights of an uninterrupted run on CPU. The state's fingerprint (model, data sizes,
training options but the number of epochs and where or in how many micro-batches a step runs)
must match the resuming run's.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from lvsdctl.errors import InputError, MismatchError
from lvsdctl.models.checkpoint import save_checkpoint
from lvsdctl.train.state import read_state, write_state
from lvsdctl.train.tasks import Task


def resume_path(output: str | os.PathLike, member: int | None = None) -> Path:
    """The resume state of the run writing `output` (`member`: one network of an ensemble)."""
    out = Path(output)
    return out.parent / (f".{out.name}.resume.h5" if member is None else f".{out.name}.resume-{member}.h5")


def check_resumable(output: str | os.PathLike, paths: list[Path]) -> None:
    """`--resume` needs the state of an interrupted run: refuse before any work when there is none."""
    if not any(p.exists() for p in paths):
        raise InputError(f"--resume: no resume state for {output} (looked for {paths[0]}); run without --resume")


def fingerprint(model: nn.Module, cfg, train_set: Dataset, tune_set: Dataset | None, task: Task) -> dict:
    """What must not change between an interrupted run and its resumption (epochs may grow)."""
    from lvsdctl.models.registry import model_config

    try:
        mcfg = model_config(model)
    except TypeError:
        mcfg = type(model).__name__
    keep = {k: v for k, v in cfg.to_json().items() if k not in ("epochs", "device", "workers", "amp", "micro_batch")}
    return {
        "model": getattr(model, "model_name", type(model).__name__),
        "model_config": mcfg,
        "train": keep,
        "task": task.describe(),
        "n_train": len(train_set),
        "n_tune": len(tune_set) if tune_set is not None else 0,
        "train_data": getattr(train_set, "path", None),
    }


def _rng_states() -> dict:
    states = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_resume(path: Path, *, model, optimizer, scheduler, epoch, history, best, fingerprint) -> None:
    """Atomically write the full state after `epoch` epochs (a valid `model` file as well)."""
    from lvsdctl.models.registry import model_config

    def add_state(f: h5py.File) -> None:
        f.attrs["epochs_done"] = epoch
        g = f.create_group("resume")
        write_state(g, "optimizer", optimizer.state_dict())
        write_state(g, "scheduler", scheduler.state_dict() if scheduler is not None else None)
        write_state(g, "rng", _rng_states())
        write_state(g, "best", best)

    try:  # lets load_checkpoint open the state like any model file
        config = model_config(model)
    except TypeError:
        config = {}
    save_checkpoint(path, model, model_name=getattr(model, "model_name", type(model).__name__), config=config,
                    history=history, parameters={"resume_state": True}, extra={"fingerprint": fingerprint},
                    task="resume-state", command="lvsdctl train (resume state)", write=add_state)


def load_resume(path: Path) -> dict:
    from lvsdctl.hdf5 import read_json_attr, read_state_dict

    try:
        with h5py.File(path, "r") as f:
            if "resume" not in f:
                raise InputError(f"{path}: not a resume state written by lvsdctl training")
            return {
                "weights": {k: torch.as_tensor(np.asarray(v)) for k, v in read_state_dict(f).items()},
                "history": read_json_attr(f, "history", []),
                "fingerprint": read_json_attr(f, "fingerprint", {}),
                "epochs_done": int(f.attrs["epochs_done"]),
                "optimizer": read_state(f["resume"], "optimizer"),
                "scheduler": read_state(f["resume"], "scheduler"),
                "rng": read_state(f["resume"], "rng"),
                "best": read_state(f["resume"], "best"),
            }
    except OSError as exc:
        raise InputError(f"{path}: unreadable resume state ({exc.__class__.__name__})") from None


def check_fingerprint(path: Path, saved: dict, now: dict) -> None:
    diffs = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += [f"{key}.{k}: {a.get(k)!r} then, {b.get(k)!r} now" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            diffs.append(f"{key}: {a!r} then, {b!r} now")
    if diffs:
        raise MismatchError(
            f"{path}: the resume state was written by a run with other settings ({'; '.join(diffs[:4])}); "
            "resume with the same options, or delete the resume state to start afresh"
        )


def restore(path: Path, now: dict, *, model: nn.Module, optimizer, scheduler, device: torch.device,
            epochs: int) -> tuple[list[dict], dict, int]:
    """Load the state at `path` into the model, optimiser, scheduler and RNGs after checking its
    fingerprint against `now`; returns (history, best so far, epochs done)."""
    if not path.exists():
        raise InputError(f"--resume: no resume state at {path} (nothing to resume; run without --resume)")
    saved = load_resume(path)
    check_fingerprint(path, saved["fingerprint"], now)
    model.load_state_dict({k: v.to(device) for k, v in saved["weights"].items()})
    optimizer.load_state_dict(saved["optimizer"])
    if scheduler is not None and saved["scheduler"] is not None:
        scheduler.load_state_dict(saved["scheduler"])
    _set_rng_states(saved["rng"])
    if saved["epochs_done"] > epochs:
        raise InputError(f"{path}: already trained {saved['epochs_done']} epochs, more than --epochs {epochs}")
    return saved["history"], saved["best"], saved["epochs_done"]
