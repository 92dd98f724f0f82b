"""Drawing detections on images (annotated pictures for the CLI, demo and HTML traces)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lavr.tools.detections import Detections

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40)]


def draw_detections(image: np.ndarray, dets: Detections, *, captions: list[str] | None = None,
                    mask_alpha: float = 0.35) -> Image.Image:
    """Draw boxes, masks and captions.

    Args:
        image: ``HxWx3 uint8 RGB``.
        dets: What to draw (XYXY pixels; masks ``(N, H, W)`` if present).
        captions: One caption per detection; defaults to ``dets.describe(i)``.
        mask_alpha: Mask overlay opacity.

    Returns:
        A new RGB PIL image.
    """
    base = image.astype(np.float32).copy()
    if dets.mask is not None and dets.mask.shape[1:] == image.shape[:2]:
        for i, m in enumerate(dets.mask):
            colour = np.asarray(PALETTE[i % len(PALETTE)], dtype=np.float32)
            base[m] = base[m] * (1 - mask_alpha) + colour * mask_alpha
    img = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    size = max(12, min(img.size) // 30)
    font = ImageFont.load_default(size=size)
    width = max(2, min(img.size) // 200)
    for i in range(len(dets)):
        colour = PALETTE[i % len(PALETTE)]
        x1, y1, x2, y2 = (float(v) for v in dets.xyxy[i])
        draw.rectangle([x1, y1, x2, y2], outline=colour, width=width)
        text = captions[i] if captions else f"{dets.describe(i)} {dets.confidence[i]:.2f}"
        tb = draw.textbbox((x1, y1), text, font=font)
        ty = y1 - (tb[3] - tb[1]) - 4 if y1 - (tb[3] - tb[1]) - 4 >= 0 else y2 + 2
        draw.rectangle([x1, ty, x1 + (tb[2] - tb[0]) + 4, ty + (tb[3] - tb[1]) + 4], fill=colour)
        draw.text((x1 + 2, ty), text, fill=(255, 255, 255), font=font)
    return img
