"""Figures drawn on a page — shapes and single symbols that are not widgets — from pixels.

:func:`find_figures` cuts the part of a screenshot below the instruction banner
and outside the widgets into blobs of ink that differs from the page
background (8-connected; a dot above a stem, as in ``i`` and ``j``, joins its
glyph) and names each one:

* by **geometry**: the blob's mask against the ideal filled shapes of its own
  bounding box — a rectangle (all filled), an ellipse (a circle when the box
  is square), a triangle pointing up, down, left or right; the best
  intersection-over-union above :data:`SHAPE_IOU` names the shape;
* otherwise it is a **glyph**, identified by matching its ink against the
  characters ``0-9 a-z A-Z`` rendered in the system's sans-serif font (DejaVu
  Sans, what Chromium draws web text with), each scaled to the glyph's box,
  with the aspect ratio as a second cue; a digit makes a ``digit`` figure,
  anything else a ``letter``.

The colour is :func:`lavr.tools.colour.name_colour` of the blob's most
saturated pixels; the size class (``large``/``small``) splits the figures of
one screen against the size of the instruction's text (a figure drawn at
:data:`LARGE_EM` times the text's size or more is large), or, without text, at
the widest gap of their sizes when the largest is at least 1.4 times the
smallest. Nothing here knows a page: the input is pixels.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lavr.episodes.gui.appearance import glyph_fonts
from lavr.tools.colour import name_colour
from lavr.tools.vocab import colour_matches

if TYPE_CHECKING:
    from lavr.episodes.gui.perception import ScreenParse

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

#: A pixel is ink when a channel differs from the background by more than this.
INK_DIFF = 60
#: A figure drawn this many times the size of the page's text (em) or more is large.
LARGE_EM = 1.45
#: Letters whose small and capital forms differ only in size: the size they were drawn at
#: is taken halfway between the two readings.
SIZE_CASED = "cosuvwxz"
#: Smallest intersection-over-union with an ideal shape that names the shape.
SHAPE_IOU = 0.82
#: Characters a glyph is matched against.
GLYPHS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Figure classes.
SHAPES = ("circle", "rectangle", "triangle")
#: What a class is called in words (for choosing the button that names it).
CLASS_NAMES = {"circle": ("circle", "disc", "round"), "rectangle": ("rectangle", "square"),
               "triangle": ("triangle",), "digit": ("number", "digit", "numeral"),
               "letter": ("letter", "character", "alphabet")}


@dataclass(frozen=True)
class Figure:
    """One figure on the screen.

    Attributes:
        box: ``(x1, y1, x2, y2)`` pixels, exclusive ends.
        shape: ``circle``, ``rectangle``, ``triangle`` or ``glyph``.
        char: The character a glyph looks most like (``""`` for shapes).
        colour: Colour name (:data:`lavr.tools.colour.COLOUR_NAMES`).
        size: ``large``, ``small`` or ``""`` (one size on the screen).
        score: How well the shape or character matched, in [0, 1].
        point: Where a click surely lands on the figure's ink.
    """

    box: Box
    shape: str
    char: str = ""
    colour: str = ""
    size: str = ""
    score: float = 0.0
    point: tuple[float, float] = (0.0, 0.0)

    @property
    def kind(self) -> str:
        """``circle``/``rectangle``/``triangle``, or ``digit``/``letter`` for a glyph."""
        if self.shape != "glyph":
            return self.shape
        return "digit" if self.char.isdigit() else "letter"

    @property
    def extent(self) -> int:
        """The larger side of the box, pixels."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    def describe(self) -> str:
        """E.g. ``large red circle @(40,60)`` or ``small blue letter 'k' @(12,90)``."""
        what = f"{self.kind} {self.char!r}" if self.shape == "glyph" else self.kind
        words = " ".join(w for w in (self.size, self.colour, what) if w)
        return f"{words} @({self.point[0]:.0f},{self.point[1]:.0f})"

    def names(self) -> tuple[str, ...]:
        """Words that name this figure's class (``circle``; ``number``, ``digit`` ...)."""
        return CLASS_NAMES[self.kind]


#: A blob whose ink is less than this fraction of the region it encloses is an outline (a
#: shape drawn as a thin stroke around a fill the page's colour); a glyph's ring (``O``,
#: ``D``) is thicker.
OUTLINE_INK = 0.3


def _outlined_shape(mask: np.ndarray, ink: np.ndarray) -> tuple[str, float, np.ndarray] | None:
    """``(shape, score, filled)`` when ``mask`` (``HxW bool``) is the thin outline of a
    shape (a white disc with a black rim): its ink with the holes filled is a shape, the
    ink is less than :data:`OUTLINE_INK` of it and nothing else is drawn inside (``ink``:
    all the ink of the box; a frame around other figures is no shape); else None."""
    import cv2

    h, w = mask.shape
    if min(h, w) < 8:
        return None
    blob = np.zeros((h + 2, w + 2), np.uint8)
    blob[1:-1, 1:-1] = mask
    cv2.floodFill(blob, None, (0, 0), 2)
    filled = (blob != 2)[1:-1, 1:-1]
    if mask.sum() >= OUTLINE_INK * filled.sum() or (ink & filled & ~mask).any():
        return None
    shape, score = classify_shape(filled)
    return (shape, score, filled) if shape != "glyph" else None


# -- ideal shapes --------------------------------------------------------------
def _ideal_masks(w: int, h: int) -> dict[str, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = (xs + 0.5) / w, (ys + 0.5) / h  # 0..1 inside the box
    ellipse = (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    out = {"rectangle": np.ones((h, w), bool), "circle": ellipse,
           "triangle-up": np.abs(u - 0.5) <= v / 2, "triangle-down": np.abs(u - 0.5) <= (1 - v) / 2,
           "triangle-left": np.abs(v - 0.5) <= u / 2, "triangle-right": np.abs(v - 0.5) <= (1 - u) / 2}
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def classify_shape(mask: np.ndarray) -> tuple[str, float]:
    """``(shape, iou)`` of a blob's mask cropped to its box: the best ideal shape, or
    ``("glyph", best_iou)`` when none reaches :data:`SHAPE_IOU` (or the blob is a thin bar).

    Args:
        mask: ``HxW bool`` — the blob inside its bounding box.
    """
    h, w = mask.shape
    if min(h, w) < 4 or max(h, w) > 2.0 * min(h, w):
        return "glyph", 0.0  # thin strokes and long bars are letters (l, I, 1, -), not shapes
    best, best_iou = "glyph", 0.0
    for name, ideal in _ideal_masks(w, h).items():
        iou = _iou(mask, ideal)
        if iou > best_iou:
            best, best_iou = name, iou
    if best_iou < SHAPE_IOU:
        return "glyph", best_iou
    return best.split("-")[0], best_iou


# -- glyphs --------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _glyph_templates() -> dict[str, np.ndarray] | None:
    """Each character of :data:`GLYPHS` rendered at 64 px in the system sans-serif,
    cropped to its ink, as float coverage in [0, 1]; None without the font."""
    from PIL import Image, ImageDraw, ImageFont

    fonts = glyph_fonts()
    if not fonts:
        return None
    font = ImageFont.truetype(fonts[0], 64)
    out = {}
    for ch in GLYPHS:
        img = Image.new("L", (96, 96), 0)
        ImageDraw.Draw(img).text((16, 8), ch, fill=255, font=font)
        a = np.asarray(img, dtype=np.float32) / 255.0
        ys, xs = np.nonzero(a > 0.5)
        out[ch] = a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    return out


def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8))
    return np.asarray(img.resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0


#: Side (px) a glyph and every template are scaled to before they are compared.
_CMP = 24


@functools.lru_cache(maxsize=1)
def _scaled_templates() -> tuple[str, np.ndarray, np.ndarray] | None:
    """``(chars, templates (N, 24, 24), log aspect ratios (N,))``, or None without a font."""
    templates = _glyph_templates()
    if templates is None:
        return None
    chars = "".join(templates)
    stack = np.stack([_resize(t, _CMP, _CMP) for t in templates.values()])
    aspects = np.asarray([np.log(t.shape[1] / t.shape[0]) for t in templates.values()])
    return chars, stack, aspects


def identify_glyph(coverage: np.ndarray, *, chars: str | None = None) -> tuple[str, float]:
    """The character a glyph looks most like, and the match score in [0, 1].

    Each template is scaled to the glyph's box (so stroke layout is compared),
    scored by soft intersection-over-union, minus a penalty for a different
    aspect ratio.

    Args:
        coverage: ``HxW float`` ink coverage in [0, 1], cropped to the glyph.
        chars: Only these characters are candidates (e.g. digits); None: all of :data:`GLYPHS`.

    Returns:
        ``(char, score)``; ``("", 0.0)`` when no font is available.
    """
    templates = _glyph_templates()
    if templates is None:
        return "", 0.0
    h, w = coverage.shape
    scale = _CMP / max(h, 1)  # the glyph at a common height, its aspect kept
    gw = max(int(round(w * scale)), 1)
    g = _resize(coverage, gw, _CMP)
    best, best_score = "", -1.0
    for ch, t in _height_templates().items():
        if chars is not None and ch not in chars:
            continue
        width = max(gw, t.shape[1]) + 2
        a = np.zeros((_CMP, width), np.float32)
        b = np.zeros((_CMP, width), np.float32)
        a[:, (width - gw) // 2:(width - gw) // 2 + gw] = g
        b[:, (width - t.shape[1]) // 2:(width - t.shape[1]) // 2 + t.shape[1]] = t
        union = np.maximum(a, b).sum()
        score = float(np.minimum(a, b).sum() / union) if union else 0.0
        if score > best_score:
            best, best_score = ch, score
    return best, max(best_score, 0.0)


def identify_turned_glyph(image: np.ndarray, box: Box, *, chars: str) -> tuple[str, float]:
    """The character among ``chars`` that the glyph in ``box`` (XYXY pixels of an ``HxWx3``
    screenshot) looks most like at any of 16 turns (a mark on a side of a thing turned in
    3-D, drawn upside down or askew), with its score."""
    import cv2

    x1, y1, x2, y2 = box
    pad = max(x2 - x1, y2 - y1) // 2 + 2
    img = np.asarray(image)
    h, w = img.shape[:2]
    a1, b1, a2, b2 = max(x1 - pad, 0), max(y1 - pad, 0), min(x2 + pad, w), min(y2 + pad, h)
    crop = img[b1:b2, a1:a2]
    bg = _background(img)
    cov = np.clip(np.abs(crop.astype(np.int32) - bg).max(axis=2) / 255.0 * 1.6, 0, 1)
    cov = cov.astype(np.float32)
    cov[cov < INK_DIFF / 255.0] = 0.0
    keep = np.zeros(cov.shape, bool)  # (only the glyph's own box: not its neighbours)
    keep[y1 - b1:y2 - b1, x1 - a1:x2 - a1] = True
    cov[~keep] = 0.0
    best = ("", 0.0)
    for angle in range(0, 360, 360 // 16):
        m = cv2.getRotationMatrix2D((cov.shape[1] / 2.0, cov.shape[0] / 2.0), angle, 1.0)
        turned = cv2.warpAffine(cov, m, (cov.shape[1], cov.shape[0]))
        ys, xs = np.nonzero(turned > 0.2)
        if len(xs) < 4:
            continue
        glyph = turned[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        found = identify_glyph(glyph, chars=chars)
        if found[1] > best[1]:
            best = found
    return best


@functools.lru_cache(maxsize=1)
def _height_templates() -> dict[str, np.ndarray]:
    """Every template scaled to the common height, its aspect ratio kept."""
    return {ch: _resize(t, max(int(round(t.shape[1] * _CMP / t.shape[0])), 1), _CMP)
            for ch, t in (_glyph_templates() or {}).items()}


# -- figures -------------------------------------------------------------------
def _background(image: np.ndarray) -> np.ndarray:
    flat = image.reshape(-1, 3)
    keys = (flat[:, 0].astype(np.int32) << 16) | (flat[:, 1].astype(np.int32) << 8) | flat[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    v = int(values[np.argmax(counts)])
    return np.array([v >> 16 & 255, v >> 8 & 255, v & 255], np.int32)


def _merge_dots(boxes: list[Box], colours: Sequence[str] | None = None) -> list[list[int]]:
    """Groups of blob indices: a small blob right above (or below) another of the same
    colour (when ``colours`` are given) joins it (i, j)."""
    groups = [[i] for i in range(len(boxes))]
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes):
            if i == j:
                continue
            if colours is not None and colours[i] != colours[j]:
                continue
            small = (a[2] - a[0]) * (a[3] - a[1]) * 3 <= (b[2] - b[0]) * (b[3] - b[1])
            overlap_x = min(a[2], b[2]) - max(a[0], b[0]) > 0
            gap = max(b[1] - a[3], a[1] - b[3])
            if small and overlap_x and 0 <= gap <= 4:
                parent[root(i)] = root(j)
    out: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        out.setdefault(root(i), []).append(i)
    groups = list(out.values())
    return groups


def _size_classes(extents: Sequence[float], reference: float | None = None) -> list[str]:
    """``large``/``small`` per figure: against the text size ``reference`` (px per em) when
    given, else split at the widest gap of the sizes (``""`` when they are all alike)."""
    if not extents:
        return []
    vals = np.asarray(extents, dtype=np.float32)
    if reference:
        return ["large" if v >= LARGE_EM * reference else "small" for v in vals]
    if vals.max() < 1.4 * vals.min():
        return [""] * len(vals)
    order = np.sort(np.log(vals))
    gaps = np.diff(order)
    cut = float(np.exp((order[int(np.argmax(gaps))] + order[int(np.argmax(gaps)) + 1]) / 2))
    return ["large" if v >= cut else "small" for v in vals]


def _split_by_colour(img: np.ndarray, diff: np.ndarray, labels: np.ndarray,
                     n: int) -> tuple[np.ndarray, int]:
    """Cut blobs of two touching figures (a circle on a triangle) apart by colour: where a
    blob's strong pixels carry two colour names, each name's pixels form their own blobs
    (the anti-aliased rim goes with the nearest)."""
    import cv2

    from lavr.tools.colour import name_pixels

    out = labels.copy()
    nxt = n
    for i in range(1, n):
        ys, xs = np.nonzero(labels == i)
        if len(ys) < 40:
            continue
        strong = diff[ys, xs] > 150
        if strong.sum() < 20:
            continue
        names = name_pixels(img[ys[strong], xs[strong]])
        names[names == "grey"] = "black"  # the anti-aliased rim of black ink is grey
        kinds, counts = np.unique(names.astype(str), return_counts=True)
        big = kinds[counts >= 0.2 * strong.sum()]
        if len(big) < 2:
            continue
        y1, y2, x1, x2 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        core = np.zeros((len(big), y2 - y1, x2 - x1), bool)
        for k, name in enumerate(big):
            sel = strong.copy()
            sel[strong] = names.astype(str) == name
            core[k, ys[sel] - y1, xs[sel] - x1] = True
        # every pixel of the blob goes to the colour whose core is nearest
        dists = np.stack([cv2.distanceTransform((~c).astype(np.uint8), cv2.DIST_L2, 3)
                          for c in core])
        owner = np.argmin(dists[:, ys - y1, xs - x1], axis=0)
        for k in range(1, len(big)):
            sub = np.zeros(labels.shape, np.uint8)
            sub[ys[owner == k], xs[owner == k]] = 1
            m, lab = cv2.connectedComponents(sub, connectivity=8)
            for j in range(1, m):
                out[lab == j] = nxt
                nxt += 1
    return out, nxt


def _stats(labels: np.ndarray, n: int) -> np.ndarray:
    """``(n, 5)`` ``x, y, w, h, area`` per label (row 0 unused), like OpenCV's stats."""
    stats = np.zeros((n, 5), np.int64)
    for i in range(1, n):
        ys, xs = np.nonzero(labels == i)
        if len(ys):
            stats[i] = (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1, len(ys))
    return stats


def _blob_colour(img: np.ndarray, diff: np.ndarray, mask: np.ndarray) -> str:
    """The colour name of a blob: of its third most unlike the background."""
    pixels = img[mask]
    strong = pixels[np.argsort(-diff[mask])[:max(len(pixels) // 3, 1)]]
    name = name_colour(np.median(strong, axis=0))
    return "black" if name == "grey" else name  # (a thin black glyph's ink is greyish)


def find_figures(image: np.ndarray, *, exclude: Sequence[Box] = (), top: int = 0,
                 min_pixels: int = 6, text_em: float | None = None) -> list[Figure]:
    """The figures on a screenshot, in reading order.

    Args:
        image: ``HxWx3 uint8 RGB``.
        exclude: Boxes to leave out (widgets: buttons, inputs ...).
        top: Rows above this are left out (the instruction banner).
        min_pixels: Smallest blob kept.
        text_em: Size (px) of the page's text: figures :data:`LARGE_EM` times larger are
            ``large``, others ``small``; None: the figures are compared with each other.

    Returns:
        :class:`Figure` objects with shape or character, colour and size class.
    """
    import cv2

    img = np.asarray(image)
    bg = _background(img)
    diff = np.abs(img.astype(np.int32) - bg).max(axis=2)
    ink = diff > INK_DIFF
    ink[:top] = False
    for x1, y1, x2, y2 in exclude:
        ink[max(y1 - 1, 0):y2 + 1, max(x1 - 1, 0):x2 + 1] = False
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    labels, n = _split_by_colour(img, diff, labels, n)
    stats = _stats(labels, n)
    boxes = []
    ids = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < 2:
            continue
        boxes.append((x, y, x + w, y + h))
        ids.append(i)
    figures: list[tuple[Box, str, str, float, str, tuple[float, float]]] = []
    for group in _merge_dots(boxes, [_blob_colour(img, diff, labels == i) for i in ids]):
        members = [ids[g] for g in group]
        box = (min(boxes[g][0] for g in group), min(boxes[g][1] for g in group),
               max(boxes[g][2] for g in group), max(boxes[g][3] for g in group))
        x1, y1, x2, y2 = box
        mask = np.isin(labels[y1:y2, x1:x2], members)
        if mask.sum() < min_pixels or (min(x2 - x1, y2 - y1) <= 1 and max(x2 - x1, y2 - y1) < 8):
            continue  # (a sliver of anti-aliasing, not a figure)
        shape, score = classify_shape(mask)
        char = ""
        outlined = _outlined_shape(mask, ink[y1:y2, x1:x2]) if shape == "glyph" else None
        if outlined is not None:  # a shape drawn as a thin outline around its fill
            shape, score, filled = outlined
            inner = img[y1:y2, x1:x2][filled & ~mask]
            colour = name_colour(np.median(inner, axis=0)) if len(inner) else "white"
            ys, xs = np.nonzero(filled)
            figures.append((box, shape, "", score, colour, (x1 + xs.mean() + 0.5,
                                                            y1 + ys.mean() + 0.5)))
            continue
        if shape == "glyph":
            coverage = np.clip(diff[y1:y2, x1:x2] / 255.0 * 1.6, 0, 1) * \
                np.isin(labels[y1:y2, x1:x2], members).astype(np.float32)
            char, score = identify_glyph(coverage)
        pixels = img[y1:y2, x1:x2][mask]
        strong = pixels[np.argsort(-diff[y1:y2, x1:x2][mask])[:max(len(pixels) // 3, 1)]]
        colour = name_colour(np.median(strong, axis=0))
        ys, xs = np.nonzero(mask)
        k = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))  # ink nearest the centre
        figures.append((box, shape, char, score, colour, (x1 + xs[k] + 0.5, y1 + ys[k] + 0.5)))
    templates = _glyph_templates() or {}
    ems = []  # the size each figure was drawn at: a shape's side, a glyph's font size
    for b, shape, char, *_ in figures:
        extent = max(b[2] - b[0], b[3] - b[1])
        if shape == "glyph" and char in templates:
            tall = templates[char].shape[0]
            if char.lower() in SIZE_CASED and char.lower() != char.upper():
                tall = (templates[char.lower()].shape[0] + templates[char.upper()].shape[0]) / 2
            extent = (b[3] - b[1]) / (tall / 64.0)
        ems.append(extent)
    sizes = _size_classes(ems, text_em)
    out = [Figure(b, s, c, col, size, sc, pt)
           for (b, s, c, sc, col, pt), size in zip(figures, sizes, strict=True)]
    return sorted(out, key=lambda f: (f.box[1] // 8, f.box[0]))


def figures_on_screen(parse: ScreenParse) -> list[Figure]:
    """:func:`find_figures` on a parsed screen: below its instruction banner, outside its
    labelled widgets (buttons and inputs that hold text)."""
    from lavr.episodes.gui.perception import instruction_lines

    exclude = [e.box for e in parse.elements if e.kind in ("button", "input") and e.text_boxes]
    top = parse.banner[3] if parse.banner is not None else 0
    # the instruction's text sets the scale: its tallest line (ascender to descender) ~ 1 em
    lines = instruction_lines(parse)
    em = float(max(b[3] - b[1] for b in lines)) if lines else None
    figures = find_figures(parse.image, exclude=exclude, top=top, text_em=em)
    # an empty text field is drawn as a white box in a thin frame: no figure drawn on the page
    fields = [e.box for e in parse.elements if e.kind == "input"]
    return [f for f in figures if not (f.shape == "rectangle" and f.colour == "white" and
                                       any(_same_box(f.box, b) for b in fields))]


def _same_box(a: Box, b: Box, *, slack: int = 2) -> bool:
    """Whether two boxes are the same within ``slack`` px on every side."""
    return all(abs(p - q) <= slack for p, q in zip(a, b, strict=True))


#: Smallest side (px) of a flat coloured box, and the least part of its box its colour fills
#: (a corner hidden under another box still leaves most of it).
BOX_SIDE = 8
BOX_FILL = 0.75


def coloured_boxes(image: np.ndarray, *, top: int = 0) -> list[Figure]:
    """Flat boxes of one saturated colour below ``top`` — a red square holding a letter,
    which perception may take for a button or a link — as ``rectangle`` figures, whatever
    is drawn on them: the regions of one colour name (grey, white and black left out) whose
    box they fill (holes included) for :data:`BOX_FILL` or more; size classes set against
    each other. Reading order."""
    import cv2

    from lavr.episodes.gui.perception import fill_holes
    from lavr.tools.colour import name_pixels

    img = np.asarray(image)[..., :3]
    h, w = img.shape[:2]
    names = name_pixels(img.reshape(-1, 3)).reshape(h, w)
    names[:max(top, 0)] = "white"
    found: list[tuple[Box, str]] = []
    for colour in set(names.ravel().tolist()) - {"white", "grey", "black"}:
        mask = (names == colour).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for i in range(1, n):
            x, y, bw, bh, _ = (int(v) for v in stats[i])
            if min(bw, bh) < BOX_SIDE:
                continue
            if fill_holes(labels[y:y + bh, x:x + bw] == i).mean() >= BOX_FILL:
                found.append(((x, y, x + bw, y + bh), colour))
    sizes = _size_classes([max(b[2] - b[0], b[3] - b[1]) for b, _ in found])
    out = [Figure(b, "rectangle", colour=c, size=size, score=0.5,
                  point=((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0))
           for (b, c), size in zip(found, sizes, strict=True)]
    return sorted(out, key=lambda f: (f.box[1] // 8, f.box[0]))


def matches(fig: Figure, size: str, colour: str, what: str) -> bool:
    """Whether a figure fits a description (``""`` parts fit anything).

    ``what`` is a class (``circle``, ``rectangle``, ``triangle``, ``letter``,
    ``digit``, or ``shape``: any of the geometric shapes) or one character; a
    character compares case-sensitively, except for letters whose small and capital
    forms differ only in size.
    """
    if size and fig.size != size and (fig.size or size == "small"):
        return False
    if colour and not colour_matches(colour, fig.colour):
        return False
    if not what:
        return True
    if len(what) == 1:
        if fig.shape != "glyph":
            return False
        return fig.char == what or (fig.char.lower() == what.lower() and what.lower() in SIZE_CASED)
    if what == "shape":
        return fig.shape in SHAPES
    return fig.kind == what


# -- counting drawn things -------------------------------------------------------------
def clusters(figures: Sequence[Figure]) -> list[list[Figure]]:
    """Groups of figures drawn together, left to right: two figures are in one group when
    the gap between their boxes is at most the median figure's extent (a group is wider
    apart from the next one than its members are from each other)."""
    if not figures:
        return []
    reach = float(np.median([f.extent for f in figures]))
    parent = list(range(len(figures)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, a in enumerate(figures):
        for j in range(i + 1, len(figures)):
            b = figures[j].box
            gap = max(b[0] - a.box[2], a.box[0] - b[2], b[1] - a.box[3], a.box[1] - b[3])
            if gap <= reach:
                parent[root(i)] = root(j)
    groups: dict[int, list[Figure]] = {}
    for i, f in enumerate(figures):
        groups.setdefault(root(i), []).append(f)
    return sorted(groups.values(), key=lambda g: (min(f.box[0] for f in g), min(f.box[1] for f in g)))


def sign(image: np.ndarray, box: Box) -> str:
    """The arithmetic sign drawn in ``box`` (``+``, ``-``, ``x``), or ``""``: a bar alone
    is a minus, a bar crossed by a stroke through its middle a plus, two crossing
    diagonals a times."""
    x1, y1, x2, y2 = box
    img = np.asarray(image)
    crop = img[y1:y2, x1:x2].astype(np.int32)
    if crop.size == 0:
        return ""
    ink = np.abs(crop - _background(img)).max(axis=2) > INK_DIFF
    h, w = ink.shape
    if not ink.any():
        return ""
    if h * 3 <= w:
        return "-"
    rows, cols = ink.mean(axis=1), ink.mean(axis=0)
    if rows.max() >= 0.8 and cols.max() >= 0.8 and \
            abs(int(np.argmax(rows)) - h / 2) <= h / 4 and abs(int(np.argmax(cols)) - w / 2) <= w / 4:
        return "+"
    diag = [ink[int(i * h / max(w, 1)), i] or ink[int(i * h / max(w, 1)), w - 1 - i] for i in range(w)]
    return "x" if np.mean(diag) >= 0.8 else ""


def count_expression(image: np.ndarray, figures: Sequence[Figure], size: str, colour: str,
                     what: str) -> str:
    """How many figures fit a description, as arithmetic over their groups: ``3 + 5`` when
    they are drawn in two groups with a ``+`` (or nothing) between them, ``7 - 2`` for a
    ``-``; ``4`` for one group; ``""`` when none fits. Evaluate it with
    :func:`lavr.episodes.gui.language.evaluate_expression`."""
    fit = [f for f in figures if matches(f, size, colour, what)]
    groups = clusters(fit)
    if not groups:
        return ""
    others = [f for f in figures if f not in fit]
    parts = [str(len(groups[0]))]
    for left, right in zip(groups, groups[1:], strict=False):
        lx = max(f.box[2] for f in left)
        rx = min(f.box[0] for f in right)
        top = min(f.box[1] for f in left + right)
        bottom = max(f.box[3] for f in left + right)
        between = [o for o in others if lx <= o.point[0] <= rx and top - 8 <= o.point[1] <= bottom + 8]
        op = sign(image, between[0].box) if between else ""
        parts += ["*" if op == "x" else (op or "+"), str(len(right))]
    return " ".join(parts)


#: Corners of a polygon are kept when they stand out from the line through their
#: neighbours by more than this fraction of the polygon's radius (a regular heptagon's do by
#: 0.38; the bevel of a stroke's unjoined start by under 0.1).
CORNER_TOLERANCE = 0.15


def count_corners(image: np.ndarray, box: Box) -> int:
    """How many corners (= sides) the polygon drawn in ``box`` has, outlined or filled, at
    any rotation, convex or not (a star): the outer outline of its ink simplified
    (Douglas-Peucker) at :data:`CORNER_TOLERANCE` of its radius. A blob with fewer than 3
    corners (a dot, a line) gives its count as found (0-2).

    Args:
        image: ``HxWx3 uint8 RGB`` screenshot.
        box: XYXY pixel box of the figure.
    """
    import cv2

    x1, y1, x2, y2 = box
    patch = image[y1:y2, x1:x2].astype(np.int32)
    if patch.size == 0:
        return 0
    # the background: the commonest colour of a ring just outside the box
    h, w = image.shape[:2]
    a1, b1, a2, b2 = max(x1 - 3, 0), max(y1 - 3, 0), min(x2 + 3, w), min(y2 + 3, h)
    ring = np.concatenate([image[b1:y1, a1:a2].reshape(-1, 3), image[y2:b2, a1:a2].reshape(-1, 3),
                           image[b1:b2, a1:x1].reshape(-1, 3), image[b1:b2, x2:a2].reshape(-1, 3)])
    bg = _background(ring[None]) if len(ring) else _background(image[y1:y2, x1:x2])
    diff = np.abs(patch - bg).max(axis=2) > INK_DIFF
    ys, xs = np.nonzero(diff)
    if len(xs) < 3:
        return 0
    radius = max(float(np.ptp(xs)), float(np.ptp(ys))) / 2.0
    # the outer outline of the ink (an outline's inside filled): a concave polygon keeps its
    # inner corners, which the convex hull would skip
    contours, _ = cv2.findContours(np.pad(diff, 1).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    if not contours:
        return 0
    outline = max(contours, key=cv2.contourArea)
    approx = cv2.approxPolyDP(outline, CORNER_TOLERANCE * radius, True)
    return int(len(approx))
