"""Drawing detections on images (annotated pictures for the CLI, demo and HTML traces).

Overlays never recolour what they mark: boxes are outlines drawn just outside
the box, masks are outlines just outside the mask, and nothing is filled over
an object. Each outline gets a colour far from the colour of the object it
marks (so "the square is green" is never contradicted by a green frame or a
tint) and, where the palette allows, different from the other outlines. Labels
sit on the picture in a small tag of the outline's colour, beside the object.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from lavr.tools.detections import Detections

#: Outline colours (RGB): saturated hues, then black and white.
PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40),
           (255, 255, 255), (0, 0, 0)]
#: Smallest RGB distance between an outline and the object it marks.
MIN_CONTRAST = 120.0

Box = tuple[float, float, float, float]


def _distance(a: tuple[int, ...] | np.ndarray, b: tuple[int, ...] | np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def object_colour(image: np.ndarray, dets: Detections, i: int) -> tuple[int, int, int]:
    """Median colour of detection ``i``: its mask pixels, else the middle half of its box."""
    h, w = image.shape[:2]
    if dets.mask is not None and dets.mask.shape[1:] == (h, w) and dets.mask[i].any():
        pixels = image[dets.mask[i]]
    else:
        x1, y1, x2, y2 = (float(v) for v in dets.xyxy[i])
        qx, qy = (x2 - x1) / 4, (y2 - y1) / 4
        xa, xb = int(max(0, x1 + qx)), int(min(w, max(x1 + qx + 1, x2 - qx)))
        ya, yb = int(max(0, y1 + qy)), int(min(h, max(y1 + qy + 1, y2 - qy)))
        pixels = image[ya:yb, xa:xb].reshape(-1, 3)
    if not len(pixels):
        return (128, 128, 128)
    return tuple(int(v) for v in np.median(pixels, axis=0))  # type: ignore[return-value]


def outline_colours(image: np.ndarray, dets: Detections) -> list[tuple[int, int, int]]:
    """One outline colour per detection: far from its object's colour, distinct if possible.

    Args:
        image: ``HxWx3 uint8 RGB``.
        dets: The detections (XYXY pixels; masks ``(N, H, W)`` if present).
    """
    chosen: list[tuple[int, int, int]] = []
    for i in range(len(dets)):
        obj = object_colour(image, dets, i)
        far = [c for c in PALETTE if _distance(c, obj) >= MIN_CONTRAST] or PALETTE
        fresh = [c for c in far if c not in chosen] or far
        # the first fresh colour in palette order that is clearly away from the object
        best = max(fresh, key=lambda c: (min(_distance(c, obj), 200.0), -PALETTE.index(c)))
        chosen.append(best)
    return chosen


def _mask_outline(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` of ``mask`` but outside it (``HxW bool``)."""
    grown = Image.fromarray(mask.astype(np.uint8) * 255).filter(
        ImageFilter.MaxFilter(2 * width + 1))
    return (np.asarray(grown) > 0) & ~mask


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _tag_place(box: Box, size: tuple[float, float], others: list[Box],
               image_size: tuple[int, int], gap: int) -> tuple[float, float]:
    """Top-left corner of a label tag of ``size`` beside ``box``, off the other objects."""
    x1, y1, x2, y2 = box
    tw, th = size
    width, height = image_size
    spots = [(x1 - gap, y1 - gap - th), (x1 - gap, y2 + gap), (x2 + gap - tw, y1 - gap - th),
             (x2 + gap - tw, y2 + gap), (x2 + gap, y1), (x1 - gap - tw, y1)]
    inside = [(min(max(0.0, x), width - tw), min(max(0.0, y), height - th)) for x, y in spots]
    for (x, y), (cx, cy) in zip(spots, inside, strict=True):
        tag = (cx, cy, cx + tw, cy + th)
        if (x, y) == (cx, cy) and not any(_overlaps(tag, o) for o in others + [box]):
            return cx, cy
    for cx, cy in inside:  # clipped to the picture, still off every object
        if not any(_overlaps((cx, cy, cx + tw, cy + th), o) for o in others + [box]):
            return cx, cy
    return inside[0]


def draw_detections(image: np.ndarray, dets: Detections, *, captions: list[str] | None = None,
                    colours: list[tuple[int, int, int]] | None = None) -> Image.Image:
    """Outline boxes and masks and label them on the picture; object pixels stay as they are.

    Args:
        image: ``HxWx3 uint8 RGB``.
        dets: What to draw (XYXY pixels; masks ``(N, H, W)`` bool, outlined when
            they match the image).
        captions: One caption per detection; defaults to ``dets.describe(i)`` and
            the confidence.
        colours: One outline colour per detection (default :func:`outline_colours`).

    Returns:
        A new RGB PIL image.
    """
    h, w = image.shape[:2]
    colours = colours or outline_colours(image, dets)
    width = max(3, min(w, h) // 120)
    out = image.copy()
    use_masks = dets.mask is not None and dets.mask.shape[1:] == (h, w)
    boxes: list[Box] = [tuple(float(v) for v in dets.xyxy[i]) for i in range(len(dets))]
    if use_masks and dets.mask is not None:
        for i, m in enumerate(dets.mask):
            out[_mask_outline(m, width)] = colours[i]
    img = Image.fromarray(out)
    draw = ImageDraw.Draw(img)
    if not use_masks:
        for i, (x1, y1, x2, y2) in enumerate(boxes):
            # PIL strokes inwards from the rectangle given: start `width` outside the box
            draw.rectangle([x1 - width, y1 - width, x2 + width - 1, y2 + width - 1],
                           outline=colours[i], width=width)
    font = ImageFont.load_default(size=max(11, min(w, h) // 32))
    pad = 2
    tags: list[Box] = []
    for i, box in enumerate(boxes):
        text = captions[i] if captions else f"{dets.describe(i)} {dets.confidence[i]:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        size = (right - left + 2 * pad, bottom - top + 2 * pad)
        others = [b for j, b in enumerate(boxes) if j != i] + tags
        x, y = _tag_place(box, size, others, (w, h), width + 1)
        tags.append((x, y, x + size[0], y + size[1]))
        colour = colours[i]
        ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
        draw.rectangle([x, y, x + size[0] - 1, y + size[1] - 1], fill=colour)
        draw.text((x + pad - left, y + pad - top), text, fill=ink, font=font)
    return img
