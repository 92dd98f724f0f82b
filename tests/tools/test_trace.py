"""TraceEvent: the one trace record type, and its flat JSON form."""

from __future__ import annotations

import json

from lavr.core_model.structured import Attempt
from lavr.tools.trace import TraceEvent, events


def test_json_shape_keeps_the_base_keys_then_only_what_is_set():
    tool = TraceEvent("tool", tool="detect", args={"labels": ["circle"]}, summary="2 circles",
                      seconds=0.123456, step="s1", cached=False, artifact_id="det_1")
    assert list(tool.to_dict()) == ["node", "tool", "args", "summary", "seconds", "error",
                                    "step", "cached", "artifact_id"]
    assert tool.to_dict()["seconds"] == 0.1235 and tool.to_dict()["cached"] is False
    assert TraceEvent("ingest", summary="image").to_dict() == {
        "node": "ingest", "tool": None, "args": {}, "summary": "image", "seconds": 0.0,
        "error": None}


def test_round_trip_through_json():
    ev = TraceEvent("verify", summary="1 claim(s)", seconds=0.5, claims=[{"verdict": "refuted"}],
                    mode="rules", original_answer="There are four circles.", fallback=True)
    back = TraceEvent.from_dict(json.loads(json.dumps(ev.to_dict())))
    assert back == ev


def test_records_of_an_older_lavr_are_read():
    old = {"node": "tool", "tool": "ocr", "args": None, "summary": None, "seconds": 0.2,
           "error": None, "step": "s2", "cached": True, "something_new": 1}
    ev = TraceEvent.from_dict(old)
    assert (ev.node, ev.tool, ev.args, ev.summary, ev.step, ev.cached) == (
        "tool", "ocr", {}, "", "s2", True)
    assert events([old, ev]) == [ev, ev]


def test_attempts_become_events():
    called = TraceEvent.of_attempt("plan", Attempt(2, 3, "m plan attempt 2/3: bad", 0.1,
                                                   raw="{}", error="no steps"))
    assert called.is_attempt and called.attempt == 2 and called.raw == "{}"
    note = TraceEvent.of_attempt("plan", Attempt(0, 3, "rules take over", fallback=True))
    assert not note.is_attempt and note.fallback and "raw" not in note.to_dict()


def test_a_step_without_a_node_is_a_clear_value_error():
    import pytest

    for bad in ({"tool": "detect"}, "not a step", None):
        with pytest.raises(ValueError, match="a trace step needs a 'node'"):
            events([bad])
