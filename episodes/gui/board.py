"""Board games on the screen: a grid of cells with marks, read from pixels, and a move by search.

* :func:`find_board` — an ``n x n`` grid (n >= 3) of equal square cells (the parsed
  widgets: an empty cell parses as a field, a marked one as a button), completed from its
  rows and columns when a cell was missed;
* :func:`read_mark` — what a cell holds: nothing, a cross (``X``: ink through its
  centre) or a ring (``O``: ink around an empty centre);
* :func:`best_move` — the cell to mark for an n-in-a-row game (a row, column or
  diagonal of one mark wins), by game-tree search: a win now, else the move whose value
  is best against an opponent who plays the best reply half of the time and any free
  cell otherwise (so a move that cannot lose is preferred, and among those the one that
  leaves a careless opponent most chances to go wrong).

Pixels only (``HxWx3 uint8 RGB``, XYXY pixel boxes); nothing names a page or a task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lavr.episodes.gui.perception import Box, ScreenParse

logger = logging.getLogger(__name__)

#: Marks a cell can hold (``""``: empty).
MARKS = ("X", "O")
#: Largest board searched to the end (empty cells); larger ones look this many plies ahead.
FULL_SEARCH_CELLS = 10
#: Share of the opponent's moves assumed to be the best reply (the rest: any free cell).
OPPONENT_SKILL = 0.5
#: Fraction of a cell's inside that must be ink for it to hold a mark.
MARK_INK = 0.03


@dataclass(frozen=True)
class Board:
    """A square grid of cells, row by row.

    Attributes:
        size: Cells per row (and per column).
        cells: Box of each cell, row-major (``size * size`` boxes).
        marks: What each cell holds (``"X"``, ``"O"`` or ``""``), row-major.
    """

    size: int
    cells: tuple[Box, ...]
    marks: tuple[str, ...]

    def describe(self) -> str:
        """The board as text rows, e.g. ``X.O/.X./...``."""
        n = self.size
        return "/".join("".join(m or "." for m in self.marks[r * n:(r + 1) * n]) for r in range(n))


def _clusters(values: list[float], tol: float) -> list[float]:
    """Centres of 1-D clusters (values closer than ``tol`` to a cluster's mean join it)."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and abs(v - float(np.mean(out[-1]))) <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [float(np.mean(c)) for c in out]


def find_board(parse: ScreenParse) -> Board | None:
    """The largest square grid of equal square cells on the screen, with its marks.

    Cells are parsed widgets (fields, buttons, checkboxes) that are square, at least 16 px,
    below the banner, of one size; their centres must fall on an ``n x n`` lattice
    (n >= 3) with at least ``n * n - n`` cells seen. A missing cell is filled in from its
    row and column.

    Returns:
        The :class:`Board`, or None when no such grid is on the screen.
    """
    top = parse.banner[3] if parse.banner is not None else 0
    squares = [e.box for e in parse.elements
               if e.kind in ("input", "button", "checkbox") and e.box[1] >= top - 1
               and min(e.width, e.height) >= 16 and abs(e.width - e.height) <= 0.15 * max(e.width, e.height)]
    if len(squares) < 6:
        return None
    sides = [max(b[2] - b[0], b[3] - b[1]) for b in squares]
    side = float(np.median(sides))
    squares = [b for b, s in zip(squares, sides, strict=True) if abs(s - side) <= 4]
    xs = _clusters([(b[0] + b[2]) / 2 for b in squares], side / 3)
    ys = _clusters([(b[1] + b[3]) / 2 for b in squares], side / 3)
    n = len(xs)
    if n < 3 or len(ys) != n or len(squares) < n * n - n:
        return None
    if max(np.diff(xs)) > 1.6 * side or max(np.diff(ys)) > 1.6 * side:
        return None  # not one grid: a gap wider than a cell
    half = side / 2
    cells = tuple((int(round(x - half)), int(round(y - half)), int(round(x + half)),
                   int(round(y + half))) for y in ys for x in xs)
    marks = tuple(read_mark(parse.image, c) for c in cells)
    return Board(n, cells, marks)


def read_mark(image: np.ndarray, box: Box) -> str:
    """``"X"`` (ink through the centre: a cross), ``"O"`` (ink around an empty centre: a
    ring) or ``""`` (little ink) for one cell; its frame is left out."""
    x1, y1, x2, y2 = box
    m = max(3, (x2 - x1) // 10)
    inner = np.asarray(image)[y1 + m:y2 - m, x1 + m:x2 - m].astype(np.float32).mean(axis=2)
    if inner.size == 0:
        return ""
    ink = inner < 128
    if ink.mean() < MARK_INK:
        return ""
    h, w = ink.shape
    c = max(2, min(h, w) // 8)
    centre = ink[h // 2 - c:h // 2 + c, w // 2 - c:w // 2 + c]
    return "X" if centre.mean() >= 0.25 else "O"


def lines(size: int) -> list[tuple[int, ...]]:
    """Every row, column and the two diagonals of a ``size x size`` board (cell indices)."""
    out = [tuple(r * size + c for c in range(size)) for r in range(size)]
    out += [tuple(r * size + c for r in range(size)) for c in range(size)]
    out.append(tuple(i * size + i for i in range(size)))
    out.append(tuple(i * size + size - 1 - i for i in range(size)))
    return out


def winner(marks: tuple[str, ...], size: int) -> str:
    """The mark that fills a whole line, or ``""``."""
    for line in lines(size):
        first = marks[line[0]]
        if first and all(marks[i] == first for i in line):
            return first
    return ""


def our_turn(marks: tuple[str, ...], ours: str) -> bool:
    """Whether it is ``ours`` to move: we have no more marks than the opponent (they
    opened and we are one behind, or we opened and they have replied)."""
    theirs = MARKS[1] if ours == MARKS[0] else MARKS[0]
    return marks.count(ours) <= marks.count(theirs)


def best_move(marks: tuple[str, ...], size: int, ours: str) -> int | None:
    """The cell to mark next for ``ours`` (see the module docstring); None on a full or
    decided board."""
    if winner(marks, size) or all(marks):
        return None
    theirs = MARKS[1] if ours == MARKS[0] else MARKS[0]
    depth = 99 if marks.count("") <= FULL_SEARCH_CELLS else 2
    free = [i for i, m in enumerate(marks) if not m]
    scored = []
    for i in free:
        after = marks[:i] + (ours,) + marks[i + 1:]
        scored.append((_value(after, size, ours, theirs, False, depth - 1), -i, i))
    return max(scored)[2]


@lru_cache(maxsize=65536)
def _value(marks: tuple[str, ...], size: int, ours: str, theirs: str, our_turn: bool,
           depth: int) -> float:
    """Value of a position for ``ours`` (win 1, loss -1, draw 0; a quicker win is worth a
    little more), with the opponent mixed as in :data:`OPPONENT_SKILL`."""
    won = winner(marks, size)
    if won:
        return (1.0 if won == ours else -1.0) * (1.0 + 0.01 * marks.count(""))
    free = [i for i, m in enumerate(marks) if not m]
    if not free or depth <= 0:
        return 0.0
    mark = ours if our_turn else theirs
    vals = [_value(marks[:i] + (mark,) + marks[i + 1:], size, ours, theirs, not our_turn, depth - 1)
            for i in free]
    if our_turn:
        return max(vals)
    return OPPONENT_SKILL * min(vals) + (1.0 - OPPONENT_SKILL) * float(np.mean(vals))
