"""Name the dominant colour of objects.

Colour names come from fixed HSV rules (:func:`name_colour`); an object's
colour is the most common name among its pixels (:func:`dominant_colour`),
taken from its mask when present, else from its shrunken box with pixels close
to the surrounding background colour left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from lavr.tools.base import (
    MAX_STEP_ID,
    ArtifactStore,
    DerivedTool,
    ResultCache,
    Tool,
    ToolArgs,
    ToolContext,
    ToolResult,
)
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.evidence import Evidence
from lavr.tools.pixels import check_image, clip_box
from lavr.tools.vocab import COLOUR_NAMES as COLOUR_NAMES  # every name name_colour gives
from lavr.tools.vocab import COLOUR_RGB, tally

logger = logging.getLogger(__name__)

TOOL_NAME = "colour"
#: Hue bands in degrees: (upper bound, name); the first band whose bound exceeds the hue wins.
_HUE_BANDS = ((15.0, "red"), (40.0, "orange"), (70.0, "yellow"), (165.0, "green"),
              (195.0, "cyan"), (255.0, "blue"), (300.0, "purple"), (345.0, "pink"),
              (360.1, "red"))
#: Below this value (0..1) a pixel is black.
BLACK_VALUE = 0.2
#: Below this saturation a pixel is white, grey or black.
GREY_SATURATION = 0.25
#: Above this value an unsaturated pixel is white.
WHITE_VALUE = 0.8
#: Orange/red hues darker than this value are brown.
BROWN_VALUE = 0.62
#: Each side of a box is moved inwards by this fraction of the box size.
BOX_SHRINK = 0.15
#: Pixels within this RGB distance of the background median are background.
BACKGROUND_DISTANCE = 50.0
#: If fewer than this fraction of box pixels differ from the background, use them all.
MIN_FOREGROUND = 0.05
#: At most this many pixels are classified per object (evenly subsampled).
MAX_PIXELS = 40_000


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360), saturation and value in [0, 1] for ``(N, 3)`` RGB."""
    x = rgb.astype(np.float32) / 255.0
    mx, mn = x.max(axis=1), x.min(axis=1)
    delta = mx - mn
    safe = np.where(delta > 0, delta, 1.0)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    hue = np.where(mx == r, ((g - b) / safe) % 6.0,
                   np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)) * 60.0
    hue = np.where(delta > 0, hue, 0.0)
    sat = np.where(mx > 0, delta / np.where(mx > 0, mx, 1.0), 0.0)
    return hue, sat, mx


def _hue_names(hue: np.ndarray) -> np.ndarray:
    bounds = np.array([b for b, _ in _HUE_BANDS])
    names = np.array([n for _, n in _HUE_BANDS], dtype=object)
    return names[np.searchsorted(bounds, hue, side="right")]


def name_pixels(rgb: np.ndarray) -> np.ndarray:
    """Colour names for many pixels.

    Args:
        rgb: ``(N, 3)`` RGB values in 0..255.

    Returns:
        ``(N,) object`` array of names from :data:`COLOUR_NAMES`.
    """
    hue, sat, val = _hsv(np.asarray(rgb).reshape(-1, 3))
    names = _hue_names(hue)
    warm = (hue >= 10.0) & (hue < 45.0)
    names = np.where(warm & (val < BROWN_VALUE), "brown", names)
    reddish = (hue >= 300.0) | (hue < 15.0)
    names = np.where(reddish & (sat < 0.5) & (val > 0.7), "pink", names)
    grey = np.where(val > WHITE_VALUE, "white", "grey")
    names = np.where(sat < GREY_SATURATION, grey, names)
    return np.where(val < BLACK_VALUE, "black", names).astype(object)


def name_colour(rgb: Sequence[float]) -> str:
    """The name of one RGB colour.

    Rules (HSV): value < 0.2 is black; saturation < 0.25 is white (value > 0.8)
    or grey; otherwise the hue band names it (red < 15°, orange < 40°,
    yellow < 70°, green < 165°, cyan < 195°, blue < 255°, purple < 300°,
    pink < 345°, then red), except dark orange-red hues (value < 0.62) are
    brown and pale reds/magentas (saturation < 0.5, value > 0.7) are pink.

    Args:
        rgb: ``(r, g, b)`` in 0..255.

    Returns:
        One of :data:`COLOUR_NAMES`.

    Raises:
        ValueError: Not three numbers.
    """
    values = np.asarray(rgb, dtype=np.float32).reshape(-1)
    if values.shape != (3,):
        raise ValueError(f"expected an (r, g, b) triple, got {list(rgb)}")
    return str(name_pixels(np.clip(values, 0, 255).reshape(1, 3))[0])


def colour_rgb(word: str) -> tuple[int, int, int] | None:
    """The RGB prototype of a colour word (:data:`COLOUR_RGB`), or None for another word."""
    return COLOUR_RGB.get(word.strip().lower())


def nearest_colour_word(rgb: Sequence[float]) -> str:
    """The colour word of :data:`COLOUR_RGB` whose prototype is closest to ``rgb`` (CIE Lab)."""
    names = list(COLOUR_RGB)
    protos = lab(np.asarray([COLOUR_RGB[n] for n in names], dtype=np.float32))
    dist = np.linalg.norm(protos - lab(np.asarray([rgb], dtype=np.float32))[0], axis=1)
    return names[int(np.argmin(dist))]


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of ``(N, 3)`` sRGB values in 0..255, as ``(N, 3) float32``."""
    x = np.asarray(rgb, dtype=np.float32).reshape(-1, 3) / 255.0
    x = np.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                  [0.0193, 0.1192, 0.9505]], dtype=np.float32)
    xyz = x @ m.T / np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack([116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]),
                     200.0 * (f[:, 1] - f[:, 2])], axis=1).astype(np.float32)


def hue_chroma(rgb: Sequence[float]) -> tuple[float, float]:
    """``(hue in degrees [0, 360), chroma = max - min channel in 0..255)`` of one RGB colour."""
    values = np.clip(np.asarray(rgb, dtype=np.float32).reshape(1, 3), 0, 255)
    hue, _, _ = _hsv(values)
    return float(hue[0]), float(values.max() - values.min())


def _majority(pixels: np.ndarray) -> str:
    if len(pixels) > MAX_PIXELS:
        pixels = pixels[:: len(pixels) // MAX_PIXELS + 1]
    names, counts = np.unique(name_pixels(pixels).astype(str), return_counts=True)
    return str(names[int(np.argmax(counts))])


def _background(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """Median RGB of a thin ring just outside ``box`` (None when the box fills the image)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    t = max(2, round(0.03 * min(x2 - x1, y2 - y1)))
    ox1, oy1, ox2, oy2 = max(0, x1 - t), max(0, y1 - t), min(w, x2 + t), min(h, y2 + t)
    ring = np.ones((oy2 - oy1, ox2 - ox1), dtype=bool)
    ring[y1 - oy1:y2 - oy1, x1 - ox1:x2 - ox1] = False
    pixels = image[oy1:oy2, ox1:ox2][ring]
    return np.median(pixels, axis=0) if len(pixels) else None


def _box_pixels(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """Pixels of the shrunken box that differ from the surrounding background."""
    ibox = clip_box(box, image.shape, tool=TOOL_NAME)
    x1, y1, x2, y2 = ibox
    dx, dy = int((x2 - x1) * BOX_SHRINK), int((y2 - y1) * BOX_SHRINK)
    inner = image[y1 + dy:max(y2 - dy, y1 + dy + 1), x1 + dx:max(x2 - dx, x1 + dx + 1)]
    pixels = inner.reshape(-1, 3)
    bg = _background(image, ibox)
    if bg is None:
        return pixels
    far = np.linalg.norm(pixels.astype(np.float32) - bg, axis=1) > BACKGROUND_DISTANCE
    if far.mean() < MIN_FOREGROUND:
        return pixels
    return pixels[far]


def dominant_colour(image: np.ndarray, box: Sequence[float] | None = None,
                    mask: np.ndarray | None = None) -> str:
    """The most common colour name of an object's pixels.

    Args:
        image: ``HxWx3 uint8 RGB``.
        box: XYXY pixels; used when ``mask`` is None or empty. The box is
            shrunk by 15% per side and pixels close to the median colour of a
            thin ring around the box (the background) are ignored, unless that
            leaves almost nothing.
        mask: ``HxW bool`` object mask; wins over ``box``.

    Returns:
        One of :data:`COLOUR_NAMES`; with neither box nor mask, the whole image's.

    Raises:
        ToolError: Bad image, box, or a mask of another size than the image.
    """
    check_image(image, tool=TOOL_NAME)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != image.shape[:2]:
            raise ToolError(TOOL_NAME, f"mask is {mask.shape}, expected the image size "
                                       f"{image.shape[:2]}")
        if mask.any():
            return _majority(image[mask])
    if box is not None:
        return _majority(_box_pixels(image, box))
    return _majority(image.reshape(-1, 3))


def name_detections(image: np.ndarray, dets: Detections, *, cache: ResultCache | None = None,
                    image_hash: str = "") -> list[str]:
    """The dominant colour of every detection (mask when present, else box).

    Args:
        image: ``HxWx3 uint8 RGB``.
        dets: The objects (XYXY pixels).
        cache: The run's result cache: a box already named on this image (by an
            earlier step, or by verification) is not named again. Masked objects
            are always named afresh.
        image_hash: Content hash of ``image`` (no caching without it).
    """
    names = []
    for i in range(len(dets)):
        mask = None if dets.mask is None else dets.mask[i]
        key = None
        if cache is not None and image_hash and mask is None:
            key = ResultCache.key(image_hash, "colour.box",
                                  {"xyxy": [float(v) for v in dets.xyxy[i]]})
            hit = cache.get(key)
            if isinstance(hit, str):
                names.append(hit)
                continue
        name = dominant_colour(image, dets.xyxy[i], mask)
        if key is not None and cache is not None:
            cache.put(key, name)
        names.append(name)
    return names


class ColourTool(DerivedTool):
    """Name the dominant colour of each object found by an earlier step."""

    name: ClassVar[str] = TOOL_NAME
    description: ClassVar[str] = (
        "Name the dominant colour (red, orange, yellow, green, cyan, blue, purple, pink, "
        "brown, white, grey, black) of each object found by an earlier step.")

    class Args(ToolArgs):
        source: str = Field(max_length=MAX_STEP_ID)

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``What colour is each of them?``"""
        return "What colour is each of them?"

    def found(self, evidence: Evidence, artifacts: ArtifactStore) -> str | None:
        """The objects with their colours (``a red circle and two blue squares``)."""
        dets = artifacts.find_detections(evidence.artifact_id)
        if dets is None or len(dets) == 0:
            return None
        return tally((dets.describe(i) for i in range(len(dets))), articles=True)

    def run(self, args: Args, ctx: ToolContext) -> ToolResult:
        """Add ``data["colour"]``; value is the list of colour names."""
        dets = ctx.detections(args.source, tool=self.name)
        coloured = dets.with_data("colour", name_detections(
            ctx.image, dets, cache=ctx.cache, image_hash=ctx.image_hash))
        if len(coloured) == 0:
            summary = f"colour: no objects to name (step {args.source!r} found none)"
        else:
            shown = ", ".join(coloured.describe(i) for i in range(min(len(coloured), 10)))
            more = f" and {len(coloured) - 10} more" if len(coloured) > 10 else ""
            summary = f"colour: {shown}{more}"
        return ToolResult(
            summary=summary,
            value=[str(c) for c in coloured.data["colour"]],
            artifact_id=self.store_detections(coloured, ctx),
            boxes=[[round(float(v), 1) for v in b] for b in coloured.xyxy[:5]],
        )


TOOLS: list[Tool] = [ColourTool()]
