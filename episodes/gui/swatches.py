"""Colour swatches on a screen: flat patches of one colour, matched to colour words or samples.

A **swatch** is a connected region of one exact colour with nothing drawn inside it
(no text, no icon): a coloured box, a tile of a palette, a square of colour set into a
line of text. :func:`find_swatches` finds them among the exact-colour regions the
screen parser already cuts (:func:`lavr.episodes.gui.perception.colour_regions`),
pale ones included (a tint of 10 % differs from white by a few grey levels only, far
below any ink threshold).

Two questions are asked of them:

* **which one is this colour?** — :func:`closest` ranks swatches by perceptual
  distance (CIE Lab ΔE) to a reference colour: the RGB prototype of a colour word
  (:func:`lavr.tools.colour.colour_rgb`) or the pixels of a swatch shown in the
  instruction itself;
* **which ones are shades of this colour?** — :func:`shades_of` keeps the swatches
  whose hue lies within :data:`HUE_TOLERANCE` degrees of the reference hue, whatever
  their lightness and saturation (a pale pink and a dark maroon are both shades of
  red; a grey is a shade of nothing).

``HxWx3 uint8 RGB`` images and XYXY pixel boxes, as everywhere in the agent. Nothing
here knows a page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.perception import Box, colour_regions, fill_holes
from lavr.tools.colour import colour_rgb, hue_chroma, lab

#: Smallest side (px) of a swatch.
MIN_SIDE = 6
#: Smallest area / box area of a swatch (rounded corners allowed; rings and glyphs not).
MIN_SOLIDITY = 0.85
#: Largest share of a swatch's box that may be something else enclosed by it (text, icons).
MAX_HOLES = 0.02
#: A swatch's sides differ by at most this factor (boxes and tiles, not rules or bars).
MAX_ASPECT = 2.5
#: Largest hue difference (degrees) between a shade and the colour it is a shade of:
#: half the 60-degree step between neighbouring primary and secondary hues.
HUE_TOLERANCE = 30.0
#: Smallest chroma (0..255, max - min channel) with a hue at all (greys have none).
MIN_CHROMA = 8.0


@dataclass(frozen=True)
class Swatch:
    """One flat patch of colour.

    Attributes:
        box: ``(x1, y1, x2, y2)`` pixels, exclusive ends.
        rgb: Its colour.
        area: Its pixel count.
    """

    box: Box
    rgb: tuple[int, int, int]
    area: int

    @property
    def center(self) -> tuple[float, float]:
        """``(x, y)`` centre of the box."""
        return (self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0

    def describe(self) -> str:
        """E.g. ``swatch #ff0000 @(40,60)``."""
        r, g, b = self.rgb
        return f"swatch #{r:02x}{g:02x}{b:02x} @({self.center[0]:.0f},{self.center[1]:.0f})"


def find_swatches(image: np.ndarray, *, within: Box | None = None,
                  exclude: Sequence[Box] = ()) -> list[Swatch]:
    """The swatches of an image (or of the part ``within``), in reading order.

    The page background (the largest region) and regions that enclose ``exclude`` boxes
    are not swatches.

    Args:
        image: ``HxWx3 uint8 RGB``.
        within: Only look inside this box (e.g. the instruction banner).
        exclude: Boxes that are something else (the banner, when looking at the page).

    Returns:
        :class:`Swatch` objects sorted top to bottom, left to right.
    """
    img = np.asarray(image)
    ox = oy = 0
    if within is not None:
        x1, y1, x2, y2 = within
        img, ox, oy = img[y1:y2, x1:x2], x1, y1
    if img.size == 0:
        return []
    out = []
    for r in _foreground_regions(img, MIN_SIDE * MIN_SIDE):
        x1, y1, x2, y2 = r.box
        w, h = x2 - x1, y2 - y1
        if min(w, h) < MIN_SIDE or max(w, h) > MAX_ASPECT * min(w, h):
            continue
        if r.solidity < MIN_SOLIDITY:
            continue
        holes = int(fill_holes(r.mask).sum()) - r.area
        if holes > MAX_HOLES * w * h:
            continue
        box = (x1 + ox, y1 + oy, x2 + ox, y2 + oy)
        if any(_inside(e, box) or _inside(box, e) for e in exclude):
            continue
        out.append(Swatch(box, r.fill, r.area))
    return sorted(out, key=lambda s: (s.box[1] // 4, s.box[0]))


#: A colour field (a box of one colour holding a line of text) is at least this wide and
#: tall (px), and at most this many times as wide as tall.
FIELD_MIN_WIDTH = 30
FIELD_MIN_HEIGHT = 10
FIELD_MAX_ASPECT = 10.0
#: Share of a colour field's box that its text (the holes of its colour) covers, at least.
FIELD_MIN_TEXT = 0.02
#: A hex colour code as a colour field shows it (``AB2567``, ``#ab2567``).
HEX_CODE = re.compile(r"#?[0-9a-f]{6}", re.IGNORECASE)
#: What OCR reads for hex digits.
_HEX_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "Q": "0", "I": "1", "l": "1",
                                 "|": "1", "S": "5", "s": "5", "Z": "2", "z": "2", "G": "6",
                                 "g": "9", "T": "7"})


@dataclass(frozen=True)
class TextPatch:
    """A box of one colour holding text (a field drawn on its colour, a coloured button).

    Attributes:
        box: ``(x1, y1, x2, y2)`` pixels of the patch, exclusive ends.
        rgb: The patch's colour.
        ink: The box of the text inside it.
    """

    box: Box
    rgb: tuple[int, int, int]
    ink: Box


def _foreground_regions(image: np.ndarray, min_pixels: int) -> list:
    """The regions of one exact colour of ``image`` (at least ``min_pixels``), the largest
    (the page's background) left out."""
    regions = colour_regions(np.ascontiguousarray(image), min_pixels=min_pixels)
    if not regions:
        return []
    background = max(regions, key=lambda r: r.area)
    return [r for r in regions if r is not background]


def text_patches(image: np.ndarray, *, exclude: Sequence[Box] = ()) -> list[TextPatch]:
    """Boxes of one exact colour with a line of text inside (the page background and
    regions around ``exclude`` boxes are not), in reading order: where a colour field shows
    its value on that colour (see :func:`hex_code`)."""
    out = []
    for r in _foreground_regions(image, FIELD_MIN_WIDTH * FIELD_MIN_HEIGHT // 2):
        x1, y1, x2, y2 = r.box
        w, h = x2 - x1, y2 - y1
        if w < FIELD_MIN_WIDTH or h < FIELD_MIN_HEIGHT or w > FIELD_MAX_ASPECT * h:
            continue
        filled = fill_holes(r.mask)
        if filled.sum() < MIN_SOLIDITY * w * h:
            continue
        holes = filled & ~r.mask
        if holes.sum() < FIELD_MIN_TEXT * w * h:
            continue
        ys, xs = np.nonzero(holes)
        if any(_inside(e, r.box) or _inside(r.box, e) for e in exclude):
            continue
        ink = (x1 + int(xs.min()), y1 + int(ys.min()), x1 + int(xs.max()) + 1, y1 + int(ys.max()) + 1)
        out.append(TextPatch(r.box, r.fill, ink))
    return sorted(out, key=lambda p: (p.box[1] // 4, p.box[0]))


def hex_code(text: str) -> str:
    """The hex colour code a text reads as (``"AB2S67"`` -> ``"ab2567"``), or ``""``."""
    squashed = re.sub(r"[^0-9A-Za-z#|]", "", text)  # (a field's edge read as a bracket)
    for candidate in (squashed, squashed.strip("|"), squashed.translate(_HEX_LOOKALIKES)):
        if HEX_CODE.fullmatch(candidate):
            return candidate.lstrip("#").lower()
    return ""


def rgb_hex(rgb: Sequence[float]) -> str:
    """``(171, 37, 103)`` -> ``"ab2567"``."""
    return "".join(f"{int(round(min(255.0, max(0.0, float(v))))):02x}" for v in rgb)


def _inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and \
        inner[3] <= outer[3]


def reference_colour(word: str) -> tuple[int, int, int] | None:
    """The RGB a colour word stands for, or None for a word that is no colour."""
    return colour_rgb(word)


def colour_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Perceptual distance (CIE76 ΔE in Lab) between two RGB colours."""
    la, lb = lab(np.asarray([a, b], dtype=np.float32))
    return float(np.linalg.norm(la - lb))


def closest(swatches: Sequence[Swatch], rgb: Sequence[float]) -> list[tuple[float, Swatch]]:
    """``(ΔE, swatch)`` pairs, the closest in colour to ``rgb`` first."""
    if not swatches:
        return []
    labs = lab(np.asarray([s.rgb for s in swatches], dtype=np.float32))
    ref = lab(np.asarray([rgb], dtype=np.float32))[0]
    dist = np.linalg.norm(labs - ref, axis=1)
    return sorted(zip(dist.tolist(), swatches, strict=True), key=lambda t: t[0])


def hue_gap(a: float, b: float) -> float:
    """Degrees between two hues on the colour wheel (0..180)."""
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def shades_of(swatches: Sequence[Swatch], rgb: Sequence[float]) -> list[Swatch]:
    """The swatches that are shades of ``rgb``: a hue within :data:`HUE_TOLERANCE` degrees
    of its hue, any lightness and saturation (greys are shades of nothing)."""
    ref_hue, ref_chroma = hue_chroma(rgb)
    if ref_chroma < MIN_CHROMA:
        return []
    out = []
    for s in swatches:
        hue, chroma = hue_chroma(s.rgb)
        if chroma >= MIN_CHROMA and hue_gap(hue, ref_hue) <= HUE_TOLERANCE:
            out.append(s)
    return out
