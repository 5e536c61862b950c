"""A small synthetic cohort, written once per test session (the writers are tested on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvsdctl.synth import SynthSummary


@pytest.fixture(scope="session")
def small_args() -> dict:
    """The arguments the small cohort was written with."""
    return {"n_ecgs": 40, "n_patients": 20, "seed": 7}


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory, small_args) -> tuple[Path, SynthSummary]:
    from lvsdctl.synth import synthesise

    out = tmp_path_factory.mktemp("synth") / "cohort"
    summary = synthesise(out, **small_args)
    return out, summary
