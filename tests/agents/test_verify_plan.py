"""Stage 3's plan: the verification questions as tool steps (no expert runs here)."""

from __future__ import annotations

import itertools

from lavr.agents.verify.extract import RuleExtractor
from lavr.agents.verify.questions import formulate
from lavr.agents.verify.validate import OCR_RETRY_ZOOM, plan_steps
from lavr.tools.evidence import Evidence, ToolResult

TEXT = 'There are two red circles. The square is left of the triangle. The sign says "EXIT".'


def _plan(text: str = TEXT, *, offered: tuple[str, ...] = ("detect", "colour", "ocr"),
          read: bool = True):
    ids = (f"v{i}" for i in itertools.count(1))
    return plan_steps(formulate(RuleExtractor().extract(text)), offers=offered.__contains__,
                      new_id=lambda: next(ids), detector="shapes", read=read)


def test_objects_become_one_detect_step_a_colour_step_on_it_and_text_an_ocr_step():
    plan = _plan()
    assert [(s.id, s.tool, s.args) for s in plan.steps] == [
        ("v1", "detect", {"labels": [], "min_confidence": 0.25, "detector": "shapes"}),
        ("v2", "colour", {"source": "v1"}),
        ("v3", "ocr", {}),
    ]
    assert sorted(plan.covers["v1"]) == ["circle", "square", "triangle"]
    assert plan.colours and plan.text and not plan.unavailable


def test_a_tool_the_agent_lacks_leaves_what_it_would_tell_unavailable():
    plan = _plan(offered=("colour",))
    assert plan.steps == []
    assert set(plan.unavailable) == {"circle", "square", "triangle"}
    assert plan.ocr_reason == "no OCR expert is available to this agent"
    no_colour = _plan(offered=("detect", "ocr"))
    assert [s.tool for s in no_colour.steps] == ["detect", "ocr"]
    assert no_colour.colour_reason == "no colour expert is available to this agent"


def test_known_lines_are_not_read_again_and_an_empty_read_is_retried_zoomed():
    assert [s.tool for s in _plan(read=False).steps] == ["detect", "colour"]
    plan = _plan()
    ocr = plan.steps[-1]
    nothing = Evidence.success(ocr.id, "ocr", {}, ToolResult(summary="ocr: no text", value=[]))
    retry = plan.read_again(ocr, nothing, lambda: "v9")
    assert retry is not None and retry.args == {"zoom": OCR_RETRY_ZOOM}
    read = Evidence.success(ocr.id, "ocr", {}, ToolResult(summary='ocr: "EXIT"', value=["EXIT"]))
    assert plan.read_again(ocr, read, lambda: "v9") is None
    assert plan.read_again(retry, nothing, lambda: "v9") is None  # once
