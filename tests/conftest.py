"""Fixtures shared by every test package.

The real ECG files live outside the repository, in the `shared/` folder beside the repo root
(`<repo>/../shared/fixtures`); they are read in place, never copied in. Tests that need them skip
cleanly where that folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = (REPO_ROOT / ".." / "shared" / "fixtures").resolve()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """`<repo>/../shared/fixtures`; the test is skipped when it does not exist."""
    if not FIXTURES_DIR.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES_DIR}")
    return FIXTURES_DIR
