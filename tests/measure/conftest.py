"""Shared inputs of the measure tests: the GE MUSE fixtures and a small synthetic cohort."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def muse_fixtures(fixtures_dir) -> list[Path]:
    """The 10 GE MUSE exports carrying 12SL's beats and measurements (7 real, 3 simulator)."""
    ecg = fixtures_dir / "ecg"
    files = sorted(glob.glob(str(ecg / "muse_xml" / "*" / "*.xml"))) + \
        sorted(glob.glob(str(ecg / "muse_xml_simulator" / "*" / "*.xml")))
    assert len(files) == 10
    return [Path(f) for f in files]


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> Path:
    """A synthetic LBBB cohort (MUSE exports and digitised printouts) with its generator fiducials."""
    from lvsdctl.synth import synthesise

    out = tmp_path_factory.mktemp("measure") / "cohort"
    synthesise(out, n_ecgs=90, n_patients=40, seed=11)
    return out


@pytest.fixture(scope="session")
def cohort_measured(cohort):
    """Every ECG of the cohort measured (the summary of `measure`)."""
    from lvsdctl.measure import measure

    return measure([str(cohort / "ecg")])
