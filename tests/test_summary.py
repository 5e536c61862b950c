"""lvsdctl.summary: what every verb returns, and JSON-safe values."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from lvsdctl.summary import Summary, jsonable


@dataclass
class _Inner(Summary):
    n: int


@dataclass
class _Outer(Summary):
    name: str
    inner: _Inner
    items: list = field(default_factory=list)


def test_to_dict_keeps_field_order_and_nests():
    s = _Outer("x", _Inner(2), [_Inner(3)])
    assert list(s.to_dict()) == ["name", "inner", "items"]
    assert s.to_dict() == {"name": "x", "inner": {"n": 2}, "items": [{"n": 3}]}


def test_jsonable_is_strict_json():
    doc = jsonable({"a": np.int64(3), "b": np.float32(0.5), "c": math.nan, "d": (1, np.bool_(True)), 4: _Inner(1)})
    assert json.loads(json.dumps(doc, allow_nan=False)) == {"a": 3, "b": 0.5, "c": None, "d": [1, True], "4": {"n": 1}}
