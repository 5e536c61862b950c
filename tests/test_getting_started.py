"""docs/getting-started.md's CLI-and-Python table, run: every row's Python, in order, on a small
synthetic cohort, each returning the summary the table names (and the command the row shows exists)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## From Python")
    return text[start:text.index("\n## ", start + 1)]


def _rows() -> list[tuple[str, str, str, str]]:
    """(stage, command, python, returned type) per table row, code without its backticks."""
    rows = []
    for line in _section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 4 and cells[1].startswith("`lvsdctl "):
            rows.append((cells[0], *(c.strip("`") for c in cells[1:])))
    return rows


def _doors() -> str:
    """The doc's code block of imports (the first python block of the section)."""
    return re.search(r"```python\n(from lvsdctl.*?)```", _section(), re.S).group(1)


def test_the_table_covers_every_command():
    import typer.main

    from lvsdctl.cli.main import app

    group = typer.main.get_command(app)
    commands = {cmd for _, cmd, _, _ in _rows()}
    shown = {c.split()[1] for c in commands}
    assert shown == set(group.commands), shown ^ set(group.commands)
    stats = {c.split()[2] for c in commands if c.split()[1] == "stats"}
    assert stats == set(group.commands["stats"].commands)


def test_every_python_snippet_runs_and_returns_its_summary(tmp_path, monkeypatch):
    import torch

    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(_doors(), namespace)
    for stage, command, code, returned in _rows():
        if stage == "explain" and not Path("ecg.xml").exists():  # the table's "ecg.xml": one synthetic export
            shutil.copy(sorted(Path("cohort/ecg").glob("MUSE_*.xml"))[0], "ecg.xml")
        result = eval(code, namespace)  # noqa: S307 - the documentation's own examples
        assert type(result).__name__ == returned, (stage, type(result).__name__)
        assert isinstance(result.to_dict(), dict), stage
    for name in ("raw.h5", "pre.h5", "measures.h5", "split.h5", "table1.csv", "fcn.h5", "fm.h5", "ecgfm.h5",
                 "fcn-eval.h5", "fcn-pred.h5", "fcn-pred.csv", "fcn.h5.threshold.json", "table1.md", "fig3.png",
                 "audit.md", "table2-corrected.csv", "map.png", "attr.h5", "runs/study.sh", "runs/report.md"):
        assert os.path.getsize(name) > 0, name


@pytest.mark.parametrize("doc", sorted((DOC.parent).glob("*.md")), ids=lambda p: p.name)
def test_docs_name_only_modules_that_exist(doc):
    """Every `lvsdctl.x.y` a doc names is a module or a name in one (moved modules leave no stale name)."""
    import importlib

    for dotted in sorted(set(re.findall(r"\blvsdctl(?:\.[A-Za-z_][A-Za-z0-9_]*)+", doc.read_text(encoding="utf-8")))):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attr in parts[cut:]:
                assert hasattr(obj, attr), f"{doc.name}: {dotted}"
                obj = getattr(obj, attr)
            break
