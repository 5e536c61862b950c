"""Real MUSE fixture ECGs and small hand-made records for the signal tests."""

from __future__ import annotations

import numpy as np
import pytest

from lvsdctl.record import LEADS12


@pytest.fixture(scope="session")
def muse_records(fixtures_dir):
    """The 7 real GE MUSE resting ECGs (8 stored leads, 500 Hz, 10 s; limb leads derived by the reader)."""
    from lvsdctl.io.muse import read

    paths = sorted((fixtures_dir / "ecg" / "muse_xml").glob("*/*.xml"))
    assert len(paths) >= 5
    return [read(p) for p in paths]


@pytest.fixture(scope="session")
def muse_leads(muse_records):
    """(records, 12, 5000) float64 rhythm leads of the MUSE fixtures, LEADS12 order, mV."""
    return np.stack([[r.leads()[lead].signal.astype(np.float64) for lead in LEADS12] for r in muse_records])
