"""The vqa expert: asks ctx.model about the image, a box or a detection."""

from __future__ import annotations

import numpy as np
import pytest

from lavr.core_model.errors import ModelServerError
from lavr.core_model.scripted import ScriptedModel
from lavr.tools.base import ArtifactStore, ExpertPool, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.errors import ExpertUnavailableError, ToolError
from lavr.tools.registry import default_registry
from lavr.tools.vqa import VqaArgs, VqaTool

IMG = np.zeros((100, 200, 3), np.uint8)
IMG[20:60, 120:180] = (0, 0, 255)


def ctx(model=None) -> ToolContext:
    store = ArtifactStore()
    dets = Detections(np.array([[120, 20, 180, 60]], float), np.ones(1), ["square"])
    c = ToolContext(image=IMG, image_hash="h", artifacts=store, experts=ExpertPool(),
                    model=model)
    c.outputs["s1"] = ToolResult(summary="1 square", artifact_id=store.put(dets))
    return c


def test_registered_and_described_for_planners():
    reg = default_registry()
    assert "vqa" in reg
    assert "- vqa(question: str" in reg.describe()


def test_whole_image_question():
    model = ScriptedModel(["A blue square on black."])
    res = VqaTool().run(VqaArgs(question="What is in the image?"), ctx(model))
    assert res.value == "A blue square on black." and res.boxes == []
    (req,) = model.requests
    assert req.task == "vqa" and req.images[0].shape == IMG.shape
    assert req.messages[-1].text == "What is in the image?"


def test_box_and_detection_regions_send_a_crop():
    model = ScriptedModel(["blue", "blue"])
    res = VqaTool().run(VqaArgs(question="colour?", box=[120, 20, 180, 60]), ctx(model))
    assert res.boxes == [[120.0, 20.0, 180.0, 60.0]]
    crop = model.requests[0].images[0]
    assert crop.shape == (64, 96, 3) and (crop == (0, 0, 255)).all()  # 40 px side → 64
    res = VqaTool().run(VqaArgs(question="colour?", source="s1"), ctx(model))
    crop = model.requests[1].images[0]
    assert crop.shape[0] >= 40 and "square" in res.summary


def test_tiny_regions_are_enlarged_for_the_model():
    model = ScriptedModel(["dot"])
    VqaTool().run(VqaArgs(question="what?", box=[10, 10, 18, 14]), ctx(model))
    assert min(model.requests[0].images[0].shape[:2]) >= 64


@pytest.mark.parametrize(("model", "fragment"), [
    (None, "no multimodal model is configured"),
    (ScriptedModel(["x"], sees_images=False, name="llm"), "'llm' is text-only")])
def test_unavailable_without_a_seeing_model(model, fragment):
    with pytest.raises(ExpertUnavailableError, match=fragment):
        VqaTool().run(VqaArgs(question="what?"), ctx(model))


def test_model_failures_and_bad_regions_are_tool_errors():
    with pytest.raises(ToolError, match="the model failed: HTTP 500"):
        VqaTool().run(VqaArgs(question="what?"),
                      ctx(ScriptedModel([ModelServerError("http://h", 500, "boom")])))
    with pytest.raises(ToolError, match="empty answer"):
        VqaTool().run(VqaArgs(question="what?"), ctx(ScriptedModel(["  "])))
    with pytest.raises(ToolError, match="index 3 is out of range"):
        VqaTool().run(VqaArgs(question="what?", source="s1", index=3), ctx(ScriptedModel([])))
    with pytest.raises(ValueError, match="box or source, not both"):
        VqaArgs(question="q", box=[0, 0, 1, 1], source="s1")
