"""Items a page lets the user reorder by dragging — a list or a grid of equal boxes — from
pixels, the places an instruction names for them, and the drag that puts one there.

* :func:`find_layout`: the largest group of widgets of one size laid out on a lattice of rows
  and columns (a vertical list, a row, a grid); their reading order is their order.
* :func:`parse_place`: where an instruction sends an item (``to the 3rd position``, ``to the
  top``, ``up by one``, ``to the bottom right``, ``to the center``, ``below Ann``) as a
  :class:`Place`; :func:`sort_order` reads a sorting request (``in increasing order``,
  ``starting with the largest at the top``, ``alphabetically``).
* :meth:`Layout.resolve` turns a place into the index the item must end at;
  :func:`next_sort_move` gives the one move that brings a list closer to sorted.
* :meth:`Layout.drop_point`: where to release the dragged item — past the middle of the item
  now at the target, in the direction of the move (a sortable list swaps two items when the
  pointer crosses the middle of the other one, coming from its side).

Nothing here knows a page: the input is element boxes and texts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.language import NUMBER_WORDS, ORDINAL_WORDS, TIMES_WORDS
from lavr.episodes.gui.perception import Box, boxes_overlap

#: Widgets whose width and height differ by at most this many pixels are the same size.
SIZE_TOL = 3
#: Boxes whose left (or top) edges differ by at most this are in one column (or row).
ALIGN_TOL = 3
#: The release point lies this fraction of the target's size past its middle.
DROP_PAST = 0.25
#: Mean difference (0-255) below which two items' marks at one place are the same mark.
MARK_DIFF = 20.0

_COUNT_WORDS = {**{w: n for w, n in NUMBER_WORDS.items() if n > 0}, **TIMES_WORDS}
_ROW_WORDS = {"top": 0, "upper": 0, "middle": 1, "center": 1, "centre": 1, "bottom": 2,
              "lower": 2}
_COL_WORDS = {"left": 0, "middle": 1, "center": 1, "centre": 1, "right": 2}
_DIRECTIONS = {"up": (-1, 0), "upward": (-1, 0), "upwards": (-1, 0), "down": (1, 0),
               "downward": (1, 0), "downwards": (1, 0), "left": (0, -1), "right": (0, 1),
               "higher": (-1, 0), "lower": (1, 0), "forward": (-1, 0), "back": (1, 0),
               "backward": (1, 0), "backwards": (1, 0)}
_ORDINAL = r"(\d+)\s*(?:st|nd|rd|th)?|" + "|".join(ORDINAL_WORDS)
_COUNT = r"\d+|" + "|".join(_COUNT_WORDS)
_SLOT = r"(?:position|place|spot|slot|item|element|entry|row|rank)"
_STEPS = rf"(?:\s+(?:{_SLOT}|step|space|cell|square|time)s?)?"
#: ``up by one (position)``, ``to the left by 2``; ``one place down``, ``2 steps to the right``.
_DIRECTION_FIRST = re.compile(rf"(?:(?:to|towards) the )?(\w+)(?:\s+(?:by\s+)?({_COUNT}))?{_STEPS}")
_COUNT_FIRST = re.compile(rf"(?:by\s+)?({_COUNT}){_STEPS}\s+(?:(?:to|towards) the\s+)?(\w+)")


@dataclass(frozen=True)
class Place:
    """Where an item is to go.

    Attributes:
        kind: ``index`` (the n-th place in reading order, ``n == -1`` the last), ``end``
            (``row``/``col``: -1 the first, 1 the last of that axis: ``to the top``),
            ``cell`` (``row``/``col`` of 0, 1, 2 = first, middle, last: ``to the bottom
            right``; ``-9`` = the item's own row or column), ``offset`` (``row``/``col``
            steps: ``up by one`` is ``row == -1``) or ``item`` (next to the item named
            ``name``: ``n == -1`` before it, 1 after it; 0: in its place, it taking this
            one's: a swap).
        n: The index (1-based) or side, by kind.
        row: Rows, by kind.
        col: Columns, by kind.
        name: The other item's name (``kind == "item"``).
    """

    kind: str
    n: int = 0
    row: int = 0
    col: int = 0
    name: str = ""

    def spec(self) -> str:
        """A short text that :func:`Place.from_spec` reads back (kept in an intent)."""
        return f"{self.kind}:{self.n}:{self.row}:{self.col}:{self.name}"

    @classmethod
    def from_spec(cls, spec: str) -> Place:
        """The place :meth:`spec` wrote."""
        kind, n, row, col, name = spec.split(":", 4)
        return cls(kind, int(n), int(row), int(col), name)

    def describe(self) -> str:
        """E.g. ``the 3rd place``, ``1 row(s) up``."""
        if self.kind == "index":
            return "the last place" if self.n == -1 else f"place #{self.n}"
        if self.kind == "item":
            side = "before" if self.n < 0 else "after" if self.n > 0 else "swapped with"
            return f'{side} "{self.name}"'
        if self.kind == "offset":
            return f"{self.row:+d} row(s), {self.col:+d} column(s)"
        return f"{self.kind} row {self.row}, column {self.col}"


def parse_place(phrase: str) -> Place | None:
    """The place an instruction's phrase sends an item to, or None.

    ``to the 3rd position``, ``to position 3``, ``into the first slot``, ``to the top`` /
    ``bottom`` / ``start`` / ``end``, ``to the top left`` / ``center`` / ``bottom center``,
    ``up by one (position)``, ``down 2 places``, ``one place to the left``, ``above Ann`` /
    ``below "Bo"`` / ``before`` / ``after``.
    """
    said = re.sub(r"\s+", " ", phrase.strip(" .,;:!"))
    stated = re.sub(r"^(?:so that it is |so it is |so it's |so that it's |so it comes |to be |"
                    r"so it becomes |so that it becomes )", "", said, flags=re.IGNORECASE)
    bare, said = stated != said, stated  # "so it is first": an ordinal alone names a place
    p = said.lower()
    m = re.fullmatch(rf"(?:(?:to|into|in|at|on) )?(?:the )?(?:({_ORDINAL}) {_SLOT}|{_SLOT} "
                     rf"(?:number |no\.? |#)?(\d+))(?: (?:of|in) the (?:list|grid|row|column))?",
                     p) or (re.fullmatch(rf"(?:the )?({_ORDINAL})(?: (?:one|item|entry))?", p)
                            if bare else None)
    if m:
        n = m[2] or (m[3] if m.re.groups >= 3 else None) or str(ORDINAL_WORDS.get(m[1], 0))
        return Place("index", n=int(n)) if int(n) != 0 else None
    m = _DIRECTION_FIRST.fullmatch(p)
    word, count = (m[1], m[2] or "1") if m else ("", "")
    m = _COUNT_FIRST.fullmatch(p) if not m else None
    if m:
        word, count = m[2], m[1]
    if word in _DIRECTIONS:
        k = int(count) if count.isdigit() else _COUNT_WORDS.get(count, 0)
        dr, dc = _DIRECTIONS[word]
        return Place("offset", row=dr * k, col=dc * k) if k else None
    m = re.fullmatch(r"(?:to|into|at|in|on) (?:the )?(?:very )?(top|bottom|start|beginning|front|"
                     r"end|back|left|right|head|tail)(?: (?:of|in) the (?:list|grid|row|column))?",
                     p)
    if m:
        side = {"top": (-1, 0), "start": (-1, 0), "beginning": (-1, 0), "front": (-1, 0),
                "head": (-1, 0), "bottom": (1, 0), "end": (1, 0), "back": (1, 0),
                "tail": (1, 0), "left": (0, -1), "right": (0, 1)}[m[1]]
        return Place("end", row=side[0], col=side[1])
    m = re.fullmatch(r"(?:to|into|at|in|on) (?:the )?(?:very )?(top|upper|middle|center|centre|"
                     r"bottom|lower)[- ]?(left|middle|center|centre|right)?(?: (?:corner|cell|"
                     r"square|spot|position|place|slot))?", p)
    if m and (m[2] or m[1] in ("middle", "center", "centre")):
        return Place("cell", row=_ROW_WORDS[m[1]], col=_COL_WORDS[m[2]] if m[2] else 1)
    m = re.fullmatch(r"(?:to|into|at|in|on) (?:the )?(left|right)[- ](middle|center|centre)"
                     r"(?: (?:cell|square|spot|position|place|slot))?", p)
    if m:
        return Place("cell", row=1, col=_COL_WORDS[m[1]])
    m = re.fullmatch(r"(?:(?:to|into|at) )?(?:the )?(?:place |position |spot )?(?:just |right "
                     r"|directly |immediately )?(above|over|before|ahead of|in front of|below|"
                     r"under|beneath|after|behind|next to|(?:to the )?left of|(?:to the )?right of)"
                     r"(?: the item| the entry)? (.+)", p)
    if m:
        name = said[m.start(2):m.end(2)].strip(' "\'')
        before = m[1] in ("above", "over", "before", "ahead of", "in front of") or \
            m[1].endswith("left of")
        return Place("item", n=-1 if before else 1, name=name) if name else None
    return None


def sort_order(text: str) -> str | None:
    """``ascending`` or ``descending`` when ``text`` asks to sort (``in increasing order``,
    ``from highest to lowest``, ``starting with the lowest number at the top``,
    ``alphabetically``, ``smallest last``), else None."""
    t = text.lower()
    down = r"(?:decreasing|descending|reverse|largest|biggest|highest|greatest|maximum|max)"
    up = r"(?:increasing|ascending|smallest|lowest|least|minimum|min|alphabetical(?:ly)?|a to z)"
    first = re.search(r"\b(?:start\w*|begin\w*|from)\s+(?:with\s+)?(?:the\s+)?(\w+)", t)
    if first and re.fullmatch(down, first[1]):
        order = "descending"
    elif first and re.fullmatch(up, first[1]):
        order = "ascending"
    elif re.search(rf"\b{down}\b", t) and not re.search(rf"\b{up}\b.*\b(?:at|on)\s+the\s+"
                                                       r"(?:top|start|beginning|first)", t):
        order = "descending"
    elif re.search(rf"\b{up}\b|\border\b|\bsort\w*\b", t):
        order = "ascending"
    else:
        return None
    # "the lowest ... at the bottom / last" turns it round
    if re.search(rf"\b{up}\b[^,.]*\b(?:at the (?:bottom|end)|last)\b", t) or \
            re.search(rf"\b{down}\b[^,.]*\b(?:at the (?:top|start|beginning)|first)\b", t):
        order = "descending"
    elif re.search(rf"\b{down}\b[^,.]*\b(?:at the (?:bottom|end)|last)\b", t):
        order = "ascending"
    return order


@dataclass(frozen=True)
class Layout:
    """Equal boxes on a lattice: the items of a list or grid.

    Attributes:
        boxes: ``(x1, y1, x2, y2)`` pixels of each item, in reading order.
        rows: Top edge of each row, top to bottom.
        cols: Left edge of each column, left to right.
    """

    boxes: tuple[Box, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.boxes)

    def describe(self) -> str:
        """E.g. ``list of 5 (5x1)``."""
        kind = "grid" if len(self.rows) > 1 and len(self.cols) > 1 else "list"
        return f"{kind} of {len(self.boxes)} ({len(self.rows)}x{len(self.cols)})"

    def cell(self, i: int) -> tuple[int, int]:
        """``(row, column)`` of item ``i``."""
        x1, y1 = self.boxes[i][:2]
        row = min(range(len(self.rows)), key=lambda r: abs(self.rows[r] - y1))
        col = min(range(len(self.cols)), key=lambda c: abs(self.cols[c] - x1))
        return row, col

    def at(self, row: int, col: int) -> int | None:
        """The index of the item in ``(row, col)``, or None."""
        for i in range(len(self.boxes)):
            if self.cell(i) == (row, col):
                return i
        return None

    def resolve(self, place: Place, index: int, *, names: Sequence[str] = ()) -> int | None:
        """The index item ``index`` must end at to be in ``place`` (None: no such place).

        ``names`` (the items' texts, reading order) find the item a ``place.kind == "item"``
        names (best spelling; see :func:`~lavr.episodes.gui.perception.text_similarity`).
        """
        from lavr.episodes.gui.perception import text_similarity

        n = len(self.boxes)
        rows, cols = len(self.rows), len(self.cols)
        row, col = self.cell(index)
        if place.kind == "index":
            k = n - 1 if place.n == -1 else place.n - 1
            return k if 0 <= k < n else None
        if place.kind == "item":
            if not names:
                return None
            scored = [(text_similarity(t, place.name), i) for i, t in enumerate(names) if i != index]
            if not scored:
                return None
            score, other = max(scored)
            if score < 0.5:
                return None
            if place.n == 0:  # in its place (a swap: it goes on to this one's after)
                return other
            if place.n < 0:  # just before it
                return other if other < index else other - 1
            return other + 1 if other < index else other
        if place.kind == "end":
            if cols == 1 or rows == 1:  # a list: its first or last item, either axis
                return 0 if (place.row or place.col) < 0 else n - 1
            r = row if not place.row else (0 if place.row < 0 else rows - 1)
            c = col if not place.col else (0 if place.col < 0 else cols - 1)
            return self.at(r, c)
        if place.kind == "cell":
            r = (place.row * (rows - 1)) // 2 if place.row != -9 else row
            c = (place.col * (cols - 1)) // 2 if place.col != -9 else col
            if rows == 1:
                r = 0
            if cols == 1:
                c = 0
            return self.at(r, c)
        if place.kind == "offset":
            if cols == 1 or rows == 1:  # a list: a step either way is one place
                k = index + (place.row or place.col)
                return k if 0 <= k < n else None
            return self.at(row + place.row, col + place.col)
        return None

    def drag_path(self, src: int, dst: int) -> tuple[tuple[tuple[float, float], ...],
                                                     tuple[float, float]]:
        """``(via, release)``: the points a drag of item ``src`` passes through, and where it
        releases it so that it ends at ``dst``. In a grid, a move across rows and columns goes
        along the item's row to the target's column, then along that column (a sortable
        moves the gap to the cell under the pointer when the pointer moves along a row, then
        a column; a diagonal move that goes left and down is read both ways, and one along
        a column first left the gap there in a jQuery UI grid)."""
        end = self.drop_point(src, dst)
        (sr, sc), (dr, dc) = self.cell(src), self.cell(dst)
        if sr == dr or sc == dc:
            return (), end
        _, sy1, _, sy2 = self.boxes[src]
        x1, y1, x2, y2 = self.boxes[dst]
        row_y = (y1 + y2) / 2.0 + DROP_PAST * (y2 - y1) * (1 if dr > sr else -1)
        end_x = (x1 + x2) / 2.0 + DROP_PAST * (x2 - x1) * (1 if dc > sc else -1)
        return ((end_x, (sy1 + sy2) / 2.0),), (end_x, row_y)

    def drop_point(self, src: int, dst: int) -> tuple[float, float]:
        """Where to release item ``src`` so that it ends at ``dst``: the middle of the item
        there, moved :data:`DROP_PAST` of its size further in the direction of the move."""
        sx1, sy1, sx2, sy2 = self.boxes[src]
        x1, y1, x2, y2 = self.boxes[dst]
        cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        dx, dy = cx - (sx1 + sx2) / 2.0, cy - (sy1 + sy2) / 2.0
        if abs(dx) > 1:
            cx += DROP_PAST * (x2 - x1) * (1 if dx > 0 else -1)
        if abs(dy) > 1:
            cy += DROP_PAST * (y2 - y1) * (1 if dy > 0 else -1)
        return cx, cy


def find_layout(boxes: Sequence[Box], *, min_items: int = 2) -> Layout | None:
    """The largest group of boxes of one size (within :data:`SIZE_TOL`) that lie on a
    lattice — each in a row with the others' tops and a column with their left edges — or
    None; a column of boxes of one width whose heights differ (items whose text wraps) and a
    row of boxes of one height whose widths differ are lists too, when no three boxes are of
    one size or when the odd boxes lie between those that are. Ties go to the group
    lower on the screen (a list below a title bar)."""

    def grouped(same: Callable[[Box, Box], bool]) -> list[list[Box]]:
        groups: list[list[Box]] = []
        for b in sorted(set(boxes), key=lambda b: (b[1], b[0])):
            for g in groups:
                if same(g[0], b):
                    g.append(b)
                    break
            else:
                groups.append([b])
        return groups

    def near(a: int, b: int) -> bool:
        return abs(a - b) <= SIZE_TOL

    groups = grouped(lambda a, b: near(a[2] - a[0], b[2] - b[0]) and near(a[3] - a[1], b[3] - b[1]))
    loose = [g for g in grouped(lambda a, b: near(a[0], b[0]) and near(a[2], b[2]))
             if _stacked(g, axis=1)]  # one column, heights free
    loose += [g for g in grouped(lambda a, b: near(a[1], b[1]) and near(a[3], b[3]))
              if _stacked(g, axis=0)]  # one row, widths free
    for g in loose:
        # a loose list counts when no three boxes are of one size, or when it holds such a
        # group with its odd boxes in between (not a button of the same width after a list)
        equal = [e for e in groups if len(e) >= 3 and set(e) <= set(g)]
        if not any(len(e) >= 3 for e in groups) or any(_between(set(g) - set(e), e) for e in equal):
            groups.append(g)
    best: Layout | None = None
    for g in groups:
        if len(g) < min_items:
            continue
        rows = _edges([b[1] for b in g])
        cols = _edges([b[0] for b in g])
        if len(rows) * len(cols) < len(g) or (len(rows) > 1 and len(cols) > 1 and
                                               len(g) < len(rows) + len(cols) - 1):
            continue
        if any(boxes_overlap(a, b) for i, a in enumerate(g) for b in g[i + 1:]):
            continue
        order = sorted(g, key=lambda b: (_nearest(rows, b[1]), b[0]))
        layout = Layout(tuple(order), tuple(rows), tuple(cols))
        if best is None or len(layout) >= len(best):
            best = layout
    return best


def item_text_boxes(image: np.ndarray, ink: np.ndarray, boxes: Sequence[Box]) -> list[Box | None]:
    """The box of each item's own text: the ink inside the item (``ink``: ``HxW bool``), less
    any mark every item shows alike at the same place (a drag handle, an icon), which is no
    part of its text; None for an item with no text.

    Args:
        image: ``HxWx3 uint8 RGB`` screenshot.
        ink: Its text-ink mask.
        boxes: The items' XYXY boxes (two or more for marks to be told apart).
    """
    from lavr.episodes.gui.perception import text_runs

    runs = []
    for x1, y1, x2, y2 in boxes:
        found = text_runs(ink[y1 + 2:y2 - 2, x1 + 2:x2 - 2], gap=2, offset=(x1 + 2, y1 + 2))
        runs.append([(r[0] - x1, r[1] - y1, r[2] - x1, r[3] - y1) for r in found])

    def crop(i: int, r: Box) -> np.ndarray:
        x1, y1 = boxes[i][:2]
        return image[y1 + r[1]:y1 + r[3], x1 + r[0]:x1 + r[2]].astype(np.int16)

    def shared(i: int, r: Box) -> bool:
        if len(boxes) < 2:
            return False
        for j in range(len(boxes)):
            if j == i:
                continue
            same = [o for o in runs[j] if all(abs(a - b) <= 1 for a, b in zip(o, r, strict=True))]
            if not same:
                return False
            a, b = crop(i, r), crop(j, same[0])
            h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
            if float(np.abs(a[:h, :w] - b[:h, :w]).mean()) > MARK_DIFF:
                return False
        return True

    out: list[Box | None] = []
    for i, (x1, y1, _, _) in enumerate(boxes):
        own = [r for r in runs[i] if not shared(i, r)]
        out.append((x1 + min(r[0] for r in own), y1 + min(r[1] for r in own),
                    x1 + max(r[2] for r in own), y1 + max(r[3] for r in own)) if own else None)
    return out


def next_sort_move(values: Sequence[float | str], order: str) -> tuple[int, int] | None:
    """The next drag that sorts ``values`` (reading order) into ``order``: ``(src, dst)``,
    the item that belongs at the first place holding the wrong one, and that place; None
    when they are sorted."""
    want = sorted(values, key=_sort_key, reverse=order == "descending")
    for i, (have, should) in enumerate(zip(values, want, strict=True)):
        if _sort_key(have) != _sort_key(should):
            src = next(j for j in range(i + 1, len(values))
                       if _sort_key(values[j]) == _sort_key(should))
            return src, i
    return None


def _sort_key(v: float | str) -> tuple[int, float, str]:
    return (0, float(v), "") if isinstance(v, float | int) else (1, 0.0, str(v).lower())


def _between(odd: set[Box], group: list[Box]) -> bool:
    """Every box of ``odd`` lies between two boxes of ``group`` (down or across)."""
    return bool(odd) and all(
        any(a[1] < b[1] < c[1] for a in group for c in group) or
        any(a[0] < b[0] < c[0] for a in group for c in group) for b in odd)


def _stacked(group: list[Box], *, axis: int) -> bool:
    """Boxes one after the other along ``axis`` (1: down, 0: across) with gaps no larger than
    half the smallest box: a list, not widgets strewn about."""
    if len(group) < 3:
        return False
    g = sorted(group, key=lambda b: b[axis])
    least = min(b[axis + 2] - b[axis] for b in g)
    return all(0 <= b[axis] - a[axis + 2] <= max(least // 2, 4) for a, b in zip(g, g[1:],
                                                                                strict=False))


def _edges(values: list[int]) -> list[int]:
    """Distinct edges (values within :data:`ALIGN_TOL` are one), ascending."""
    out: list[int] = []
    for v in sorted(values):
        if not out or v - out[-1] > ALIGN_TOL:
            out.append(v)
    return out


def _nearest(edges: list[int], v: int) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


# -- figures carried across a free page (not items of a list) --------------------------------
#: A figure moved "a step" in a direction travels this many times its size, at least
#: :data:`MIN_STEP` px (far enough to be seen as moved, not so far it leaves the page).
STEP_TIMES = 1.2
MIN_STEP = 25.0
#: Free pixels kept between a figure dropped into a frame and the frame's stroke or another
#: figure there.
SLOT_GAP = 3


def step_point(point: tuple[float, float], rows: int, cols: int, extent: float, *,
               bounds: Box) -> tuple[float, float]:
    """Where to release a figure pressed at ``point`` to move it a step up (``rows == -1``),
    down, left (``cols == -1``) or right: :data:`STEP_TIMES` its size (``extent`` px) that
    way, at least :data:`MIN_STEP`, kept 3 px inside ``bounds`` (XYXY pixels: the page
    below the instruction)."""
    d = max(MIN_STEP, STEP_TIMES * extent)
    x = min(max(point[0] + cols * d, bounds[0] + 3.0), bounds[2] - 3.0)
    y = min(max(point[1] + rows * d, bounds[1] + 3.0), bounds[3] - 3.0)
    return x, y


def frame_slot(ink: np.ndarray, frame: Box, extent: float) -> tuple[float, float]:
    """Where to drop a figure ``extent`` px across into ``frame`` (XYXY pixels) so that it
    lies wholly inside and clear of what is there already: the first free square, in
    reading order, of a lattice of slots :data:`SLOT_GAP` px apart and from the frame's
    stroke (``ink``: ``HxW bool``, what is drawn on the page); the middle when none is
    free."""
    x1, y1, x2, y2 = frame
    side = int(math.ceil(extent)) + SLOT_GAP
    inner = (x1 + 2 + SLOT_GAP, y1 + 2 + SLOT_GAP, x2 - 2 - SLOT_GAP, y2 - 2 - SLOT_GAP)
    cols = max(int((inner[2] - inner[0] + SLOT_GAP) // side), 1)
    rows = max(int((inner[3] - inner[1] + SLOT_GAP) // side), 1)
    for r in range(rows):
        for c in range(cols):
            a, b = inner[0] + c * side, inner[1] + r * side
            patch = ink[max(b - 1, 0):b + side - SLOT_GAP + 1, max(a - 1, 0):a + side - SLOT_GAP + 1]
            if patch.size and not patch.any():
                return a + (side - SLOT_GAP) / 2.0, b + (side - SLOT_GAP) / 2.0
    return (x1 + x2) / 2.0, (y1 + y2) / 2.0


def on_side(boxes: Sequence[Box], side: str) -> Box | None:
    """The box furthest to ``side`` (``left``, ``right``, ``top``, ``bottom``; ``""``: the
    first), or None when there is none."""
    if not boxes:
        return None
    key: dict[str, Callable[[Box], float]] = {
        "left": lambda b: b[0] + b[2], "right": lambda b: -(b[0] + b[2]),
        "top": lambda b: b[1] + b[3], "bottom": lambda b: -(b[1] + b[3])}
    return min(boxes, key=key[side]) if side in key else boxes[0]
