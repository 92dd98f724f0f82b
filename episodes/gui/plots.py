"""Axes drawn on a page: where a point given in the plot's own units is, in pixels.

A plot shows two long straight lines that cross (the x and y axes), numbers beside
them (tick labels) and often marks (the points one can click). :func:`find_axes`
finds the lines: rows and columns of the screenshot whose ink runs, with at most a
few pixels missing, over :data:`AXIS_SPAN` of the image. :func:`fit_axis` turns the
tick labels read beside one axis into a linear map from units to pixels (the pair of
labels that most other labels agree with sets it, so one misread label is outvoted);
without readable labels the marks strung along an axis at equal steps set the unit
and the crossing is the origin. :func:`marks` are the coloured blobs (points) a click
snaps to.

``HxWx3 uint8 RGB`` images; pixels; the y axis points up in units and down in pixels
unless its labels say otherwise. Nothing here knows a page.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.perception import Box

#: An axis line spans at least this fraction of the image's width (height).
AXIS_SPAN = 0.5
#: Grey level below which a pixel is ink (axes are often drawn grey).
INK_GREY = 200
#: Largest gap (px) inside one axis line (where a mark or label interrupts it).
AXIS_GAP = 3
#: A tick label is at most this far (px) from its axis.
LABEL_DISTANCE = 16
#: A label agrees with a fit when within this fraction of one unit of where it says.
LABEL_TOLERANCE = 0.35
#: Smallest chroma (max - min channel) of a mark's pixels (axes and text are grey/black).
MARK_CHROMA = 60


@dataclass(frozen=True)
class AxisLines:
    """The two axis lines: the row of the horizontal one and the column of the vertical one
    (pixel centres), with the spans they cover."""

    row: float
    col: float
    x_span: tuple[int, int]
    y_span: tuple[int, int]

    @property
    def crossing(self) -> tuple[float, float]:
        """Where the lines cross, ``(x, y)`` pixels."""
        return self.col, self.row


@dataclass(frozen=True)
class AxisMap:
    """``pixel = origin + scale * value`` along one axis, and how it was found."""

    origin: float
    scale: float
    how: str

    def pixel(self, value: float) -> float:
        """Where ``value`` is on this axis, pixels."""
        return self.origin + self.scale * value


def _longest_run(line: np.ndarray, gap: int) -> tuple[int, int]:
    """``(start, end)`` of the longest run of True in a 1-D mask, bridging ``gap`` Falses."""
    idx = np.flatnonzero(line)
    if idx.size == 0:
        return 0, 0
    best = (int(idx[0]), int(idx[0]) + 1)
    start = prev = int(idx[0])
    for i in idx[1:].tolist() + [None]:
        if i is None or i - prev - 1 > gap:
            if prev + 1 - start > best[1] - best[0]:
                best = (start, prev + 1)
            if i is None:
                break
            start = i
        prev = i
    return best


def _line(mask: np.ndarray, span: float) -> tuple[float, tuple[int, int]] | None:
    """The centre row of the band of rows of ``mask`` holding the longest long run."""
    need = span * mask.shape[1]
    rows = []
    for y in range(mask.shape[0]):
        a, b = _longest_run(mask[y], AXIS_GAP)
        if b - a >= need:
            rows.append((y, (a, b)))
    if not rows:
        return None
    bands: list[list[tuple[int, tuple[int, int]]]] = [[rows[0]]]
    for r in rows[1:]:
        if r[0] == bands[-1][-1][0] + 1:
            bands[-1].append(r)
        else:
            bands.append([r])
    band = max(bands, key=lambda b: max(s[1] - s[0] for _, s in b))
    ys = [y for y, _ in band]
    spans = [s for _, s in band]
    return (ys[0] + ys[-1]) / 2.0 + 0.5, (min(s[0] for s in spans), max(s[1] for s in spans))


def find_axes(image: np.ndarray, *, top: int = 0) -> AxisLines | None:
    """The horizontal and vertical axis lines below row ``top``, or None without both."""
    grey = np.asarray(image).astype(np.float32).mean(axis=2)
    ink = grey < INK_GREY
    ink[:top] = False
    horizontal = _line(ink, AXIS_SPAN)
    body = ink[top:]
    vertical = _line(body.T, AXIS_SPAN * body.shape[0] / body.shape[1]) if body.size else None
    if horizontal is None or vertical is None:
        return None
    (row, xs), (col, ys) = horizontal, vertical
    return AxisLines(row, col, xs, (ys[0] + top, ys[1] + top))


def fit_axis(labels: Sequence[tuple[float, float]]) -> AxisMap | None:
    """The linear map that most ``(value, pixel)`` tick labels agree with (at least two).

    Every pair of labels with different values proposes a map; the one that the most
    labels fall on (within :data:`LABEL_TOLERANCE` of a unit) wins, refitted to them.
    """
    best: tuple[int, float, AxisMap] | None = None
    for (v1, p1), (v2, p2) in itertools.combinations(labels, 2):
        if v1 == v2 or p1 == p2:
            continue
        scale = (p2 - p1) / (v2 - v1)
        origin = p1 - scale * v1
        agree = [(v, p) for v, p in labels
                 if abs(origin + scale * v - p) <= LABEL_TOLERANCE * abs(scale)]
        if len(agree) < 2:
            continue
        values = np.asarray([v for v, _ in agree])
        pixels = np.asarray([p for _, p in agree])
        scale, origin = (float(c) for c in np.polyfit(values, pixels, 1))
        spread = float(np.abs(origin + scale * values - pixels).mean())
        if best is None or (len(agree), -spread) > (best[0], -best[1]):
            best = (len(agree), spread, AxisMap(origin, scale, f"{len(agree)} tick labels"))
    return best[2] if best is not None else None


def lattice_axis(positions: Sequence[float], origin: float, *, sign: float) -> AxisMap | None:
    """Marks strung along an axis at equal steps: the step is one unit, the crossing 0."""
    pos = np.sort(np.asarray(positions, dtype=np.float32))
    if pos.size < 3:
        return None
    steps = np.diff(pos)
    step = float(np.median(steps))
    if step <= 2 or np.any(np.abs(steps - step) > 0.1 * step):
        return None
    return AxisMap(origin, sign * step, f"{pos.size} marks at equal steps")


@dataclass(frozen=True)
class Mark:
    """A coloured blob (a plotted point): its box and centre."""

    box: Box
    center: tuple[float, float]


def mark_mask(image: np.ndarray, *, top: int = 0) -> np.ndarray:
    """``HxW bool``: pixels of saturated colour below row ``top``."""
    img = np.asarray(image).astype(np.int32)
    mask = (img.max(axis=2) - img.min(axis=2)) >= MARK_CHROMA
    mask[:top] = False
    return mask


def marks(image: np.ndarray, *, top: int = 0, min_pixels: int = 6) -> list[Mark]:
    """Blobs of saturated colour below row ``top`` (points on a plot; axes and text are
    grey or black)."""
    import cv2

    mask = mark_mask(image, top=top).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return [Mark((int(stats[i][0]), int(stats[i][1]), int(stats[i][0] + stats[i][2]),
                  int(stats[i][1] + stats[i][3])), (float(cents[i][0]) + 0.5,
                                                    float(cents[i][1]) + 0.5))
            for i in range(1, n) if stats[i][4] >= min_pixels]


def label_boxes(image: np.ndarray, axes: AxisLines, *, top: int = 0,
                ink_grey: float = 150.0) -> tuple[list[Box], list[Box]]:
    """Boxes of the text beside the x axis and beside the y axis (tick labels to read).

    The ink of the axis lines and of the marks (with their outlines) is left out; a box
    close to both axes (the origin's label) belongs to neither.
    """
    import cv2

    from lavr.episodes.gui.perception import text_runs

    img = np.asarray(image)
    ink = img.astype(np.float32).mean(axis=2) < ink_grey
    ink[:top] = False
    r, c = int(round(axes.row)), int(round(axes.col))
    ink[max(r - 2, 0):r + 2, :] = False
    ink[:, max(c - 2, 0):c + 2] = False
    # a mark's outline (the ring of ink around its colour) is not text
    ring = cv2.dilate(mark_mask(img, top=top).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    ink &= ~ring
    xs, ys = [], []
    for b in text_runs(ink, gap=3):
        if b[3] - b[1] < 4:
            continue
        dy = max(b[1] - axes.row, axes.row - b[3], 0.0)
        dx = max(b[0] - axes.col, axes.col - b[2], 0.0)
        near_x = dy <= LABEL_DISTANCE and not b[0] <= axes.col <= b[2]
        near_y = dx <= LABEL_DISTANCE and not b[1] <= axes.row <= b[3]
        if near_x and near_y:
            continue
        if near_x:
            xs.append(b)
        elif near_y:
            ys.append(b)
    return xs, ys


def read_label(image: np.ndarray, box: Box, *, ink_grey: float = 150.0) -> float | None:
    """The number a small tick label shows, read glyph by glyph: a flat bar is a minus,
    a dot a decimal point, any other glyph the digit it looks most like
    (:func:`lavr.episodes.gui.shapes.identify_glyph`); None when it is not a number."""
    import cv2

    from lavr.episodes.gui.shapes import identify_glyph

    x1, y1, x2, y2 = box
    crop = np.asarray(image)[y1:y2, x1:x2].astype(np.float32).mean(axis=2)
    ink = (crop < ink_grey).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return None
    height = max(int(stats[i][3]) for i in range(1, n))
    text = ""
    for i in sorted(range(1, n), key=lambda i: stats[i][0]):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < 2:
            continue
        if h <= max(2, height // 4) and w >= 2 * h:
            text += "-"
        elif h <= max(2, height // 4) and w <= 2:
            text += "."
        else:
            cover = np.clip((ink_grey - crop[y:y + h, x:x + w]) / ink_grey * 1.6, 0, 1) * \
                (labels[y:y + h, x:x + w] == i)
            char, score = identify_glyph(cover, chars="0123456789")
            if score < 0.3:
                return None
            text += char
    try:
        return float(text)
    except ValueError:
        return None
