"""Structure and exploration skills of the GUI agent, as pure functions over a screen parse.

* :func:`tab_bar` — a row of two or more equal-height buttons side by side (tabs):
  content hidden behind them is searched by opening them one by one;
  :func:`active_tab` is the one drawn differently (already open).
* :func:`dismiss_button` — a dialog that appeared after an action and that the
  instruction does not ask for is answered with its dismissive button
  (``Cancel``, ``Close``, ``No`` ..., or an x icon), never with its confirmation.
* :func:`pager_next` / :func:`is_pager` — the ``>`` / ``next`` control of a paged
  list, and the page links that are not items of it: the n-th item of a list may
  be on a later page.

Nothing here names a page or a benchmark task.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from lavr.episodes.gui.perception import ScreenElement, normalise_text

#: Button texts that dismiss a dialog without doing what it offers.
DISMISS_WORDS = frozenset({"cancel", "close", "no", "dismiss", "notnow", "later", "skip",
                           "nothanks", "maybelater", "x", "ignore", "stay", "back"})
#: Text of a pager control (page numbers and arrows), not an item of the list.
_PAGER = re.compile(r"[\d<>«»‹›]+|next|prev(?:ious)?|first|last|more", re.IGNORECASE)
#: Text of the control that opens the next page.
_NEXT = re.compile(r">|»|›|next(?: page)?|more", re.IGNORECASE)


def tab_bar(elements: Sequence[ScreenElement], *, gap: int = 8, tolerance: int = 2) -> list[
        ScreenElement]:
    """The buttons that form tab bars: runs of 2+ buttons of equal height on one row, each
    at most ``gap`` px from the next (rows may wrap; every run counts).

    Args:
        elements: Parsed elements (any kinds; only buttons are used).
        gap: Largest horizontal gap between neighbouring tabs.
        tolerance: Largest difference (px) in top, bottom and height within a run.
    """
    buttons = sorted((e for e in elements if e.kind == "button"), key=lambda e: (e.box[1], e.box[0]))
    rows: list[list[ScreenElement]] = []
    for b in buttons:
        for row in rows:
            r = row[-1]
            same_row = abs(r.box[1] - b.box[1]) <= tolerance and abs(r.box[3] - b.box[3]) <= tolerance
            if same_row and 0 <= b.box[0] - r.box[2] <= gap:
                row.append(b)
                break
        else:
            rows.append([b])
    runs = [row for row in rows if len(row) >= 2]
    if not runs:
        return []
    height = runs[0][0].height  # wrapped rows of one bar share the tab height
    return [b for row in runs for b in row if abs(b.height - height) <= tolerance]


def active_tab(tabs: Sequence[ScreenElement]) -> ScreenElement | None:
    """The tab drawn unlike the others (the open one), or None when none stands out."""
    if len(tabs) < 2:
        return None

    def dist(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
        return sum(abs(x - y) for x, y in zip(a, b, strict=True))

    odd = [t for t in tabs if all(dist(t.fill, o.fill) > 30 for o in tabs if o is not t)]
    if len(odd) == 1:
        return odd[0]
    if len(tabs) == 2 and len(odd) == 2:  # two tabs: the open one is the more saturated
        return max(tabs, key=lambda t: max(t.fill) - min(t.fill))
    return None


def dismiss_button(buttons: Iterable[ScreenElement], *, known: set[str],
                   wanted: set[str]) -> ScreenElement | None:
    """The dismissive button of a dialog that was not on the screen before.

    Args:
        buttons: Buttons with their text read.
        known: Normalised texts of the buttons on the first screen of the episode.
        wanted: Normalised targets the plan still has to click (never dismissed).

    Returns:
        The button to click, or None.
    """
    for b in buttons:
        t = normalise_text(b.text, fold=False)
        if not (t in DISMISS_WORDS or b.icon == "close"):
            continue
        if t in known or t in wanted:
            continue
        return b
    return None


def is_pager(el: ScreenElement) -> bool:
    """A link that is a page number or a pager arrow (not an item of the list)."""
    return bool(el.text) and bool(_PAGER.fullmatch(el.text.strip(" .")))


def pager_links(links: Sequence[ScreenElement]) -> list[ScreenElement]:
    """The links of a pager: page numbers and arrows, and any short link on their row
    (OCR may read a page number ``1`` as ``I``)."""
    sure = [el for el in links if is_pager(el)]
    rows = [el.center[1] for el in sure]
    return [el for el in links if el in sure or (
        len(el.text.strip()) <= 2 and any(abs(el.center[1] - y) <= 3 for y in rows))]


def pager_next(links: Sequence[ScreenElement]) -> ScreenElement | None:
    """The control that opens the next page: ``>`` / ``next``, else the lowest page number
    above the current one (the page numbers that are not links)."""
    for el in links:
        if _NEXT.fullmatch(el.text.strip(" .")):
            return el
    numbers = sorted((int(el.text.strip()), el) for el in links if el.text.strip().isdigit())
    return numbers[0][1] if numbers else None
