"""``jsonable``: its direct copy of plain values gives what the JSON round trip gives."""

from __future__ import annotations

import json
import math
from enum import Enum

import numpy as np
import pytest

from lavr.tools.evidence import _json_default, jsonable


class Colour(str, Enum):
    RED = "red"


CASES = [
    None, 0, -3, 10**30, 1.5, True, "text", "", [], {}, [1, (2, 3.25)], (1, "a"),
    {"a": [1, {"b": None}], "c": (True, False)}, {1: "int key"}, {None: 1, 2.5: 2},
    np.int64(3), np.float32(0.5), {"boxes": np.array([[1, 2, 3, 4]])}, [np.bool_(True)],
    Colour.RED, {"colour": Colour.RED},
]


@pytest.mark.parametrize("value", CASES, ids=[repr(c)[:30] for c in CASES])
def test_same_as_json_round_trip(value: object) -> None:
    expected = json.loads(json.dumps(value, default=_json_default))
    got = jsonable(value)
    assert json.dumps(got) == json.dumps(expected)
    assert type(got) is type(expected)


def test_a_fresh_copy() -> None:
    inner = [1, 2]
    value = {"a": inner}
    out = jsonable(value)
    assert out == value and out["a"] is not inner


def test_special_floats_kept() -> None:
    out = jsonable([math.inf, -math.inf, math.nan])
    assert out[:2] == [math.inf, -math.inf] and math.isnan(out[2])


def test_a_cycle_is_refused_as_json_refuses_it() -> None:
    value: list[object] = []
    value.append(value)
    with pytest.raises(ValueError, match="ircular"):
        jsonable(value)
