"""The shape of the tree (docs/architecture.md): who may import whom, and one door per stage.

- only `lvsdctl/cli/` imports rich or typer, and no stage imports `lvsdctl.cli`;
- `lvsdctl.hdf5` (the file family) imports neither `lvsdctl.io` (reading one ECG file) nor the
  `lvsdctl.ingest` stage, and `lvsdctl.io` imports neither of them: all stand on `lvsdctl.record`.
  The ingest stage writes its file through `lvsdctl.hdf5`, as every stage does; the preprocess stage
  (`lvsdctl.signal`) does not import ingest either (what both use, `lvsdctl.alloc`, is on the ground floor);
- every stage package exports its verbs from `__init__`, loads them lazily, and no submodule shares a
  verb's name (the import system would shadow the function with the module);
- every verb returns a `lvsdctl.summary.Summary`, whose `to_dict()` is what `--json` prints.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from lvsdctl.summary import Summary

PACKAGE = Path(__file__).resolve().parents[1] / "lvsdctl"

#: The doors: stage package -> its verbs (the table of docs/architecture.md).
DOORS = {
    "lvsdctl.synth": ["synthesise"],
    "lvsdctl.ingest": ["ingest"],
    "lvsdctl.merge": ["merge"],
    "lvsdctl.signal": ["preprocess"],
    "lvsdctl.data": ["split"],
    "lvsdctl.measure": ["measure"],
    "lvsdctl.train": ["train"],
    "lvsdctl.pretrain": ["pretrain"],
    "lvsdctl.finetune": ["finetune", "all_strategies"],
    "lvsdctl.evaluate": ["evaluate", "predict", "calibrate"],
    "lvsdctl.stats": ["cohort", "compare", "audit"],
    "lvsdctl.explain": ["explain", "explain_cohort"],
    "lvsdctl.hdf5": ["describe"],
    "lvsdctl.weights": ["list_weights", "fetch", "verify"],
    "lvsdctl.study": ["script", "done", "report"],
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every module of lvsdctl -> the modules it imports anywhere (top level or inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = found
    return graph


GRAPH = _imports()


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_only_the_cli_imports_rich_or_typer():
    offenders = sorted(f"{mod} imports {dep}" for mod, deps in GRAPH.items() if not _within(mod, "lvsdctl.cli")
                       for dep in deps if dep.split(".")[0] in ("rich", "typer", "click"))
    assert not offenders, offenders


def test_no_stage_reaches_up_into_the_cli():
    offenders = sorted(f"{mod} imports {dep}" for mod, deps in GRAPH.items()
                       if not _within(mod, "lvsdctl.cli") and mod != "lvsdctl.__main__"
                       for dep in deps if _within(dep, "lvsdctl.cli"))
    assert not offenders, offenders


@pytest.mark.parametrize("importer, imported", [("lvsdctl.hdf5", "lvsdctl.io"), ("lvsdctl.hdf5", "lvsdctl.ingest"),
                                                ("lvsdctl.io", "lvsdctl.hdf5"), ("lvsdctl.io", "lvsdctl.ingest"),
                                                ("lvsdctl.signal", "lvsdctl.ingest")])
def test_hdf5_and_the_readers_do_not_import_each_other(importer, imported):
    offenders = sorted(f"{mod} imports {dep}" for mod, deps in GRAPH.items() for dep in deps
                       if _within(mod, importer) and _within(dep, imported))
    assert not offenders, offenders


@pytest.mark.parametrize("package", sorted(DOORS))
def test_each_stage_exports_its_verbs_and_no_submodule_shadows_them(package):
    pkg = importlib.import_module(package)
    folder = Path(pkg.__file__).parent
    for name in pkg.__all__:
        assert not (folder / f"{name}.py").exists() and not (folder / name).is_dir(), (
            f"{package}.{name} is both an exported name and a submodule: importing the submodule would "
            "replace the export")
    for verb in DOORS[package]:
        assert verb in pkg.__all__, f"{package} does not export {verb}"
    # importing every submodule first must not change what the door gives
    for path in folder.rglob("*.py"):
        if path.name != "__main__.py":
            importlib.import_module(_module_name(path))
    for verb in DOORS[package]:
        fn = getattr(importlib.import_module(package), verb)
        assert inspect.isfunction(fn), f"{package}.{verb} is {fn!r}"
        exec(f"from {package} import {verb} as _door", ns := {})
        assert ns["_door"] is fn


@pytest.mark.parametrize("package, verb", [(p, v) for p, verbs in sorted(DOORS.items()) for v in verbs])
def test_every_verb_returns_a_summary(package, verb):
    fn = getattr(importlib.import_module(package), verb)
    returned = typing.get_type_hints(fn)["return"]
    if typing.get_origin(returned) is list:
        (returned,) = typing.get_args(returned)
    assert issubclass(returned, Summary), f"{package}.{verb} returns {returned}"
    hints = typing.get_type_hints(fn)
    if "progress" in inspect.signature(fn).parameters:
        assert "Callable" in str(hints["progress"]) and inspect.signature(fn).parameters["progress"].default is None


def test_stage_packages_are_light_to_import():
    """`import lvsdctl.<stage>` loads none of the heavy stacks: its verbs load on first use."""
    stages = " ".join(sorted(p for p in DOORS if p != "lvsdctl.hdf5"))
    code = ("import sys\n"
            f"for name in {stages.split()!r}: __import__(name)\n"
            "heavy = sorted(m for m in ('torch', 'h5py', 'pandas', 'numpy', 'scipy', 'sklearn', 'matplotlib', "
            "'rich', 'typer') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)
