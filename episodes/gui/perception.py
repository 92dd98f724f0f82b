"""Screen perception from pixels: UI elements by classical CV, their text by OCR.

Web widgets are drawn as flat, uniformly filled shapes inside one-pixel
borders, so a screenshot segments cleanly into regions of one exact colour.
:func:`find_elements` keeps the regions that look like widgets and names them
by shape, size and fill:

* ``button``   — a non-white rectangle up to 160 px tall (buttons, tabs, section headers) that
  holds no other widget; a rectangle that does is a container and is dropped;
* ``input``    — a white rectangle 24+ px wide and 8-60 px tall inside a
  border (text fields, text areas; ``icon="grip"`` when the bottom-right
  corner shows a resize grip);
* ``checkbox`` — a small square (7-22 px); ``radio`` — a small disc;
* ``link``     — a run of saturated blue text (hyperlinks);
* ``text``     — dark text on the page background (labels, paragraphs).

A full-width band touching the top edge (MiniWoB++'s instruction bar) is
reported as ``banner`` and never as a target. Text is read afterwards, only
for the elements that need it, with :class:`TextReader` (EasyOCR recognition on
a zoomed crop). Nothing here looks at the DOM: the input is an ``HxWx3 uint8
RGB`` screenshot.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import numpy as np
from PIL import Image

from lavr.episodes.gui.appearance import line_words, read_glyphs, split_glyphs
from lavr.tools.detections import Detections

logger = logging.getLogger(__name__)

#: Every element kind :func:`find_elements` can return.
ELEMENT_KINDS = ("button", "input", "checkbox", "radio", "link", "text", "banner")
#: Kinds an agent can act on.
INTERACTIVE_KINDS = ("button", "input", "checkbox", "radio", "link")
#: Colour regions smaller than this many pixels are ignored.
MIN_REGION_PIXELS = 24
#: A region is a rectangle when this fraction of its bounding-box outline belongs to it.
RECT_OUTLINE_COVERAGE = 0.75
#: Grey level below which a pixel on a light background counts as text ink.
INK_GREY = 185
#: Blue minus max(red, green) above which a pixel is link ink.
LINK_BLUE_MARGIN = 40
#: Horizontal gap (px) that still joins link glyphs (the underline joins a word's letters).
LINK_GAP = 2
#: Horizontal gap (px) that still joins words into one line.
LINE_GAP = 6
#: A run of ink rows this tall (px) or taller is a line of text (not a dot or an accent).
MIN_LINE = 5
#: Width/height above which a round capital glyph is the letter ``O`` (the digit ``0`` is narrower).
O_WIDTH = 0.8

Box = tuple[int, int, int, int]


def boxes_overlap(a: Box, b: Box) -> bool:
    """Two XYXY pixel boxes share some area (touching edges do not count)."""
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def box_within(inner: Box, outer: Box, *, margin: int = 1) -> bool:
    """XYXY box ``inner`` lies within ``outer``, give or take ``margin`` px on each side."""
    return inner[0] >= outer[0] - margin and inner[1] >= outer[1] - margin and \
        inner[2] <= outer[2] + margin and inner[3] <= outer[3] + margin


@dataclass(frozen=True)
class ScreenElement:
    """One widget or text run seen on the screen.

    Attributes:
        kind: One of :data:`ELEMENT_KINDS`.
        box: ``(x1, y1, x2, y2)`` XYXY pixels, ``x2``/``y2`` exclusive.
        fill: The region's fill colour, RGB.
        text_boxes: Where the element's text is, one box per line (inside a
            button, the label right of a checkbox, the link itself); empty
            when it has none.
        text: Recognised text (empty until read).
        text_confidence: OCR confidence of ``text`` in [0, 1].
        anchor: Where to click when not the box centre (a partly covered
            button: the visible point farthest from its edges).
        icon: A recognised icon: ``"close"`` (an x drawn in a small button),
            ``"grip"`` (a text area's resize grip) or ``""``.
    """

    kind: str
    box: Box
    fill: tuple[int, int, int] = (255, 255, 255)
    text_boxes: tuple[Box, ...] = ()
    text: str = ""
    text_confidence: float = 0.0
    icon: str = ""
    anchor: tuple[float, float] | None = None

    @property
    def center(self) -> tuple[float, float]:
        """``(x, y)`` centre of the box in pixels."""
        x1, y1, x2, y2 = self.box
        return (x1 + x2) / 2.0, (y1 + y2) / 2.0

    @property
    def click_point(self) -> tuple[float, float]:
        """Where a click lands on this element: ``anchor`` if set, else the centre."""
        return self.anchor if self.anchor is not None else self.center

    @property
    def width(self) -> int:
        """Box width in pixels."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        """Box height in pixels."""
        return self.box[3] - self.box[1]

    def describe(self) -> str:
        """Short text for traces, e.g. ``button "Submit" @(80,120)``."""
        x, y = self.center
        label = f' "{self.text}"' if self.text else ""
        icon = f" [{self.icon}]" if self.icon else ""
        return f"{self.kind}{label}{icon} @({x:.0f},{y:.0f})"


@dataclass
class ScreenParse:
    """Everything perceived on one screenshot.

    Attributes:
        image: The screenshot, ``HxWx3 uint8 RGB``.
        elements: Elements in reading order (top to bottom, left to right).
        banner: Box of the instruction banner, if one was found.
    """

    image: np.ndarray
    elements: list[ScreenElement] = field(default_factory=list)
    banner: Box | None = None

    def of_kind(self, *kinds: str) -> list[ScreenElement]:
        """Elements whose kind is one of ``kinds``, in reading order."""
        return [e for e in self.elements if e.kind in kinds]

    def to_detections(self) -> Detections:
        """The elements as one :class:`~lavr.tools.detections.Detections` (label = kind)."""
        if not self.elements:
            return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), [], text=[])
        return Detections(
            np.asarray([e.box for e in self.elements], dtype=np.float32),
            np.asarray([e.text_confidence if e.text else 1.0 for e in self.elements]),
            [e.kind for e in self.elements],
            text=[e.text for e in self.elements],
            data={"icon": [e.icon for e in self.elements]},
        )


# -- colour regions ------------------------------------------------------------
@dataclass(frozen=True)
class _Region:
    box: Box
    fill: tuple[int, int, int]
    area: int
    outline: float  # fraction of the bbox outline inside the region
    solidity: float  # area / bbox area
    mask: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros((0, 0), bool))


def _colour_keys(image: np.ndarray) -> np.ndarray:
    rgb = image.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _outline_coverage(comp: np.ndarray) -> float:
    h, w = comp.shape
    total = 2 * w + 2 * max(h - 2, 0)
    inside = int(comp[0].sum() + comp[-1].sum())
    if h > 2:
        inside += int(comp[1:-1, 0].sum() + comp[1:-1, -1].sum())
    return inside / max(total, 1)


def colour_regions(image: np.ndarray, *, min_pixels: int = MIN_REGION_PIXELS) -> list[_Region]:
    """Connected regions of one exact colour, at least 6x6 px and ``min_pixels`` large.

    Args:
        image: ``HxWx3 uint8 RGB``.
        min_pixels: Smallest region kept.

    Returns:
        Regions with their box, fill colour, outline coverage and solidity.
    """
    import cv2

    keys = _colour_keys(image)
    values, counts = np.unique(keys, return_counts=True)
    out: list[_Region] = []
    for value in values[counts >= min_pixels]:
        mask = (keys == value).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        fill = (int(value) >> 16 & 255, int(value) >> 8 & 255, int(value) & 255)
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            if w < 6 or h < 6 or area < min_pixels:
                continue
            comp = labels[y:y + h, x:x + w] == i
            out.append(_Region((x, y, x + w, y + h), fill, area, _outline_coverage(comp),
                               area / float(w * h), comp))
    return out


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every enclosed hole filled (what the region covers, text included)."""
    import cv2

    h, w = mask.shape
    canvas = np.zeros((h + 2, w + 2), np.uint8)
    canvas[1:-1, 1:-1] = mask
    flood = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(canvas, flood, (0, 0), 2)
    return canvas[1:-1, 1:-1] != 2


def _visible_point(region: _Region) -> tuple[float, float]:
    """The point of a region farthest from its edges (where a click surely lands on it)."""
    import cv2

    filled = fill_holes(region.mask).astype(np.uint8)
    dist = cv2.distanceTransform(np.pad(filled, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return region.box[0] + x + 0.5, region.box[1] + y + 0.5


def _outline_coverage_with(region: _Region, boxes: Sequence[Box], margin: int = 2) -> float:
    """Outline coverage counting pixels hidden under other widgets as covered."""
    comp = region.mask.copy()
    x1, y1, _, _ = region.box
    h, w = comp.shape
    for bx1, by1, bx2, by2 in boxes:
        xa, ya = max(bx1 - margin - x1, 0), max(by1 - margin - y1, 0)
        xb, yb = min(bx2 + margin - x1, w), min(by2 + margin - y1, h)
        if xa < xb and ya < yb:
            comp[ya:yb, xa:xb] = True
    return _outline_coverage(comp)


def _is_white(fill: tuple[int, int, int]) -> bool:
    return min(fill) >= 250


def _ring_darkness(grey: np.ndarray, box: Box, fill_grey: float) -> float:
    """Mean contrast between a box's fill and the 1-px ring just outside it."""
    x1, y1, x2, y2 = box
    h, w = grey.shape
    xa, ya, xb, yb = max(x1 - 1, 0), max(y1 - 1, 0), min(x2, w - 1), min(y2, h - 1)
    ring = np.concatenate([grey[ya, xa:xb + 1], grey[yb, xa:xb + 1],
                           grey[ya:yb + 1, xa], grey[ya:yb + 1, xb]]).astype(np.float32)
    return float(np.mean(np.abs(ring - fill_grey)))


def _contains(outer: Box, inner: Box, margin: int = 0) -> bool:
    return (outer[0] - margin <= inner[0] and outer[1] - margin <= inner[1]
            and inner[2] <= outer[2] + margin and inner[3] <= outer[3] + margin and outer != inner)


def _classify(region: _Region, grey: np.ndarray, shape: tuple[int, int]) -> str | None:
    x1, y1, x2, y2 = region.box
    w, h = x2 - x1, y2 - y1
    height, width = shape
    if y1 == 0 and w >= 0.95 * width and not _is_white(region.fill) and h < 0.5 * height:
        return "banner"
    if w * h > 0.5 * width * height:
        return None  # page background
    if 7 <= w <= 22 and 7 <= h <= 22 and abs(w - h) <= 3:
        if region.outline >= RECT_OUTLINE_COVERAGE:
            r, g, b = region.fill
            grey_fill = max(r, g, b) - min(r, g, b) < 20 and not _is_white(region.fill)
            return "button" if grey_fill else "checkbox"  # a checked box is saturated
        if region.solidity >= 0.55 and _is_white(region.fill):
            return "radio"
        return None
    if region.outline < RECT_OUTLINE_COVERAGE:
        return None
    if _is_white(region.fill):
        fill_grey = float(np.mean(region.fill))
        tall_area = 60 < h <= 160 and has_grip(grey, region.box)  # a text area drawn tall
        if w >= 24 and (8 <= h <= 60 or tall_area) and \
                _ring_darkness(grey, region.box, fill_grey) > 40:
            return "input"
        return None
    if w >= 10 and 8 <= h <= 160 and w * h <= 0.4 * width * height:
        return "button"
    return None


# -- text runs -----------------------------------------------------------------
def _runs(mask_1d: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """``[start, end)`` runs of True, joining runs separated by at most ``gap`` False."""
    idx = np.flatnonzero(mask_1d)
    if len(idx) == 0:
        return []
    runs: list[tuple[int, int]] = []
    start = prev = int(idx[0])
    for i in idx[1:]:
        i = int(i)
        if i - prev - 1 > gap:
            runs.append((start, prev + 1))
            start = i
        prev = i
    runs.append((start, prev + 1))
    return runs


def text_runs(ink: np.ndarray, *, gap: int = LINE_GAP, offset: tuple[int, int] = (0, 0)) -> list[Box]:
    """Boxes of text lines in an ink mask: rows of ink, then runs along each row.

    Args:
        ink: ``HxW bool`` mask of text pixels.
        gap: Largest horizontal gap (px) inside one run.
        offset: ``(x, y)`` added to every box.

    Returns:
        XYXY boxes, top to bottom then left to right.
    """
    boxes: list[Box] = []
    ox, oy = offset
    for ya, yb in _runs(ink.any(axis=1), 0):
        band = ink[ya:yb]
        for xa, xb in _runs(band.any(axis=0), gap):
            sub = band[:, xa:xb]
            lines = _runs(sub.any(axis=1), 0)
            if len(lines) > 1 and min(b - a for a, b in lines) >= MIN_LINE:
                # two lines kept in one band only by something beside them (an icon
                # spanning both): one box each
                for ra, rb in lines:
                    cols = np.flatnonzero(sub[ra:rb].any(axis=0))
                    boxes.append((xa + int(cols[0]) + ox, ya + ra + oy,
                                  xa + int(cols[-1]) + 1 + ox, ya + rb + oy))
                continue
            rows = np.flatnonzero(sub.any(axis=1))
            boxes.append((xa + ox, ya + int(rows[0]) + oy, xb + ox, ya + int(rows[-1]) + 1 + oy))
    return boxes


def ink_mask(image: np.ndarray) -> np.ndarray:
    """``HxW bool``: dark text pixels (grey below :data:`INK_GREY`)."""
    return image.astype(np.float32).mean(axis=2) < INK_GREY


def link_mask(image: np.ndarray) -> np.ndarray:
    """``HxW bool``: saturated blue pixels (hyperlink text and underlines)."""
    rgb = image.astype(np.int32)
    return (rgb[..., 2] - np.maximum(rgb[..., 0], rgb[..., 1])) > LINK_BLUE_MARGIN


def drop_underlines(mask: np.ndarray) -> np.ndarray:
    """A copy of a text mask without underline rows.

    An underline joins the words of neighbouring links; it is the bottom row
    of a band of ink rows, filled over most of the band's width.
    """
    out = mask.copy()
    for ya, yb in _runs(mask.any(axis=1), 0):
        cols = np.flatnonzero(mask[ya:yb].any(axis=0))
        width = int(cols[-1] - cols[0] + 1)
        for y in range(max(yb - 2, ya), yb):
            if mask[y].sum() >= 0.6 * width and yb - ya > 2:
                out[y] = False
    return out


def drop_vertical_rules(mask: np.ndarray, *, min_height: int = 16,
                        max_width: int = 2) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """A copy of a text mask without vertical rules (a menu's or a panel's border), which
    would join the text lines beside them into one block: runs of ink at least
    ``min_height`` px tall in a column, at most ``max_width`` columns wide.

    Returns:
        The mask, and the rules removed as ``(x, y1, y2)``.
    """
    out = mask.copy()
    rules: list[tuple[int, int, int]] = []
    h, w = mask.shape
    for x in range(w):
        for ya, yb in _runs(mask[:, x], 0):
            if yb - ya < min_height:
                continue
            lo, hi = max(x - max_width, 0), min(x + max_width + 1, w)
            # a glyph's stem has ink beside it somewhere along the run; a rule is bare
            beside = mask[ya:yb, lo:hi].sum(axis=1) - mask[ya:yb, x]
            if np.mean(beside > max_width) < 0.5:
                out[ya:yb, x] = False
                rules.append((x, ya, yb))
    return out, rules


def _text_runs_split(ink: np.ndarray, rules: Sequence[tuple[int, int, int]]) -> list[Box]:
    """:func:`text_runs`, with the text on either side of each vertical rule kept apart
    (a menu drawn over a page: its lines and the page's lines interleave)."""
    parts = [ink]
    for x, ya, yb in rules:
        split = []
        for part in parts:
            left, right = part.copy(), np.zeros_like(part)
            right[ya:yb, x + 1:] = part[ya:yb, x + 1:]
            left[ya:yb, x:] = False
            split.extend(p for p in (left, right) if p.any())
        parts = split
    boxes = sorted({b for part in parts for b in text_runs(part, gap=LINE_GAP)})
    return sorted(boxes, key=lambda b: (b[1], b[0]))


# -- icons ---------------------------------------------------------------------
def _is_close_icon(patch_ink: np.ndarray) -> bool:
    """An x: ink covers both diagonals of its own bounding square."""
    ys, xs = np.nonzero(patch_ink)
    if len(xs) < 8:
        return False
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    w, h = x2 - x1 + 1, y2 - y1 + 1
    if w < 4 or h < 4 or max(w, h) > 1.6 * min(w, h):
        return False
    sub = patch_ink[y1:y2 + 1, x1:x2 + 1]
    t = np.linspace(0.0, 1.0, 9)
    main = [sub[int(round(v * (h - 1))), int(round(v * (w - 1)))] for v in t]
    anti = [sub[int(round(v * (h - 1))), int(round((1 - v) * (w - 1)))] for v in t]
    centre_rows = sub[h // 2 - 1:h // 2 + 2].mean()
    # an x fills both diagonals but leaves the middle of each edge empty
    edges = np.concatenate([sub[0, w // 3:2 * w // 3], sub[-1, w // 3:2 * w // 3]]).mean()
    return float(np.mean(main)) >= 0.75 and float(np.mean(anti)) >= 0.75 and edges < 0.5 and \
        centre_rows > 0.1


def has_grip(grey: np.ndarray, box: Box) -> bool:
    """A text area's resize grip: two or more parallel ``/`` strokes in the bottom-right corner."""
    x1, y1, x2, y2 = box
    corner = grey[max(y2 - 10, y1):y2, max(x2 - 10, x1):x2] < 200
    ii, jj = np.nonzero(corner)
    if len(ii) < 6:
        return False
    diag, counts = np.unique(ii + jj, return_counts=True)
    strokes = diag[counts >= 3]
    on_strokes = counts[counts >= 3].sum()
    return len(strokes) >= 2 and on_strokes >= 0.8 * len(ii)


# -- elements ------------------------------------------------------------------
def _label_right(ink: np.ndarray, box: Box, max_width: int = 140) -> Box | None:
    """The text run right of a small widget (checkbox or radio label)."""
    x1, y1, x2, y2 = box
    h, w = ink.shape
    ya, yb = max(y1 - 4, 0), min(y2 + 4, h)
    xa, xb = min(x2 + 1, w), min(x2 + max_width, w)
    if xb - xa < 3:
        return None
    runs = text_runs(ink[ya:yb, xa:xb], offset=(xa, ya))
    runs = [r for r in runs if r[0] - x2 <= 12]
    return min(runs, key=lambda r: r[0]) if runs else None


def _dedupe(elements: list[ScreenElement]) -> list[ScreenElement]:
    out: list[ScreenElement] = []
    for e in sorted(elements, key=lambda e: -(e.width * e.height)):
        if any(o.kind == e.kind and _iou(o.box, e.box) > 0.6 for o in out):
            continue
        out.append(e)
    return out


def _iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def _reading_order(elements: Iterable[ScreenElement]) -> list[ScreenElement]:
    return sorted(elements, key=lambda e: (e.box[1] // 6, e.box[0], e.box[1]))


def find_elements(image: np.ndarray) -> ScreenParse:
    """Find UI elements on a screenshot (no text read yet; see :func:`read_texts`).

    Args:
        image: ``HxWx3 uint8 RGB`` screenshot.

    Returns:
        A :class:`ScreenParse` with buttons, inputs, checkboxes, radios, links and
        text runs in reading order; ``text_box`` set where text belongs.

    Raises:
        ValueError: ``image`` is not ``HxWx3 uint8``.
    """
    if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
            and image.dtype == np.uint8):
        raise ValueError(f"expected an HxWx3 uint8 RGB screenshot, got "
                         f"{getattr(image, 'shape', type(image))} {getattr(image, 'dtype', '')}")
    grey = image.astype(np.float32).mean(axis=2)
    shape = (image.shape[0], image.shape[1])
    banner: Box | None = None
    widgets: list[ScreenElement] = []
    masks: dict[Box, np.ndarray] = {}
    rejected: list[_Region] = []
    for region in colour_regions(image):
        kind = _classify(region, grey, shape)
        if kind == "banner":
            if banner is None or region.box[3] > banner[3]:
                banner = region.box
        elif kind is not None:
            widgets.append(ScreenElement(kind, region.box, region.fill))
            masks[region.box] = region.mask
        elif not _is_white(region.fill) and region.solidity >= 0.3:
            rejected.append(region)
    # a button partly covered by another one: rectangular once the cover counts as its own
    buttons = [w.box for w in widgets if w.kind == "button"]
    for region in rejected:
        if any(_contains(w.box, region.box, 1) for w in widgets):
            continue  # an icon or glyph inside a widget, not a covered widget
        if _outline_coverage_with(region, buttons) >= RECT_OUTLINE_COVERAGE and \
                _classify(dataclasses.replace(region, outline=1.0), grey, shape) == "button":
            widgets.append(ScreenElement("button", region.box, region.fill,
                                         anchor=_visible_point(region)))
            masks[region.box] = region.mask
    widgets = _dedupe(widgets)
    # a button holding another widget is a container (tab bar, dialog title bar)
    widgets = [w for w in widgets if not (w.kind == "button" and any(
        _contains(w.box, o.box, 1) for o in widgets if o is not w))]
    # a small widget inside an input is part of it (a text area's grip, a spinner)
    widgets = [w for w in widgets if not (w.kind in ("checkbox", "radio") and any(
        o.kind == "input" and _contains(o.box, w.box, 1) for o in widgets))]
    ink = ink_mask(image)
    blue = link_mask(image)
    page_ink = ink & ~blue
    covered = np.zeros(shape, dtype=bool)
    if banner is not None:
        covered[banner[1]:banner[3], banner[0]:banner[2]] = True
    elements: list[ScreenElement] = []
    for w in widgets:
        x1, y1, x2, y2 = w.box
        covered[max(y1 - 2, 0):y2 + 2, max(x1 - 2, 0):x2 + 2] = True
        if w.kind == "button":
            if min(w.fill) < 140:  # light text on a dark or saturated fill
                inner = np.abs(grey[y1:y2, x1:x2] - float(np.mean(w.fill))) > 60
            else:
                inner = ink[y1:y2, x1:x2].copy()
            own = masks.get(w.box)
            if own is not None:  # only ink enclosed by this button's own fill
                inner &= fill_holes(own) & ~own
            inner[[0, -1], :] = False
            inner[:, [0, -1]] = False
            runs = text_runs(inner, gap=LINE_GAP, offset=(x1, y1))
            icon = "close" if (w.width <= 30 and w.height <= 30 and _is_close_icon(inner)) else ""
            elements.append(dataclasses.replace(w, text_boxes=tuple(runs), icon=icon))
        elif w.kind in ("checkbox", "radio"):
            label = _label_right(page_ink, w.box)
            elements.append(dataclasses.replace(w, text_boxes=(label,) if label else ()))
        else:
            elements.append(dataclasses.replace(w, icon="grip" if has_grip(grey, w.box) else ""))
    for lb in text_runs(drop_underlines(blue & ~covered), gap=LINK_GAP):
        if lb[2] - lb[0] >= 4 and lb[3] - lb[1] >= 5:
            elements.append(ScreenElement("link", lb, (0, 0, 238), text_boxes=(lb,)))
    free_ink, rules = drop_vertical_rules(page_ink & ~covered)
    for e in elements:
        if e.kind in ("checkbox", "radio"):
            for b in e.text_boxes:
                free_ink[b[1]:b[3], b[0]:b[2]] = False
    for tb in _text_runs_split(free_ink, rules):
        if tb[3] - tb[1] >= 5 and tb[2] - tb[0] >= 3:
            elements.append(ScreenElement("text", tb, (0, 0, 0), text_boxes=(tb,)))
    return ScreenParse(image=image, elements=_reading_order(elements), banner=banner)


def _union(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


# -- reading text --------------------------------------------------------------
def _crop_key(image: np.ndarray, box: Box) -> str:
    crop = np.ascontiguousarray(image[box[1]:box[3], box[0]:box[2]])
    return hashlib.sha1(crop.tobytes() + repr(crop.shape).encode()).hexdigest()


class TextReader:
    """Reads the text of given boxes with EasyOCR recognition on a zoomed screenshot.

    Only recognition runs (no text detection): the boxes come from
    :func:`find_elements`, which makes a read cost tens of milliseconds.
    Results are cached by the crop's pixels, so an unchanged button is read once.

    Args:
        reader: An ``easyocr.Reader``; None loads the shared offline one on
            first use (:func:`lavr.tools.ocr.get_reader`).
        zoom: Upsampling factor before reading (small web text needs 3-4x).
        device: Device for the default reader (``cpu``, ``cuda``, ``auto``).
    """

    def __init__(self, reader: Any = None, *, zoom: float = 3.0, device: str | None = "cpu") -> None:
        self._reader = reader
        self.zoom = zoom
        self.device = device
        self._cache: dict[str, tuple[str, float]] = {}
        self._zooms: dict[float, TextReader] = {}

    @property
    def reader(self) -> Any:
        """The EasyOCR reader (loaded on first use)."""
        if self._reader is None:
            from lavr.tools.ocr import get_reader

            self._reader = get_reader(device=self.device)
        return self._reader

    def at_zoom(self, zoom: float) -> TextReader:
        """A reader sharing this one's recogniser at another zoom (this reader itself at its
        own zoom); made once per zoom and kept with this reader, with its own result cache."""
        if zoom == self.zoom:
            return self
        if zoom not in self._zooms:
            self._zooms[zoom] = TextReader(reader=self.reader, zoom=zoom, device=self.device)
        return self._zooms[zoom]

    def read(self, image: np.ndarray, boxes: Sequence[Box], *, pad: int = 2) -> list[tuple[str, float]]:
        """Recognise the text in each box.

        Args:
            image: ``HxWx3 uint8 RGB``.
            boxes: XYXY pixel boxes, one text line each.
            pad: Pixels added around each box before reading.

        Returns:
            ``(text, confidence)`` per box, in the order given.
        """
        h, w = image.shape[:2]
        padded = [(max(b[0] - pad, 0), max(b[1] - pad, 0), min(b[2] + pad, w), min(b[3] + pad, h))
                  for b in boxes]
        keys = [_crop_key(image, b) for b in padded]
        todo = sorted({(k, b) for k, b in zip(keys, padded, strict=True) if k not in self._cache})
        if todo:
            self._recognise(image, todo)
        return [self._cache.get(k, ("", 0.0)) for k in keys]

    def _recognise(self, image: np.ndarray, todo: list[tuple[str, Box]]) -> None:
        z = self.zoom
        grey = np.asarray(Image.fromarray(image).convert("L"))
        big = np.asarray(Image.fromarray(grey).resize(
            (int(round(grey.shape[1] * z)), int(round(grey.shape[0] * z))), Image.LANCZOS))
        wanted: dict[tuple[int, int], str] = {}
        hlist = []
        for key, (x1, y1, x2, y2) in todo:
            zb = [int(x1 * z), int(x2 * z), int(y1 * z), int(y2 * z)]
            if (zb[0], zb[2]) in wanted:
                continue
            wanted[(zb[0], zb[2])] = key
            hlist.append(zb)
        raw = self.reader.recognize(big, horizontal_list=hlist, free_list=[], detail=1,
                                    paragraph=False, batch_size=max(len(hlist), 1))
        for pts, text, conf in raw:
            key = wanted.get((int(pts[0][0]), int(pts[0][1])))
            if key is not None:
                self._cache[key] = (str(text).strip(), float(conf))
        for key in wanted.values():
            self._cache.setdefault(key, ("", 0.0))


def read_texts(parse: ScreenParse, reader: TextReader, *,
               kinds: Sequence[str] = ("button", "checkbox", "radio", "link", "text")) -> ScreenParse:
    """Fill ``text`` of the elements of ``kinds`` that have ``text_boxes`` (lines joined by spaces).

    Args:
        parse: Output of :func:`find_elements`.
        reader: The text reader.
        kinds: Which element kinds to read.

    Returns:
        A new :class:`ScreenParse` with texts set (others unchanged).
    """
    idx = [i for i, e in enumerate(parse.elements) if e.kind in kinds and e.text_boxes and not e.text]
    if not idx:
        return parse
    boxes = [b for i in idx for b in parse.elements[i].text_boxes]
    results = iter(reader.read(parse.image, boxes))
    elements = list(parse.elements)
    for i in idx:
        lines = [next(results) for _ in elements[i].text_boxes]
        text = " ".join(t for t, _ in lines if t)
        conf = min(c for _, c in lines)
        elements[i] = dataclasses.replace(elements[i], text=text, text_confidence=conf)
    return ScreenParse(image=parse.image, elements=elements, banner=parse.banner)


def instruction_lines(parse: ScreenParse, *, ink_grey: float = 150.0) -> list[Box]:
    """Boxes of the text lines inside the instruction banner, top to bottom (empty if none).

    Args:
        parse: Output of :func:`find_elements` (its ``banner``).
        ink_grey: Grey level below which a banner pixel is text.
    """
    if parse.banner is None:
        return []
    x1, y1, x2, y2 = parse.banner
    ink = parse.image[y1:y2, x1:x2].astype(np.float32).mean(axis=2) < ink_grey
    # a whole line is one box: words are joined across any gap narrower than the banner
    return [b for b in text_runs(ink, gap=x2 - x1, offset=(x1, y1)) if b[3] - b[1] >= 4]


#: Letters whose capital differs from the small letter mostly by height.
_SIZE_CASED = set("cosuvwxz")


def _mode(values: Sequence[int]) -> int:
    vals, counts = np.unique(np.asarray(values), return_counts=True)
    return int(vals[np.argmax(counts)])


#: A word opened by one kind of quote mark and closed by the other (``'vina"``).
_HALF_QUOTED = re.compile(r"(?<!\S)(?:['\u2018\u2019`]([^\s'\"]+)\"|\"([^\s'\"]+)['\u2018\u2019`])"
                          r"(?=[^\w'\"]|$)")


#: A space read before the closing quote of a quoted string ending in a mark.
_QUOTE_GAP = re.compile(r'(?<=[.,;:!?]) +"(?=[.,;:!?]*(?:\s|$))')


def refine_quoted(line: np.ndarray, text: str, *, ink_grey: float = 100.0,
                  word_gap: int = 3) -> str:
    """Fix the letter case and look-alikes OCR gets wrong inside quotes, from glyph geometry.

    Quoted strings are typed or matched verbatim, and a recogniser trained on
    words confuses ``y/Y``, ``z/Z/2``, ``1/I``, ``i/j`` in random strings. Each
    quoted character is checked against its own glyph: the line's baseline,
    x-height and cap height are the most common glyph bottoms and tops; a
    descender makes ``y p j`` (a round one ``Q``); a glyph reaching the cap
    height makes ``C O S U V W X Z``, one stopping at the x-height ``c o s u v
    w x z``; a round capital wider than :data:`O_WIDTH` of its height is ``O``,
    a narrower one ``0``; a footed digit is ``1``; a ``z`` at the cap height is ``Z``; a bar
    (``I`` or ``l``, alike in a sans-serif) inside a word of lower-case letters is ``l``
    (a first one is left as read: a capital starts a name); a flat bar above the baseline
    read as ``.`` is a minus (``"-5"`` read ``".5"``). Then
    each quoted glyph is compared with every letter and digit drawn in the page's font
    (:func:`~lavr.episodes.gui.appearance.read_glyphs`), which tells ``7`` from ``T`` and
    ``Z``, ``4`` from ``A``, ``1`` from ``I``. The line is cut into words and glyphs by
    :func:`~lavr.episodes.gui.appearance.line_words` (one cut, shared with ``word_box``);
    a word with fewer glyphs than characters (touching glyphs in bold text) is cut further
    and judged by the drawn glyphs alone; otherwise the text is returned unchanged.

    Args:
        line: ``HxWx3 uint8`` crop of one text line.
        text: The OCR reading of the line.
        ink_grey: Grey level below which a pixel is text.
        word_gap: Smallest column gap (px) between two words (the ``n`` widest gaps are
            the ``n`` spaces of the OCR text).

    Returns:
        ``text`` with quoted characters corrected.
    """
    if '"' not in text:
        return text
    # a word between a single and a double quote mark is quoted (``'vina"``: the two ticks
    # of a double quote drawn touching are read as one)
    text = _HALF_QUOTED.sub(lambda m: f'"{m[1] or m[2]}"', text)
    # a mark after a closing quote read as a word of its own ('auctor" .'): its gap is no space
    text = re.sub(r'(?<=\S")\s+(?=[.,;:!?]+(?:\s|$))', "", text)
    text = _QUOTE_GAP.sub('"', text)  # '"Cursus ut; ".' (an opening quote has no space after it)
    found = line_words(line, text, ink_grey=ink_grey, word_gap=word_gap)
    if found is None or sum(len(w) for w in found.words) < 4:
        return text
    ink, baseline, tall = found.ink, found.baseline, found.tall
    height = max(baseline - tall, 1)
    ocr_words, words = text.split(" "), found.words
    glyphs = [g for w in words for g in w]
    tops = [g[2] for g in glyphs if g[3] >= baseline - 1]
    small = [t for t in tops if t > tall + 0.25 * height]
    if not small:
        return text
    mid = (_mode(small) + tall) / 2.0  # between the x-height and the cap height
    out_words = []
    inside = False
    prose = _prose_words(ocr_words)
    for k, (word, gl) in enumerate(zip(ocr_words, words, strict=True)):
        chars = list(word)
        quoted: list[int] = []
        cut = split_glyphs(ink, gl, len(chars))  # (touching glyphs in bold text)
        if len(chars) != len(gl) and len(chars) == len(cut):
            # the cut is a guess: only the drawn glyphs may judge its characters
            inside = _reread_cut(line, chars, cut, inside, baseline=baseline, tall=tall,
                                 prose=k in prose)
            out_words.append("".join(chars))
            continue
        if len(chars) != len(gl):
            inside = inside ^ (word.count('"') % 2 == 1)
            out_words.append(word)
            continue
        for i, (c, (x1, x2, top, bottom)) in enumerate(zip(chars, gl, strict=True)):
            if c == '"':
                inside = not inside
                continue
            if not inside:
                continue
            quoted.append(i)
            desc = bottom > baseline + 1
            low = c.lower()
            if low in "yp":
                chars[i] = low if desc else low.upper()
            elif c in "ij":
                chars[i] = "j" if desc else "i"
            elif c in "0OoQ" and desc:  # a round glyph with a tail below the baseline
                chars[i] = "Q"
            elif c in "0O" and top < mid:  # the letter is wider than the digit
                chars[i] = "O" if (x2 - x1) > O_WIDTH * (bottom - top + 1) else "0"
            elif low in _SIZE_CASED and low != "z":
                chars[i] = low if top >= mid else low.upper()
            elif low == "z" or c == "2":
                if top >= mid:
                    chars[i] = "z"
                elif c == "z":
                    chars[i] = "Z"
            elif c in ".,_~-" and x2 - x1 >= max(2, bottom - top + 1) and bottom - top <= 2 \
                    and bottom < baseline - 1 and top > tall + 0.3 * (baseline - tall):
                chars[i] = "-"  # a flat bar above the baseline is a minus, not a dot
            elif c in "1Il|" and x2 - x1 >= 3 and k not in prose:
                foot = ink[bottom, x1:x2].sum()
                chars[i] = "1" if foot >= 3 else c
        rest = [chars[i] for i in quoted if chars[i] not in "Il"]
        if len(quoted) >= 4 and rest and all(c.isalpha() and c.islower() for c in rest):
            for i in quoted[1:]:  # a bar the pixels cannot tell: inside a lower-case word it
                chars[i] = "l" if chars[i] == "I" else chars[i]  # is l (first: Ignacio)
        if quoted:
            sub = read_glyphs(line, [gl[i] for i in quoted], "".join(chars[i] for i in quoted),
                              baseline=baseline, tall=tall)
            for i, c in zip(quoted, sub, strict=True):
                chars[i] = _keep_letter(chars[i], c, prose=k in prose)
        out_words.append("".join(chars))
    # (a line whose first quote closes one starts inside a quote opened on the line before)
    inside = re.match(r'[^"]*"(?:[.,;:!?]*(?:\s|$))', text) is not None
    for k, (word, gl) in enumerate(zip(out_words, words, strict=True)):
        if inside or '"' in word:
            out_words[k] = _end_punctuation(word, gl, baseline=baseline, xtop=_mode(small),
                                              ink=ink)
        inside = inside ^ (word.count('"') % 2 == 1)
    return " ".join(out_words)


def _glyph_mark(glyph: tuple[int, int, int, int], *, baseline: int, xtop: int) -> str:
    """The punctuation mark a glyph ``(x1, x2, top, bottom)`` is by its place on the line
    (``.`` ``,`` low; ``:`` ``;`` from the x-height down; a quote high), or ``""``."""
    x1, x2, top, bottom = glyph
    mid = (xtop + baseline) / 2.0
    desc = bottom > baseline  # (a comma's tail goes one pixel below the line at this size)
    if bottom <= mid and x2 - x1 <= 4:  # (a quote: a glyph of one tick or two)
        return '"'
    if x2 - x1 > 2:
        return ""
    if top > mid:
        return "," if desc else "."
    if top >= xtop - 1:
        return ";" if desc else ":"
    return ""


def _components(mask: np.ndarray) -> list[np.ndarray]:
    """8-connected components of a small ``HxW bool`` mask, each as an ``Nx2`` array of
    ``(row, col)`` pixels."""
    seen = np.zeros_like(mask, dtype=bool)
    out = []
    h, w = mask.shape
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if seen[r0, c0]:
            continue
        seen[r0, c0] = True
        stack, pixels = [(int(r0), int(c0))], []
        while stack:
            r, c = stack.pop()
            pixels.append((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        stack.append((rr, cc))
        out.append(np.asarray(pixels))
    return out


def split_low_mark(ink: np.ndarray, glyph: tuple[int, int, int, int], *,
                   baseline: int, xtop: int) -> list[tuple[int, int, int, int]]:
    """A glyph cut in two when a low mark (``.`` or ``,``) sits in its last columns without
    touching the letter (a bold ``r.``: the dot tucked under the ``r``'s arm makes one run
    of ink columns); ``[glyph]`` otherwise.

    Args:
        ink: ``HxW bool`` ink of the line crop.
        glyph: ``(x1, x2, top, bottom)`` of a run of ink columns.
        baseline: The line's baseline row.
        xtop: The line's x-height row.
    """
    x1, x2, top, bottom = glyph
    if x2 - x1 < 3:
        return [glyph]
    parts = _components(ink[:, x1:x2])
    if len(parts) < 2:
        return [glyph]
    mark = max(parts, key=lambda p: (int(p[:, 1].min()), int(p[:, 1].max())))
    rest = [p for p in parts if p is not mark]
    rows, cols = mark[:, 0], mark[:, 1]
    mid = (xtop + baseline) / 2.0
    if rows.min() <= mid or cols.max() - cols.min() > 2 or rows.max() > baseline + 2 or \
            any(p[:, 1].max() > cols.max() or p[:, 1].min() >= cols.min() for p in rest):
        return [glyph]
    letter = np.concatenate(rest)
    return [(x1, x1 + int(letter[:, 1].max()) + 1, int(letter[:, 0].min()), int(letter[:, 0].max())),
            (x1 + int(cols.min()), x1 + int(cols.max()) + 1, int(rows.min()), int(rows.max()))]


def _end_punctuation(word: str, glyphs: Sequence[tuple[int, int, int, int]], *, baseline: int,
                     xtop: int, ink: np.ndarray | None = None) -> str:
    """``word`` with the punctuation OCR read at its end replaced by the marks its last
    glyphs are (``eu:"`` drawn ``eu.".``; ``Amet;`` drawn ``Amet,``): small marks are
    what a word recogniser reads worst. A double quote whose two ticks stand apart (two
    glyphs, no wider apart than they are tall) is one mark; with the line's ``ink``, a
    mark touching the columns of the letter before it is split off that letter
    (:func:`split_low_mark`). Unchanged when the word ends in no mark."""
    m = re.search(r"[.:;,\"']+$", word)
    if m is None or m.start() == 0:
        return word
    if ink is not None:
        k = len(glyphs)  # the last glyph that is no mark: a letter with a mark tucked in?
        while k > 1 and _glyph_mark(glyphs[k - 1], baseline=baseline, xtop=xtop):
            k -= 1
        if k > 1:
            glyphs = [*glyphs[:k - 1], *split_low_mark(ink, glyphs[k - 1], baseline=baseline,
                                                       xtop=xtop), *glyphs[k:]]
    run = ""
    right: tuple[int, int, int, int] | None = None  # the glyph of the mark run[0]
    for g in reversed(glyphs[1:]):
        mark = _glyph_mark(g, baseline=baseline, xtop=xtop)
        if not mark:
            break
        tick_pair = (mark == '"' and run.startswith('"') and right is not None and
                     right[0] - g[1] <= g[3] - g[2] + 1)
        if not tick_pair:
            run = mark + run
        right = g
    return word[:m.start()] + run if run else word


def _prose_words(words: Sequence[str]) -> set[int]:
    """Indexes of the words of a line's reading inside a quoted string of several words
    (``"Interdum sit vulputate."``; a quote still open at either end of the line goes on
    over the next line): prose, whose letters are not digits (a one-word quote may be a
    random string such as a password, ``"w6jzZ"``)."""
    out: set[int] = set()
    start = 0
    if words and words[0].count('"') % 2 == 1 and not words[0].startswith('"'):
        out.add(0)  # the line starts inside a quote that opened on the line before
        start = 1
    span: list[int] = []
    for k in range(start, len(words)):
        odd = words[k].count('"') % 2 == 1
        if not span:
            span = [k] if odd else []
            continue
        span.append(k)
        if odd:  # the quote closes
            if len(span) > 1:
                out.update(span)
            span = []
    out.update(span)  # still open at the line's end
    return out


def _keep_letter(read: str, redrawn: str, *, prose: bool) -> str:
    """The glyph re-reading ``redrawn`` of a character OCR read as ``read``, except a digit
    for a letter in prose (``In1erdum``)."""
    return read if prose and read.isalpha() and redrawn.isdigit() else redrawn


def _reread_cut(line: np.ndarray, chars: list[str], glyphs: list[tuple[int, int, int, int]],
                inside: bool, *, baseline: int, tall: int, prose: bool = False) -> bool:
    """Re-read (in place) the quoted characters of a word whose touching glyphs were cut
    apart (no digit for a letter in ``prose``); returns whether the word ends inside
    quotes."""
    quoted = []
    for i, c in enumerate(chars):
        if c == '"':
            inside = not inside
        elif inside:
            quoted.append(i)
            if c in "ij":  # a stem below the baseline is a j
                chars[i] = "j" if glyphs[i][3] > baseline + 1 else "i"
    if quoted:
        sub = read_glyphs(line, [glyphs[i] for i in quoted], "".join(chars[i] for i in quoted),
                          baseline=baseline, tall=tall)
        for i, c in zip(quoted, sub, strict=True):
            chars[i] = _keep_letter(chars[i], c, prose=prose)
    return inside


def read_instruction(parse: ScreenParse, reader: TextReader, *,
                     pictures: Sequence[tuple[Box, str]] = ()) -> str:
    """The instruction written in the banner, read line by line by OCR and joined.

    Args:
        parse: Output of :func:`find_elements`.
        reader: The text reader.
        pictures: Words drawn as pictures inside the banner's lines (a colour swatch
            standing for its colour name), as ``(box, word)``: OCR reads the text on
            either side of each, and the word goes in between.

    Returns:
        The text, lines joined by single spaces; ``""`` when there is no banner.
    """
    lines = instruction_lines(parse)
    if not lines:
        return ""
    image = parse.image
    if pictures and parse.banner is not None:  # the pictures (and their frames) are not text
        bx1, by1, bx2, by2 = parse.banner
        image = image.copy()
        paper = np.median(image[by1:by2, bx1:bx2].reshape(-1, 3), axis=0).astype(np.uint8)
        for (px1, py1, px2, py2), _ in pictures:
            image[max(py1 - 3, 0):py2 + 3, max(px1 - 3, 0):px2 + 3] = paper
    pieces: list[tuple[Box, str]] = []  # (box to read, or a zero-width box, and its word)
    for line in lines:
        x1, y1, x2, y2 = line
        inside = sorted((p for p in pictures if min(p[0][3], y2) - max(p[0][1], y1) > 0
                         and x1 - 2 <= p[0][0] and p[0][2] <= x2 + 2), key=lambda p: p[0][0])
        left = x1
        for (px1, _, px2, _), word in inside:
            if px1 - 2 - left >= 3:
                pieces.append(((left, y1, px1 - 2, y2), ""))
            pieces.append(((0, 0, 0, 0), word))
            left = px2 + 2
        if x2 - left >= 3:
            pieces.append(((left, y1, x2, y2), ""))
    boxes = [b for b, w in pieces if not w]
    reads = iter(reader.read(image, boxes)) if boxes else iter(())
    texts = []
    for (x1, y1, x2, y2), word in pieces:
        texts.append(word if word else refine_quoted(image[y1:y2, x1:x2], next(reads)[0]))
    return " ".join(t for t in texts if t)


# -- matching text -------------------------------------------------------------
_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "|": "l", "!": "l", "5": "s", "$": "s",
                             "€": "e", "@": "a"})


def normalise_text(text: str, *, fold: bool = True, lower: bool = True) -> str:
    """Keep letters, digits and ``#``; optionally lower-case and map OCR look-alikes (0→o, 1→l…)."""
    t = text.lower() if lower or fold else text
    if fold:
        t = t.translate(_CONFUSABLE).replace("i", "l")
    return re.sub(r"[^A-Za-z0-9#]+", "", t)


def _ratio(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def text_similarity(seen: str, wanted: str) -> float:
    """Similarity in [0, 1] between OCR text and a target, tolerant to OCR slips.

    Mostly case-blind (the best of a plain and a look-alike-folded comparison);
    a small case-sensitive part breaks ties such as ``Eget`` versus ``eget``.
    """
    blind = max(_ratio(normalise_text(seen, fold=False), normalise_text(wanted, fold=False)),
                0.98 * _ratio(normalise_text(seen), normalise_text(wanted)))
    exact = _ratio(normalise_text(seen, fold=False, lower=False),
                   normalise_text(wanted, fold=False, lower=False))
    return 0.95 * blind + 0.05 * exact
