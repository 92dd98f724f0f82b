"""Geometry drawn on a page — circles, straight strokes and the angles they make — from pixels,
and the points an instruction asks for on them.

* :func:`find_circles`: blobs of ink whose outline a least-squares circle fits closely all
  the way round (a ring or a disc); the fitted centre is the circle's *centre*, which the
  blob's box centre is not when anti-aliasing or a touching mark skews it.
* :func:`find_angles`: two straight strokes (a Hough transform over the ink of one blob, a
  stroke = the longest unbroken run of ink along a line) that end at a common point, the
  *vertex*; the *bisector* is the ray from the vertex halfway between the two arms.

Nothing here knows a page: the input is pixels and the boxes of the widgets to leave out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.perception import Box

logger = logging.getLogger(__name__)

Point = tuple[float, float]

#: A pixel is ink when a channel differs from the page background by more than this (thin
#: anti-aliased strokes are grey, so less than a figure's fill needs).
STROKE_DIFF = 40
#: Smallest radius (px) of a circle worth finding.
MIN_RADIUS = 4.0
#: Largest RMS distance of outline pixels from the fitted circle, as a fraction of the radius.
CIRCLE_RMS = 0.08
#: Fraction of the circumference (in 10-degree sectors) the outline must cover (a circle
#: partly hidden behind a widget is still one).
CIRCLE_COVER = 0.6
#: Shortest arm (px) of an angle.
MIN_ARM = 10.0
#: A pixel within this distance (px) of a line is on it.
LINE_TOL = 1.5
#: Largest gap (px) inside one stroke.
STROKE_GAP = 3.0
#: How far (px) the arms' ends may lie from their crossing to meet at a vertex.
VERTEX_TOL = 6.0
#: A point on a bisector lies at least this far (px) from the vertex (when the arms allow).
MIN_REACH = 12.0
#: A mark on a stroke (a dot drawn on it) makes this many ink pixels off the stroke's line
#: per pixel along it, over at least :data:`MARK_LENGTH` px.
MARK_PIXELS = 2
MARK_LENGTH = 3
#: A point clicked on a drawing keeps this far (px) from the screen's edge (a canvas rarely
#: reaches it).
SCREEN_EDGE = 6.0
#: Strokes less than this many degrees apart are one line (a nearly straight angle).
PARALLEL_DEG = 10.0


@dataclass(frozen=True)
class Circle:
    """A circle drawn on the screen.

    Attributes:
        center: ``(x, y)`` pixels, the fitted centre.
        radius: Pixels.
        box: The blob's ``(x1, y1, x2, y2)`` box, exclusive ends.
        rms: RMS distance (px) of the outline from the fitted circle.
    """

    center: Point
    radius: float
    box: Box
    rms: float

    def describe(self) -> str:
        """E.g. ``circle r=30 @(80,120)``."""
        return f"circle r={self.radius:.0f} @({self.center[0]:.0f},{self.center[1]:.0f})"


@dataclass(frozen=True)
class Segment:
    """A straight stroke: its two ends (pixels) and how many ink pixels lie on it."""

    start: Point
    end: Point
    support: int

    @property
    def length(self) -> float:
        """Pixels."""
        return math.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1])


@dataclass(frozen=True)
class Angle:
    """Two straight arms from one vertex.

    Attributes:
        vertex: ``(x, y)`` pixels where the arms meet.
        ends: The far end of each arm, pixels.
        box: Box of the blob the angle was found in.
    """

    vertex: Point
    ends: tuple[Point, Point]
    box: Box

    def _units(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        v = np.asarray(self.vertex)
        a, b = (np.asarray(e) - v for e in self.ends)
        la, lb = float(np.hypot(*a)), float(np.hypot(*b))
        return a / la, b / lb, la, lb

    @property
    def degrees(self) -> float:
        """The angle between the arms, degrees (0-180)."""
        ua, ub, _, _ = self._units()
        return math.degrees(math.acos(float(np.clip(ua @ ub, -1.0, 1.0))))

    def bisector_point(self, *, reach: float = 0.7) -> Point:
        """A point on the bisector, inside the triangle of the vertex and the arms' ends
        (so on whatever the angle is drawn on): ``reach`` of the way to that triangle's
        far side.

        Returns:
            ``(x, y)`` pixels.
        """
        ua, ub, la, lb = self._units()
        mid = ua + ub
        norm = float(np.hypot(*mid))
        if norm < 1e-6:  # a straight angle: the bisector is the normal
            mid, norm = np.array([-ua[1], ua[0]]), 1.0
            dist = 0.0  # (the least reach below)
        else:
            # vertex + k * mid/|mid| = vertex + s*(ua + ub), s = k/|mid|; on the far side
            # of the triangle s/la + s/lb = 1
            dist = reach * norm / (1.0 / la + 1.0 / lb)
        # (a nearly straight angle's triangle is flat: go far enough out to aim well)
        dist = max(dist, min(MIN_REACH, 0.5 * min(la, lb)))
        p = np.asarray(self.vertex) + dist * mid / norm
        return float(p[0]), float(p[1])

    def describe(self) -> str:
        """E.g. ``angle 47deg at (20,70)``."""
        return f"angle {self.degrees:.0f}deg at ({self.vertex[0]:.0f},{self.vertex[1]:.0f})"


# -- ink -----------------------------------------------------------------------
def stroke_mask(image: np.ndarray, *, top: int = 0, exclude: Sequence[Box] = (),
                min_diff: int = STROKE_DIFF) -> np.ndarray:
    """``HxW bool``: pixels where a channel differs from the page background by more than
    ``min_diff``, below ``top`` and outside the ``exclude`` boxes (XYXY pixels)."""
    from lavr.episodes.gui.shapes import _background

    img = np.asarray(image)
    diff = np.abs(img.astype(np.int32) - _background(img)).max(axis=2)
    ink = diff > min_diff
    ink[:max(top, 0)] = False
    for x1, y1, x2, y2 in exclude:
        ink[max(y1 - 1, 0):y2 + 1, max(x1 - 1, 0):x2 + 1] = False
    return ink


def _blobs(ink: np.ndarray, min_pixels: int) -> list[tuple[np.ndarray, np.ndarray, Box]]:
    """Connected blobs of ink (8-connected): ``(xs, ys, box)`` each."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < min_pixels:
            continue
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == i)
        out.append((xs + x, ys + y, (x, y, x + w, y + h)))
    return out


# -- circles -------------------------------------------------------------------
def fit_circle(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float, float]:
    """Least-squares circle through points (the algebraic fit of Kasa).

    Args:
        xs: ``(N,)`` x coordinates, pixels.
        ys: ``(N,)`` y coordinates, pixels.

    Returns:
        ``(cx, cy, r, rms)``: centre, radius, and the points' RMS distance from the circle.

    Raises:
        ValueError: Fewer than 3 points.
    """
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if len(x) < 3:
        raise ValueError(f"a circle needs at least 3 points, got {len(x)}")
    a = np.column_stack([x, y, np.ones_like(x)])
    (d, e, f), *_ = np.linalg.lstsq(a, x * x + y * y, rcond=None)
    cx, cy = d / 2.0, e / 2.0
    r = math.sqrt(max(f + cx * cx + cy * cy, 0.0))
    rms = float(np.sqrt(np.mean((np.hypot(x - cx, y - cy) - r) ** 2)))
    return float(cx), float(cy), float(r), rms


def _outline(xs: np.ndarray, ys: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """The blob's pixels that touch a non-blob pixel (4-neighbours): its outline."""
    x1, y1, x2, y2 = box
    m = np.zeros((y2 - y1 + 2, x2 - x1 + 2), bool)
    m[ys - y1 + 1, xs - x1 + 1] = True
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    edge = m[1:-1, 1:-1] & ~inner
    ey, ex = np.nonzero(edge)
    return ex + x1, ey + y1


def circle_of(xs: np.ndarray, ys: np.ndarray, box: Box) -> Circle | None:
    """The circle one blob of ink draws (a ring or a disc, whole or with a part cut away by
    something in front of it), or None when it is no circle.

    The blob's edge pixels are fitted, then refitted on those near the first circle (a
    ring's inner edge, a cut's straight edge and marks inside drop out): the fit must be
    close (:data:`CIRCLE_RMS`), the edge must go round (:data:`CIRCLE_COVER` of the
    10-degree sectors) and the circle must span the blob.
    """
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    if max(w, h) < 2 * MIN_RADIUS:
        return None
    ox, oy = _outline(xs, ys, box)
    if len(ox) < 8:
        return None
    cx, cy, r, _ = fit_circle(ox, oy)
    keep = np.hypot(ox - cx, oy - cy) >= 0.75 * r  # the outer edge (a ring has an inner one)
    for _ in range(2):
        if keep.sum() < 8:
            return None
        cx, cy, r, rms = fit_circle(ox[keep], oy[keep])
        keep = np.abs(np.hypot(ox - cx, oy - cy) - r) <= max(2.0, 0.1 * r)
    if keep.sum() < 8:
        return None
    cx, cy, r, rms = fit_circle(ox[keep], oy[keep])
    if r < MIN_RADIUS or rms > max(CIRCLE_RMS * r, 0.75) or keep.mean() < 0.6:
        return None
    if abs(2 * r - max(w, h)) > max(3.0, 0.15 * max(w, h)):
        return None  # the circle must span the blob
    angles = np.degrees(np.arctan2(oy[keep] - cy, ox[keep] - cx))
    if len(np.unique((angles // 10).astype(int))) < CIRCLE_COVER * 36:
        return None
    # pixel centres: a pixel at column x covers x..x+1
    return Circle((cx + 0.5, cy + 0.5), r, box, rms)


def find_circles(image: np.ndarray, *, top: int = 0, exclude: Sequence[Box] = ()) -> list[Circle]:
    """Circles drawn on a screenshot, largest first.

    Args:
        image: ``HxWx3 uint8 RGB``.
        top: Rows above this are left out (the instruction banner).
        exclude: Boxes to leave out (widgets), XYXY pixels.
    """
    ink = stroke_mask(image, top=top, exclude=exclude)
    out = [c for xs, ys, box in _blobs(ink, 12) if (c := circle_of(xs, ys, box)) is not None]
    return sorted(out, key=lambda c: -c.radius)


# -- straight strokes and angles -------------------------------------------------
def _strongest_line(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
    """``(theta, rho)`` of the line through most points (Hough, 1 degree, 1 px):
    ``x cos(theta) + y sin(theta) = rho``."""
    thetas = np.radians(np.arange(0.0, 180.0, 1.0))
    rho = np.outer(xs, np.cos(thetas)) + np.outer(ys, np.sin(thetas))  # (N, T)
    off = math.floor(float(rho.min()))
    bins = np.round(rho - off).astype(np.int64)
    size = int(bins.max()) + 1
    votes = np.zeros((len(thetas), size + 2), np.int64)
    t_idx = np.broadcast_to(np.arange(len(thetas)), bins.shape)
    np.add.at(votes, (t_idx.ravel(), bins.ravel()), 1)
    # a stroke two pixels wide splits its votes between neighbouring rho bins
    votes = votes[:, :-2] + votes[:, 1:-1] + votes[:, 2:]
    t, r = np.unravel_index(int(np.argmax(votes)), votes.shape)
    theta = float(thetas[t])
    on = np.abs(xs * math.cos(theta) + ys * math.sin(theta) - (r + 1 + off)) <= LINE_TOL + 0.5
    # refine by a least-squares line through the points on it (total least squares)
    px, py = xs[on], ys[on]
    if len(px) >= 2:
        cov = np.cov(np.vstack([px, py]))
        _, vecs = np.linalg.eigh(cov)
        nx, ny = vecs[:, 0]  # the normal: the direction of least spread
        theta = math.atan2(ny, nx)
        return theta, float(px.mean() * nx + py.mean() * ny)
    return theta, float(r + 1 + off)


def _stroke(xs: np.ndarray, ys: np.ndarray, theta: float, rho: float) -> tuple[Segment, np.ndarray] | None:
    """The longest unbroken run of points on a line, as a segment, and which points it holds."""
    nx, ny = math.cos(theta), math.sin(theta)
    on = np.abs(xs * nx + ys * ny - rho) <= LINE_TOL
    if on.sum() < 2:
        return None
    t = xs * -ny + ys * nx  # position along the line
    idx = np.nonzero(on)[0]
    order = idx[np.argsort(t[idx])]
    ts = t[order]
    breaks = np.nonzero(np.diff(ts) > STROKE_GAP)[0]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(ts) - 1]])
    k = int(np.argmax(ts[ends] - ts[starts]))
    lo, hi = ts[starts[k]], ts[ends[k]]
    members = on & (t >= lo) & (t <= hi)

    def at(s: float) -> Point:
        return float(rho * nx - s * ny), float(rho * ny + s * nx)

    return Segment(at(lo), at(hi), int(members.sum())), members


def strokes(xs: np.ndarray, ys: np.ndarray, *, most: int = 3) -> list[Segment]:
    """Straight strokes in a set of ink points, longest evidence first: the strongest line's
    longest run, then the strongest line among the points not on a stroke yet, and so on.

    Args:
        xs: ``(N,)`` x of the ink pixels.
        ys: ``(N,)`` y of the ink pixels.
        most: Most strokes returned.
    """
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    left = np.ones(len(x), bool)
    out: list[Segment] = []
    while len(out) < most and left.sum() >= MIN_ARM:
        theta, rho = _strongest_line(x[left], y[left])
        # (the run is taken over all the ink: where strokes meet, the pixels taken by the
        # stronger stroke belong to this one too)
        found = _stroke(x, y, theta, rho)
        if found is None:
            break
        seg, members = found
        if seg.length < MIN_ARM:
            break
        out.append(seg)
        # (the points near the stroke go, so a thick stroke is not found twice)
        nx, ny = math.cos(theta), math.sin(theta)
        near = np.abs(x * nx + y * ny - rho) <= LINE_TOL + 1.0
        along = x * -ny + y * nx
        lo = min(seg.start[0] * -ny + seg.start[1] * nx, seg.end[0] * -ny + seg.end[1] * nx)
        hi = max(seg.start[0] * -ny + seg.start[1] * nx, seg.end[0] * -ny + seg.end[1] * nx)
        left &= ~(near & (along >= lo - 1) & (along <= hi + 1))
    return out


def _crossing(a: Segment, b: Segment) -> Point | None:
    """Where the lines through two segments cross, or None when they are parallel."""
    (x1, y1), (x2, y2) = a.start, a.end
    (x3, y3), (x4, y4) = b.start, b.end
    den = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    if abs(den) < 1e-9:
        return None
    d1, d2 = x1 * y2 - y1 * x2, x3 * y4 - y3 * x4
    return ((d1 * (x3 - x4) - (x1 - x2) * d2) / den, (d1 * (y3 - y4) - (y1 - y2) * d2) / den)


def _line_distance(seg: Segment, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    (x1, y1), (x2, y2) = seg.start, seg.end
    length = max(seg.length, 1e-9)
    return np.abs((x2 - x1) * (y1 - y) - (x1 - x) * (y2 - y1)) / length


def _refit(seg: Segment, other: Segment, x: np.ndarray, y: np.ndarray) -> Segment:
    """``seg`` fitted again to the ink that is its own: on it, nearer to it than to
    ``other``, and away from where the two cross (there the strokes share pixels, which
    pull a line towards the other one when the angle is narrow)."""
    v = _crossing(seg, other)
    if v is None:
        return seg
    d_own, d_other = _line_distance(seg, x, y), _line_distance(other, x, y)
    own = (d_own <= LINE_TOL + 0.5) & (d_own < d_other) & \
        (np.hypot(x - v[0], y - v[1]) > 2 * VERTEX_TOL)
    if own.sum() < MIN_ARM:
        return seg
    px, py = x[own], y[own]
    _, vecs = np.linalg.eigh(np.cov(np.vstack([px, py])))
    ux, uy = vecs[:, 1]  # the direction of most spread
    mx, my = px.mean(), py.mean()

    def onto(p: Point) -> Point:
        t = (p[0] - mx) * ux + (p[1] - my) * uy
        return float(mx + t * ux), float(my + t * uy)

    return Segment(onto(seg.start), onto(seg.end), int(own.sum()))


def angle_of(a: Segment, b: Segment, box: Box = (0, 0, 0, 0)) -> Angle | None:
    """The angle two strokes make when they meet at an end of each, or None."""
    v = _crossing(a, b)
    if v is None:
        return None
    # (the narrower the angle, the further its arms run on together past the vertex, each
    # within a line's width of the other)
    tol = VERTEX_TOL + LINE_TOL / max(math.sin(math.radians(_between(a, b)) / 2.0), 0.05)
    far = []
    for seg in (a, b):
        d = [math.hypot(p[0] - v[0], p[1] - v[1]) for p in (seg.start, seg.end)]
        near, other = (0, 1) if d[0] <= d[1] else (1, 0)
        if d[near] > tol or d[other] < MIN_ARM:
            return None
        far.append((seg.start, seg.end)[other])
    return Angle((v[0] + 0.5, v[1] + 0.5), ((far[0][0] + 0.5, far[0][1] + 0.5),
                                            (far[1][0] + 0.5, far[1][1] + 0.5)), box)


def _between(a: Segment, b: Segment) -> float:
    """Degrees (0-90) between the lines of two segments."""
    da = math.atan2(a.end[1] - a.start[1], a.end[0] - a.start[0])
    db = math.atan2(b.end[1] - b.start[1], b.end[0] - b.start[0])
    d = abs(math.degrees(da - db)) % 180.0
    return min(d, 180.0 - d)


def marks_on(seg: Segment, x: np.ndarray, y: np.ndarray) -> list[Point]:
    """Points where something is drawn on a stroke (a dot marking a point on it): places
    along the stroke with ink just off its line on :data:`MARK_LENGTH` px or more, away
    from its ends."""
    ux, uy = (seg.end[0] - seg.start[0]) / seg.length, (seg.end[1] - seg.start[1]) / seg.length
    t = (x - seg.start[0]) * ux + (y - seg.start[1]) * uy
    d = np.abs((x - seg.start[0]) * -uy + (y - seg.start[1]) * ux)
    off = (d > LINE_TOL + 0.5) & (d <= VERTEX_TOL) & (t >= 0) & (t <= seg.length)
    counts = np.bincount(np.floor(t[off]).astype(int), minlength=int(seg.length) + 1)
    thick = np.concatenate([[0], (counts >= MARK_PIXELS).astype(np.int8), [0]])
    edges = np.diff(thick)
    out = []
    for a, b in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True):
        mid = (a + b) / 2.0
        if b - a >= MARK_LENGTH and VERTEX_TOL < mid < seg.length - VERTEX_TOL:
            out.append((float(seg.start[0] + mid * ux), float(seg.start[1] + mid * uy)))
    return out


def find_angles(image: np.ndarray, *, top: int = 0, exclude: Sequence[Box] = ()) -> list[Angle]:
    """Angles drawn on a screenshot (two straight strokes from one vertex, in one blob of
    ink), the largest (longest arms) first.

    Args:
        image: ``HxWx3 uint8 RGB``.
        top: Rows above this are left out (the instruction banner).
        exclude: Boxes to leave out (widgets), XYXY pixels.
    """
    ink = stroke_mask(image, top=top, exclude=exclude)
    out: list[Angle] = []
    for xs, ys, box in _blobs(ink, int(2 * MIN_ARM)):
        if max(box[2] - box[0], box[3] - box[1]) < 2 * MIN_ARM:
            continue
        segs = strokes(xs, ys)
        x, y = xs.astype(np.float64), ys.astype(np.float64)
        if len(segs) == 1 or (len(segs) > 1 and (segs[1].length < 0.25 * segs[0].length or
                                                 _between(segs[0], segs[1]) < PARALLEL_DEG)):
            # one straight stroke with one point marked inside it: a straight angle there
            # (its arms may bend a little; either side of it is inside)
            marked = marks_on(segs[0], x, y) if segs else []
            if len(marked) == 1:
                (vx, vy), (s0, s1) = marked[0], (segs[0].start, segs[0].end)
                out.append(Angle((vx + 0.5, vy + 0.5), ((s0[0] + 0.5, s0[1] + 0.5),
                                                        (s1[0] + 0.5, s1[1] + 0.5)), box))
            continue
        if len(segs) < 2 or (len(segs) > 2 and segs[2].length >= 0.5 * min(
                segs[0].length, segs[1].length)):
            continue  # no stroke, or a polygon / a grid: not one angle
        a, b = segs[0], segs[1]
        a, b = _refit(a, b, x, y), _refit(b, a, x, y)
        ang = angle_of(a, b, box)
        if ang is not None:
            out.append(ang)
    return sorted(out, key=lambda a: -sum(math.hypot(e[0] - a.vertex[0], e[1] - a.vertex[1])
                                          for e in a.ends))


# -- free room and segments ------------------------------------------------------
def free_reach(image: np.ndarray, point: Point, direction: Point, *, top: int = 0,
               exclude: Sequence[Box] = (), skip: Box | None = None, limit: float = 40.0,
               margin: float = 3.0, edge: float = 0.0) -> float:
    """How far (px) the page is free from ``point`` along ``direction``: up to the first ink
    (a frame, another figure) outside ``skip`` (the figure the point is on), the rows above
    ``top``, an ``exclude`` box (a widget) or the screen's edge, less ``margin``; at most
    ``limit``; the screen's edge counts ``edge`` px early. A band 3 px wide is looked at, so a
    dotted frame stops it too."""
    ink = stroke_mask(image, top=top)
    h, w = ink.shape
    dx, dy = direction
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    px, py = point
    t = 0.0
    while t < limit + margin:
        t += 1.0
        x, y = px + ux * t, py + uy * t
        if not (edge <= x < w - edge and top + edge <= y < h - edge):
            break
        if any(b[0] - 1 <= x <= b[2] + 1 and b[1] - 1 <= y <= b[3] + 1 for b in exclude):
            break
        if skip is not None and skip[0] - 3 <= x <= skip[2] + 3 and skip[1] - 3 <= y <= skip[3] + 3:
            continue  # (the figure's own anti-aliased rim too)
        xi, yi = int(round(x)), int(round(y))
        band = ink[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2]
        if band.any():
            break
    return max(0.0, min(t - margin, limit))


def longest_segment(image: np.ndarray, *, top: int = 0,
                    exclude: Sequence[Box] = ()) -> Segment | None:
    """The longest straight stroke drawn on the screen (below ``top``, outside ``exclude``),
    or None."""
    ink = stroke_mask(image, top=top, exclude=exclude)
    best: Segment | None = None
    for xs, ys, box in _blobs(ink, int(2 * MIN_ARM)):
        if max(box[2] - box[0], box[3] - box[1]) < 2 * MIN_ARM:
            continue
        for seg in strokes(xs, ys, most=1):
            if best is None or seg.length > best.length:
                best = seg
    return best


def marked_ends(seg: Segment, image: np.ndarray, *, top: int = 0,
                exclude: Sequence[Box] = ()) -> tuple[Point, Point]:
    """The segment's ends, each moved to the middle of the dot drawn there if one is (where
    the ink across the stroke is wider than the stroke, within 10 px of the end): a stroke
    found in the ink runs on into the dots' rims."""
    ink = stroke_mask(image, top=top, exclude=exclude)
    h, w = ink.shape
    out = []
    for end, other in ((seg.start, seg.end), (seg.end, seg.start)):
        length = math.dist(end, other)
        if length < 1:
            out.append(end)
            continue
        ux, uy = (other[0] - end[0]) / length, (other[1] - end[1]) / length
        widths = []
        for t in range(0, 11):
            px, py = end[0] + ux * t, end[1] + uy * t
            n = 0
            for k in range(-6, 7):
                x, y = int(round(px - uy * k)), int(round(py + ux * k))
                n += bool(0 <= x < w and 0 <= y < h and ink[y, x])
            widths.append(n)
        stroke = min(widths[-3:])
        wide = [t for t, n in enumerate(widths) if n >= stroke + 2]
        if not wide:
            out.append(end)
            continue
        t0 = (min(wide) + max(wide)) / 2.0
        out.append((end[0] + ux * t0, end[1] + uy * t0))
    return out[0], out[1]


def square_points(vertex: Point, other: Point, image: np.ndarray, *, top: int = 0,
                  exclude: Sequence[Box] = ()) -> list[Point]:
    """Points that make a 90-degree angle at ``vertex`` with the arm to ``other``, on the line
    square to that arm, best first: on each side with 12 px of free room, as far from the
    vertex as the arm is long (less where the room ends, or :data:`SCREEN_EDGE` px from the
    screen's edge), then 60 % and 35 % as far (12 px at least); points within the box the arm spans (15 px around it:
    where a canvas that holds the arm surely is) before the others, farther ones first."""
    ax, ay = other[0] - vertex[0], other[1] - vertex[1]
    arm = math.hypot(ax, ay)
    if arm < 1:
        return []
    nx, ny = -ay / arm, ax / arm
    x1, x2 = min(vertex[0], other[0]) - 15, max(vertex[0], other[0]) + 15
    y1, y2 = min(vertex[1], other[1]) - 15, max(vertex[1], other[1]) + 15
    found: list[tuple[bool, float, Point]] = []
    for sign in (1.0, -1.0):
        d = (sign * nx, sign * ny)
        room = free_reach(image, vertex, d, top=top, exclude=exclude, limit=max(arm, 12.0),
                          margin=4.0, edge=SCREEN_EDGE, skip=(int(vertex[0]) - 5, int(vertex[1]) - 5,
                                                             int(vertex[0]) + 5, int(vertex[1]) + 5))
        if room < 12:
            continue
        for reach in sorted({room, *(room * k for k in (0.6, 0.35) if room * k >= 12)}):
            p = (vertex[0] + d[0] * reach, vertex[1] + d[1] * reach)
            found.append((x1 <= p[0] <= x2 and y1 <= p[1] <= y2, reach, p))
    found.sort(key=lambda t: (not t[0], -t[1]))
    out: list[Point] = []
    for _, _, p in found:
        if all(math.dist(p, q) > 3 for q in out):
            out.append(p)
    return out


def square_point(vertex: Point, other: Point, image: np.ndarray, *, top: int = 0,
                 exclude: Sequence[Box] = ()) -> Point | None:
    """The best of :func:`square_points`, or None when neither side has 12 px of room."""
    found = square_points(vertex, other, image, top=top, exclude=exclude)
    return found[0] if found else None


def joins(changed: np.ndarray, a: Point, b: Point, *, tol: int = 2) -> float:
    """Fraction of the points along ``a``-``b`` (its middle 60 %) with a changed pixel within
    ``tol`` px (``changed``: ``HxW bool``): how much of a new line there joins them."""
    h, w = changed.shape
    hits = 0
    ts = np.linspace(0.2, 0.8, 13)
    for t in ts:
        x, y = int(round(a[0] + t * (b[0] - a[0]))), int(round(a[1] + t * (b[1] - a[1])))
        if changed[max(y - tol, 0):min(y + tol + 1, h), max(x - tol, 0):min(x + tol + 1, w)].any():
            hits += 1
    return hits / len(ts)


def find_frames(image: np.ndarray, *, top: int = 0, exclude: Sequence[Box] = (),
                min_side: int = 16) -> list[Box]:
    """Hollow rectangles drawn on the screen (a drop zone, a box to put something in): a blob
    of ink whose box it outlines — each side at least 80 % covered within 2 px of the edge —
    with little ink inside; largest first. XYXY pixels, exclusive ends."""
    ink = stroke_mask(image, top=top, exclude=exclude)
    out: list[tuple[int, Box]] = []
    for _, _, box in _blobs(ink, 2 * min_side):
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        if w < min_side or h < min_side:
            continue
        sub = ink[y1:y2, x1:x2]
        sides = (sub[:3].any(axis=0).mean(), sub[-3:].any(axis=0).mean(),
                 sub[:, :3].any(axis=1).mean(), sub[:, -3:].any(axis=1).mean())
        inside = sub[4:-4, 4:-4]
        if min(sides) >= 0.8 and (inside.size == 0 or inside.mean() < 0.2):
            out.append((w * h, box))
    return [b for _, b in sorted(out, key=lambda t: -t[0])]


def frame_colour(image: np.ndarray, frame: Box) -> str:
    """The colour name of a frame's stroke (:func:`lavr.tools.colour.name_colour` of the ink
    within 2 px of its box's edge, either side; a thin dark stroke's anti-aliased grey is
    black)."""
    from lavr.tools.colour import name_colour

    x1, y1, x2, y2 = frame
    ink = stroke_mask(image)
    ring = np.zeros(ink.shape, bool)  # (2 px either side of the box's edge)
    ring[max(y1 - 2, 0):y2 + 2, max(x1 - 2, 0):x2 + 2] = True
    ring[y1 + 2:y2 - 2, x1 + 2:x2 - 2] = False
    pixels = np.asarray(image)[ring & ink]
    if not len(pixels):
        return ""
    name = name_colour(np.median(pixels.reshape(-1, pixels.shape[-1])[:, :3], axis=0))
    return "black" if name == "grey" else name
