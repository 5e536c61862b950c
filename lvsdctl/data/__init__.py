"""Data sets: `split` (leak-free cohorts by site, date and patient) and torch datasets over HDF5.

Light on purpose: submodules import pandas, sklearn or torch only when used.
"""

from __future__ import annotations


def split(*args, **kwargs) -> dict:
    """`lvsdctl.data.api.split` (imported lazily)."""
    from lvsdctl.data.api import split as _split

    return _split(*args, **kwargs)
