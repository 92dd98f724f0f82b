"""A picture of one episode step: :func:`draw_step` (the trace PNGs, the HTML report, the demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from lavr.tools.detections import Detections
from lavr.tools.draw import draw_detections

if TYPE_CHECKING:
    from lavr.episodes.loop import StepRecord


def draw_step(rec: StepRecord, *, scale: int = 3) -> Image.Image:
    """A step's image with perceived elements, the chosen element and point, and the action.

    Args:
        rec: A step with ``image`` set.
        scale: Integer enlargement (nearest neighbour) before drawing.

    Returns:
        An RGB PIL image.
    """
    if rec.image is None:
        raise ValueError(f"step {rec.step} has no image to draw")
    image = np.asarray(Image.fromarray(rec.image).resize(
        (rec.image.shape[1] * scale, rec.image.shape[0] * scale), Image.NEAREST))
    if rec.overlay is not None and len(rec.overlay):
        dets = Detections(rec.overlay.xyxy * scale, rec.overlay.confidence, rec.overlay.label,
                          text=rec.overlay.text, data=dict(rec.overlay.data))
        captions = [str(dets.label[i]) + (f' "{dets.text[i]}"' if dets.text is not None
                                          and dets.text[i] else "") for i in range(len(dets))]
        img = draw_detections(image, dets, captions=captions)
    else:
        img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    if rec.target is not None:
        draw.rectangle([v * scale for v in rec.target], outline=(255, 0, 0), width=3)
    end = rec.action.end if rec.action.kind == "drag" else None
    if end is not None and rec.action.point is not None:  # a drag: a line from press to release
        path = [(p[0] * scale, p[1] * scale) for p in (rec.action.point, *rec.action.via, end)]
        draw.line(path, fill=(255, 0, 0), width=2)
        (x1, y1), (x2, y2) = path[-2], path[-1]
        length = max(float(np.hypot(x2 - x1, y2 - y1)), 1e-6)
        ux, uy, head = (x2 - x1) / length, (y2 - y1) / length, 4 * scale
        for side in (1, -1):  # the arrow head at the release point
            draw.line([x2, y2, x2 - head * ux + side * head * uy / 2,
                       y2 - head * uy - side * head * ux / 2], fill=(255, 0, 0), width=2)
    if rec.point is not None:
        x, y = rec.point[0] * scale, rec.point[1] * scale
        r = 3 * scale
        draw.ellipse([x - r, y - r, x + r, y + r], outline=(255, 0, 0), width=2)
        draw.line([x - 2 * r, y, x + 2 * r, y], fill=(255, 0, 0), width=2)
        draw.line([x, y - 2 * r, x, y + 2 * r], fill=(255, 0, 0), width=2)
    draw.rectangle([0, 0, img.size[0], 14], fill=(0, 0, 0))
    draw.text((3, 1), f"{rec.step}: {rec.action.describe()}  {rec.summary}"[:160], fill=(255, 255, 255))
    return img
