"""Tests for lavr.apps.synthetic_scenes: determinism, exact boxes, colours, text."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from lavr.apps.synthetic_scenes import (
    BACKGROUNDS,
    COLOUR_JITTER,
    COLOURS,
    MIN_FONT_SIZE,
    SHAPES,
    Scene,
    SceneObject,
    render_scene,
)


def hsv_name(rgb: tuple[int, int, int] | np.ndarray) -> str:
    """The simplest colour namer a colour tool might use: grey, or a hue band."""
    r, g, b = (float(v) / 255 for v in rgb)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    if s < 0.25 or v < 0.2:
        return "grey"
    deg = h * 360
    for name, upper in (
        ("red", 15),
        ("orange", 40),
        ("yellow", 75),
        ("green", 170),
        ("blue", 250),
        ("purple", 320),
    ):
        if deg < upper:
            return name
    return "red"


def scenes(n: int, seed: int = 0, **kwargs) -> list[Scene]:
    rng = np.random.default_rng(seed)
    return [render_scene(rng, **kwargs) for _ in range(n)]


def test_same_seed_same_scene() -> None:
    a = scenes(3, seed=7, text="EXIT")
    b = scenes(3, seed=7, text="EXIT")
    for sa, sb in zip(a, b, strict=True):
        np.testing.assert_array_equal(sa.image, sb.image)
        assert sa.objects == sb.objects
        assert sa.texts == sb.texts
    c = scenes(1, seed=8, text="EXIT")[0]
    assert not np.array_equal(a[0].image, c.image)


@pytest.mark.parametrize("size", [(320, 320), (400, 240)])
def test_image_format_and_boxes_inside(size: tuple[int, int]) -> None:
    width, height = size
    for scene in scenes(40, seed=1, width=width, height=height, text="Gate B"):
        assert scene.image.shape == (height, width, 3)
        assert scene.image.dtype == np.uint8
        assert 1 <= len(scene.objects) <= 6
        for obj in scene.objects + scene.texts:
            x1, y1, x2, y2 = obj.xyxy
            assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height


def test_object_sizes_stay_detectable() -> None:
    sides = [
        min(o.xyxy[2] - o.xyxy[0], o.xyxy[3] - o.xyxy[1])
        for s in scenes(60, seed=2)
        for o in s.objects
    ]
    # Occlusion may trim a box, but never below ~70% of the minimum size.
    assert min(sides) >= 15
    assert max(sides) >= 80  # sizes really vary


def test_boxes_are_tight_around_their_colour() -> None:
    """Each box edge row/column holds pixels of the object's colour; outside does not matter."""
    for scene in scenes(30, seed=3):
        for obj in scene.objects:
            x1, y1, x2, y2 = (int(v) for v in obj.xyxy)
            crop = scene.image[y1:y2, x1:x2].astype(int)
            target = np.array(COLOURS[obj.colour])
            match = np.all(np.abs(crop - target) <= COLOUR_JITTER, axis=2)
            assert match[0].any() and match[-1].any(), obj
            assert match[:, 0].any() and match[:, -1].any(), obj


def test_non_occluded_circle_centre_has_its_colour() -> None:
    checked = 0
    for scene in scenes(30, seed=4, shapes=("circle",), allow_overlap=False):
        for obj in scene.objects:
            x1, y1, x2, y2 = obj.xyxy
            pixel = scene.image[int((y1 + y2) / 2), int((x1 + x2) / 2)].astype(int)
            assert np.all(np.abs(pixel - np.array(COLOURS[obj.colour])) <= COLOUR_JITTER)
            checked += 1
    assert checked >= 30


def test_colours_are_unambiguous_to_an_hsv_namer() -> None:
    rng = np.random.default_rng(5)
    for name, rgb in COLOURS.items():
        for _ in range(200):
            jitter = rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3)
            assert hsv_name(np.clip(np.array(rgb) + jitter, 0, 255)) == name


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_backgrounds_read_as_grey(background: str) -> None:
    for scene in scenes(10, seed=6, background=background, n_objects=1):
        mask = np.ones(scene.image.shape[:2], dtype=bool)
        x1, y1, x2, y2 = (int(v) for v in scene.objects[0].xyxy)
        mask[y1:y2, x1:x2] = False
        pixels = scene.image[mask][::97]
        assert all(hsv_name(p) == "grey" for p in pixels)


def test_overlap_keeps_objects_mostly_visible_and_colours_distinct() -> None:
    overlaps = 0
    for scene in scenes(80, seed=7, n_objects=6):
        for i, a in enumerate(scene.objects):
            for b in scene.objects[i + 1 :]:
                ix = min(a.xyxy[2], b.xyxy[2]) - max(a.xyxy[0], b.xyxy[0])
                iy = min(a.xyxy[3], b.xyxy[3]) - max(a.xyxy[1], b.xyxy[1])
                if ix > 0 and iy > 0:
                    overlaps += 1
                    assert a.colour != b.colour
    assert overlaps > 0  # overlaps do happen by default


def test_no_overlap_when_disallowed() -> None:
    for scene in scenes(30, seed=8, n_objects=6, allow_overlap=False):
        for i, a in enumerate(scene.objects):
            for b in scene.objects[i + 1 :]:
                assert (
                    a.xyxy[2] <= b.xyxy[0]
                    or b.xyxy[2] <= a.xyxy[0]
                    or a.xyxy[3] <= b.xyxy[1]
                    or b.xyxy[3] <= a.xyxy[1]
                )


def test_text_box_present_dark_on_white_and_clear_of_shapes() -> None:
    for scene in scenes(20, seed=9, text="No entry"):
        assert len(scene.texts) == 1
        text = scene.texts[0]
        assert text.text == "No entry"
        assert text.label_xyxy is not None
        lx1, ly1, lx2, ly2 = (int(v) for v in text.label_xyxy)
        tx1, ty1, tx2, ty2 = (int(v) for v in text.xyxy)
        assert lx1 <= tx1 < tx2 <= lx2 and ly1 <= ty1 < ty2 <= ly2
        assert ty2 - ty1 >= MIN_FONT_SIZE // 2  # cap height of a >= 24 px font
        ink = scene.image[ty1:ty2, tx1:tx2].mean(axis=2)
        assert ink.min() < 60 and ink.max() > 200  # black glyphs on white
        assert scene.image[ly1, lx1].tolist() == [255, 255, 255]
        for obj in scene.objects:
            ox1, oy1, ox2, oy2 = obj.xyxy
            assert ox2 <= lx1 or lx2 <= ox1 or oy2 <= ly1 or ly2 <= oy1
    assert scenes(1, seed=9)[0].texts == []


def test_shape_and_colour_subsets_are_respected() -> None:
    for scene in scenes(10, seed=10, shapes=("triangle",), colours=("blue", "red")):
        assert {o.shape for o in scene.objects} == {"triangle"}
        assert {o.colour for o in scene.objects} <= {"blue", "red"}


def test_exact_count() -> None:
    assert all(len(s.objects) == 3 for s in scenes(10, seed=11, n_objects=3))


def test_to_yolo_labels() -> None:
    scene = Scene(
        image=np.zeros((100, 200, 3), dtype=np.uint8),
        objects=[SceneObject("triangle", "red", (20.0, 10.0, 60.0, 50.0))],
    )
    (line,) = scene.to_yolo_labels(SHAPES)
    cls, cx, cy, w, h = line.split()
    assert int(cls) == SHAPES.index("triangle")
    assert [float(v) for v in (cx, cy, w, h)] == pytest.approx([0.2, 0.3, 0.2, 0.4])
    with pytest.raises(ValueError, match="triangle"):
        scene.to_yolo_labels(["circle"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shapes": ("hexagon",)}, "shapes"),
        ({"colours": ("teal",)}, "colours"),
        ({"background": "sky"}, "background"),
        ({"n_objects": (3, 1)}, "n_objects"),
        ({"width": 100, "height": 100}, "too small"),
        ({"text": "   "}, "visible"),
        ({"text": "a much too long sentence for this image"}, "needs"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        render_scene(np.random.default_rng(0), **kwargs)


def test_scene_rejects_wrong_image() -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        Scene(image=np.zeros((10, 10), dtype=np.uint8))
