"""Small pixel helpers shared by the OCR, colour and crop/zoom tools.

Images are ``HxWx3 uint8 RGB`` numpy arrays; boxes are XYXY pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from lavr.tools.errors import ToolError

#: A box as integer pixel bounds ``(x1, y1, x2, y2)``; ``x2``/``y2`` exclusive.
IntBox = tuple[int, int, int, int]


def check_image(image: np.ndarray, *, tool: str) -> np.ndarray:
    """Check that ``image`` is an ``HxWx3 uint8`` array.

    Args:
        image: The array to check.
        tool: Tool name used in the error.

    Returns:
        The same array.

    Raises:
        ToolError: Wrong type, shape, dtype or zero size.
    """
    if not isinstance(image, np.ndarray):
        raise ToolError(tool, f"expected an HxWx3 uint8 image array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ToolError(tool, f"expected an HxWx3 uint8 image, got shape {image.shape} "
                              f"dtype {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ToolError(tool, f"image has zero size {image.shape}")
    return image


def clip_box(box: Sequence[float], shape: tuple[int, ...], *, tool: str) -> IntBox:
    """Round a XYXY box outward to whole pixels and clip it to the image.

    Args:
        box: ``[x1, y1, x2, y2]`` pixels.
        shape: The image shape ``(H, W, ...)``.
        tool: Tool name used in the error.

    Returns:
        ``(x1, y1, x2, y2)`` integers with ``0 <= x1 < x2 <= W`` and
        ``0 <= y1 < y2 <= H``.

    Raises:
        ToolError: Not four finite numbers, not ordered, or outside the image.
    """
    values = [float(v) for v in box]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ToolError(tool, f"expected a box [x1, y1, x2, y2] of 4 finite numbers, got {list(box)}")
    x1, y1, x2, y2 = values
    if x2 <= x1 or y2 <= y1:
        raise ToolError(tool, f"box {format_box(values)} is empty: expected x1 < x2 and y1 < y2")
    h, w = shape[0], shape[1]
    cx1, cy1 = max(0, math.floor(x1)), max(0, math.floor(y1))
    cx2, cy2 = min(w, math.ceil(x2)), min(h, math.ceil(y2))
    if cx2 <= cx1 or cy2 <= cy1:
        raise ToolError(tool, f"box {format_box(values)} is outside the {w}x{h} image")
    return cx1, cy1, cx2, cy2


def expand_box(box: Sequence[float], margin: float) -> list[float]:
    """Grow a XYXY box by ``margin`` times its width/height on every side."""
    x1, y1, x2, y2 = (float(v) for v in box)
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    return [x1 - dx, y1 - dy, x2 + dx, y2 + dy]


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize an ``HxWx3 uint8`` array by ``scale`` with LANCZOS resampling."""
    if scale == 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))


def format_box(box: Sequence[float]) -> str:
    """``[12,30,60,80]``: a box rounded to whole pixels, for summaries."""
    return "[" + ",".join(str(round(float(v))) for v in box) + "]"
