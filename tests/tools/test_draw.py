"""Overlays outline and label objects without recolouring them."""

from __future__ import annotations

import numpy as np

from lavr.tools.detections import Detections
from lavr.tools.draw import MIN_CONTRAST, draw_detections, outline_colours

BG = (200, 200, 200)
# a red, a green and a blue square, and a crimson-ish one next to red (close colours)
OBJECTS = [((20, 20, 60, 60), (230, 20, 30)), ((90, 20, 130, 60), (40, 180, 70)),
           ((20, 90, 60, 130), (10, 120, 210)), ((90, 90, 130, 130), (250, 240, 240))]


def _scene() -> tuple[np.ndarray, Detections]:
    image = np.full((160, 200, 3), BG, np.uint8)
    for (x1, y1, x2, y2), colour in OBJECTS:
        image[y1:y2, x1:x2] = colour
    boxes = np.array([box for box, _ in OBJECTS], float)
    return image, Detections(boxes, np.full(len(OBJECTS), 0.9), ["square"] * len(OBJECTS))


def _dist(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, float) - np.asarray(b, float)))


def test_boxes_are_outlines_in_colours_far_from_their_objects_and_objects_keep_their_pixels():
    image, dets = _scene()
    colours = outline_colours(image, dets)
    assert len(set(colours)) == len(colours)  # distinct
    out = np.asarray(draw_detections(image, dets))
    for ((x1, y1, x2, y2), colour), outline in zip(OBJECTS, colours, strict=True):
        assert _dist(outline, colour) >= MIN_CONTRAST
        assert (out[y1:y2, x1:x2] == colour).all()  # every object pixel untouched
        ring = out[y1 - 1, x1:x2]  # the row just above the object: the outline
        assert (ring == outline).all()


def test_labels_are_drawn_on_the_picture_beside_each_object():
    image, dets = _scene()
    out = np.asarray(draw_detections(image, dets, captions=["a", "b", "c", "d"]))
    changed = (out != image).any(axis=2)
    for (x1, y1, x2, y2), _ in OBJECTS:
        changed[max(0, y1 - 3):y2 + 3, max(0, x1 - 3):x2 + 3] = False  # object and outline
    assert changed.sum() > 4 * 30  # four label tags with text


def test_masks_are_outlined_not_filled():
    image = np.full((60, 80, 3), BG, np.uint8)
    mask = np.zeros((1, 60, 80), bool)
    yy, xx = np.mgrid[:60, :80]
    mask[0] = (yy - 30) ** 2 + (xx - 40) ** 2 <= 15 ** 2
    image[mask[0]] = (20, 40, 220)
    dets = Detections(np.array([[25, 15, 55, 45]], float), [0.8], ["circle"], mask=mask)
    out = np.asarray(draw_detections(image, dets, captions=[""]))
    assert (out[mask[0]] == (20, 40, 220)).all()  # the blue disc stays blue
    grown = (yy - 30) ** 2 + (xx - 40) ** 2 <= 17 ** 2
    ring = out[grown & ~mask[0]]
    (colour,) = outline_colours(image, dets)
    assert (ring == colour).all(axis=1).mean() > 0.9 and _dist(colour, (20, 40, 220)) > 120
