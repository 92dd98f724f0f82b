"""Patterns drawn on a grid of checkboxes, copied from an example drawn beside them.

A page may ask for a figure (a digit, a letter, a shape) to be drawn by checking boxes of a
grid, after an example: a picture of the same grid whose cells are drawn in two colours.

* :func:`lattice` — boxes of one size on rows and columns (the checkbox grid), as a
  table of ``rows x columns`` boxes;
* :func:`checkbox_example` — an example drawn as a second grid of checkboxes (some
  checked) beside the empty one;
* :func:`flat_squares` — squares of one flat colour anywhere on the page (the cells of
  a drawn example);
* :func:`find_example` — a lattice of flat squares of the grid's shape outside it, read as
  on/off: the cells that stand out most from the panel they are drawn on are *on*;
* :func:`is_checked` — whether a checkbox is checked (its inside holds a check mark or a
  fill, not the plain face).

Pixels only: ``HxWx3 uint8 RGB`` screenshots and XYXY pixel boxes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from lavr.episodes.gui.perception import boxes_overlap

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

#: Centres this close (px) share a row or a column.
ALIGN = 3
#: Squares of an example are this many times the checkboxes' size at most (and at least its
#: inverse).
SIZE_RATIO = 2.0
#: A cell's colour this far (largest channel difference) from the other cells' is another class.
CLASS_GAP = 40


def _centre(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0


def _lines(values: Sequence[float]) -> list[float]:
    """Values grouped where they lie within :data:`ALIGN` of each other: each group's mean."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= ALIGN:
            out[-1].append(v)
        else:
            out.append([v])
    return [float(np.mean(g)) for g in out]


def lattice(boxes: Sequence[Box]) -> list[list[Box]] | None:
    """The boxes as a full table (rows top to bottom, each left to right) when they sit on
    a lattice — every row and column line holds one box per crossing; else None.

    Args:
        boxes: XYXY pixel boxes of one kind (checkboxes).
    """
    if len(boxes) < 4:
        return None
    xs = _lines([_centre(b)[0] for b in boxes])
    ys = _lines([_centre(b)[1] for b in boxes])
    if len(xs) * len(ys) != len(boxes) or len(xs) < 2 or len(ys) < 2:
        return None
    table: list[list[Box | None]] = [[None] * len(xs) for _ in ys]
    for b in boxes:
        cx, cy = _centre(b)
        c = int(np.argmin([abs(cx - x) for x in xs]))
        r = int(np.argmin([abs(cy - y) for y in ys]))
        if table[r][c] is not None:
            return None
        table[r][c] = b
    return [[b for b in row if b is not None] for row in table]


def lattices(boxes: Sequence[Box]) -> list[list[list[Box]]]:
    """The full lattices among ``boxes``, largest first: they are split into groups of
    neighbours (boxes closer than twice their size), and each group that is a lattice is one."""
    if not boxes:
        return []
    size = float(np.median([max(b[2] - b[0], b[3] - b[1]) for b in boxes]))
    groups: list[list[int]] = []
    for i, b in enumerate(boxes):
        near = [g for g in groups if any(_near(b, boxes[j], 2.0 * size) for j in g)]
        merged = [i] + [j for g in near for j in g]
        groups = [g for g in groups if g not in near] + [merged]
    tables = [lattice([boxes[j] for j in g]) for g in sorted(groups, key=len, reverse=True)]
    return [t for t in tables if t is not None]


def largest_lattice(boxes: Sequence[Box]) -> list[list[Box]] | None:
    """The largest full lattice among ``boxes`` (:func:`lattices`), or None."""
    found = lattices(boxes)
    return found[0] if found else None


def checkbox_example(image: np.ndarray, tables: Sequence[list[list[Box]]]) -> tuple[
        list[list[Box]], list[list[bool]]] | None:
    """An example drawn as checkboxes: of two lattices of checkboxes of one shape, the one
    with none checked is the grid to fill and the other, with some checked, the example;
    ``(grid, on/off of the example)``, or None when no such pair is on the page."""
    for i, a in enumerate(tables):
        for b in tables[i + 1:]:
            if len(a) != len(b) or len(a[0]) != len(b[0]):
                continue
            ca = [[is_checked(image, x) for x in row] for row in a]
            cb = [[is_checked(image, x) for x in row] for row in b]
            any_a, any_b = any(map(any, ca)), any(map(any, cb))
            if any_a != any_b:
                return (b, ca) if any_a else (a, cb)
    return None


def _near(a: Box, b: Box, reach: float) -> bool:
    (ax, ay), (bx, by) = _centre(a), _centre(b)
    return abs(ax - bx) <= reach and abs(ay - by) <= reach


def flat_squares(image: np.ndarray, *, size: tuple[float, float], top: int = 0) -> list[
        tuple[Box, tuple[int, int, int]]]:
    """Squares of one exact colour whose side is within ``size`` (px, inclusive), below
    ``top``: ``(box, rgb)`` each, the box exclusive at its ends."""
    import cv2

    img = image[top:].astype(np.int32)
    keys = (img[..., 0] << 16) | (img[..., 1] << 8) | img[..., 2]
    values, counts = np.unique(keys, return_counts=True)
    lo, hi = size
    out = []
    for v, n in zip(values, counts, strict=True):
        if n < lo * lo:
            continue
        mask = (keys == v).astype(np.uint8)
        k, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        for x, y, w, h, area in stats[1:k]:
            if lo <= w <= hi and lo <= h <= hi and abs(int(w) - int(h)) <= 2 and \
                    area >= 0.9 * w * h:
                rgb = (int(v) >> 16 & 255, int(v) >> 8 & 255, int(v) & 255)
                out.append(((int(x), int(y) + top, int(x + w), int(y + h) + top), rgb))
    return out


def find_example(image: np.ndarray, rows: int, cols: int, *, cell: float,
                 exclude: Box | None = None, top: int = 0) -> list[list[bool]] | None:
    """The on/off cells of an example of a ``rows x cols`` grid drawn on the page as flat
    squares (about ``cell`` px each) outside ``exclude``; None when there is none.

    A cell is *on* when its colour stands out more from the panel the example is drawn on
    (the colour around the cells) than the other cells' colour does: a digit drawn white on
    a dark panel whose other cells are grey.
    """
    squares = flat_squares(image, size=(cell / SIZE_RATIO, cell * SIZE_RATIO), top=top)
    if exclude is not None:
        squares = [(b, c) for b, c in squares if not boxes_overlap(b, exclude)]
    colours = {b: c for b, c in squares}
    table = largest_lattice([b for b, _ in squares])
    if table is None or len(table) != rows or any(len(r) != cols for r in table):
        logger.info("no %dx%d example among %d flat squares", rows, cols, len(squares))
        return None
    cells = [[np.array(colours[b], np.int32) for b in row] for row in table]
    flat = [c for row in cells for c in row]
    x1 = min(b[0] for row in table for b in row)
    y1 = min(b[1] for row in table for b in row)
    x2 = max(b[2] for row in table for b in row)
    y2 = max(b[3] for row in table for b in row)
    gaps = image[y1:y2, x1:x2].reshape(-1, 3).astype(np.int32)
    inside = np.zeros(image.shape[:2], bool)
    for row in table:
        for b in row:
            inside[b[1]:b[3], b[0]:b[2]] = True
    panel_px = gaps[~inside[y1:y2, x1:x2].reshape(-1)]
    if len(panel_px) == 0:
        return None
    panel = np.median(panel_px, axis=0)
    contrast = [float(np.abs(c - panel).max()) for c in flat]
    spread = max(float(np.abs(a - b).max()) for a in flat for b in flat)
    if spread < CLASS_GAP:  # one colour: all on when it stands out from the panel
        on = [[contrast[0] >= CLASS_GAP] * cols for _ in range(rows)]
    else:
        cut = (max(contrast) + min(contrast)) / 2.0
        on = [[float(np.abs(c - panel).max()) > cut for c in row] for row in cells]
    logger.info("example %dx%d: %s", rows, cols,
                " / ".join("".join("#" if v else "." for v in r) for r in on))
    return on


def is_checked(image: np.ndarray, box: Box) -> bool:
    """Whether the checkbox in ``box`` is checked: its inside (without the frame) holds dark
    or saturated ink (a check mark, a filled face) rather than one light face."""
    x1, y1, x2, y2 = box
    m = max(2, (x2 - x1) // 5)
    inner = image[y1 + m:y2 - m, x1 + m:x2 - m].astype(np.int32)
    if inner.size == 0:
        return False
    grey = inner.mean(axis=2)
    sat = inner.max(axis=2) - inner.min(axis=2)
    return bool(((grey < 140) | (sat > 80)).mean() > 0.15)
