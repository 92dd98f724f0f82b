"""Sliders from pixels: a long thin track and a handle that stands out of it on both sides.

:func:`find_sliders` takes the outlines of everything drawn below the instruction banner
(pixels that differ from the background by more than :data:`OUTLINE_DIFF`; light grey
borders count), fills each outline's holes into a silhouette, and keeps the silhouettes
that are long and thin (a track) and thicker over one short stretch (the handle: it sticks
out of the track across its width). The handle's centre is where a pointer grabs it or a
click focuses it; the track's axis says whether the slider is horizontal or vertical.

:func:`value_label` finds the number shown beside a slider (its value), among text
elements read by OCR. Nothing here knows a page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.geometry import stroke_mask
from lavr.episodes.gui.perception import Box

logger = logging.getLogger(__name__)

#: A pixel belongs to an outline when a channel differs from the background by more than this.
OUTLINE_DIFF = 30
#: A track is at least this long (px) and this many times longer than it is thick.
MIN_LENGTH = 24
MIN_ASPECT = 3.0
#: The handle is at least this much (px) thicker than the track.
HANDLE_EXTRA = 2
#: A value label lies within this distance (px) of the slider's box.
LABEL_REACH = 40


@dataclass(frozen=True)
class Slider:
    """A slider seen on the screen.

    Attributes:
        box: The whole slider (track and handle), ``(x1, y1, x2, y2)`` pixels, exclusive ends.
        handle: The handle's box, pixels.
        vertical: The track runs up and down (values grow upwards), else left to right.
        track: ``(start, end)`` of the track along its axis, pixels (x for a horizontal
            slider, y for a vertical one).
        area: See :attr:`reach` (None: ``box``).
    """

    box: Box
    handle: Box
    vertical: bool
    track: tuple[float, float]
    area: Box | None = None

    @property
    def reach(self) -> Box:
        """Everywhere the slider may be drawn, whatever its value: its box, and half a
        handle beyond each end of the track (a handle at an end may stick out over it)."""
        return self.area if self.area is not None else self.box

    @property
    def grip(self) -> tuple[float, float]:
        """``(x, y)``: the centre of the handle, where it is grabbed or clicked."""
        x1, y1, x2, y2 = self.handle
        return (x1 + x2) / 2.0, (y1 + y2) / 2.0

    @property
    def position(self) -> float:
        """Where the handle is along the track, 0 (low end) to 1 (high end): left to right
        for a horizontal slider, bottom to top for a vertical one."""
        lo, hi = self.track
        at = self.grip[1] if self.vertical else self.grip[0]
        frac = (at - lo) / max(hi - lo, 1e-6)
        return float(np.clip(1.0 - frac if self.vertical else frac, 0.0, 1.0))

    def point_at(self, position: float) -> tuple[float, float]:
        """``(x, y)`` on the track's axis at ``position`` (0 low end, 1 high end)."""
        lo, hi = self.track
        p = float(np.clip(position, 0.0, 1.0))
        gx, gy = self.grip
        if self.vertical:
            return gx, hi - p * (hi - lo)
        return lo + p * (hi - lo), gy

    def describe(self) -> str:
        """E.g. ``horizontal slider @(40,70), handle at 35%``."""
        x1, y1, x2, y2 = self.box
        way = "vertical" if self.vertical else "horizontal"
        return f"{way} slider @({(x1 + x2) / 2:.0f},{(y1 + y2) / 2:.0f}), handle at " \
               f"{100 * self.position:.0f}%"


def _silhouettes(mask: np.ndarray, *, close: bool = False) -> list[tuple[np.ndarray, Box]]:
    """Each 8-connected blob of ``mask`` with its holes filled, cropped to its box; with
    ``close``, gaps of a pixel are closed first."""
    import cv2

    m = mask.astype(np.uint8)
    if close:
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, _ = (int(v) for v in stats[i])
        if max(w, h) < MIN_LENGTH:
            continue
        blob = np.zeros((h + 2, w + 2), np.uint8)
        blob[1:-1, 1:-1] = labels[y:y + h, x:x + w] == i
        outside = blob.copy()
        cv2.floodFill(outside, None, (0, 0), 2)
        filled = (outside != 2)[1:-1, 1:-1]
        out.append((filled, (x, y, x + w, y + h)))
    return out


def slider_of(filled: np.ndarray, box: Box) -> Slider | None:
    """The slider a filled silhouette shows (``HxW bool`` inside ``box``), or None."""
    h, w = filled.shape
    vertical = h > w
    long, thick = (h, w) if vertical else (w, h)
    if long < MIN_LENGTH or long < MIN_ASPECT * thick:
        return None
    profile = filled.sum(axis=1 if vertical else 0)  # thickness at each place along the axis
    present = profile > 0
    track = int(np.median(profile[present]))
    wide = profile >= track + HANDLE_EXTRA
    if not wide.any() or track < 2:
        return None
    # the longest run of places where the silhouette is thicker than the track: the handle
    edges = np.diff(np.concatenate([[0], wide.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    k = int(np.argmax(ends - starts))
    a, b = int(starts[k]), int(ends[k])
    if b - a < 0.5 * track or b - a > 3 * track + 4 or (b - a) > 0.5 * long:
        return None
    if np.count_nonzero(np.abs(profile[present] - track) <= 1) < 0.5 * long:
        return None  # no even track
    cross = filled[a:b].any(axis=0) if vertical else filled[:, a:b].any(axis=1)
    c1, c2 = int(np.argmax(cross)), len(cross) - int(np.argmax(cross[::-1]))
    rest = np.concatenate([filled[:a], filled[b:]]) if vertical else \
        np.concatenate([filled[:, :a], filled[:, b:]], axis=1).T
    rest = rest[rest.any(axis=1)]
    t1 = int(np.median(np.argmax(rest, axis=1)))
    t2 = int(np.median(rest.shape[1] - np.argmax(rest[:, ::-1], axis=1)))
    if not (c1 < t1 and c2 > t2):
        return None  # the handle sticks out of the track on both sides
    x1, y1 = box[0], box[1]
    handle = (x1 + c1, y1 + a, x1 + c2, y1 + b) if vertical else (x1 + a, y1 + c1, x1 + b, y1 + c2)
    # the handle's centre reaches the track's ends at the extreme values (it may overhang them)
    half = (b - a) / 2.0
    lo, hi = (y1, box[3]) if vertical else (x1, box[2])
    on = np.nonzero(present)[0]
    lo, hi = (lo + on[0], lo + on[-1] + 1)
    span = (min(lo + half, handle[1 if vertical else 0] + half),
            max(hi - half, handle[3 if vertical else 2] - half))
    # the track's own ends (where no handle covers them) and half a handle beyond them
    # (runs of 4 px or more: a handle's rounded corners at an end are no track)
    edges = np.diff(np.concatenate([[0], (present & ~wide).astype(np.int8), [0]]))
    runs = [(int(a0), int(b0)) for a0, b0 in zip(np.nonzero(edges == 1)[0],
                                                  np.nonzero(edges == -1)[0], strict=True)
            if b0 - a0 >= 4]
    start = lo - on[0]  # the box's edge along the axis
    r1 = min(lo, start + runs[0][0] - int(half)) if runs else lo
    r2 = max(hi, start + runs[-1][1] + int(np.ceil(half))) if runs else hi
    r1, r2 = int(r1), int(r2)
    area = (box[0], r1, box[2], r2) if vertical else (r1, box[1], r2, box[3])
    return Slider(box, handle, vertical, (float(span[0]), float(span[1])), area)


def find_sliders(image: np.ndarray, *, top: int = 0, exclude: Sequence[Box] = ()) -> list[Slider]:
    """Sliders on a screenshot, in reading order.

    Args:
        image: ``HxWx3 uint8 RGB``.
        top: Rows above this are left out (the instruction banner).
        exclude: Boxes to leave out (widgets such as buttons and fields), XYXY pixels.
    """
    mask = stroke_mask(image, top=top, exclude=exclude, min_diff=OUTLINE_DIFF)
    out = []
    # (a focused handle may be drawn a pixel away from its track: when nothing is found,
    # such gaps are closed; not at first, as that also joins a value label drawn right
    # against the handle)
    for close in (False, True):
        out = [s for filled, box in _silhouettes(mask, close=close)
               if (s := slider_of(filled, box)) is not None]
        if out:
            break
    return sorted(out, key=lambda s: (s.box[1] // 8, s.box[0]))


def _gap(a: Box, b: Box) -> float:
    dx = max(a[0] - b[2], b[0] - a[2], 0)
    dy = max(a[1] - b[3], b[1] - a[3], 0)
    return float(np.hypot(dx, dy))


def value_label(slider: Slider, labels: Sequence[tuple[Box, float]]) -> tuple[Box, float] | None:
    """The number shown beside a slider: of ``labels`` (``(box, value)`` of texts that read
    as a number), the nearest to the slider within :data:`LABEL_REACH` px, or None."""
    near = [(_gap(slider.reach, box), box, v) for box, v in labels
            if _gap(slider.reach, box) <= LABEL_REACH]
    if not near:
        return None
    _, box, v = min(near, key=lambda t: t[0])
    return box, v
