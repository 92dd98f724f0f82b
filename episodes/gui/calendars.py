"""Calendar date pickers from pixels: dates in words, the month shown, the day cells.

A date picker is a grid of day cells (boxes of one size on a lattice of seven columns)
under a header that names the month and year shown, with an arrow at each end of the
header row to show the month before or after. Pure functions here:

* :func:`parse_date` / :func:`find_date` — a date written as ``01/14/2016``,
  ``2016-01-14``, ``January 14, 2016``, ``14 Jan 2016`` (month first for ``a/b/c``);
* :func:`read_month` — ``(year, month)`` from a header read by OCR (``Decenber 2O16``);
* :func:`find_calendar` — the day grid, its header line and arrows on a parsed screen;
* :meth:`Calendar.day_cell` — the cell of a day of the month shown (by the grid's
  layout: OCR of 7 px day numbers is not to be trusted);
* :func:`months_between` — how many months to step from the month shown to the date.

The GUI agent reads the header after every step, clicks the arrow toward the date until
the header names its month, then clicks the day. Nothing here names a page or a task.
"""

from __future__ import annotations

import calendar as _stdcal
import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lavr.episodes.gui.language import DIGIT_LOOKALIKES
from lavr.episodes.gui.perception import Box, ScreenParse, ink_mask, text_runs, text_similarity

logger = logging.getLogger(__name__)

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
#: A date written with digits (``01/14/2016``, ``1-14-16``, ``2016-01-14``) or with a
#: month name (``January 14, 2016``, ``Jan 14th 2016``, ``14 January 2016``).
DATE_PATTERN = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|"
    rf"\b{_MONTH_WORD}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b|"
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_WORD},?\s+\d{{4}}\b",
    re.IGNORECASE)
#: Smallest share of a month word's letters OCR must get right for it to count.
MONTH_MATCH = 0.7
#: Columns of a calendar grid (days of a week).
WEEK = 7


def _month_number(word: str) -> int | None:
    w = word.lower().rstrip(".")
    for i, name in enumerate(MONTHS, 1):
        if len(w) >= 3 and name.startswith(w[:3]) and (len(w) <= 4 or name.startswith(w)):
            return i
    return None


def _make(year: int, month: int, day: int) -> dt.date | None:
    if year < 100:
        year += 2000
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str) -> dt.date | None:
    """The date ``text`` is (the whole text, spaces and final dots aside), or None.

    ``01/14/2016``, ``1/14/16`` (month first), ``2016-01-14``, ``January 14, 2016``,
    ``Jan 14th 2016``, ``14 January 2016``.
    """
    t = text.strip().rstrip(".").strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})", t)
    if m:
        return _make(int(m[3]), int(m[1]), int(m[2]))
    m = re.fullmatch(r"([a-z]+\.?)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", t, re.IGNORECASE)
    if m and (month := _month_number(m[1])):
        return _make(int(m[3]), month, int(m[2]))
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]+\.?),?\s+(\d{4})", t,
                     re.IGNORECASE)
    if m and (month := _month_number(m[2])):
        return _make(int(m[3]), month, int(m[1]))
    return None


def find_date(text: str) -> tuple[dt.date, tuple[int, int]] | None:
    """The first date written in ``text`` and its ``(start, end)`` span, or None."""
    for m in DATE_PATTERN.finditer(text):
        day = parse_date(m[0])
        if day is not None:
            return day, m.span()
    return None


_DIGITS = str.maketrans(DIGIT_LOOKALIKES)


def read_month(text: str) -> tuple[int, int] | None:
    """``(year, month)`` named by a calendar header read by OCR, or None.

    The month is the word most like a month name (``Decenber`` -> 12); the year is a
    run of four digits once OCR look-alikes are mapped (``2O16`` -> 2016).
    """
    words = re.findall(r"[^\W\d_]{3,}", text)
    best, month = 0.0, 0
    for w in words:
        for i, name in enumerate(MONTHS, 1):
            score = text_similarity(w, name)
            if score > best:
                best, month = score, i
    years = [re.sub(r"\D", "", w.translate(_DIGITS)) for w in re.findall(r"\S{4,}", text)
             if re.search(r"\d", w)]
    found = [m[0] for y in years if (m := re.search(r"(?:1[89]|2\d)\d\d", y))]
    year = int(found[0]) if found else 0
    if best < MONTH_MATCH or not year:
        return None
    return year, month


def months_between(shown: tuple[int, int], want: dt.date) -> int:
    """Arrow steps from the month shown to ``want``'s month (negative: back in time)."""
    return (want.year * 12 + want.month) - (shown[0] * 12 + shown[1])


@dataclass(frozen=True)
class Calendar:
    """A calendar grid seen on the screen.

    Attributes:
        cells: Day cells (XYXY pixels) in reading order.
        columns: x centres of the seven columns, left to right.
        rows: y centres of the rows, top to bottom.
        title: The header's text line (month and year), or None when none was found.
        prev: The arrow left of the title (the month before), or None.
        next: The arrow right of the title (the month after), or None.
        box: The grid and its header.
    """

    cells: tuple[Box, ...]
    columns: tuple[float, ...]
    rows: tuple[float, ...]
    title: Box | None
    prev: Box | None
    next: Box | None
    box: Box

    def slot(self, cell: Box) -> tuple[int, int]:
        """``(row, column)`` of a cell on the lattice."""
        x, y = (cell[0] + cell[2]) / 2.0, (cell[1] + cell[3]) / 2.0
        col = int(np.argmin([abs(x - c) for c in self.columns]))
        row = int(np.argmin([abs(y - r) for r in self.rows]))
        return row, col

    def day_cell(self, year: int, month: int, day: int, *, first_weekday: int = 6) -> Box | None:
        """The cell of ``day`` when the grid shows ``year``/``month``.

        When the grid holds exactly the month's days they are its cells in reading order;
        otherwise (days of the months around shown too) the day's slot follows from the
        weekday of the 1st, the first column being ``first_weekday`` (Monday 0 ...
        Sunday 6).
        """
        n = _stdcal.monthrange(year, month)[1]
        if not 1 <= day <= n:
            return None
        if len(self.cells) == n:
            return self.cells[day - 1]
        start = (dt.date(year, month, 1).weekday() - first_weekday) % WEEK
        row, col = divmod(start + day - 1, WEEK)
        # the grid's first row seen may be the month's second week (a first week of one day
        # drawn apart, or covered): the shift that puts the most cells on days of the month
        slots = [self.slot(c) for c in self.cells]
        skip = max(range(3), key=lambda k: (sum(1 <= (r + k) * WEEK + c - start + 1 <= n
                                                for r, c in slots), -k))
        row -= skip
        if not 0 <= row < len(self.rows):
            return None
        for cell in self.cells:
            if self.slot(cell) == (row, col):
                return cell
        return None

    def describe(self) -> str:
        return (f"calendar of {len(self.cells)} day cells in {len(self.rows)} rows at "
                f"({self.box[0]},{self.box[1]})")


def _on_lattice(cells: list[Box], w: float, h: float) -> list[Box]:
    """The cells that are days: not in a column of fewer than three cells (every weekday
    comes at least four times a month), nor in a row at either end set off from the next
    row by more than 1.5 row steps (the header's month arrows are the size of a cell)."""
    def groups(values: list[float], tol: float) -> list[list[int]]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out: list[list[int]] = []
        for i in order:
            if out and values[i] - values[out[-1][-1]] <= tol:
                out[-1].append(i)
            else:
                out.append([i])
        return out

    xs = [(c[0] + c[2]) / 2.0 for c in cells]
    keep = [c for c, g in ((cells[i], g) for g in groups(xs, w / 3) for i in g) if len(g) >= 3]
    ys = [(c[1] + c[3]) / 2.0 for c in keep]
    rows = groups(ys, h / 3)
    centres = [float(np.mean([ys[i] for i in g])) for g in rows]
    if len(centres) >= 3:
        gap = float(np.median(np.diff(centres)))
        while len(centres) >= 3 and centres[1] - centres[0] > 1.5 * gap:
            rows, centres = rows[1:], centres[1:]
        while len(centres) >= 3 and centres[-1] - centres[-2] > 1.5 * gap:
            rows, centres = rows[:-1], centres[:-1]
    return [keep[i] for g in rows for i in g]


def _clusters(values: list[float], tol: float) -> list[float]:
    """Centres of groups of values no more than ``tol`` apart."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [float(np.mean(g)) for g in out]


def _regular(centres: list[float], tol: float = 2.5) -> bool:
    steps = np.diff(centres)
    return len(steps) >= 1 and float(steps.max() - steps.min()) <= tol and float(steps.min()) > 0


def find_calendar(parse: ScreenParse, *,
                  read: Callable[[list[Box]], list[str]] | None = None) -> Calendar | None:
    """The calendar grid on a parsed screen, or None.

    Day cells are elements (boxes: buttons, fields, framed text) of one size, at least 28
    of them, whose centres fall on a lattice of seven evenly spaced columns and three or
    more evenly spaced rows. The header is the first ink line above the grid (skipping a
    line of weekday names): narrow runs at its left and right ends are the arrows, the
    rest is the title.

    Args:
        parse: The parsed screen.
        read: OCR of text-line boxes (``boxes -> texts``): the header is then the first
            line above the grid that names a month and year. None: the first line of at
            most three runs (weekday names make more).
    """
    boxes = [e.box for e in parse.elements if e.kind in ("button", "input", "link", "text")
             and 8 <= e.width <= 48 and 6 <= e.height <= 40]
    if len(boxes) < 28:
        return None
    sizes = [(b[2] - b[0], b[3] - b[1]) for b in boxes]
    best: list[Box] = []
    for w, h in set(sizes):
        same = [b for b, (bw, bh) in zip(boxes, sizes, strict=True)
                if abs(bw - w) <= 2 and abs(bh - h) <= 2]
        if len(same) > len(best):
            best = same
    # one cell per place (a cell's own text may be parsed as an element of its size too)
    cells: list[Box] = []
    for b in sorted(best, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1])):
        if not any(min(b[2], c[2]) - max(b[0], c[0]) > 2 and min(b[3], c[3]) - max(b[1], c[1]) > 2
                   for c in cells):
            cells.append(b)
    if len(cells) < 28:
        return None
    w = float(np.median([c[2] - c[0] for c in cells]))
    h = float(np.median([c[3] - c[1] for c in cells]))
    cells = _on_lattice(cells, w, h)
    columns = _clusters([(c[0] + c[2]) / 2.0 for c in cells], w / 3)
    rows = _clusters([(c[1] + c[3]) / 2.0 for c in cells], h / 3)
    if len(columns) != WEEK or not 4 <= len(rows) <= 6 or not _regular(columns) or \
            not _regular(rows):
        logger.debug("no calendar: %d cells, columns %s, rows %s", len(cells), columns, rows)
        return None
    cells.sort(key=lambda c: (int(np.argmin([abs((c[1] + c[3]) / 2 - r) for r in rows])), c[0]))
    gx1, gy1 = min(c[0] for c in cells), min(c[1] for c in cells)
    gx2, gy2 = max(c[2] for c in cells), max(c[3] for c in cells)
    title, prev, nxt = _header(parse, (gx1, gy1, gx2, gy2), step=rows[1] - rows[0], read=read)
    top = min([gy1, *(b[1] for b in (title, prev, nxt) if b is not None)])
    return Calendar(cells=tuple(cells), columns=tuple(columns), rows=tuple(rows), title=title,
                    prev=prev, next=nxt, box=(gx1, top, gx2, gy2))


def _header(parse: ScreenParse, grid: Box, *, step: float,
            read: Callable[[list[Box]], list[str]] | None) -> tuple[Box | None, Box | None,
                                                                  Box | None]:
    """``(title, prev, next)`` of the header line above a day grid: the first ink line
    above it (bottom up) that reads as a month and year (without ``read``: that has no
    more than three runs, unlike a line of weekday names); its narrow runs at either end
    are the arrows, the rest is the title."""
    gx1, gy1, gx2, _ = grid
    image = parse.image
    top = max(int(gy1 - 4 * step), parse.banner[3] if parse.banner is not None else 0)
    x1, x2 = max(gx1 - 2, 0), min(gx2 + 2, image.shape[1])
    if gy1 - 1 <= top:
        return None, None, None
    runs = text_runs(ink_mask(image[top:gy1 - 1, x1:x2]), gap=6, offset=(x1, top))
    lines: list[list[Box]] = []
    for r in sorted(runs, key=lambda r: -r[3]):  # bottom up
        for ln in lines:
            if min(r[3], max(b[3] for b in ln)) - max(r[1], min(b[1] for b in ln)) > 0:
                ln.append(r)
                break
        else:
            lines.append([r])
    limit = max(step * 1.5, 16)
    for ln in lines:
        ln.sort(key=lambda b: b[0])
        prev = ln[0] if len(ln) >= 2 and ln[0][2] - ln[0][0] <= limit else None
        nxt = ln[-1] if len(ln) - (prev is not None) >= 2 and ln[-1][2] - ln[-1][0] <= limit \
            else None
        middle = [b for b in ln if b is not prev and b is not nxt]
        if not middle:
            continue
        title = _union(middle)
        if read is not None:
            if read_month(read([title])[0]) is None:
                continue
        elif len(ln) > 3 or title[2] - title[0] < (gx2 - gx1) / 3:
            continue
        return title, prev, nxt
    return None, None, None


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))
