"""The article's published values, shipped as data with their citation.

- Table 1's set sizes and LVSD counts: `lvsdctl/stats/data/study_table1.csv`;
- Table 2 as printed: `lvsdctl/stats/data/study_table2.csv` (what `stats compare --study` re-analyses);
- Table 3, the Results' quotes of Supplementary Tables S1/S2 (the tables themselves are not in the
  article's text), the reported tests, the recipe and the citation: `lvsdctl/study/data/published.json`.

Each number is transcribed once; `published()` gathers them for the report and `stats audit --study`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Published:
    citation: dict
    sets: dict[str, str]  # lvsdctl set name -> the article's (Table 2) name
    models: dict[str, str]  # the article's model name -> the grid's
    table3: dict
    tests: dict
    supplementary: dict
    recipe: dict
    notes: dict

    @property
    def article_sets(self) -> list[str]:
        return list(self.sets.values())

    def table1(self):
        """Table 1 per set: validation_set, table1_name, patients, n, positives."""
        import pandas as pd

        with _data("lvsdctl.stats", "study_table1.csv") as fh:
            return pd.read_csv(fh, comment="#")

    def table1_text(self):
        """Table 1 as text (for `stats audit`, which reads printed values)."""
        with _data("lvsdctl.stats", "study_table1.csv") as fh:
            return fh.read()

    def table2(self):
        """Table 2 as printed, values kept as text: model, validation_set, metric, value."""
        import pandas as pd

        with _data("lvsdctl.stats", "study_table2.csv") as fh:
            return pd.read_csv(fh, dtype=str, keep_default_na=False)

    def sizes(self) -> dict[str, tuple[int, int]]:
        """{article set name: (n, positives)} as Table 1 prints them."""
        t = self.table1()
        return {r.validation_set: (int(r.n), int(r.positives)) for r in t.itertuples()}

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _data(package: str, name: str):
    """A package data file, opened as text (works from a wheel too)."""
    from importlib.resources import files

    return files(package).joinpath("data", name).open("r", encoding="utf-8")


@lru_cache(maxsize=1)
def published() -> Published:
    import json

    with _data("lvsdctl.study", "published.json") as fh:
        d = json.load(fh)
    return Published(d["citation"], d["sets"], d["models"], d["table3"], d["tests"], d["supplementary"],
                     d["recipe"], {"files": d["files"], "models": d.get("model_notes", {})})
