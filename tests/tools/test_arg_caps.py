"""Tool argument caps: no single step a model writes can outlive its deadline."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from lavr.agents import VisualAgent
from lavr.core_model.scripted import ScriptedModel
from lavr.tools.base import MAX_ARG_CHARS, ArtifactStore, ExpertPool, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.registry import default_registry
from lavr.tools.segment import MAX_PROMPTS, SegmentTool

REG = default_registry()
BAD = [
    ("segment", {"points": [[1, 1]] * 10_000}, "points: List should have at most 32 items"),
    ("segment", {"boxes": [[0, 0, 2, 2]] * 33}, "boxes: List should have at most 32 items"),
    ("segment", {"points": [[float("nan"), 1]]}, "finite number"),
    ("detect", {"labels": ["cat"] * 21}, "labels: List should have at most 20 items"),
    ("detect", {"labels": ["c" * 61]}, "labels.0: String should have at most 60 characters"),
    ("zoom", {"box": [0, 0, 9, 9], "scale": 1000}, "scale: Input should be less than or equal to 8"),
    ("zoom", {"box": [0, 0, float("inf"), 9]}, "box.2: Input should be a finite number"),
    ("zoom", {"source": "s1", "index": 10**9}, "index: Input should be less than or equal to 999"),
    ("ocr", {"zoom": 50}, "zoom: Input should be less than or equal to 4"),
    ("vqa", {"question": "why?" * 200}, "question: String should have at most 500 characters"),
    ("filter", {"source": "s1", "text": "x" * 10_000}, "text: String should have at most 200"),
    ("count", {"source": "s" * 10_000}, "source: String should have at most 16 characters"),
    ("relation", {"a": "s1", "b": "s2" * 100, "relation": "above"}, "b: String should have"),
    ("colour", {"source": "s1" * 100}, "source: String should have at most 16"),
]


@pytest.mark.parametrize(("tool", "args", "message"), BAD, ids=[f"{b[0]}-{i}" for i, b in
                                                                enumerate(BAD)])
def test_oversized_arguments_are_refused_with_a_clear_message(tool, args, message):
    with pytest.raises(ToolError, match="invalid arguments") as info:
        REG.parse_args(tool, args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_every_string_argument_of_every_tool_is_capped():
    for tool in REG.tools():
        assert tool.Args.model_config.get("str_max_length") == MAX_ARG_CHARS, tool.name


def test_a_source_with_many_objects_segments_only_the_most_confident(monkeypatch):
    image = np.full((48, 48, 3), 120, np.uint8)
    n = MAX_PROMPTS + 18
    xyxy = np.array([[i % 40, i % 40, i % 40 + 6, i % 40 + 6] for i in range(n)], np.float32)
    conf = np.linspace(0.1, 0.9, n).astype(np.float32)
    dets = Detections(xyxy, conf, ["object"] * n)
    store = ArtifactStore()
    ctx = ToolContext(image=image, image_hash="h", artifacts=store, experts=ExpertPool(),
                      outputs={"s1": ToolResult(summary="", artifact_id=store.put(dets))})
    res = SegmentTool().run(REG.parse_args("segment", {"source": "s1", "method": "grabcut"}), ctx)
    kept = store.get(res.artifact_id)
    assert len(kept) == MAX_PROMPTS
    assert float(kept.confidence.min()) >= float(np.sort(conf)[-MAX_PROMPTS])
    with pytest.raises(ToolError, match="too many prompts"):
        SegmentTool().run(REG.parse_args("segment", {
            "source": "s1", "points": [[1, 1]] * MAX_PROMPTS, "method": "grabcut"}), ctx)


def test_a_model_plan_with_ten_thousand_points_goes_back_to_the_model():
    huge = json.dumps({"intent": "describe", "steps": [
        {"tool": "segment", "args": {"points": [[5, 5]] * 10_000, "method": "grabcut"}}]})
    small = json.dumps({"intent": "describe", "steps": [
        {"tool": "segment", "args": {"points": [[5, 5]], "method": "grabcut"}}]})
    model = ScriptedModel({"plan": [huge, small]})
    agent = VisualAgent(model=model, model_roles="plan", verify=False)
    start = time.monotonic()
    result = agent.run(np.full((32, 32, 3), 90, np.uint8), "Segment the thing at 5,5")
    assert time.monotonic() - start < 60  # generous; minutes before the cap
    asks = model.requests_for("plan")
    assert len(asks) == 2
    assert "at most 32 items" in str(asks[1].messages)
    assert any(s.tool == "segment" for s in result.steps)
