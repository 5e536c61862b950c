"""Names a package exports but loads on first use, so importing the package stays cheap.

    __getattr__, __dir__ = lazy_exports(__name__, {"ingest": "lvsdctl.ingest.api"})

A stage package exports its verb this way (`from lvsdctl.ingest import ingest` loads the stage only
then; each look-up reads the defining module's current name). No submodule may share an exported
name: the import system would set the package attribute to the submodule once that is imported, and
the function would be shadowed (tests/test_architecture.py checks it).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`: each name is taken from its module on first use."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # not cached on the package: the door always gives the defining module's name, so patching that
        # module (tests, notebooks) is seen through the door too
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
