"""Colour naming (HSV rules), dominant colour from masks and boxes, and the colour tool."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lavr.tools.base import ResultCache
from lavr.tools.colour import COLOUR_NAMES, ColourTool, dominant_colour, name_colour
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from tests.fake_tools import tool_context

#: Pure synthetic colours that must be named right under ±15 per-channel jitter.
PURE = {
    "red": (220, 30, 30), "green": (40, 180, 60), "blue": (40, 70, 220),
    "yellow": (240, 220, 40), "orange": (245, 140, 30), "purple": (140, 60, 190),
    "white": (245, 245, 245), "black": (10, 10, 10),
}
#: Less clear-cut colours, checked with smaller jitter.
SOFT = {"grey": ((128, 128, 128), 15), "cyan": ((0, 200, 200), 15),
        "brown": ((139, 69, 19), 8), "pink": ((255, 182, 193), 5)}


def jittered(rgb: tuple[int, int, int], amount: int) -> list[np.ndarray]:
    """The colour moved by -amount, 0 and +amount on every channel (27 variants)."""
    steps = itertools.product((-amount, 0, amount), repeat=3)
    return [np.clip(np.array(rgb) + np.array(d), 0, 255) for d in steps]


@pytest.mark.parametrize("name", sorted(PURE))
def test_pure_colours_with_jitter(name: str) -> None:
    wrong = [(tuple(int(v) for v in c), name_colour(c)) for c in jittered(PURE[name], 15)
             if name_colour(c) != name]
    assert wrong == []


@pytest.mark.parametrize("name", sorted(SOFT))
def test_soft_colours_with_small_jitter(name: str) -> None:
    rgb, amount = SOFT[name]
    assert {name_colour(c) for c in jittered(rgb, amount)} == {name}


def test_every_name_is_reachable_and_known() -> None:
    names = {name_colour(rgb) for rgb in PURE.values()} | set(SOFT)
    assert names == set(COLOUR_NAMES)


def test_name_colour_refuses_non_triples() -> None:
    with pytest.raises(ValueError, match=r"expected an \(r, g, b\) triple"):
        name_colour([1, 2])


# -- dominant colour ---------------------------------------------------------------
def noisy(img: Image.Image, seed: int = 0) -> np.ndarray:
    """The image with ±15 uniform noise per channel and pixel."""
    rng = np.random.default_rng(seed)
    arr = np.asarray(img).astype(np.int16) + rng.integers(-15, 16, (img.height, img.width, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def scene(background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Red circle at [20,20,120,120] and blue square at [160,40,260,140], with noise."""
    img = Image.new("RGB", (300, 200), background)
    draw = ImageDraw.Draw(img)
    draw.ellipse((20, 20, 120, 120), fill=PURE["red"])
    draw.rectangle((160, 40, 260, 140), fill=PURE["blue"])
    return noisy(img)


def test_dominant_colour_of_tight_boxes() -> None:
    image = scene()
    assert dominant_colour(image, box=[20, 20, 121, 121]) == "red"
    assert dominant_colour(image, box=[160, 40, 261, 141]) == "blue"


def test_loose_box_ignores_the_background() -> None:
    """A small circle in a box three times its size, on a green field: the box is mostly green."""
    img = Image.new("RGB", (300, 300), PURE["green"])
    ImageDraw.Draw(img).ellipse((130, 130, 170, 170), fill=PURE["purple"])
    image = noisy(img)
    box = [90, 90, 210, 210]
    pixels = image[90:210, 90:210].reshape(-1, 3)
    assert name_colour(np.median(pixels, axis=0)) == "green"  # the naive answer
    assert dominant_colour(image, box=box) == "purple"


def test_object_same_colour_as_background_falls_back_to_all_pixels() -> None:
    image = noisy(Image.new("RGB", (100, 100), PURE["white"]))
    assert dominant_colour(image, box=[20, 20, 80, 80]) == "white"
    assert dominant_colour(image, box=[0, 0, 100, 100]) == "white"  # no ring outside the box


def test_mask_wins_over_box() -> None:
    """A yellow ring around a blue disc: the ring's box is mostly blue inside, its mask yellow."""
    img = Image.new("RGB", (200, 200), PURE["white"])
    draw = ImageDraw.Draw(img)
    draw.ellipse((40, 40, 160, 160), fill=PURE["yellow"])
    draw.ellipse((55, 55, 145, 145), fill=PURE["blue"])
    image = noisy(img)
    yy, xx = np.mgrid[:200, :200]
    r = np.hypot(xx - 100, yy - 100)
    ring = (r <= 58) & (r >= 48)
    box = [40, 40, 161, 161]
    assert dominant_colour(image, box=box) == "blue"
    assert dominant_colour(image, box=box, mask=ring) == "yellow"
    assert dominant_colour(image, box=box, mask=np.zeros((200, 200), bool)) == "blue"  # empty mask


def test_whole_image_without_box_or_mask() -> None:
    assert dominant_colour(noisy(Image.new("RGB", (40, 30), PURE["orange"]))) == "orange"


def test_dominant_colour_errors() -> None:
    image = scene()
    with pytest.raises(ToolError, match=r"mask is \(10, 10\), expected the image size \(200, 300\)"):
        dominant_colour(image, mask=np.ones((10, 10), bool))
    with pytest.raises(ToolError, match="outside the 300x200 image"):
        dominant_colour(image, box=[400, 400, 500, 500])
    with pytest.raises(ToolError, match="expected an HxWx3 uint8 image"):
        dominant_colour(image.astype(np.float32))


# -- the tool ---------------------------------------------------------------------


def test_colour_tool_names_each_detection() -> None:
    dets = Detections([[20, 20, 121, 121], [160, 40, 261, 141]], [0.9, 0.8], ["circle", "square"])
    ctx = tool_context(scene(), s1=dets)
    tool = ColourTool()
    args = tool.Args(source="s1")
    assert tool.dependencies(args) == ["s1"]
    res = tool.run(args, ctx)
    assert res.value == ["red", "blue"]
    assert res.summary == "colour: red circle, blue square"
    coloured = ctx.artifacts.get(res.artifact_id)
    assert list(coloured.data["colour"]) == ["red", "blue"]
    assert "colour" not in dets.data  # the input is left alone
    assert res.artifact_id != ctx.outputs["s1"].artifact_id


def test_colour_tool_uses_masks() -> None:
    image = scene()
    mask = np.zeros((1, 200, 300), bool)
    mask[0, 60:120, 180:240] = True  # inside the blue square, though the box says otherwise
    dets = Detections([[0, 0, 150, 150]], [0.9], ["thing"], mask=mask)
    res = ColourTool().run(ColourTool.Args(source="s1"), tool_context(image, s1=dets))
    assert res.value == ["blue"]


def test_colour_tool_on_empty_detections() -> None:
    res = ColourTool().run(ColourTool.Args(source="s1"), tool_context(scene(), s1=Detections.empty()))
    assert res.value == []
    assert "no objects" in res.summary


def test_colour_tool_with_mismatched_masks_is_a_tool_error() -> None:
    dets = Detections([[0, 0, 5, 5]], [0.9], ["thing"], mask=np.ones((1, 10, 10), bool))
    with pytest.raises(ToolError, match="mask is"):
        ColourTool().run(ColourTool.Args(source="s1"), tool_context(scene(), s1=dets))


def test_colour_names_are_reused_through_the_result_cache(monkeypatch) -> None:
    """A box named once on an image (by a step, or by verification) is not named again."""
    import lavr.tools.colour as colour

    image = scene()
    dets = Detections([[20, 20, 120, 120], [160, 40, 260, 140]], [0.9, 0.8], ["circle", "square"])
    calls = []
    real = colour.dominant_colour
    monkeypatch.setattr(colour, "dominant_colour",
                        lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    ctx = tool_context(image, s1=dets)
    ctx.cache = ResultCache()
    first = ColourTool().run(ColourTool.Args(source="s1"), ctx)
    assert first.value == ["red", "blue"] and len(calls) == 2
    # verification asks again about the same boxes and one new one
    more = Detections([[160, 40, 260, 140], [20, 20, 120, 120], [0, 0, 10, 10]], [0.8, 0.9, 0.3],
                      ["square", "circle", "dot"])
    names = colour.name_detections(image, more, cache=ctx.cache, image_hash=ctx.image_hash)
    assert names[:2] == ["blue", "red"] and len(calls) == 3
    # another image's hash never reads this one's names
    colour.name_detections(image, more, cache=ctx.cache, image_hash="other")
    assert len(calls) == 6
