"""Pure operations on Detections: count, filter, select, relation (and their tools)."""

from __future__ import annotations

import numpy as np
import pytest

from lavr.core_model.images import image_hash
from lavr.tools.base import ArtifactStore, ExpertPool, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.ops import (
    TOOLS,
    CountTool,
    FilterTool,
    RelationTool,
    SelectTool,
    count,
    filter_detections,
    label_breakdown,
    relation,
    same_label,
    select,
)
from lavr.tools.registry import ToolRegistry

RED_CIRCLE = [12, 30, 60, 80]
BLUE_SQUARE = [200, 40, 260, 100]
GREEN_CIRCLE = [100, 150, 140, 190]


def shapes() -> Detections:
    """Red circle (0.9), blue square (0.8), green circle (0.6)."""
    return Detections(
        np.array([RED_CIRCLE, BLUE_SQUARE, GREEN_CIRCLE], dtype=np.float32),
        np.array([0.9, 0.8, 0.6]),
        ["circle", "square", "circle"],
        data={"colour": ["red", "blue", "green"]},
    )


def make_ctx(**steps: Detections) -> ToolContext:
    image = np.zeros((240, 320, 3), np.uint8)
    ctx = ToolContext(image=image, image_hash=image_hash(image), artifacts=ArtifactStore(),
                      experts=ExpertPool())
    for step, dets in steps.items():
        ctx.outputs[step] = ToolResult(summary="", artifact_id=ctx.artifacts.put(dets))
    return ctx


# -- labels ------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b"), [
    ("circle", "circle"), ("Circles", "circle"), ("boxes", "box"), ("buses", "bus"),
    ("glasses", "glass"), ("puppies", "puppy"), ("people", "person"), ("cars", "CAR"),
    ("traffic_lights", "traffic light"), ("stop-sign", "stop signs"),
])
def test_same_label_accepts_case_plurals_and_separators(a: str, b: str) -> None:
    assert same_label(a, b)
    assert same_label(b, a)


@pytest.mark.parametrize(("a", "b"), [("circle", "square"), ("cat", "car"), ("glass", "gla"),
                                      ("traffic light", "light")])
def test_same_label_rejects_other_classes(a: str, b: str) -> None:
    assert not same_label(a, b)


# -- count ------------------------------------------------------------------------
def test_count_and_breakdown() -> None:
    dets = shapes()
    assert count(dets) == 3
    assert count(Detections.empty()) == 0
    assert label_breakdown(dets) == "2 circle, 1 square"
    assert label_breakdown(dets[np.array([True, False, True])]) == "circle"
    assert label_breakdown(Detections.empty()) == ""


def test_count_tool() -> None:
    ctx = make_ctx(s1=shapes()[np.array([True, False, True])], s2=Detections.empty())
    res = CountTool().run(CountTool.Args(source="s1"), ctx)
    assert res.value == 2
    assert res.summary == "count: 2 (circle)"
    assert CountTool().run(CountTool.Args(source="s2"), ctx).summary == "count: 0"


def test_tool_on_unknown_step_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="'s9' has no result"):
        CountTool().run(CountTool.Args(source="s9"), make_ctx(s1=shapes()))


# -- filter -----------------------------------------------------------------------
def test_filter_by_label_accepts_plural() -> None:
    kept = filter_detections(shapes(), label="Circles")
    assert list(kept.label) == ["circle", "circle"]
    assert list(kept.data["colour"]) == ["red", "green"]


def test_filter_by_colour_and_label_together() -> None:
    kept = filter_detections(shapes(), label="circle", colour="Green")
    assert list(kept.data["colour"]) == ["green"]
    assert len(filter_detections(shapes(), label="square", colour="red")) == 0


def test_filter_colour_alias_gray() -> None:
    dets = shapes().with_data("colour", ["grey", "blue", "green"])
    assert len(filter_detections(dets, colour="gray")) == 1


def test_filter_by_text_is_case_insensitive_substring() -> None:
    dets = Detections([[0, 0, 10, 10], [0, 20, 10, 30]], [0.9, 0.9], ["text", "text"],
                      text=["STOP", "Main Street"])
    assert list(filter_detections(dets, text="main").text) == ["Main Street"]
    assert list(filter_detections(dets, text="st").text) == ["STOP", "Main Street"]


def test_filter_by_area_uses_box_area() -> None:
    dets = shapes()  # areas: 48*50=2400, 60*60=3600, 40*40=1600
    assert list(filter_detections(dets, min_area=2000).label) == ["circle", "square"]
    assert list(filter_detections(dets, max_area=2400).data["colour"]) == ["red", "green"]
    assert list(filter_detections(dets, min_area=2000, max_area=3000).data["colour"]) == ["red"]


def test_filter_by_area_prefers_mask_area() -> None:
    mask = np.zeros((2, 50, 50), bool)
    mask[0, :2, :2] = True  # 4 px inside a big box
    mask[1, :10, :10] = True  # 100 px
    dets = Detections([[0, 0, 50, 50], [0, 0, 10, 10]], [0.9, 0.9], ["a", "b"], mask=mask)
    assert list(filter_detections(dets, min_area=50).label) == ["b"]


def test_filter_without_conditions_keeps_all() -> None:
    assert len(filter_detections(shapes())) == 3


def test_filter_errors_say_what_is_missing() -> None:
    plain = Detections([[0, 0, 1, 1]], [1.0], ["circle"])
    with pytest.raises(ToolError, match="no colours: run the colour tool"):
        filter_detections(plain, colour="red")
    with pytest.raises(ToolError, match="no text"):
        filter_detections(plain, text="stop")
    with pytest.raises(ToolError, match="min_area 10.0 is larger than max_area 5.0"):
        filter_detections(plain, min_area=10.0, max_area=5.0)


def test_filter_tool_stores_new_detections() -> None:
    ctx = make_ctx(s1=shapes())
    res = FilterTool().run(FilterTool.Args(source="s1", label="circles", colour="red"), ctx)
    assert res.value == 1
    kept = ctx.artifacts.get(res.artifact_id)
    assert isinstance(kept, Detections) and len(kept) == 1
    assert res.summary == ("filter: kept 1 of 3 (label=circles, colour=red): "
                           "red circle [12,30,60,80]")
    assert res.boxes == [[12.0, 30.0, 60.0, 80.0]]


# -- select -----------------------------------------------------------------------
@pytest.mark.parametrize(("which", "colour"), [
    ("largest", "blue"), ("smallest", "green"), ("leftmost", "red"), ("rightmost", "blue"),
    ("topmost", "red"), ("bottommost", "green"), ("most_confident", "red"),
])
def test_select(which: str, colour: str) -> None:
    one = select(shapes(), which)  # type: ignore[arg-type]
    assert len(one) == 1
    assert one.data["colour"][0] == colour


def test_select_empty_is_an_error() -> None:
    with pytest.raises(ToolError, match="no objects to select from"):
        select(Detections.empty(), "largest")


def test_select_unknown_which_is_an_error() -> None:
    with pytest.raises(ToolError, match="which must be one of"):
        select(shapes(), "middle")  # type: ignore[arg-type]


def test_select_tool() -> None:
    ctx = make_ctx(s1=shapes())
    res = SelectTool().run(SelectTool.Args(source="s1", which="largest"), ctx)
    assert res.value == "blue square"
    assert res.summary == "select: largest of 3 is blue square [200,40,260,100]"
    assert len(ctx.artifacts.get(res.artifact_id)) == 1


# -- relation ---------------------------------------------------------------------
def one(box: list[float], label: str, colour: str, conf: float = 0.9) -> Detections:
    return Detections([box], [conf], [label], data={"colour": [colour]})


@pytest.mark.parametrize(("name", "expected"), [
    ("left_of", True), ("right_of", False), ("above", True), ("below", False),
    ("inside", False), ("overlaps", False),
])
def test_relation_on_centres(name: str, expected: bool) -> None:
    a = one(RED_CIRCLE, "circle", "red")  # centre (36, 55)
    b = one(BLUE_SQUARE, "square", "blue")  # centre (230, 70)
    res = relation(a, b, name)  # type: ignore[arg-type]
    assert res.value is expected
    assert res.boxes == [RED_CIRCLE, BLUE_SQUARE]


def test_relation_text_states_the_fact_with_boxes() -> None:
    res = relation(one(RED_CIRCLE, "circle", "red"), one(BLUE_SQUARE, "square", "blue"), "left_of")
    assert res.text == ("relation: red circle [12,30,60,80] is left of blue square "
                        "[200,40,260,100] → yes")
    res = relation(one(RED_CIRCLE, "circle", "red"), one(BLUE_SQUARE, "square", "blue"), "below")
    assert res.text.endswith("is below blue square [200,40,260,100] → no")


def test_relation_inside_needs_ninety_percent() -> None:
    b = one([0, 0, 100, 100], "box", "brown")
    assert relation(one([10, 10, 50, 50], "cat", "grey"), b, "inside").value is True
    assert relation(one([-2, 10, 98, 20], "pen", "black"), b, "inside").value is True  # 98%
    assert relation(one([-20, 10, 80, 20], "pen", "black"), b, "inside").value is False  # 80%
    assert relation(b, one([10, 10, 50, 50], "cat", "grey"), "inside").value is False


def test_relation_overlaps() -> None:
    a = one([0, 0, 50, 50], "a", "red")
    assert relation(a, one([40, 40, 90, 90], "b", "blue"), "overlaps").value is True
    assert relation(a, one([50, 50, 90, 90], "b", "blue"), "overlaps").value is False  # touching


def test_relation_with_several_objects_uses_most_confident_and_says_so() -> None:
    dets = shapes()
    a = dets[np.array([False, True, True])]  # blue square 0.8, green circle 0.6
    b = one(RED_CIRCLE, "circle", "red")
    res = relation(a, b, "right_of", a_name="a (step 's1')")
    assert res.value is True
    assert res.text.startswith("relation: blue square [200,40,260,100] is right of red circle")
    assert "a (step 's1') has 2 objects, used the most confident" in res.text


def test_relation_nearest() -> None:
    dets = shapes()
    target = one([90, 140, 100, 150], "star", "yellow")
    res = relation(dets, target, "nearest")
    assert res.value["index"] == 2
    assert res.value["description"] == "green circle"
    assert res.text.startswith("relation: nearest to yellow star [90,140,100,150] is green circle "
                               "[100,150,140,190] (index 2 of 3")


def test_relation_nearest_within_one_step_skips_the_object_itself() -> None:
    dets = shapes()
    res = relation(dets, dets, "nearest")  # b's most confident is the red circle
    assert res.value["description"] != "red circle"


@pytest.mark.parametrize("name", ["left_of", "inside", "nearest"])
def test_relation_empty_sides_are_named(name: str) -> None:
    with pytest.raises(ToolError, match="a \\(step 's1'\\) has no objects"):
        relation(Detections.empty(), shapes(), name, a_name="a (step 's1')")  # type: ignore[arg-type]
    with pytest.raises(ToolError, match="^relation: b has no objects"):
        relation(shapes(), Detections.empty(), name)  # type: ignore[arg-type]


def test_relation_tool() -> None:
    ctx = make_ctx(s1=one(RED_CIRCLE, "circle", "red"), s2=one(BLUE_SQUARE, "square", "blue"))
    tool = RelationTool()
    args = tool.Args(a="s1", b="s2", relation="left_of")
    assert tool.dependencies(args) == ["s1", "s2"]
    res = tool.run(args, ctx)
    assert res.value is True
    assert res.summary == ("relation: red circle [12,30,60,80] is left of blue square "
                           "[200,40,260,100] → yes")
    ctx.outputs["s3"] = ToolResult(summary="", artifact_id=ctx.artifacts.put(Detections.empty()))
    with pytest.raises(ToolError, match="b \\(step 's3'\\) has no objects"):
        tool.run(tool.Args(a="s1", b="s3", relation="above"), ctx)


# -- registry ---------------------------------------------------------------------
def test_ops_tools_register_and_validate() -> None:
    reg = ToolRegistry(TOOLS)
    assert reg.names() == ["count", "filter", "relation", "select"]
    for tool in TOOLS:
        assert tool.cacheable is False
        assert set(tool.refs) <= set(tool.Args.model_fields)
    with pytest.raises(ToolError, match="relation: invalid arguments: relation"):
        reg.parse_args("relation", {"a": "s1", "b": "s2", "relation": "near"})
    with pytest.raises(ToolError, match="unknown_arg"):
        reg.parse_args("count", {"source": "s1", "unknown_arg": 1})
