"""Allocator tuning for bulk reads (lvsdctl.alloc)."""

from __future__ import annotations

import sys

import pytest

from lvsdctl.alloc import tune_allocator


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_glibc_accepts_the_tuning():
    assert tune_allocator(8 << 20) is True


def test_is_harmless_to_repeat():
    first = tune_allocator()
    assert tune_allocator() == first
