"""Crop and zoom: look closer at a box or at one object of an earlier step.

Crops are stored in the artifact store as ``HxWx3 uint8 RGB`` arrays; the
result value says which box was cut and the crop's size. :func:`tiles` splits
an image into overlapping tiles for small objects or text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, model_validator

from lavr.tools.base import MAX_STEP_ID, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.errors import ToolError
from lavr.tools.pixels import IntBox, check_image, clip_box, expand_box, format_box, resize

logger = logging.getLogger(__name__)

#: Boxes taken from detections grow by this fraction of their size per side.
MARGIN = 0.05
#: Upsampled crops are capped at this many pixels on the longer side.
MAX_OUTPUT_SIDE = 4096


@dataclass(frozen=True)
class Crop:
    """A cut-out of the image.

    Attributes:
        box: The pixels cut, ``(x1, y1, x2, y2)`` in the full image.
        image: ``HxWx3 uint8 RGB``, upsampled by ``scale``.
        scale: The upsampling actually applied (after the size cap).
    """

    box: IntBox
    image: np.ndarray
    scale: float


def crop(image: np.ndarray, box: Sequence[float], *, margin: float = 0.0, scale: float = 1.0,
         tool: str = "crop") -> Crop:
    """Cut a box out of an image and optionally upsample it (LANCZOS).

    Args:
        image: ``HxWx3 uint8 RGB``.
        box: XYXY pixels.
        margin: Grow the box by this fraction of its width/height per side.
        scale: Upsampling factor (>= 1); lowered so the longer side stays
            within :data:`MAX_OUTPUT_SIDE`.
        tool: Tool name used in errors.

    Returns:
        The :class:`Crop`.

    Raises:
        ToolError: Bad image, an empty box, a box outside the image, or scale < 1.
    """
    check_image(image, tool=tool)
    if not scale >= 1.0:
        raise ToolError(tool, f"scale must be >= 1, got {scale}")
    x1, y1, x2, y2 = clip_box(box, image.shape, tool=tool)
    if margin > 0:
        x1, y1, x2, y2 = clip_box(expand_box((x1, y1, x2, y2), margin), image.shape, tool=tool)
    cut = np.ascontiguousarray(image[y1:y2, x1:x2])
    applied = max(1.0, min(float(scale), MAX_OUTPUT_SIDE / max(cut.shape[:2])))
    if applied != scale:
        logger.info("%s: scale %.2f capped to %.2f for a %dx%d crop", tool, scale, applied,
                    cut.shape[1], cut.shape[0])
    return Crop((x1, y1, x2, y2), resize(cut, applied), applied)


def tiles(image: np.ndarray, n_rows: int, n_cols: int, *,
          overlap: float = 0.1) -> list[tuple[IntBox, np.ndarray]]:
    """Split an image into a grid of overlapping tiles, row by row.

    Args:
        image: ``HxWx3`` array.
        n_rows: Rows of the grid (>= 1).
        n_cols: Columns of the grid (>= 1).
        overlap: Each tile grows by this fraction of the grid cell size, half
            on each side, clipped to the image (0 <= overlap < 1). With 0 the
            tiles partition the image exactly.

    Returns:
        ``(box, tile)`` pairs: ``box`` is ``(x1, y1, x2, y2)`` pixels in the
        image, ``tile`` a view ``image[y1:y2, x1:x2]``.

    Raises:
        ValueError: A grid size below 1, more cells than pixels, or overlap
            outside [0, 1).
    """
    h, w = image.shape[:2]
    if n_rows < 1 or n_cols < 1 or n_rows > h or n_cols > w:
        raise ValueError(f"expected 1 <= n_rows <= {h} and 1 <= n_cols <= {w}, "
                         f"got {n_rows}x{n_cols}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    cell_w, cell_h = w / n_cols, h / n_rows
    pad_x, pad_y = cell_w * overlap / 2, cell_h * overlap / 2
    out: list[tuple[IntBox, np.ndarray]] = []
    for r in range(n_rows):
        for c in range(n_cols):
            x1 = max(0, round(c * cell_w - pad_x))
            y1 = max(0, round(r * cell_h - pad_y))
            x2 = min(w, round((c + 1) * cell_w + pad_x))
            y2 = min(h, round((r + 1) * cell_h + pad_y))
            out.append(((x1, y1, x2, y2), image[y1:y2, x1:x2]))
    return out


class CropArgs(ToolArgs):
    """Which box to cut: ``box`` itself, or object ``index`` of step ``source``."""

    box: list[float] | None = Field(None, min_length=4, max_length=4,
                                    description="XYXY pixel box; or give source instead")
    source: str | None = Field(None, max_length=MAX_STEP_ID,
                               description="step id whose detections to cut from")
    index: int = Field(0, ge=0, le=999, description="which detection of source (0 = first)")

    @model_validator(mode="after")
    def _one_target(self) -> CropArgs:
        if (self.box is None) == (self.source is None):
            raise ValueError("give exactly one of box or source, got "
                             + ("both" if self.box is not None else "neither"))
        return self


class ZoomArgs(CropArgs):
    """:class:`CropArgs` plus the upsampling factor."""

    scale: float = Field(2.0, ge=1.0, le=8.0, description="upsampling factor")


def target_region(tool: str, ctx: ToolContext, *, box: list[float] | None, source: str | None,
                  index: int, verb: str) -> tuple[list[float], float, str]:
    """The region a tool looks at: an explicit XYXY box, or object ``index`` of step ``source``.

    Returns:
        ``(box, margin, words)``: pixels, the margin to add (0 for explicit boxes), and a
        phrase naming the region for summaries.

    Raises:
        ToolError: The step found no objects, or ``index`` is out of range.
    """
    if box is not None:
        return list(box), 0.0, f"box {format_box(box)}"
    dets = ctx.detections(source or "", tool=tool)
    if len(dets) == 0:
        raise ToolError(tool, f"step {source!r} has no objects to {verb}")
    if index >= len(dets):
        raise ToolError(tool, f"index {index} is out of range: step {source!r} "
                              f"has {len(dets)} objects (0..{len(dets) - 1})")
    region = [float(v) for v in dets.xyxy[index]]
    return region, MARGIN, f"{dets.describe(index)} {format_box(region)} of {source}"


class CropTool(Tool):
    """Cut a box, or an object of an earlier step, out of the image."""

    name: ClassVar[str] = "crop"
    description: ClassVar[str] = (
        "Cut a box [x1,y1,x2,y2], or object `index` of an earlier step, out of the image "
        "(no enlarging); returns the crop's box and size.")
    Args: ClassVar[type[ToolArgs]] = CropArgs
    refs: ClassVar[tuple[str, ...]] = ("source",)
    cacheable: ClassVar[bool] = False
    upsample: ClassVar[bool] = False

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``What does the region look like up close?``"""
        return "What does the region look like up close?"

    def _target(self, args: CropArgs, ctx: ToolContext) -> tuple[list[float], float, str]:
        """The box to cut, its margin, and words naming it."""
        return target_region(self.name, ctx, box=args.box, source=args.source, index=args.index,
                             verb=self.name)

    def run(self, args: CropArgs, ctx: ToolContext) -> ToolResult:
        """Cut (and for zoom, upsample) the target; store the crop as an image artifact."""
        box, margin, what = self._target(args, ctx)
        scale = getattr(args, "scale", 1.0) if self.upsample else 1.0
        cut = crop(ctx.image, box, margin=margin, scale=scale, tool=self.name)
        h, w = cut.image.shape[:2]
        value: dict[str, Any] = {"box": list(cut.box), "width": w, "height": h}
        how = f" at {cut.scale:g}x" if self.upsample else ""
        return ToolResult(
            summary=f"{self.name}: {what} → {w}x{h} px{how} (pixels {format_box(cut.box)})",
            value=value,
            artifact_id=ctx.artifacts.put(cut.image, prefix="img"),
            boxes=[[float(v) for v in cut.box]],
        )


class ZoomTool(CropTool):
    """Cut a box, or an object of an earlier step, and enlarge it (LANCZOS)."""

    name: ClassVar[str] = "zoom"
    description: ClassVar[str] = (
        "Enlarge a box [x1,y1,x2,y2], or object `index` of an earlier step, by `scale` (1-8) "
        "to look at small details; returns the crop's box and size.")
    Args: ClassVar[type[ToolArgs]] = ZoomArgs
    upsample: ClassVar[bool] = True


TOOLS: list[Tool] = [ZoomTool(), CropTool()]
