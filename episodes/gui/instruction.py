"""Turn a GUI instruction into a plan of intents with a small general grammar.

An :class:`Intent` says *what* to do to *which* element (by its text, its
label, its kind or its position), never *where*: positions come from the
screen at acting time.

The grammar knows English, not any benchmark's sentences:

* the instruction is split into **clauses** at ``then``, ``;``, sentence ends
  and at ``and`` / ``,`` followed by a verb;
* a clause starts with a **verb** (``click press select check tap choose open
  expand close focus`` act on an element; ``enter type write fill input`` type
  text); ``... by clicking X`` means "click X";
* its object phrase holds **quoted strings**, **kind words** (``button``,
  ``link``, ``tab``, ``checkbox``, ``radio``, ``option``, ``text field``,
  ``textbox``, ``textarea``, ``input``, ``section``, ``widget`` ...),
  **ordinals** (``2nd``, ``third``, ``last``), **label phrases**
  (``labeled X``, ``named X``, ``the username "X"``) and **case modifiers**
  (``in all upper case letters``); the remaining content words name the target;
* a list of targets (``A, B and C``) is one intent per item; ``nothing`` is none;
* typing into ``both`` / ``all`` fields types into every field; a value after
  label words (``the password "x"``) goes into the field with that label.

:func:`parse_instruction` also tolerates what OCR does to a sentence (a ``:``
for the final ``.``, ``'`` for ``"``, spaces around quotes).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lavr.episodes.gui.arrange import Place, parse_place, sort_order
from lavr.episodes.gui.calendars import find_date, parse_date
from lavr.episodes.gui.console import parse_shell_request
from lavr.episodes.gui.feedback import heat_goal, number_range
from lavr.episodes.gui.language import NUMBER_WORDS, ORDINAL_WORDS, TIMES_WORDS, repair_words
from lavr.episodes.gui.numbers import classes_of, order_of, pick_of
from lavr.episodes.gui.requests import parse_item_request
from lavr.episodes.gui.results import find_criterion, without_criterion
from lavr.episodes.gui.timing import PAUSE_VERBS, follow_phrase, pause_seconds, replay_phrase
from lavr.tools.colour import colour_rgb
from lavr.tools.vocab import COLOUR_RGB, COLOUR_WORDS

if TYPE_CHECKING:
    from lavr.planners.demos.embed import TextEmbedder

logger = logging.getLogger(__name__)

#: Operations an intent can ask for (``fill``: fill a form's fields from a free request;
#: ``hover``: move the pointer over an element, which opens its menu; ``set``: step a number
#: field to a value with its arrows; ``guess``: find a number in a range by trying, reading
#: the page's hint after each try, see :mod:`lavr.episodes.gui.feedback`; ``play``: win a
#: board game of marks on a grid, playing the mark ``text``, see :mod:`lavr.episodes.gui.board`;
#: ``draw``: draw the line :attr:`Intent.geometry` names on a figure drawn on the page, by
#: dragging from its start to its end, see :mod:`lavr.episodes.gui.geometry`;
#: ``date``: choose the date ``text`` (ISO ``yyyy-mm-dd``) in a calendar date picker, opening
#: it from its field first, see :mod:`lavr.episodes.gui.calendars`;
#: ``act``: do ``action`` to the list item marked by ``scope``, opening it when its row
#: does not show the action's control, then fill what the action opens and send it, see
#: :mod:`lavr.episodes.gui.requests`; ``reorder``: drag the item named ``target`` of a list
#: or grid to :attr:`Intent.place`, or sort the items, see :mod:`lavr.episodes.gui.arrange`;
#: ``resize``: drag a widget's resize grip so that its size changes as ``text`` says,
#: ``width:+`` / ``height:-`` / ``both:+``; text handled as text, see
#: :mod:`lavr.episodes.gui.editing`: ``copy`` the text of a field or paragraph to the
#: clipboard, ``paste`` it into a field, ``highlight`` (select) a paragraph's text or a
#: phrase, ``style`` text in a rich editing widget: bold, italic, underline or a colour;
#: ``scroll``: scroll the area ``target`` names (a text area, a list; the page when it names
#: none) to its end, ``text`` = ``down`` / ``up``, until it stops moving; ``clear``: empty a
#: field (text handled as text); ``key``: press the key or chord ``text`` (``C-c``),
#: ``index`` times); ``shell``: run the command the instruction asks for on the file it
#: describes in a console on the page, see :mod:`lavr.episodes.gui.console`; ``seek``: find
#: the spot of an area that the page calls ``text`` (a heat, ``4`` = hot) as the pointer
#: moves over it, reading its answer after each move, and click there, see
#: :class:`lavr.episodes.gui.feedback.HeatSearch`; ``turn``: turn a thing shown in 3-D until the
#: side marked ``text`` faces the user; ``wait``: pause :attr:`Intent.seconds` after the
#: action before it, so the action after it goes on time;
#: ``follow``: keep the pointer on the ``figure`` wherever it moves until the page ends the
#: task (see :mod:`lavr.episodes.gui.timing`); ``colour``: set a colour field (a field
#: showing its colour's hex code on that colour, as colour pickers draw it) to ``colour``.
OPS = ("click", "type", "fill", "hover", "set", "guess", "play", "draw", "date", "act",
       "reorder", "resize", "copy", "paste", "highlight", "style", "scroll", "clear", "key",
       "move", "shell", "seek", "turn", "wait", "follow", "colour")

#: Verbs that act on an element by clicking it.
CLICK_VERBS = frozenset({"click", "press", "hit", "tap", "push", "select", "choose", "check",
                         "pick", "open", "expand", "close", "mark", "toggle", "submit", "focus",
                         "label", "classify", "categorize", "categorise", "tag"})
#: Verbs that type text.
TYPE_VERBS = frozenset({"enter", "type", "write", "fill", "input", "put", "copy"})
#: Verbs that work out a value from the screen for a later clause to type (``find the 2nd
#: word ...``, ``solve the problem``).
VALUE_VERBS = frozenset({"find", "solve", "compute", "calculate", "evaluate", "work", "read",
                         "remember", "note"})
VERBS = CLICK_VERBS | TYPE_VERBS
#: Verbs that draw something on the page (``draw a line that bisects the angle``).
DRAW_VERBS = frozenset({"draw", "create", "make", "construct", "add", "bisect", "trace"})
#: Verbs that move a control to a value (``set the slider to 40``, ``move the slider to 4``).
MOVE_VERBS = frozenset({"set", "move", "slide", "drag", "adjust", "put", "select", "choose",
                        "pick", "change"})
#: Verbs of text handled as text (copy, paste, select, format); clauses are split before them
#: too (``... and paste it into the box``, ``..., give everything the style bold``).
EDIT_VERBS = frozenset({"copy", "cut", "paste", "highlight", "select", "give", "make", "apply",
                        "format", "clear", "erase", "empty",
                        "style", "turn", "change", "bold", "embolden", "underline", "italicize",
                        "italicise", "colour", "color"})
#: Style words and the style they ask for (the names :mod:`lavr.episodes.gui.editing` applies).
STYLE_WORDS = {"bold": "bold", "bolded": "bold", "boldface": "bold", "embolden": "bold",
               "italic": "italic", "italics": "italic", "italicized": "italic",
               "italicised": "italic", "italicize": "italic", "italicise": "italic",
               "underline": "underline", "underlined": "underline", "underlining": "underline"}
#: Points of a figure an instruction may name (``the centre of the circle``), and what
#: :mod:`lavr.episodes.gui.geometry` computes for them.
POINT_WORDS = {"center": "center", "centre": "center", "middle": "center", "midpoint": "center"}
#: Click verbs that open something (a menu, a section, a picker): when nothing on the screen
#: is labelled like the target, the one control without a word is the opener.
OPEN_VERBS = frozenset({"open", "expand"})
#: Verbs that scroll an area (``scroll to the bottom of the text area``).
SCROLL_VERBS = frozenset({"scroll"})
#: Words that say where a scroll goes: the far end (down), or back to the top (up).
_SCROLL_UP = re.compile(r"\b(?:up|top|start|beginning|upwards?)\b", re.IGNORECASE)
#: Words of a scroll phrase that say nothing about the area scrolled.
_SCROLL_WORDS = re.compile(r"\b(?:all\s+the\s+way|way|down(?:wards?)?|up(?:wards?)?|to|the|"
                           r"bottom|top|end|start|beginning|of|through|in|inside|within|"
                           r"until|till|very|its|it)\b", re.IGNORECASE)


def scroll_intent(obj: str) -> Intent:
    """``scroll (down) to the bottom of the text area``: scroll the area the leftover words
    name to its end (``up`` / ``top``: to its start)."""
    where = _SCROLL_WORDS.sub(" ", obj)
    ph = _phrase(where)
    return Intent("scroll", target=ph.words, kinds=ph.kinds or (),
                  text="up" if _SCROLL_UP.search(obj) else "down")


#: Where a typed value may come from instead of a quoted string (see :attr:`Intent.source`).
SOURCES = ("", "page-text", "expression", "count", "lookup")

#: Kind words and the element kinds (:data:`lavr.episodes.gui.perception.ELEMENT_KINDS`)
#: they refer to; longer phrases first.
KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("text fields", ("input",)), ("text field", ("input",)), ("text inputs", ("input",)),
    ("text input", ("input",)), ("input textbox", ("input",)), ("input box", ("input",)),
    ("text boxes", ("input",)), ("text box", ("input",)), ("textboxes", ("input",)),
    ("textbox", ("input",)), ("textarea", ("input",)), ("text area", ("input",)),
    ("fields", ("input",)), ("field", ("input",)), ("inputs", ("input",)), ("input", ("input",)),
    ("checkboxes", ("checkbox",)), ("checkbox", ("checkbox",)), ("check box", ("checkbox",)),
    ("radio buttons", ("radio",)), ("radio button", ("radio",)), ("radio", ("radio",)),
    ("options", ("radio", "checkbox")), ("option", ("radio", "checkbox")),
    ("buttons", ("button",)), ("button", ("button",)), ("tabs", ("button",)),
    ("tab", ("button",)), ("links", ("link",)), ("link", ("link",)),
    ("sections", ("button",)), ("section", ("button",)), ("header", ("button",)),
    ("search results", ("link",)), ("search result", ("link",)), ("results", ("link",)),
    ("result", ("link",)),
    ("widget", ()), ("element", ()), ("item", ()),
)
#: Kind words that are also a kind's *name* when quoted (``a "textarea" widget``), with
#: the icon that tells the kind apart (a text area's resize grip).
NAMED_KINDS: dict[str, tuple[tuple[str, ...], str, bool | None]] = {
    "button": (("button",), "", None), "text": (("input",), "", False),
    "textarea": (("input",), "grip", True), "checkbox": (("checkbox",), "", None),
    "radio": (("radio",), "", None), "link": (("link",), "", None),
    "input": (("input",), "", None), "textbox": (("input",), "", None),
}
#: Kinds a click may land on when the instruction names none.
ANY_KIND = ("button", "link", "checkbox", "radio", "input", "text")
#: Kinds "select X" prefers (X is usually an option).
SELECT_KINDS = ("checkbox", "radio", "button", "link", "text")
#: Words that name a figure drawn on the page (not text, not a widget), and what
#: :mod:`lavr.episodes.gui.shapes` calls it; ``item``/``shape``/``figure`` = any figure.
FIGURE_WORDS = {"circle": "circle", "circles": "circle", "disc": "circle", "dot": "circle",
                "dots": "circle", "discs": "circle", "point": "circle", "points": "circle",
                "rectangle": "rectangle", "rectangles": "rectangle", "square": "rectangle",
                "squares": "rectangle", "box": "rectangle", "block": "rectangle",
                "blocks": "rectangle", "triangle": "triangle",
                "triangles": "triangle", "letter": "letter", "letters": "letter",
                "digit": "digit", "digits": "digit", "number": "digit", "numbers": "digit",
                "shape": "shape", "shapes": "shape", "item": "", "items": "", "figure": "",
                "figures": "", "object": "", "objects": "", "symbol": "", "symbols": ""}
#: Size words of a figure description.
SIZE_WORDS = frozenset({"large", "big", "small", "little", "tiny", "huge", "larger", "bigger",
                        "largest", "biggest", "smaller", "smallest"})
#: Size words that mean the large one.
LARGE_WORDS = frozenset({"large", "big", "huge", "larger", "bigger", "largest", "biggest"})
ORDINALS = ORDINAL_WORDS
#: Words that carry no target meaning in an object phrase.
STOP_WORDS = frozenset({"the", "a", "an", "on", "in", "into", "onto", "to", "at", "of", "with",
                        "that", "this", "is", "which", "says", "saying", "labeled", "labelled",
                        "named", "called", "reads", "below", "above", "box", "dialog", "all",
                        "both", "each", "every", "please", "then", "and", "it", "its", "them",
                        "there", "from", "for", "page", "screen", "area", "text",
                        "letters", "case", "upper", "lower", "by", "clicking", "using", "only",
                        "your", "you", "field", "value", "entry"})


@dataclass(frozen=True)
class Intent:
    """One thing to do on the screen.

    Attributes:
        op: ``click`` (click the element) or ``type`` (click a text field, then type).
        target: Text to match on the element, or on its label for inputs and
            checkboxes; empty to choose by ``index`` or kind alone.
        kinds: Element kinds that may be chosen (see
            :data:`lavr.episodes.gui.perception.ELEMENT_KINDS`); empty = any.
        index: 0-based position among the elements of ``kinds`` in reading
            order (``-1`` = the last), used when ``target`` is empty (or as a
            fallback when no text matches).
        text: What to type (``op == "type"``); the range ``low..high`` to search
            (``op == "guess"``); the mark played (``op == "play"``).
        icon: An icon that satisfies the target (``"close"`` for an x button),
            or a required icon for ``require_icon``.
        require_icon: Only elements with (``True``) or without (``False``) an
            ``icon`` qualify; None: no constraint.
        figure: ``(size, colour, what)`` of a figure drawn on the page to click
            (``kinds == ("figure",)``): ``what`` is a class of
            :data:`FIGURE_WORDS` (``""`` any), or one character (a letter or digit
            drawn as a figure); size and colour words may be ``""``.
        describes: Click the element whose text names what the figure on the
            page is (``"the label that names this shape"``).
        scope: Text that marks the list item (row, post, card) the target belongs
            to (``"For the post of @ann, press ..."``): the target is looked for in that
            item, behind its "more" menu, scrolling until the item shows.
        source: Where a ``type`` intent's text comes from when the instruction does
            not quote it: ``page-text`` (the text shown on the page), ``expression``
            (the value of the arithmetic shown on the page), ``word:N`` (the N-th
            word of the page's text, ``word:-1`` the last) or ``count`` (how many figures
            on the page fit ``figure``; groups of them apart, joined by a drawn ``+`` or
            ``-``, are added or subtracted), ``lookup`` (the value the page shows for the
            label ``key``: beside it in a table's row or under it in a column, see
            :func:`lavr.episodes.gui.reading.value_of`); ``""``: ``text``.
        similar: Click the element whose text is closest in *meaning* to ``target``
            (``... similar to X``), not the one spelled like it.
        at: ``(x, y)`` pixels of the element as seen when the intent was made on
            screen (the agent fills a form's fields it has already located); the
            element there, or the nearest of ``kinds``, is the one.
        starts: The element's text must start with this (a constraint instead of a
            target, e.g. an autocomplete suggestion).
        ends: ... and end with this.
        colour: A colour word: click the swatch (a flat patch of colour, ``kinds ==
            ("swatch",)``) of that colour (``pick the teal coloured tile``); a swatch of it shown
            in the instruction is the reference when there is one.
        shades: With ``colour``: click *every* swatch that is a shade of it (any
            lightness or saturation of its hue), one click each.
        count: With ``figure``: click the choice (a button naming a number) that says how
            many figures on the page fit the description (``how many red circles ...``).
        coord: ``(x, y)`` in the units of the axes drawn on the page: click the point
            there (``press the point (-2, 1) on the plot``).
        items: With ``scope``: act on this many list items that ``scope`` marks (``on 2
            posts by @ann``), ``-1`` on every one of them (``on all posts by @ann``), one
            after the other, scrolling through the list; None: on the one item.
        geometry: A point or line worked out from a figure drawn on the page rather than the
            figure itself: ``center`` (click the centre of the ``figure``, e.g. a circle's
            fitted centre), ``midpoint`` (the point halfway between the two figures that fit
            ``figure``: ``the mid-point between the two points``), ``bisector`` (``op == "draw"``: the line that halves an angle).
        opens: The verb opens something (``expand the menu``): when no element is labelled
            like the target, the one control without a word (a round ``+``) is clicked, and
            the next target may be among what appeared.
        suggest: The value just typed into a field: click the suggestion that popped up
            under the field for it (the one holding every word of it), if one pops up;
            none popping up is no failure (a plain field).
        best: A superlative (``cheapest``, ``shortest``, see
            :mod:`lavr.episodes.gui.results`): of the results listed on the page, each with
            its own button of ``kinds`` (named like ``target``), click the button of the one
            best by that criterion, scrolling through the list to read them all.
        action: With ``op == "act"``: the :class:`~lavr.episodes.gui.requests.ItemAction`
            name to do to the item marked by ``scope`` (``text``: what to write).
        recipient: With ``op == "act"``: whom the item goes to (typed into the ``to``
            field the action opens).
        pick: Click the numbers shown on the page (as text or on ``kinds``) that this picks
            (see :func:`lavr.episodes.gui.numbers.pick_of`: ``max``, ``min``, ``>5``,
            ``even`` ...).
        order: Click every number shown on the page (as text or on ``kinds``), one after
            the other, in this order (``ascending`` or ``descending``; ``alphabetical``: every
            word shown on ``kinds``, see
            :func:`lavr.episodes.gui.numbers.order_of`; ``shown``: the controls in the order the
            page lights them up, watched first, see :class:`lavr.episodes.gui.timing.Flashes`);
            the numbers are read once, before
            the first click, and clicked where they were (a page may hide them once the
            clicking starts).
        pictured: Click the item whose mark (the icon before its label) looks like the
            picture set into the instruction (``the item with the ▶ icon``: OCR reads the
            picture as a stray sign or nothing).
        repeat: With ``figure``: click every figure that fits, again and again as long as the
            page shows (or moves in) more of them (``click as many moving circles as
            possible``); each click aims at where the figure is seen then. With ``op ==
            "move"``: carry every figure that fits (``drag all circles into the box``).
        rest: With ``op == "move"`` and ``repeat``: carry every figure the plan's other moves
            do not (``..., and everything else into the right box``).
        pattern: Copy the example drawn on the page (a picture of a grid whose cells are in
            two colours) into the grid of ``kinds`` (checkboxes): check the boxes of the cells
            that are *on*, uncheck the others (see :mod:`lavr.episodes.gui.patterns`).
        part: With ``count``: count this part of the one figure drawn on the page instead of
            the figures (``sides``: its sides, which are as many as its corners).
        classes: Property words (``("odd", "even")``, see
            :data:`lavr.episodes.gui.numbers.PROPERTIES`): for every number shown on the page,
            click the choice of ``kinds`` nearest to it that names the property it has.
        key: With ``source == "lookup"``: the label whose value on the page is typed
            (``enter the value of Last name ...``).
        area: Where a ``type`` intent's worked-out value is read (``textarea``: the words
            inside the text area, not the page's text; a ``scroll`` intent with it brings
            the area's end into view first); the field typed into is then another one.
        seconds: With ``op == "wait"``: how long to pause after the action before it.
        place: With ``op == "reorder"``: where the item goes, a
            :meth:`~lavr.episodes.gui.arrange.Place.spec` (``index:3:0:0:``), or
            ``sort:ascending`` / ``sort:descending`` (sort all the items by their text).
            With ``op == "move"``: ``onto-figure:size,colour,what[,side]`` (into the figure
            or frame so described; ``side``: the ``left`` / ``right`` / ``top`` / ``bottom``
            one of them), ``onto-text:name`` (onto the element reading ``name``) or
            ``by:rows:cols`` (a step in a direction: ``by:0:-1`` is to the left).
        until: A condition on a number the page shows (a :func:`~lavr.episodes.gui.numbers.pick_of`
            pick: ``<7``, ``>3``, ``odd`` ...): click the target again and again until the number
            meets it (``generate an odd number``, ``click Roll until the number is 6``); no
            click when it already does.
        when: A condition like ``until``: wait, reading the number, until it meets it, then
            click the target once (``buy when the price is less than $45``).
        watch: With ``until`` / ``when``: the label of the number read (``price``: the value
            the page shows beside that label); ``""``: the one number the page shows alone.
    """

    op: str
    target: str = ""
    kinds: tuple[str, ...] = ("button",)
    index: int | None = None
    text: str = ""
    icon: str = ""
    require_icon: bool | None = None
    figure: tuple[str, str, str] | None = None
    describes: str = ""
    scope: str = ""
    source: str = ""
    similar: bool = False
    at: tuple[float, float] | None = None
    starts: str = ""
    ends: str = ""
    colour: str = ""
    shades: bool = False
    count: bool = False
    coord: tuple[float, float] | None = None
    items: int | None = None
    geometry: str = ""
    opens: bool = False
    suggest: str = ""
    best: str = ""
    action: str = ""
    recipient: str = ""
    order: str = ""
    pick: str = ""
    classes: tuple[str, ...] = ()
    part: str = ""
    key: str = ""
    place: str = ""
    pattern: bool = False
    repeat: bool = False
    pictured: bool = False
    until: str = ""
    when: str = ""
    watch: str = ""
    rest: bool = False
    area: str = ""
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"intent op must be one of {OPS}, got {self.op!r}")
        if self.source not in SOURCES and not re.fullmatch(r"word:-?\d+", self.source):
            raise ValueError(f"intent source must be one of {SOURCES} or word:N, "
                             f"got {self.source!r}")

    def describe(self) -> str:
        """Short human text, e.g. ``type "abc" into input "username"``."""
        if self.op == "wait":
            return f"wait {self.seconds:g} s after the last action"
        if self.op == "follow":
            fig = " ".join(w for w in self.figure or () if w) or "figure"
            return f"keep the pointer on the {fig} until the page ends the task"
        if self.op == "colour":
            return f'set the colour field to "{self.colour}"' if self.colour else \
                "set the colour field to the colour shown in the instruction"
        if self.op == "move":
            fig = " ".join(w for w in self.figure or () if w)
            what = f"the {fig or 'figure'}" if self.figure is not None else f'"{self.target}"'
            if self.repeat:
                what = "every other figure" if self.rest else f"every {fig or 'figure'}"
            kind, _, where = self.place.partition(":")
            if kind == "by":
                rows, cols = (int(v) for v in where.split(":"))
                way = {(-1, 0): "up", (1, 0): "down", (0, -1): "left", (0, 1): "right"}.get(
                    (rows, cols), f"by {rows:+d} row(s), {cols:+d} column(s)")
                return f"drag {what} {way}"
            parts = where.split(",")
            parts = parts[3:] + parts[:3]  # (the side first: "the left black box")
            onto = f'the {" ".join(w for w in parts if w) or "figure"}' \
                if kind == "onto-figure" else f'"{where}"'
            return f"drag {what} onto {onto}"
        if self.op == "turn":
            return f'turn the {self.target or "thing"} until "{self.text}" is the active side'
        if self.op == "resize":
            dim, sign = self.text.split(":")
            what = {"width": "wider" if sign == "+" else "narrower",
                    "height": "taller" if sign == "+" else "shorter",
                    "both": "larger" if sign == "+" else "smaller"}[dim]
            return f"make the {'/'.join(self.kinds)} {what} by dragging its grip"
        if self.op == "reorder":
            if self.place.startswith("sort:"):
                return f"sort the items in {self.place[5:]} order by dragging"
            from lavr.episodes.gui.arrange import Place

            return f'drag "{self.target}" to {Place.from_spec(self.place).describe()}'
        if self.op in ("copy", "paste", "highlight", "style", "clear", "key"):
            return self._describe_edit()
        if self.op == "act":
            return f'{self.action} the item of "{self.scope}"' + \
                (f' to "{self.recipient}"' if self.recipient else "") + \
                (f' with "{self.text}"' if self.text else "")
        if self.pattern:
            return f"copy the example into the {'/'.join(self.kinds)} grid"
        if self.pictured:
            return "click the item whose icon looks like the one pictured in the instruction"
        if self.order == "shown":
            return "click the controls in the order the page lights them up"
        if self.order:
            return f"click the {'words' if self.order == 'alphabetical' else 'numbers'} in {self.order} order"
        if self.until or self.when:
            what = f'the {self.watch}' if self.watch else "the number shown"
            return f'click "{self.target}" until {what} is {self.until}' if self.until else \
                f'click "{self.target}" when {what} is {self.when}'
        if self.pick:
            return f"click the number(s) that are {self.pick}"
        if self.classes:
            return f"mark each number as {' or '.join(self.classes)}"
        if self.colour:
            return (f'click every shade of "{self.colour}"' if self.shades else
                    f'click the swatch coloured "{self.colour}"') + \
                (f" at ({self.at[0]:.0f},{self.at[1]:.0f})" if self.at is not None else "")
        if self.coord is not None:
            return f"click the point ({self.coord[0]:g}, {self.coord[1]:g}) on the axes"
        if self.op == "type" and self.source == "count" and self.part and not self.text:
            return f"type <how many {self.part} the figure has> into {'/'.join(self.kinds)}"
        if self.op == "type" and self.source == "count" and not self.text:
            fig = " ".join(w for w in self.figure or () if w) or "figure"
            return f'type <how many "{fig}"> into {"/".join(self.kinds)}'
        if self.geometry.startswith("trace-"):
            around = " ".join(w for w in self.figure or () if w)
            return f"draw a {self.text + ' ' if self.text else ''}{self.geometry[6:]} by hand" + \
                (f" around the {around or 'figure'}" if self.figure is not None else "")
        if self.geometry in ("vertical", "horizontal", "connect", "square-corner"):
            fig = " ".join(w for w in self.figure or () if w) or "figure"
            return {"vertical": f"draw a vertical line through the {fig}",
                    "horizontal": f"draw a horizontal line through the {fig}",
                    "connect": f"draw a line joining the {fig}s",
                    "square-corner": "add a point that makes a square corner with the segment"
                    }[self.geometry]
        if self.geometry == "midpoint":
            fig = " ".join(w for w in self.figure or () if w) or "figure"
            return f"{self.op} the midpoint between the two {fig}s"
        if self.geometry:
            fig = " ".join(w for w in self.figure or () if w) or "angle"
            verb = "draw" if self.op == "draw" else self.op
            return f"{verb} the {self.geometry} of the {fig}"
        if self.op == "scroll":
            what = f'the {"/".join(self.kinds) or "area"}' + (f' "{self.target}"' if self.target else "")
            return f"scroll {what} {'up to its start' if self.text == 'up' else 'down to its end'}"
        if self.op == "set" and "slider" in self.kinds:
            return f"set the slider to {self.text}"
        if self.suggest:
            return f'click the suggestion for "{self.suggest}" (if one pops up)'
        if self.best:
            return f'click the {"/".join(self.kinds)} "{self.target}" of the {self.best} result'
        if self.count and self.part:
            return f'click the {"/".join(self.kinds)} saying how many {self.part} the figure has'
        if self.count and self.figure is not None:
            fig = " ".join(w for w in self.figure if w) or "figure"
            return f'click the {"/".join(self.kinds)} saying how many "{fig}" there are'
        if self.starts or self.ends:
            what = f'starting "{self.starts}"' + (f' ending "{self.ends}"' if self.ends else "")
            return f"click {'/'.join(self.kinds) or 'element'} {what}"
        what = f'"{self.target}"' if self.target else (
            "the last" if self.index == -1 else
            f"#{self.index + 1}" if self.index is not None else "the only one")
        kinds = "/".join(self.kinds) or "element"
        if self.scope:
            which = "the item" if self.items is None else "every item" if self.items < 0 else \
                f"{self.items} item{'s' if self.items != 1 else ''}"
            plain = dataclasses.replace(self, scope="", items=None).describe()
            return f'{plain} in {which} of "{self.scope}"'
        if self.figure is not None:
            return ("click every figure " if self.repeat else "click figure ") + \
                (" ".join(w for w in self.figure if w) or "(any)")
        if self.describes:
            return f"click the {kinds} naming the {self.describes}"
        if self.op == "fill" and self.source == "lookup":
            return "fill each field with the value the page shows for its label"
        if self.op == "fill":
            return f'fill the fields from "{self.text}"'
        if self.op == "click" and self.source == "lookup":
            return f'click the value of "{self.key}"' + (f' in the item of "{self.scope}"'
                                                         if self.scope else "")
        if self.op == "type":
            value = f"<{self.source}>" if self.source and not self.text else f'"{self.text}"'
            if self.source == "lookup" and not self.text:
                value = f'<the value of "{self.key}">'
            return f"type {value} into {kinds} {what}"
        if self.similar:
            return f'click the {kinds} meaning most like "{self.target}"'
        if self.op == "set":
            return f"set {kinds} {what} to {self.text}"
        if self.op == "play":
            return f"win the game on the board, playing {self.text}"
        if self.op == "guess":
            return f"find the number in {self.text} by trying it in the {kinds}"
        if self.op == "seek":
            return f"find the spot the page calls heat {self.text} with the pointer, click it"
        if self.op == "date":
            return f"choose the date {self.text} in the date picker {what}"
        return f"{self.op} {kinds} {what}"


    def _describe_edit(self) -> str:
        which = "the last" if self.index == -1 else \
            f"#{self.index + 1}" if self.index is not None else "the"
        kind = "paragraph" if self.kinds == ("text",) else \
            "text area" if self.require_icon else "one-line field" \
            if self.require_icon is False else "field"
        if self.op == "style":
            what = f'"{self.target}"' if self.target else "everything"
            style = f"the colour {self.colour}" if self.text == "colour" else self.text
            return f"give {what} {style}"
        if self.op == "key":
            times = f" x{self.index}" if self.index and self.index > 1 else ""
            return f"press {self.text}{times}"
        if self.op == "clear":
            return f"clear {which} {kind}"
        if self.op == "highlight" and self.kinds == ("input",):
            return f"select all the text of {which} {kind}"
        if self.op == "highlight" and self.target:
            return f'highlight the text "{self.target}"'
        if self.op == "highlight":
            return f"highlight the text of {which} paragraph"
        if self.op == "copy":
            return f"{self.text or 'copy'} the text of {which} {kind}"
        return f"paste into {which} {kind}"


@dataclass(frozen=True)
class GuiPlan:
    """The intents for an instruction, in order.

    Attributes:
        intents: What to do.
        rule: ``grammar`` when the grammar understood the instruction, ``none`` if not.
        instruction: The instruction as cleaned before parsing.
    """

    intents: tuple[Intent, ...]
    rule: str
    instruction: str = ""


# -- cleaning ------------------------------------------------------------------
def clean_instruction(text: str) -> str:
    """Straighten quotes, undo common OCR slips around punctuation, collapse whitespace."""
    for a, b in (("\u201c", '"'), ("\u201d", '"'), ("\u2018", "'"), ("\u2019", "'"),
                 ("''", '"'), ("``", '"')):
        text = text.replace(a, b)
    text = re.sub(r"\s+", " ", text).strip()
    if text.count('"') % 2:  # OCR read one " as ': repair the quote at a word edge
        fixed = re.sub(r"(?<=\s)'(?=\w)|(?<=\w)'(?=[\s.,;:]|$)", '"', text)
        if fixed.count('"') % 2:  # ... or glued to the word before it: 'name'x" y'
            fixed = re.sub(r"(?<=\w)'(?=[^\s\"']+\")", ' "', text)
        if fixed.count('"') % 2 == 0:
            text = fixed
    text = re.sub(r'"\s+([.,;:!?])', r'"\1', text)  # '"x" .' -> '"x".'
    text = re.sub(r"[:;]$", ".", text)  # OCR reads a final '.' as ':'
    text = re.sub(r"#\s*[IlL|](?=\W|$)", "#1", text)  # "#L" -> "#1"
    text = re.sub(r"\b[Zz]th\b", "7th", text)  # a 7 read as Z ("2" would be "2nd")
    text = re.sub(r"\b[Zz]nd\b", "2nd", text)  # a 2 read as Z
    verbs = "|".join(sorted(VERBS, key=len, reverse=True))
    text = re.sub(rf"(?<=\w)[.;:](?=(?:{verbs})\b)", ", ", text, flags=re.IGNORECASE)  # "@leo.click"
    text = re.sub(r"\s+([,;])", r"\1", text)  # "delighted , genuine"
    text = re.sub(r"(?<=[A-Za-z])- (?=[A-Z][a-z])", "-", text)  # "Anne- Marie" (a line break)
    text = repair_words(text)  # "vords" -> "words", "belov" -> "below", "Sth" -> "5th"
    # "drag and drop X onto Y", "drag & drop": one gesture, the drag
    text = re.sub(r"\b(drag)\s*(?:&|\band\b|-and-|'?n'?)\s*drop(?:s|ped)?\b", r"\1", text,
                  flags=re.IGNORECASE)
    acts = "|".join(sorted(VERBS | DRAW_VERBS | MOVE_VERBS, key=len, reverse=True))
    # 'a' read '&' after a verb ("Drav & vertical line"); not a second verb joined by '&',
    # whose object follows ("Click & hold the button")
    return re.sub(rf"\b({acts})\s+&\s+(?=[a-z])(?!\w+\s+(?:the|a|an|it|this|that|its|your|"
                  r"all|each|every)\b)", r"\1 a ", text, flags=re.IGNORECASE)


# -- clauses -------------------------------------------------------------------
_QUOTE = re.compile(r'"([^"]*)"')


def _protect(text: str) -> tuple[str, list[str]]:
    quoted: list[str] = []

    def sub(m: re.Match[str]) -> str:
        quoted.append(m[1])
        return f" \x00{len(quoted) - 1}\x00 "

    return re.sub(r"\s+", " ", _QUOTE.sub(sub, text)).strip(), quoted


def _restore(text: str, quoted: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: f'"{quoted[int(m[1])]}"', text)


def split_clauses(text: str) -> list[str]:
    """Clauses of an instruction, each starting with its verb when it has one."""
    body, quoted = _protect(text)
    verb_alt = "|".join(sorted(VERBS | EDIT_VERBS | PAUSE_VERBS, key=len, reverse=True))
    # (a '.' before a lower-case word that is no verb ends a word, not a sentence: 'eget. the')
    parts = re.split(rf"(?:[.!?](?:\s(?!(?-i:[a-z])(?!(?:{verb_alt})\b))|$))|(?:,?\s*\bthen\b\s*)|(?:[,;]\s*to\s+(?=\w))|"
                     rf"(?:(?:[,;]|\band\b)\s*(?=(?:{verb_alt})\b))", body + " ",
                     flags=re.IGNORECASE)
    return [_restore(p, quoted).strip(" ,.") for p in parts if p and p.strip(" ,.")]


# -- object phrases ------------------------------------------------------------
@dataclass
class _Phrase:
    kinds: tuple[str, ...] | None = None
    kind_named: str = ""
    ordinal: int | None = None
    plural: bool = False
    every: bool = False
    quoted: list[str] | None = None
    words: str = ""
    case: str = ""


def _phrase(text: str) -> _Phrase:
    """Kinds, ordinal, quoted strings, case modifier and leftover words of an object phrase."""
    out = _Phrase(quoted=[m[1] for m in _QUOTE.finditer(text)])
    rest = " " + _QUOTE.sub(" ", text.lower()) + " "
    # `lover case`: OCR reads this font's `w` as `v`, and "lover" is a word, so the
    # lexicon repair leaves it; before "case" only "lower" is meant
    m = re.search(r"\b(?:in )?(?:all )?(upper|lo[wv]er)[ -]?case\b(?: letters)?", rest)
    if m:
        out.case = "upper" if m[1] == "upper" else "lower"
        rest = rest.replace(m[0], " ")
    if re.search(r"\b(?:both|all|each|every)\b", rest):
        out.every = True
    m = re.search(r"\b(\d+)(?:st|nd|rd|th)\b|\b(" + "|".join(ORDINALS) + r")\b", rest)
    if m:
        out.ordinal = int(m[1]) if m[1] else ORDINALS[m[2]]
        rest = rest.replace(m[0], " ", 1)
    for word, kinds in KIND_WORDS:
        m = re.search(rf"\b{word}\b", rest)
        if m:
            if out.kinds is None:
                out.kinds = kinds
                out.kind_named = word
                out.plural = word.endswith("s") and word not in ("text boxes",) or out.plural
            rest = rest[:m.start()] + " " + rest[m.end():]
    # (OCR reads this font's 'w' as 'v': 'belov' is still 'below')
    words = [w for w in re.findall(r"[#\w]+", rest)
             if w not in STOP_WORDS and w.replace("v", "w") not in STOP_WORDS]
    out.words = " ".join(words)
    return out


def _original_words(clause: str, words: str) -> str:
    """``words`` with the letter case they have in ``clause`` (targets are matched case-aware)."""
    if not words:
        return ""
    m = re.search(r"\b" + r"\W+".join(re.escape(w) for w in words.split()) + r"(?!\w)", clause,
                  flags=re.IGNORECASE)
    return m[0] if m else words


def _items(text: str) -> list[str]:
    """``A, B and C`` -> ``[A, B, C]``."""
    return [p.strip(' "') for p in re.split(r"[,;]|\band\b", text) if p.strip(' "')]


def _case(value: str, case: str) -> str:
    return value.upper() if case == "upper" else value.lower() if case == "lower" else value


_SIMILAR = re.compile(r"(?:(?:the\s+|all\s+)?(?:words?|items?|options?|ones?|checkboxes|"
                      r"entries|things)\s+)?(?:that\s+(?:are|is|mean)\s+)?(?:similar|related|"
                      r"close|closest|synonyms?)\s+(?:in meaning\s+)?(?:to|of)\s+(.+)$",
                      flags=re.IGNORECASE)
_WHEN_DONE = re.compile(r"(?:^|\s+)(?:[wv]hen|once|after)\s+(?:you\s+are\s+|you're\s+|you\s+have\s+)?"
                        r"(?:done|finished|ready|through)\b.*$", flags=re.IGNORECASE)


#: ``their address`` / ``his phone number``: a property of an item named before, i.e. the value
#: the page shows beside that label (``Address: 12 Elm St``).
_POSSESSED = re.compile(r"(?:on\s+|at\s+)?(?:their|his|her|its)\s+(?!own\b)(\w[\w ]*)$",
                        re.IGNORECASE)


#: ``(x, y)``: a point in the units of a plot's axes (OCR may read a minus as a dash).
_COORD = re.compile(r"\(\s*([-\u2212\u2013]?\s*\d+(?:\.\d+)?)\s*[,;]\s*"
                    r"([-\u2212\u2013]?\s*\d+(?:\.\d+)?)\s*\)")
#: ``all the shades of red``: every tint and tone of one hue.
_SHADES = re.compile(r"(?:(?:all|every|each)\s+(?:of\s+)?)?(?:the\s+)?(?:shades?|tints?|tones?|"
                     r"hues?|variants?)\s+of\s+(?:the\s+)?(?:colou?r\s+)?([a-z]+)\b", re.IGNORECASE)
#: ``the teal coloured tile``: a patch of one colour.
_COLOURED = re.compile(r"(?:the\s+|a\s+|an\s+)?([a-z]+)[\s-]*colou?red\s+(?:box|square|tile|"
                       r"swatch|block|patch|rectangle|area|one)\b", re.IGNORECASE)


def _number(text: str) -> float:
    return float(re.sub(r"\s+", "", text).replace("\u2212", "-").replace("\u2013", "-"))


def _colour_intents(obj: str) -> list[Intent] | None:
    """Intents for an object phrase that names a colour patch or a plotted point, or None."""
    if '"' in obj:
        return None
    m = _SHADES.search(obj)
    if m and colour_rgb(m[1]) is not None:
        return [Intent("click", kinds=("swatch",), colour=m[1].lower(), shades=True)]
    m = _COLOURED.search(obj)
    if m and colour_rgb(m[1]) is not None:
        return [Intent("click", kinds=("swatch",), colour=m[1].lower())]
    m = _COORD.search(obj)
    if m:
        return [Intent("click", kinds=("figure",), coord=(_number(m[1]), _number(m[2])))]
    return None


#: Words that refer to numbers shown on the page.
_NUMBERS = re.compile(r"\b(?:numbers?|digits?|numerals?|integers?|values?|them)\b", re.IGNORECASE)


#: Kinds a number to click may be shown on (as text, or as a control's label).
NUMBER_KINDS = ("text", "button", "link", "checkbox", "radio")


def _timed_intent(verb: str, obj: str) -> Intent | None:
    """A pause of a stated length (``wait 2 seconds``), or the pointer kept on a figure
    (``keep your mouse inside the circle as it moves``); None for another clause."""
    if replay_phrase(verb, obj):  # "push the buttons in the order displayed"
        return Intent("click", kinds=("button",), order="shown")
    seconds = pause_seconds(verb, obj)
    if seconds is not None:
        return Intent("wait", kinds=(), seconds=seconds)
    follow = follow_phrase(verb, obj)
    if follow is None:
        return None
    what, coloured = follow
    size, colour, kind = _figure_phrase(what) or ("", "", "")
    return Intent("follow", kinds=("figure",),
                  figure=(size, "coloured" if coloured and not colour else colour, kind))


#: ``with the colour picker``: the widget a colour is chosen with.
_PICKER = re.compile(r"\s*\b(?:w?ith|using|in|on|from|via)\s+(?:the\s+|a\s+)?colou?r[\s-]*(?:picker|"
                     r"wheel|chooser|selector|input|field|dialog)\b", re.IGNORECASE)


def _picker_intent(verb: str, obj: str) -> Intent | None:
    """``select aqua with the colour picker``, ``choose the following colour lime using the
    colour wheel``: set the colour field to the colour named (a swatch shown in the
    instruction is read as the name of its colour); None for another clause."""
    if verb not in CLICK_VERBS | MOVE_VERBS | {"use", "set"} or not _PICKER.search(obj):
        return None
    words = re.findall(r"[a-z]+", _PICKER.sub(" ", obj).lower())
    named = [w for w in words if colour_rgb(w) is not None]
    if not named and words:  # a colour word OCR misspelled ("nawy"): the one spelled closest
        import difflib

        close = difflib.get_close_matches(words[-1], list(COLOUR_RGB), n=1, cutoff=0.7)
        named = close[:1]
    # no colour word at all: the colour is the swatch shown in the instruction
    return Intent("colour", kinds=("input",), colour=named[-1] if named else "")


def _number_intents(obj: str) -> list[Intent] | None:
    """``the numbers in ascending order`` (click each, in that order), ``the numbers as
    even or odd`` (for each, click the choice naming its property), ``the largest number`` /
    ``every number greater than 5`` / ``all the prime numbers`` (click those), or None."""
    if '"' in obj:
        return None
    kinds = _phrase(obj).kinds
    order = order_of(obj)
    if order is not None and order[0] == "alphabetical":  # words, not numbers
        return [Intent("click", kinds=kinds or ("text", "link"), order=order[0])]
    if not _NUMBERS.search(obj):
        return None
    if order is not None:
        return [Intent("click", kinds=kinds or NUMBER_KINDS, order=order[0])]
    classes = classes_of(obj)
    if classes:
        return [Intent("click", kinds=("button", "radio", "checkbox", "link"), classes=classes)]
    pick = pick_of(obj)
    if pick is not None:
        return [Intent("click", kinds=kinds or NUMBER_KINDS, pick=pick)]
    return None


#: Verbs that draw a figure by checking boxes of a grid.
PATTERN_VERBS = frozenset({"draw", "copy", "reproduce", "recreate", "replicate", "make", "form",
                           "write", "mark", "fill", "check", "create", "trace", "spell", "paint",
                           "shape", "render", "show"})
_GRID = re.compile(r"\b(?:check\s*box(?:es)?|boxes|grid|squares|cells|tiles)\b", re.IGNORECASE)
_EXAMPLE = re.compile(r"\b(?:example|pattern|model|sample|picture|image|template|reference|"
                      r"shown|given|drawn|displayed)\b", re.IGNORECASE)


#: A clause that acts once a number the page shows meets a test: ``buy ABC stock when the
#: price is less than $45.30``, ``press Stop as soon as the counter reaches at least 10``.
_WHEN = re.compile(r"^(?P<act>.+?)\s+(?:[wv'\u2019]?hen(?:ever)?|once|as\s+soon\s+as|if)\s+(?:the\s+|its\s+|it\s+)?"
                   r"(?P<what>[\w\s]*?)\s*\b(?:is|gets|goes|falls|drops|rises|climbs|becomes|"
                   r"reaches|hits)\s+(?P<test>.+)$", re.IGNORECASE)
#: ... or acts again and again until it does: ``click Roll until the number is even``.
_UNTIL = re.compile(r"^(?P<act>.+?)\s+until\s+(?:the\s+|its\s+|it\s+)?(?P<what>[\w\s]*?)\s*\b"
                    r"(?:is|shows|reads|becomes|gets)\s+(?P<test>.+)$", re.IGNORECASE)
#: A number to bring about with the control the verb names: ``generate an odd number``, ``roll
#: a number greater than 4``.
_PRODUCE = re.compile(r"^(?:a|an|one|some)\s+(?P<pre>(?:[\w-]+\s+)*?)numbers?\b(?P<post>.*)$",
                      re.IGNORECASE)
#: Words that name the number shown itself rather than a labelled one.
_SHOWN_WORDS = frozenset({"", "it", "number", "value", "result", "number shown", "number displayed",
                          "displayed number", "shown number"})


def number_test(text: str) -> str:
    """The test on a number a phrase names (``less than $45.30`` -> ``<45.30``, ``an odd``
    -> ``odd``; see :func:`~lavr.episodes.gui.numbers.pick_of`), or ``""``: a currency sign
    before the number (or an ``S`` OCR reads for a ``$``) is dropped; ``largest`` and the
    like are no test of one number."""
    text = re.sub(r"(?:[$\u20ac\u00a3]|\bS)\s*(?=\d)", "", text)
    pick = pick_of(text)
    return pick if pick is not None and pick not in ("max", "min") else ""


def _watched_intents(verb: str, obj: str, clause: str) -> list[Intent] | None:
    """Intents that act on a number the page shows, or None: ``X when <the quantity> is
    <test>`` waits until the number labelled by the quantity (or the number shown) passes the
    test, then does X (``buy ...``: a verb the grammar does not know names its button);
    ``X until <the number> is <test>`` and ``<verb> a(n) <test> number`` click again and again
    until the number shown passes it (the button the verb names: ``generate``)."""
    for pattern, field in ((_UNTIL, "until"), (_WHEN, "when")):
        m = pattern.match(clause.strip().rstrip("."))
        if m is None:
            continue
        test = number_test(m["test"])
        if not test:
            continue
        what = m["what"].strip().lower()
        watch = "" if what in _SHOWN_WORDS else what
        act = re.match(r"(?:please\s+)?(\w+)\b\s*(.*)$", m["act"].strip())
        if act is None:
            continue
        a_verb, a_obj = act[1].lower(), act[2].strip()
        if a_verb in CLICK_VERBS and a_obj:
            found = _click_intents(a_verb, a_obj, m["act"])
            if not found:
                continue
            first = dataclasses.replace(found[0], **{field: test, "watch": watch})
            return [first, *found[1:]]
        if a_verb in VERBS or a_verb in VALUE_VERBS:
            continue
        return [Intent("click", target=act[1].capitalize(), kinds=("button",),
                       **{field: test, "watch": watch})]
    produce = _PRODUCE.match(obj.strip().rstrip("."))
    if produce and verb not in VERBS and verb not in VALUE_VERBS:
        test = number_test(f"{produce['pre']} {produce['post']}")
        if test:
            return [Intent("click", target=verb.capitalize(), kinds=("button",), until=test)]
    return None


def _pattern_intent(verb: str, obj: str) -> Intent | None:
    """``draw the number "0" in the checkboxes using the example on the right``: copy the
    example drawn on the page into the checkbox grid; None for other clauses."""
    if verb.lower() not in PATTERN_VERBS or not _GRID.search(obj) or not _EXAMPLE.search(obj):
        return None
    return Intent("click", kinds=("checkbox",), pattern=True)


#: ``how many sides the shape has``: a count of a drawn figure's sides (or corners).
_SIDES = re.compile(r"\bhow\s+many\s+(?:sides|edges|corners|vertices|vertexes|angles)\b",
                    re.IGNORECASE)
#: Kinds a choice that answers a count may be.
ANSWER_KINDS = ("button", "link", "radio", "text")


def _sides_intent(obj: str) -> Intent | None:
    """``the button that says how many sides the shape has``: click the choice naming the
    number of sides of the figure drawn on the page (before the question: the choice's kind)."""
    m = _SIDES.search(obj)
    if m is None:
        return None
    kinds = _phrase(obj[:m.start()]).kinds or ANSWER_KINDS
    return Intent("click", kinds=kinds, figure=("", "", "shape"), count=True, part="sides")


#: ``as many (moving) circles as possible``: every figure that fits, as long as more come.
_AS_MANY = re.compile(r"(?:on\s+|at\s+)?as\s+many\s+(?:of\s+)?(?:the\s+)?(.+?)\s+as\s+"
                      r"(?:possible|you\s+can|there\s+are)\b", re.IGNORECASE)


def _repeat_intent(obj: str) -> Intent | None:
    """``as many moving circles as possible``: click every figure that fits, again and again
    (words that say how the figures behave, ``moving``, ``falling``, are no description)."""
    m = _AS_MANY.match(obj.strip())
    if m is None:
        return None
    words = [w for w in m[1].split() if not re.fullmatch(r"\w+ing", w, flags=re.IGNORECASE)]
    figure = _figure_phrase(" ".join(words), plural=True)
    if figure is None:
        return None
    return Intent("click", kinds=("figure",), figure=figure, repeat=True)


#: ``the item with the ▶ icon``: a picture in the instruction that OCR reads as a stray sign
#: (or nothing) between ``the`` and ``icon``; a word there (``the star icon``) names the icon.
_PICTURED = re.compile(r"\bwith\s+(?:the|a|an|this)\s+(?:\S{0,2}[^\sA-Za-z]\S{0,2}\s+|[A-Za-z]\s+)?"
                       r"(?:icon|symbol|sign|picture|image|glyph)\b", re.IGNORECASE)


def _click_intents(verb: str, obj: str, clause: str) -> list[Intent]:
    obj = _WHEN_DONE.sub("", obj)
    if verb == "submit" and not obj.strip(" .,;:"):  # "submit (when done)": the form's button
        return [Intent("click", target="Submit", kinds=("button",))]
    owned = _POSSESSED.match(obj.strip(" .,;:"))
    if owned and '"' not in obj:  # "click on their address": the value shown for that label
        prop = owned[1].strip()
        return [Intent("click", target=prop, kinds=ANY_KIND, source="lookup", key=prop)]
    if '"' not in obj and _PICTURED.search(obj):
        return [Intent("click", kinds=ANY_KIND, pictured=True)]
    repeat = _repeat_intent(obj)
    if repeat is not None:
        return [repeat]
    numbered = _number_intents(obj)
    if numbered is not None:
        return numbered
    sides = _sides_intent(obj)
    if sides is not None:
        return [sides]
    coloured = _colour_intents(obj)
    if coloured is not None:
        return coloured
    similar = _SIMILAR.match(obj)
    if similar:  # "... similar to A, B": by meaning, one element per item
        items = [" ".join(w for w in re.findall(r"[\w'-]+", t) if w.lower() not in STOP_WORDS)
                 for t in _items(similar[1])]
        return [Intent("click", target=t, kinds=("checkbox", "radio"), similar=True)
                for t in items if t]
    by = re.search(r"\bby (?:clicking|pressing|selecting|tapping)(?: on)? (.+)$", obj)
    if by:  # "close the dialog by clicking the x": the means is the action
        return _click_intents("click", by[1], by[1])
    described = re.search(r"\b(?:that|which)\s+(?:best\s+)?(?:describes?|names?|matches|"
                          r"identifies)\s+(?:the\s+)?(figure|shape|image|picture|symbol|"
                          r"drawing|icon)\b", obj, flags=re.IGNORECASE)
    if described:  # "press the label which names the drawing"
        kinds = _phrase(obj[:described.start()]).kinds or ("button",)
        return [Intent("click", kinds=kinds, describes=described[1].lower())]
    mid = _MIDPOINT.match(obj.strip())
    figure = _figure_phrase(mid[1], plural=True) if mid and re.search(r"s\W*$", mid[1]) else None
    if figure is not None:  # "the midpoint between the two points": halfway between two figures
        return [Intent("click", kinds=("figure",), figure=figure, geometry="midpoint")]
    point = _POINT_OF.match(obj.strip())
    figure = _figure_phrase(point[2]) if point else None
    if point and figure is not None:  # "the centre of the circle": a point the figure defines
        return [Intent("click", kinds=("figure",), figure=figure,
                       geometry=POINT_WORDS[point[1].lower()])]
    figure = _figure_phrase(obj)
    if figure is not None:
        return [Intent("click", kinds=("figure",), figure=figure)]
    ph = _phrase(obj)
    if ph.quoted and ph.kind_named in ("widget", "element", "item") and \
            ph.quoted[0].lower() in NAMED_KINDS:
        kinds, icon, need = NAMED_KINDS[ph.quoted[0].lower()]
        return [Intent("click", kinds=kinds, icon=icon, require_icon=need)]
    kinds = ph.kinds if ph.kinds else None
    if verb == "focus":
        kinds = ("input",)
    if kinds is None:
        kinds = SELECT_KINDS if verb in ("select", "choose", "check", "pick", "mark") else ANY_KIND
    kinds = kinds or ANY_KIND
    index = None if ph.ordinal is None else (ph.ordinal - 1 if ph.ordinal > 0 else -1)
    if ph.quoted:
        targets = ph.quoted
    elif re.fullmatch(r"\s*nothing\s*", obj, flags=re.IGNORECASE):
        return []
    elif ph.words and verb in ("select", "choose", "check", "pick", "mark") and \
            not ph.kind_named:
        targets = _items(_original_words(obj, obj.strip()))
        targets = [t for t in (" ".join(w for w in re.findall(r"[#\w]+", t)
                                        if w.lower() not in STOP_WORDS) for t in targets) if t]
    elif ph.words:
        words = ph.words
        if ph.kind_named and re.fullmatch(r"#\s*\d+", words):  # "tab #2": the label says so
            words = f"{ph.kind_named} {words}"
        targets = [_original_words(obj, words)]
        if index is None and re.fullmatch(r"\w+ #(\d+)", targets[0]):
            index = int(targets[0].rsplit("#", 1)[1]) - 1
    else:
        targets = [""]
    out = []
    for t in targets:
        icon = "close" if t.strip().lower() in ("x", "close", "\u00d7") else ""
        out.append(Intent("click", target=t, kinds=kinds, index=index, icon=icon,
                          opens=verb in OPEN_VERBS))
    return out


#: ``the (exact) centre of X``: a point of a figure.
_POINT_OF = re.compile(r"(?:on\s+|at\s+|in\s+)?(?:the\s+|a\s+)?(?:exact\s+|very\s+)?(" +
                       "|".join(POINT_WORDS) + r")\s+of\s+(.+)$", re.IGNORECASE)
#: ``the (shortest) mid-point between the two points``: the point halfway between two figures.
_MIDPOINT = re.compile(r"(?:on\s+|at\s+|in\s+)?(?:the\s+|a\s+)?(?:(?:exact|very|shortest|true)\s+)?"
                       r"(?:mid-?\s?point|middle|half-?\s?way\s+point|centre|center)\s+"
                       r"(?:between|of)\s+(?:the\s+|both\s+|these\s+)?(?:two\s+|2\s+)?(.+)$",
                       re.IGNORECASE)
#: Words that say a line halves something.
_HALVES = re.compile(r"\b(?:bisect(?:s|ing)?|bisector|(?:divid|split|cut)\w*\b.*\b(?:in(?:to)?\s+"
                     r"(?:two|half|halves)|evenly|equally))\b", re.IGNORECASE)
#: A slider named in an object phrase.
_SLIDER = re.compile(r"\b(?:the\s+|a\s+)?(?:range\s+)?slider\b", re.IGNORECASE)


#: Verbs that move an item of a list or grid to another place (``drag Ann to the top``).
REORDER_VERBS = frozenset({"drag", "move", "put", "place", "shift", "bring", "slide",
                           "relocate", "reorder", "reposition"})
#: Sort verbs that mean sorting whatever follows; the others (``order``, ``rank``, ``put``)
#: sort only with an order named (``in increasing order``, ``alphabetically``).
ALWAYS_SORT = frozenset({"sort", "arrange", "rearrange", "reorder", "organize", "organise"})
_ORDER_PHRASE = re.compile(
    r"\bin\s+(?:\w+\s+){0,2}order\b|\b(?:ascending|descending|increasing|decreasing|"
    r"alphabetical(?:ly)?|numerical(?:ly)?)\b|\bfrom\s+(?:the\s+)?(?:lowest|highest|smallest|"
    r"largest|biggest|least|greatest|a)\s+to\b|\b(?:smallest|largest|lowest|highest|biggest)\b"
    r".*\b(?:at\s+the\s+(?:top|bottom|start|end)|first|last)\b", re.IGNORECASE)
#: Verbs that swap two items of a list or grid (``swap Ann and Bo``).
SWAP_VERBS = frozenset({"swap", "switch", "exchange", "interchange", "trade"})
#: Verbs that sort a list (``sort the numbers in increasing order``).
SORT_VERBS = frozenset({"sort", "order", "arrange", "rearrange", "reorder", "rank", "put",
                        "organize", "organise"})


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)


def _reorder_intents(verb: str, obj: str, clause: str) -> list[Intent] | None:
    """Intents for clauses that reorder a list or grid by dragging, or None:

    * ``drag Ann to the 3rd position``, ``move "Bo" up by one``, ``put Cy below Di``,
      ``drag Ed to the bottom right``: the item's name, then a place
      (:func:`~lavr.episodes.gui.arrange.parse_place`);
    * ``drag the circle left``, ``move the item up``: a figure drawn on the page (not an
      item of a list) moved a step that way, a ``move`` intent (``place == "by:0:-1"``);
    * ``sort the numbers in increasing order``, ``arrange the names alphabetically``:
      sort the items by dragging (:func:`~lavr.episodes.gui.arrange.sort_order`);
    * ``swap Ann and Bo``, ``switch the positions of Cy and Di``: each to the other's place
      (a place next to an item, ``n == 0``).
    """
    if verb in REORDER_VERBS:
        words = obj.split()
        for k in range(1, len(words)):
            place = parse_place(" ".join(words[k:]))
            if place is not None:
                said = " ".join(words[:k])
                fig = _figure_phrase(said)
                if fig is None and re.fullmatch(r"(?:the\s+|a\s+)?(?:item|object|shape|figure|"
                                                r"thing)", said, flags=re.IGNORECASE):
                    fig = ("", "", "")  # the one figure there is
                if place.kind == "offset" and fig is not None and len(fig[2]) != 1:
                    # "drag the circle left": a figure drawn on the page, a step that way
                    return [Intent("move", kinds=(), figure=fig,
                                   place=f"by:{_sign(place.row)}:{_sign(place.col)}")]
                name = re.sub(r"^(?:the\s+)?(?:item|entry|element|name|box|card|tile)\s+", "",
                              said, flags=re.IGNORECASE).strip(" ,\"'")
                if name and name.lower() not in ("it", "this", "that", "them"):
                    return [Intent("reorder", target=name, kinds=(), place=place.spec())]
    if verb in SWAP_VERBS:
        m = re.fullmatch(r"(?:the\s+(?:positions?|places?|spots?)\s+of\s+)?(.+?)\s+(?:and|with)\s+"
                         r"(.+?)(?:\s+(?:around|over|places|positions))?", obj.strip(" ."),
                         flags=re.IGNORECASE)
        if m:
            a, b = (re.sub(r"^(?:the\s+)?(?:item|entry|element|name)\s+", "", v,
                           flags=re.IGNORECASE).strip(" ,\"'") for v in (m[1], m[2]))
            if a and b:
                return [Intent("reorder", target=a, kinds=(),
                               place=Place("item", n=0, name=b).spec())]
    if verb in SORT_VERBS and '"' not in obj and (verb in ALWAYS_SORT or _ORDER_PHRASE.search(obj)):
        order = sort_order(clause)  # ("order a burger": a request; "order them by size": a sort)
        if order is not None:
            return [Intent("reorder", kinds=(), place=f"sort:{order}")]
    return None


#: Verbs that change a widget's size (``resize the text area so that ...``, ``make it wider``).
RESIZE_VERBS = frozenset({"resize", "make", "enlarge", "shrink", "stretch", "widen", "narrow",
                          "lengthen", "shorten", "grow", "reduce", "increase", "decrease",
                          "change", "adjust", "drag", "extend"})
_GROWS = re.compile(r"\b(?:larger|bigger|wider|taller|longer|greater|higher|increase[sd]?|grow|"
                    r"enlarge[sd]?|stretch|widen|lengthen|extend)\b", re.IGNORECASE)
_SHRINKS = re.compile(r"\b(?:smaller|narrower|shorter|thinner|lower|less|decrease[sd]?|shrink|"
                      r"reduce[sd]?|narrow|shorten)\b", re.IGNORECASE)


def _resize_intents(verb: str, clause: str) -> list[Intent] | None:
    """Intents for clauses that resize a widget by its grip, or None: ``resize the textarea
    so that the height is smaller than its initial size``, ``make the text area wider``,
    ``enlarge the box``, ``shrink the text area horizontally``."""
    if verb not in RESIZE_VERBS or _QUOTE.search(clause) or _SO_THAT_IN.match(clause):
        return None  # ("drag the smaller box so that it is inside the larger box": a carry)
    if verb not in ("resize", "enlarge", "shrink", "stretch", "widen", "narrow", "lengthen",
                    "shorten") and not re.search(r"\b(?:size|width|height|wider|narrower|"
                                                 r"taller|shorter|bigger|larger|smaller)\b",
                                                 clause, flags=re.IGNORECASE):
        return None
    if not re.search(r"\b(?:text\s*area|textarea|box|field|input|panel|window|widget|element|"
                     r"area|it|frame|image|editor|pane)\b", clause, flags=re.IGNORECASE):
        return None
    words = f"{verb} {clause}"
    grow, shrink = _GROWS.search(words), _SHRINKS.search(words)
    if bool(grow) == bool(shrink):
        if not (grow and shrink):
            return None
        sign = "+" if grow.start() < shrink.start() else "-"  # "larger than ... smaller"? first
    else:
        sign = "+" if grow else "-"
    low = words.lower()
    wide = re.search(r"\b(?:width|wid\w+|narrow\w*|horizontal\w*|sideways)\b", low)
    tall = re.search(r"\b(?:height|tall\w*|short\w*|vertical\w*|high\w*|lower)\b", low)
    dim = "width" if wide and not tall else "height" if tall and not wide else "both"
    return [Intent("resize", kinds=("input",), text=f"{dim}:{sign}")]


#: Verbs that turn a thing shown in 3-D (``rotate the cube until "3" faces you``).
TURN_VERBS = frozenset({"move", "turn", "rotate", "spin", "roll", "drag", "flip", "twist"})
_FACING = re.compile(r'^(?:the\s+)?(.+?)(?:\s+(?:around|round|about))?\s+(?:so\s+(?:that\s+)?|until\s+)'
                     r'(?:the\s+)?(?:side\s+|face\s+)?"([^"]+)"\s+(?:side\s+|face\s+)?(?:is|faces|shows|'
                     r'becomes)(?:\b|(?=the\b))(.*)$', re.IGNORECASE)  # ("isthe": OCR lost a space)


def _turn_intents(verb: str, obj: str) -> list[Intent] | None:
    """``move the cube around so that "4" is the active side facing the user``, ``rotate
    the die until "6" faces you``: turn the thing by dragging it until the side marked with
    the quoted text is the one shown as active (a ``turn`` intent: ``target`` the thing,
    ``text`` the side's mark); None for other clauses."""
    m = _FACING.match(obj) if verb in TURN_VERBS else None
    if m is None or not re.search(r"\b(?:side|face|front|facing|faces|active|user|you|viewer|top)\b",
                                  m[3] + " " + obj, flags=re.IGNORECASE):
        return None
    return [Intent("turn", target=m[1].strip(), kinds=("figure",), text=m[2].strip())]


#: Verbs that carry one thing onto another (``drag the circle into the box``).
CARRY_VERBS = frozenset({"drag", "move", "put", "place", "drop", "bring", "slide", "carry",
                         "take", "pull", "push"})
#: ``A into / onto / over B``.
_ONTO = re.compile(r"^(.+?)\s+(?:into|onto|on\s+to|on\s+top\s+of|inside(?:\s+of)?|in|over|on|"
                   r"to|toward|towards|within|at)\s+(.+)$", re.IGNORECASE)
#: ``A so that it is (completely) inside B``: the state asked for says where A goes.
_SO_THAT_IN = re.compile(r"^(.+?)\s+(?:so\s+(?:that\s+)?(?:it|they)\s+(?:is|are|lies?|sits?|ends?"
                         r"(?:\s+up)?)|until\s+(?:it|they)\s+(?:is|are))\s+(?:(?:completely|fully|"
                         r"entirely|wholly|totally|all)\s+)?((?:inside|in|within|into|on\s+top\s+of|"
                         r"over|on)\b.*)$", re.IGNORECASE)
#: ``all circles``, ``every red shape``: each figure that fits.
_EVERY = re.compile(r"^(?:all\s+(?:of\s+)?(?:the\s+)?|every\s+|each\s+)(.+)$", re.IGNORECASE)
#: ``everything else``, ``all the other shapes``, ``the rest``: each figure no other move takes.
_THE_REST = re.compile(r"^(?:everything|anything|all)\s+else|^(?:all\s+)?(?:the\s+)?(?:other|"
                       r"remaining)\s+(?:ones|shapes|figures|items|objects|things)|^(?:the\s+)?"
                       r"(?:rest|others)(?:\s+of\s+(?:them|the\s+\w+))?$", re.IGNORECASE)
#: A side that tells apart places of one kind (``the left box``).
_SIDE = re.compile(r"\b(left|right|top|bottom|upper|lower)(?:most|-hand)?\s+", re.IGNORECASE)


def _carry_intents(verb: str, obj: str) -> list[Intent] | None:
    """Intents for clauses that drag one thing onto another, or None: ``drag the small
    circle into the large box``, ``move "Apple" onto the basket``, ``put the red square on
    the blue one``, ``drag the smaller box so that it is completely inside the larger box``,
    ``drag all circles into the left box, and everything else into the right box`` (one
    intent per carry; ``all``: each figure that fits). At least one side is a figure
    (:func:`_figure_phrase`) or quoted; the other is a figure or a name read on the page."""
    if verb not in CARRY_VERBS:
        return None
    so = _SO_THAT_IN.match(obj)
    if so:  # "X so that it is completely inside Y": X into Y
        obj = f"{so[1]} {so[2]}"
    parts = [p for p in re.split(r"\s*(?:[,;]\s*(?:and\s+|then\s+)?|\s+and\s+)(?=\S)", obj) if p]
    if len(parts) > 1:  # "A into X, and B into Y": one carry each, with no verb of its own
        each = [_carry_intents(verb, p) for p in parts]
        if all(each):
            return [i for it in each for i in it]
    m = _ONTO.match(obj)
    if not m:
        return None
    what, where = m[1].strip(" ,"), m[2].strip(" ,.")
    where = re.sub(r"\s+(?:area|region|zone)$", "", where, flags=re.IGNORECASE) or where
    rest = bool(_THE_REST.match(what))
    every = _EVERY.match(what) if not rest else None
    fig = ("", "", "") if rest else \
        _figure_phrase(every[1], plural=True) if every else _figure_phrase(what)
    if fig is None and re.fullmatch(r"(?:the\s+|a\s+)?(?:item|object|shape|figure|thing)", what,
                                    flags=re.IGNORECASE):
        fig = ("", "", "")  # the one figure there is
    quoted = _QUOTE.fullmatch(what)
    # "the left box": the one of that side
    side = _SIDE.search(where) if '"' not in where else None
    bare = _SIDE.sub("", where, count=1) if side else where
    # "the blue one": of the kind of the thing carried
    dest_fig = _figure_phrase(re.sub(r"\bones?$", (fig[2] if fig else "") or "figure", bare))
    dest_quoted = _QUOTE.fullmatch(where)
    if fig is None and quoted is None and dest_fig is None and dest_quoted is None:
        return None
    if re.search(r"\b(?:field|box|input|text\s*area)\b", where, flags=re.IGNORECASE) and \
            quoted is not None and dest_fig is None:
        return None  # put "abc" into the box: typing
    target = quoted[1] if quoted else "" if fig else _phrase(what).words
    if not target and fig is None:
        return None
    if dest_fig is not None:
        place = "onto-figure:" + ",".join(dest_fig)
        if side:
            place += "," + {"upper": "top", "lower": "bottom"}.get(side[1].lower(),
                                                                   side[1].lower())
    else:
        place = "onto-text:" + (dest_quoted[1] if dest_quoted else _phrase(where).words)
    return [Intent("move", target=target, kinds=ANY_KIND, figure=fig, place=place,
                   repeat=bool(every) or rest, rest=rest)]


def _some_clause(text: str, test: Callable[[str, str, str], bool]) -> bool:
    """Whether ``test(verb, rest, clause)`` holds for some clause of ``text`` (``verb``: its
    first word, lower case; ``rest``: the words after it)."""
    for clause in split_clauses(text):
        m = re.match(r"(?:please\s+)?(\w+)\b\s*(.*)$", clause, flags=re.IGNORECASE)
        if m and test(m[1].lower(), m[2].strip(), clause):
            return True
    return False


def _reorders(text: str) -> bool:
    """Some clause of ``text`` moves an item to a place or sorts (no request about a mail)."""
    return _some_clause(text, lambda verb, rest, clause:
                        _reorder_intents(verb, rest, clause) is not None)


#: A shape to draw by hand (``draw a circle around the dot``, ``draw a small square``).
_SHAPE_TO_DRAW = re.compile(r"(?:a|an|one)\s+(?:(small|little|large|big)\s+)?(circle|square|"
                            r"rectangle|triangle)\b\s*(.*)$", re.IGNORECASE)
#: What a drawn shape goes around (``around the dot``, ``centred on the red circle``).
_AROUND = re.compile(r"\b(?:around|round|surrounding|enclosing|encircling|about|on|over|at|"
                     r"cent(?:er|re)d?\s+(?:on|at|around))\s+(.+)$", re.IGNORECASE)
#: A point marked on the page (``the marked point``, ``the dot``): the one figure drawn there.
_MARKED_SPOT = re.compile(r"(?:the\s+|a\s+)?(?:(?:marked|given|highlighted|shown|indicated|"
                          r"drawn|coloured|colored)\s+)?(?:point|spot|mark|marker|location|"
                          r"position|place|dot)", re.IGNORECASE)
#: A straight line, maybe of one direction (``a vertical line ...``), and the rest of the phrase.
_LINE = re.compile(r"(?:a|an|the|one)?\s*(?:straight\s+)?(vertical|horizontal|upright|level|"
                   r"flat|perpendicular)?\s*(?:straight\s+)?(?:line|stroke|segment)\b\s*(.*)$",
                   re.IGNORECASE)
#: Directions of a line and the geometry they name.
_ORIENTATIONS = {"vertical": "vertical", "upright": "vertical", "perpendicular": "",
                 "horizontal": "horizontal", "level": "horizontal", "flat": "horizontal"}
#: What a line goes through (``that runs through the dot``, ``across the circle``).
_THROUGH = re.compile(r"\b(?:through|across|crossing|intersecting|via|touching|over|"
                      r"bisecting)\s+(.+)$", re.IGNORECASE)
#: What a line joins (``between the two dots``, ``connecting the circles``).
_JOINING = re.compile(r"\b(?:between|connecting|joining|linking)\s+(?:the\s+)?(?:two\s+|2\s+|"
                      r"both\s+)?(.+)$", re.IGNORECASE)
#: A 90-degree angle (a square corner) named in an object phrase.
_SQUARE_CORNER = re.compile(r"\b(?:right|90[- ]?deg(?:ree)?s?|ninety[- ]degrees?|perpendicular)\s+"
                          r"angle\b|\bangle\s+of\s+(?:90|ninety)\b|\bperpendicular\b",
                          re.IGNORECASE)


def _drawn_intents(verb: str, obj: str) -> list[Intent] | None:
    """Intents for clauses about geometry drawn on the page or a slider, or None:

    * ``draw / create a line that bisects the angle``, ``bisect the angle``: draw the
      bisector of the angle drawn on the page;
    * ``select 40 with the slider``, ``set / move the slider to 40``: move the slider's
      handle until its value reads 40.
    """
    if _SLIDER.search(obj) and (verb in MOVE_VERBS or verb in CLICK_VERBS):
        num = _NUMBER.search(_SLIDER.sub(" ", obj))
        if num:
            return [Intent("set", kinds=("slider",),
                           text=num[0].replace("\u2212", "-").replace(" ", ""))]
    right = _SQUARE_CORNER.search(obj)
    if right and (verb in DRAW_VERBS or verb in CLICK_VERBS or verb in ("place", "put")) and \
            re.search(r"\b(?:points?|dots?|vertex|corner)\b", obj, flags=re.IGNORECASE):
        return [Intent("draw", kinds=("figure",), geometry="square-corner")]
    shape = _SHAPE_TO_DRAW.match(obj) if verb in DRAW_VERBS else None
    if shape:
        around = _AROUND.search(shape[3] or "")
        # (what it goes around, without how: "... the marked point by dragging the mouse")
        spot = re.sub(r"\s+(?:by|using|with|while)\s+\w+ing\b.*$|\s+(?:by|using|with)\s+the\s+"
                      r"(?:mouse|pointer|cursor)\b.*$", "", around[1],
                      flags=re.IGNORECASE) if around else ""
        fig = _figure_phrase(spot) if spot else None
        if fig is None and _MARKED_SPOT.fullmatch(spot.strip(" .,")):
            fig = ("", "", "")  # "the marked point": the one figure drawn there
        return [Intent("draw", kinds=("figure",), geometry=f"trace-{FIGURE_WORDS[shape[2].lower()]}",
                       figure=fig, text=(shape[1] or "").lower())]
    line = _LINE.match(obj) if verb in DRAW_VERBS else None
    if line:
        orient = _ORIENTATIONS.get((line[1] or "").lower(), "")
        through = _THROUGH.search(line[2])
        joins = _JOINING.search(line[2])
        if orient:
            fig = _figure_phrase(through[1]) if through else None
            return [Intent("draw", kinds=("figure",), geometry=orient, figure=fig)]
        if joins:
            fig = _figure_phrase(joins[1], plural=True)
            return [Intent("draw", kinds=("figure",), geometry="connect", figure=fig)]
        if through and _figure_phrase(through[1]) is not None:  # any line: a level one
            return [Intent("draw", kinds=("figure",), geometry="horizontal",
                           figure=_figure_phrase(through[1]))]
    if verb in ("connect", "join", "link") and not _QUOTE.search(obj):
        fig = _figure_phrase(re.sub(r"^(?:the\s+)?(?:two|2|both)\s+", "", obj), plural=True)
        if fig is not None:
            return [Intent("draw", kinds=("figure",), geometry="connect", figure=fig)]
    if verb in DRAW_VERBS and re.search(r"\bangles?\b", obj, flags=re.IGNORECASE) and (
            verb == "bisect" or (_HALVES.search(obj) and re.match(
                r"(?:a|an|the)?\s*(?:straight\s+)?(?:line|ray|segment|bisector)\b", obj,
                flags=re.IGNORECASE))):
        return [Intent("draw", kinds=("figure",), geometry="bisector")]
    return None


def _figure_phrase(obj: str, *, plural: bool = False) -> tuple[str, str, str] | None:
    """``(size, colour, what)`` when an object phrase describes a figure, not text or a widget.

    ``a large red circle``, ``a small item``, ``a blue letter``, ``a digit``, ``a 7``,
    ``a green k``: optional size and colour words, then a figure word of
    :data:`FIGURE_WORDS` or one unquoted character. Anything else (quotes, more
    words, a widget's kind word) is None. With ``plural`` (``how many red 7s``) a
    character may carry a plural ``s`` (``7s``, ``Bs``, ``q's``) and a phrase that says
    nothing about the figure (``items``) means every figure.
    """
    if '"' in obj:
        return None
    words = re.findall(r"[^\s,.;:!?]+", obj)
    words = [w for w in words if w.lower() not in ("a", "an", "the", "on", "one", "any")]
    if not words:
        return None
    size = colour = ""
    head = words[-1]
    for w in words[:-1]:
        lw = w.lower()
        if lw in SIZE_WORDS and not size:
            size = "large" if lw in LARGE_WORDS else "small"
        elif lw in COLOUR_WORDS and not colour:
            colour = lw
        else:
            return None
    low = head.lower()
    if low in FIGURE_WORDS:
        what = FIGURE_WORDS[low]
        if not (size or colour or what or plural):
            return None  # "click the item": nothing says which figure
        return size, colour, what
    if plural and re.fullmatch(r"[^\W_]'?[sS]", head):  # "7s", "Bs", "q's" (OCR: "US")
        head = head[0]
    if len(head) == 1 and head.isalnum() and (size or colour or len(words) == 1):
        return size, colour, head
    return None


def _type_intents(obj: str, start_index: int) -> list[Intent]:
    ph = _phrase(obj)
    if not ph.quoted:
        return []
    # values preceded by their field's label: 'the username "x" and the password "y"'
    pairs = re.findall(r'(?:^|\band\b|,)\s*(?:the\s+)?([\w ]*?)\s*"([^"]*)"', obj, flags=re.I)
    labels = [lab.strip() for lab, _ in pairs]
    labels = [" ".join(w for w in lab.split() if w.lower() not in STOP_WORDS and
                       w.lower() not in VERBS) for lab in labels]
    into = re.search(r'\b(?:into|in|to)\s+(?:the\s+)?([\w ]+?)\s*(?:$|,)', _QUOTE.sub("", obj))
    field_label = ""
    if into:
        fp = _phrase(into[1])
        field_label = fp.words
    out: list[Intent] = []
    values = ph.quoted
    if ph.every and len(values) == 1 and ph.plural:
        n = 2 if re.search(r"\bboth\b", obj, flags=re.I) else 0
        count = n or 2
        return [Intent("type", kinds=("input",), index=start_index + i,
                       text=_case(values[0], ph.case)) for i in range(count)]
    for i, value in enumerate(values):
        label = labels[i] if i < len(labels) and labels[i] else field_label
        index = start_index + i if ph.ordinal is None else ph.ordinal - 1
        out.append(Intent("type", target=label, kinds=("input",), index=index,
                          text=_case(value, ph.case)))
    return out


#: Nouns of list items a scope phrase may name (``for the post of X``, ``locate the message from X``).
ITEM_NOUNS = ("user", "users", "post", "posts", "email", "emails", "message", "messages", "item",
              "entry", "row", "person", "account", "tweet", "comment", "mail", "thread")


def _scope_phrase(clause: str) -> str:
    """The item marker of a verbless clause ``for the post of @ann`` / ``locate the message from X``."""
    nouns = "|".join(ITEM_NOUNS)
    m = re.fullmatch(rf"for\s+(?:the\s+)?(?:(?:{nouns})\s+)?(?:(?:by|from|of|named)\s+)?(\S.*)",
                     clause.strip(), flags=re.IGNORECASE)
    if m is None:
        m = re.fullmatch(rf"(?:find|locate|open)\s+(?:the\s+)?(?:{nouns})\s+(?:by|from|of)\s+(\S.*)",
                         clause.strip(), flags=re.IGNORECASE)
    if m is None:  # "find Ann Lee in the address book": a named entry of a list or book
        m = _FIND_NAMED.fullmatch(clause.strip(" ,.;:"))
    return m[1].strip(" ,.;:") if m else ""


#: ``find Ann Lee in the contact list``: the entry named by capitalised words (or quoted), in a
#: collection the page shows (a list, a book, an index; it may be paged).
_FIND_NAMED = re.compile(r"(?i:find|locate|look\s+up|look\s+for|search\s+for)\s+"
                         r"(\"[^\"]+\"|[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)*)\s+"
                         r"(?i:in|on|within|from|inside)\s+(?i:the|your|my|this|a)\s+[\w ]+")


#: Numbers written as words (how many items an action applies to).
CARDINALS = {w: n for w, n in NUMBER_WORDS.items() if n > 0}
_ITEMS = re.compile(r"\s*\b(?:on|in|for|to|of|from|at)\s+(?:(all|every|each|some|any|\d+|"
                    + "|".join(CARDINALS) + r")\s+)?(?:of\s+)?(?:the\s+|his\s+|her\s+|their\s+)?("
                    + "|".join(ITEM_NOUNS) + r")\s+(?:(?:written|posted|sent|made|shared)\s+)?"
                    r"(?:by|from|of)\s+(\S+?)[.,;:]?(?=\s|$)", re.IGNORECASE)


def item_phrase(obj: str) -> tuple[str, str, int | None] | None:
    """``(object without it, item marker, how many items)`` when an object phrase says
    which list items it acts on (``the "Like" button on all posts by @ann``: ``-1`` = every
    one; ``on 2 posts by @ann``: 2; ``on the post by @ann``: None = the one), else None."""
    m = _ITEMS.search(obj)
    if m is None:
        return None
    quantity, noun, marker = (m[1] or "").lower(), m[2].lower(), m[3]
    if quantity.isdigit():
        many: int | None = int(quantity)
    elif quantity in CARDINALS:
        many = CARDINALS[quantity]
    elif quantity in ("all", "every", "each") or (not quantity and noun.endswith("s")):
        many = -1
    elif quantity in ("some", "any"):
        many = 1  # (at least one)
    else:
        many = None
    return (obj[:m.start()] + obj[m.end():]).strip(), marker, many


def _value_source(verb: str, obj: str) -> str:
    """What a value clause works out: ``word:N``, ``expression``, ``page-text`` or ``""``."""
    ph = _phrase(obj)
    if ph.ordinal is not None and re.search(r"\bwords?\b", obj, flags=re.IGNORECASE):
        return f"word:{ph.ordinal}"
    if verb in ("solve", "compute", "calculate", "evaluate", "work") or re.search(
            r"\b(?:problem|sum|expression|equation|arithmetic|math|calculation)\b", obj,
            flags=re.IGNORECASE):
        return "expression"
    if re.search(r"\btext\b", obj, flags=re.IGNORECASE):
        return "page-text"
    return ""


#: A count of things asked for as a value: ``the (total) number of X``, ``how many X``.
_COUNTED = re.compile(r"\b(?:(?:total|whole|overall)\s+)?(?:number|count|amount|total)\s+of\s+"
                      r"(?:all\s+)?(?:the\s+)?(.+)$|\bhow\s+many\s+(?:the\s+)?(.+)$", re.IGNORECASE)


#: ``the value of X`` / ``X's value`` / ``the entry for X in the table``: a label's value.
_LOOKUP = re.compile(r"^(?:the\s+|its\s+)?(?:corresponding\s+|matching\s+)?(?:value|entry|contents?|"
                     r"data|info(?:rmation)?)\s+(?:shown\s+|listed\s+|given\s+|written\s+)?"
                     r"(?:of|for|under|beside|against|next\s+to|in)\s+(?:the\s+)?(.+?)$|"
                     r"^(?:the\s+)?(.+?)'s?\s+(?:value|entry)$", re.IGNORECASE)
#: Words after a looked-up label that say where it is, not what it is.
_WHERE_WORDS = re.compile(r"\s+(?:(?:row|column|field|cell|label|key|heading|header|entry)\b|"
                          r"(?:(?:shown|listed|given)\s+)?(?:in|from|on)\s+(?:the\s+)?(?:table|"
                          r"list|page|form|grid)\b).*$", re.IGNORECASE)


#: ``the value that corresponds with each label``, ``every field's value``: each field of a form
#: takes the value the page shows for the field's own label.
_EACH_LABEL = re.compile(r"\b(?:values?|entr(?:y|ies)|data|answers?|contents?)\b.*\b(?:each|every|all"
                         r"(?:\s+the)?)\s+(?:labels?|fields?|keys?|labell?ed\s+fields?)\b|"
                         r"\b(?:each|every)\s+(?:label|field)'s\s+(?:value|entry)\b", re.IGNORECASE)


def lookup_key(what: str) -> str:
    """The label a typed value is looked up by (``the value of Last name`` -> ``Last name``,
    ``the "Color" entry`` ... ``Color``), or ``""`` when ``what`` asks for no label's value."""
    m = _LOOKUP.match(what.strip())
    if m is None:
        return ""
    key = _WHERE_WORDS.sub("", (m[1] or m[2]).strip()).strip(' "\'')
    return "" if key.lower() in ("it", "that", "this", "them", "") else key


def _derived_type_intents(obj: str, start_index: int, value: str) -> list[Intent]:
    """``type that / your answer / the text shown / the 2nd word into the box``: a typed
    value that comes from the screen, not from the instruction."""
    m = re.match(r"(.*)\s+\b(?:into|inside|onto)\b\s+(.*)$", obj, flags=re.IGNORECASE) or \
        re.match(r"(.*?)\s+\b(?:into|in|to|inside|onto)\b\s+(.*)$", obj, flags=re.IGNORECASE)
    what, where = (m[1], m[2]) if m else (obj, "")
    label = _phrase(where).words if where else ""
    counted = _COUNTED.search(what)
    things = re.sub(r"\s+(?:there\s+are|are\s+there|(?:are|is)\s+(?:shown|drawn|visible)|"
                    r"(?:do|can)\s+you\s+see)\b.*$", "", counted[1] or counted[2]) if counted else ""
    if things and re.match(r"(?:sides|edges|corners|vertices|vertexes|angles)\b", things,
                           flags=re.IGNORECASE):  # "the number of sides of the shape"
        return [Intent("type", target=label, kinds=("input",), index=start_index,
                       source="count", figure=("", "", "shape"), part="sides")]
    figure = _figure_phrase(things, plural=True) if things else None
    if figure is not None:  # "the total number of blocks": count them on the page
        return [Intent("type", target=label, kinds=("input",), index=start_index,
                       source="count", figure=figure)]
    if _EACH_LABEL.search(what):  # "the value that goes with each label": every field's own
        return [Intent("fill", kinds=("input",), source="lookup")]
    key = lookup_key(what)
    if key:  # "the value of Last name": what the page shows beside that label
        return [Intent("type", target=label, kinds=("input",), index=start_index,
                       source="lookup", key=key)]
    ph = _phrase(what)
    if ph.ordinal is not None and re.search(r"\bwords?\b", what, flags=re.IGNORECASE):
        source = f"word:{ph.ordinal}"
    elif re.search(r"\b(?:that|it|this|them|answer|result|value|solution|sum)\b", what,
                   flags=re.IGNORECASE):
        source = value or "expression"
    elif re.search(r"\b(?:text|words?)\b", what, flags=re.IGNORECASE):
        source = "page-text"
    else:
        return []
    return [Intent("type", target=label, kinds=("input",), index=start_index, source=source)]


#: Nouns of a block of running text on the page (``the 2nd paragraph``).
_PASSAGE = re.compile(r"\b(?:paragraphs?|passages?|sentences?|blocks?\s+of\s+text|text\s+blocks?)\b",
                      re.IGNORECASE)
#: A text area named as such (not a one-line field).
_AREA = re.compile(r"\btext\s*areas?\b|\btextareas?\b|\bmulti-?line\b", re.IGNORECASE)
#: A one-line field named as such.
_LINE_FIELD = re.compile(r"\b(?:text\s*box(?:es)?|text\s*(?:field|input)s?|input\s*(?:box|field)s?|"
                         r"single-?line|one-?line|search\s*box)\b|\binputs?\b", re.IGNORECASE)
#: Everything in an editor: ``everything``, ``all (of) the text``, ``the whole text``.
_EVERYTHING = re.compile(r"^(?:everything|all(?:\s+of)?(?:\s+the)?(?:\s+text)?|"
                         r"(?:the\s+)?(?:whole|entire|full)\s+(?:text|content|contents|document)|"
                         r"all\s+(?:the\s+)?(?:text|content|contents|words))$", re.IGNORECASE)
#: A colour asked for: ``the color red``, ``colou?red blue``, ``in green``, ``red``.
_COLOUR_ASK = re.compile(r"\b(?:colou?r(?:ed)?|in|to)\s+(?:the\s+)?(?:colou?r\s+)?([a-z]+)\b",
                         re.IGNORECASE)


def _style_of(words: str) -> tuple[str, str, tuple[int, int]] | None:
    """``(style, colour word, span)`` a phrase asks for: ``the style underlined`` ->
    ``("underline", "", span)``, ``the color red`` -> ``("colour", "red", span)``; None when
    it names no style. ``span`` is where the style words are in ``words``."""
    m = re.search(r"\b(?:(?:the|a)\s+)?(?:(?:font\s+)?(?:style|format|formatting)\s+)?(?:of\s+)?("
                  + "|".join(sorted(STYLE_WORDS, key=len, reverse=True)) + r")\b", words,
                  flags=re.IGNORECASE)
    if m:
        return STYLE_WORDS[m[1].lower()], "", m.span()
    m = re.search(r"\b(?:(?:the|a)\s+)?(?:(?:text|font)\s+)?colou?r(?:ed)?\s+(?:of\s+)?(?:to\s+)?"
                  r"([a-z]+)\b", words, flags=re.IGNORECASE)
    if m and colour_rgb(m[1]) is not None:
        return "colour", m[1].lower(), m.span()
    for m in re.finditer(r"\b(?:in|to)?\s*([a-z]+)\s*$", words, flags=re.IGNORECASE):
        if colour_rgb(m[1]) is not None and m[1].lower() in COLOUR_WORDS:
            return "colour", m[1].lower(), m.span()
    return None


def _styled_text(phrase: str) -> str:
    """The text a style is given to: ``""`` for everything, else the words (``the text X``,
    ``the word "X"``, ``X``)."""
    phrase = phrase.strip(" ,.;:")
    quoted = _QUOTE.findall(phrase)
    if quoted:
        return quoted[0]
    if not phrase or _EVERYTHING.match(phrase) or re.fullmatch(r"(?:the\s+)?text", phrase,
                                                                flags=re.IGNORECASE):
        return ""
    m = re.match(r"(?:the\s+)?(?:text|words?|phrase|term)\s+(.+)$", phrase, flags=re.IGNORECASE)
    return (m[1] if m else phrase).strip(" ,;:")


#: Keys a user names, and the key names actions use.
KEY_WORDS = {"enter": "<Enter>", "return": "<Enter>", "escape": "<Escape>", "esc": "<Escape>",
             "tab": "<Tab>", "backspace": "<Backspace>", "delete": "<Delete>", "del": "<Delete>",
             "space": "<Space>", "spacebar": "<Space>", "up": "<ArrowUp>", "down": "<ArrowDown>",
             "left": "<ArrowLeft>", "right": "<ArrowRight>", "home": "<Home>", "end": "<End>",
             "pageup": "<PageUp>", "pagedown": "<PageDown>"}
#: Modifier words and the chord prefixes they stand for.
MODIFIER_WORDS = {"ctrl": "C-", "control": "C-", "cmd": "C-", "command": "C-", "shift": "S-",
                  "alt": "A-", "option": "A-", "meta": "M-"}
_KEY_NAME = r"(?:page\s*(?:up|down)|[a-z]+|[0-9])"
#: Most presses of one key an instruction is taken to ask for (``press Down 1000000 times``
#: would hold the browser for minutes).
MAX_KEY_PRESSES = 100
_CHORD = re.compile(rf"^(?:the\s+)?((?:(?:{'|'.join(MODIFIER_WORDS)})\s*[-+]\s*)*)({_KEY_NAME})"
                    r"(?:\s+arrow)?(\s+keys?)?(?:\s+(?:on|of)\s+(?:the|your)\s+keyboard)?"
                    r"(?:\s+(\d+|once|twice|thrice)(?:\s+times?)?)?$", re.IGNORECASE)


def _key_intents(verb: str, obj: str) -> list[Intent] | None:
    """``press Ctrl+C``, ``hit the Escape key``, ``press the down arrow key 3 times``: a key
    (or chord) press, or None. A bare key word (``press Enter``) is left to the clicks (a
    button may be named so) unless the words say ``key`` or hold a modifier."""
    if verb not in ("press", "hit", "tap", "push", "strike", "use"):
        return None
    m = _CHORD.match(obj.strip(" .,;:\"'"))
    if m is None:
        return None
    mods = [MODIFIER_WORDS[w.lower()] for w in re.findall(r"[a-z]+", m[1], flags=re.IGNORECASE)]
    name = re.sub(r"\s+", "", m[2].lower())
    if not mods and not m[3] and not re.search(r"\barrow\b", obj, flags=re.IGNORECASE):
        return None
    key = KEY_WORDS.get(name, name if len(name) == 1 else "")
    if not key:
        return None
    count = TIMES_WORDS.get((m[4] or "").lower()) or \
        (int(m[4]) if m[4] and m[4].isdigit() else 1)
    if not 0 < count <= MAX_KEY_PRESSES:
        logger.info("%r: %d presses asked for; at most %d are made", obj, count, MAX_KEY_PRESSES)
        count = min(max(count, 1), MAX_KEY_PRESSES)
    return [Intent("key", kinds=(), text="".join(dict.fromkeys(mods)) + key, index=count)]


def _edit_intents(verb: str, obj: str) -> list[Intent] | None:
    """Intents for text handled as text, or None when the clause is not about that.

    * ``copy the text in/from the 2nd text area`` (or ``... the paragraph``): select the
      source's text and copy it to the clipboard;
    * ``paste it into the textbox``: click the field, paste;
    * ``highlight (the text in) the 2nd paragraph``, ``select the text of the paragraph
      below``, ``highlight "some words"``: select that text with the pointer;
    * ``give the text X the style bold``, ``make everything the color red``, ``underline the
      word X``, ``change the colour of X to blue``: select the text (everything when the
      words say so), then give it the style.
    """
    obj = _WHEN_DONE.sub("", obj).strip(" ,.;:")
    ph = _phrase(obj)
    index = None if ph.ordinal is None else ph.ordinal - 1 if ph.ordinal > 0 else -1
    bare = _QUOTE.sub("", obj)
    keys = _key_intents(verb, obj)
    if keys is not None:
        return keys
    field_words = _AREA.search(bare) or _LINE_FIELD.search(bare)
    if verb in ("clear", "erase", "empty", "delete", "remove") and field_words and \
            re.match(r"(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:(?:text|contents?|value|words?)\s+"
                     r"(?:in|of|from|inside)\s+)?(?:the\s+)?(?:\w+\s+)?(?:text|input|field|"
                     r"search|area|textarea|textbox|multi|single|one)", bare, flags=re.IGNORECASE):
        area = True if _AREA.search(bare) else None
        return [Intent("clear", kinds=("input",), index=index, icon="grip" if area else "",
                       require_icon=area)]
    if verb in ("highlight", "select") and field_words and not _PASSAGE.search(bare) and \
            re.match(r"(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:text|contents?|words?)\s+(?:in|of|inside)\b",
                     bare, flags=re.IGNORECASE):  # "select all the text in the text area"
        area = True if _AREA.search(bare) else False if _LINE_FIELD.search(bare) else None
        return [Intent("highlight", kinds=("input",), index=index, icon="grip" if area else "",
                       require_icon=area)]
    if verb in ("copy", "cut") and re.fullmatch(
            r"(?:it|that|this|them|(?:the\s+)?(?:selection|selected\s+text|highlighted\s+text))",
            bare.strip(), flags=re.IGNORECASE):  # what was just selected
        return [Intent("key", kinds=(), text="C-c" if verb == "copy" else "C-x", index=1)]
    if verb in TYPE_VERBS and verb != "copy" and not ph.quoted:
        # "enter the text from the text area into the text box": copied exactly, not re-typed
        source, *dest = re.split(r"\b(?:into|to|onto)\b", bare, maxsplit=1, flags=re.IGNORECASE)
        if dest and re.match(r"\s*(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:text|contents?)\s+"
                             r"(?:in|from|of|inside)\s+", source, flags=re.IGNORECASE) and \
                (_AREA.search(source) or _LINE_FIELD.search(source)):
            return _edit_intents("copy", obj)
        return None
    if verb == "cut" and not ph.quoted:
        copied = _edit_intents("copy", obj)
        return [dataclasses.replace(i, text="cut") if i.op == "copy" else i
                for i in copied] if copied else None
    if verb == "copy" and not ph.quoted:
        # "copy X into Y": copy, then paste into Y, when X names a field or a paragraph;
        # else X is text shown on the page, typed into Y (a derived value)
        source, *dest = re.split(r"\b(?:into|to|onto)\b", bare, maxsplit=1, flags=re.IGNORECASE)
        paste = _edit_intents("paste", "it into " + dest[0]) if dest else []
        sp = _phrase(source)
        index = None if sp.ordinal is None else sp.ordinal - 1 if sp.ordinal > 0 else -1
        if _PASSAGE.search(source):
            return [Intent("copy", kinds=("text",), index=index), *(paste or [])]
        area = True if _AREA.search(source) else False if _LINE_FIELD.search(source) else None
        if dest and area is None:
            return None
        return [Intent("copy", kinds=("input",), index=index, icon="grip" if area else "",
                       require_icon=area), *(paste or [])]
    if verb == "paste":
        where = re.split(r"\b(?:into|in|to|inside|onto)\b", bare, maxsplit=1, flags=re.IGNORECASE)
        place = where[1] if len(where) > 1 else ""
        pp = _phrase(place)
        area = True if _AREA.search(place) else False if _LINE_FIELD.search(place) else None
        return [Intent("paste", kinds=("input",),
                       index=None if pp.ordinal is None else pp.ordinal - 1 if pp.ordinal > 0 else -1,
                       icon="grip" if area else "", require_icon=area)]
    if verb == "select" and _SIMILAR.match(bare.strip()):
        return None  # a choice by meaning ("select the ones close to A, B"), no text to select
    named = re.match(r"(?:the\s+)?(?:words?|phrase|text)\s+(?!(?:in|of|from|on|inside|at|that|"
                     r"which|fields?|box|input|area|entry|below|above|shown|here|displayed|there)\b)(.+?)(?:\s+(?:in|of|from|inside)\s+the\s+.*)?$",
                     bare.strip(), flags=re.IGNORECASE)
    quoted_words = ph.quoted and re.match(r"\s*(?:the\s+)?(?:words?|phrase)\s*$", bare,
                                          flags=re.IGNORECASE)
    if verb in ("highlight", "select") and (verb == "highlight" or _PASSAGE.search(bare) or named or
                                            quoted_words or
                                            re.match(r"(?:all\s+)?(?:of\s+)?the\s+text\b(?!\s*(?:fields?|box|input|area|entry))", bare,
                                                     flags=re.IGNORECASE)):
        # "highlight the word lorem", 'select the phrase "a b"': those words; else a paragraph
        target = ph.quoted[0] if ph.quoted else named[1].strip(" ,;:") if named else ""
        return [Intent("highlight", target=target, kinds=("text",), index=index)]
    if verb in ("give", "make", "apply", "format", "style", "turn", "change", "set", "bold",
                "embolden", "underline", "italicize", "italicise", "colour", "color"):
        if verb in STYLE_WORDS:  # "underline the word X", "bold everything"
            return [Intent("style", target=_styled_text(obj), kinds=("text",),
                           text=STYLE_WORDS[verb])]
        if verb in ("colour", "color"):  # "colour the word X red"
            found = _style_of("colour " + obj)
            words = re.sub(r"\s*\b(?:in|to)?\s*[a-z]+\s*$", "", obj) if found else obj
            if found is None:
                return None
            return [Intent("style", target=_styled_text(words), kinds=("text",), text="colour",
                           colour=found[1])]
        found = _style_of(obj)
        if found is None:
            return None
        style, colour, (a, b) = found
        # "give X the style Y", "make X bold", "change the colour of X to red"
        m = re.match(r"(?:the\s+)?colou?r\s+of\s+(.+?)\s+to\s+[a-z]+$", obj, flags=re.IGNORECASE)
        what = m[1] if m else (obj[:a] + " " + obj[b:]).strip()
        what = re.sub(r"\s+(?:to|in|with|into)$", "", what.strip(" ,"), flags=re.IGNORECASE)
        return [Intent("style", target=_styled_text(what), kinds=("text",), text=style,
                       colour=colour)]
    return None


def _edits_text(text: str) -> bool:
    """Whether a clause of ``text`` copies, pastes, selects or styles text."""
    return _some_clause(text, lambda verb, rest, _clause:
                        verb in EDIT_VERBS and bool(_edit_intents(verb, rest)))


_GAME_MARK = re.compile(r"\b(?:play(?:ing)?|you\s+are|as)\s+(?:as\s+|with\s+)?(?:the\s+)?"
                        r"['\"]?([XxOo0])['\"]?(?=[\s,.;:!]|$)", re.IGNORECASE)


def _after_request(text: str, request: object, embedder: TextEmbedder | None) -> list[Intent]:
    """The intents of the clauses after those that make an item request (``forward Ann's
    mail to Bo, then click Submit``): the fewest first clauses that read as the same request
    are the request; the rest is planned like any instruction."""
    clauses = split_clauses(text)
    for k in range(1, len(clauses)):
        if parse_item_request(". ".join(clauses[:k]), embedder=embedder) == request:
            rest = parse_instruction(". ".join(clauses[k:]), embedder=embedder)
            return [i for i in rest.intents if i.op != "act"] if rest.rule == "grammar" else []
    return []


#: The control that steps an item's count up (a ``+``; see :func:`quantity_request`).
INCREASE = "plus"
#: ``Order one of each item: A, B`` / ``add 2 of each of the following: A, B``.
_QUANTITY = re.compile(r"^(?:please\s+)?(order|add|buy|get|purchase|take|pick|select|choose)\s+"
                       r"(\d+|" + "|".join(CARDINALS) + r"|an?)\s+(?:of\s+)?(?:each|every)\b"
                       r"(?:\s+of)?(?:\s+(?:the\s+)?(?:(?:following\s+)?(?:items?|dishes|things|"
                       r"products|meals|ones|these)\b|following\b))?\s*[:,\-]?\s+(.+?)[.!]?$",
                       re.IGNORECASE)


def quantity_request(instruction: str) -> tuple[str, int, list[str]] | None:
    """``(verb, how many of each, item names)`` for a request to take a number of each of
    some listed items (``Order one of each item: Garlic bread, Spaghetti and Meatballs``),
    else None. Names are split at commas; a last ``A and B`` is two names only when every
    name is one word (``and`` is often part of a dish's or product's name)."""
    m = _QUANTITY.match(instruction.strip())
    if m is None:
        return None
    word = m[2].lower()
    many = int(word) if word.isdigit() else CARDINALS.get(word, 1)
    items = [p.strip(' "') for p in re.split(r"[,;]", m[3]) if p.strip(' "')]
    last = re.split(r"\s+and\s+", items[-1]) if items else []
    if len(items) > 1 and all(len(p.split()) == 1 for p in items[:-1] + last):
        items = items[:-1] + last
    if not items or not 0 < many <= 10:
        return None
    return m[1].lower(), many, items


def game_mark(instruction: str) -> str:
    """The mark an instruction asks to win a board game with (``X`` / ``O``), or ``""``:
    ``Playing as 'X', win the game``, ``You are O; win``."""
    m = _GAME_MARK.search(instruction)
    if m is None or not re.search(r"\b(?:win|game|beat)\b", instruction, flags=re.IGNORECASE):
        return ""
    return "O" if m[1] in "Oo0" else "X"


#: An instruction that clicks a quoted control (``click the "Reply" button``): a widget one.
_CLICK_QUOTED = re.compile(r"\b(?:click|press|tap|hit|select|choose|check)\b[^\"]*\"", re.IGNORECASE)

#: A question about a number of things on the page: ``how many red circles are there``.
_HOW_MANY = re.compile(r"how\s+many\s+(.+?)(?:\s+(?:are|is)\s+(?:there|shown|drawn|visible)"
                       r"(?:\s+on\s+the\s+\w+)?|\s+(?:do|can)\s+you\s+see)?", re.IGNORECASE)


def parse_instruction(instruction: str, *, embedder: TextEmbedder | None = None) -> GuiPlan:
    """Plan the intents for an instruction.

    Args:
        instruction: Natural-language instruction, e.g.
            ``'Enter "abc" into the text field and press Submit.'``.
        embedder: Optional text embedder to recognise the action of a request about a
            list item by meaning (``respond to Ann's email ...``).

    Returns:
        A :class:`GuiPlan`; ``rule`` is ``"none"`` and ``intents`` empty when
        no clause starts with a verb the grammar knows.
    """
    text = clean_instruction(instruction)
    span = number_range(text)
    if span is not None:  # find a number by trying: the try-and-read loop submits each try
        return GuiPlan((Intent("guess", kinds=("input",), text=f"{span[0]}..{span[1]}"),),
                       "grammar", text)
    if parse_shell_request(text) is not None:  # a command to run in a console on the page
        return GuiPlan((Intent("shell", kinds=()),), "grammar", text)
    mark = game_mark(text)
    if mark:  # a board game to win: each move is chosen on the board seen then
        return GuiPlan((Intent("play", kinds=("button", "input"), text=mark),), "grammar", text)
    ordered = quantity_request(text)
    if ordered is not None:  # "order one of each item: A, B": step each item's count up
        verb, many, names = ordered
        steps = [Intent("click", target=INCREASE, kinds=ANY_KIND, scope=n)
                 for n in names for _ in range(many)]
        return GuiPlan((*steps, Intent("click", target=verb.capitalize(), kinds=("button",))),
                       "grammar", text)
    # a request about one item of a list in free words (``forward Ann's email to Bo``);
    # an instruction that clicks a quoted control is left to the clauses below
    # (text handled as text, ``give the text X the style bold``, is no request about an item)
    copied = any(_pattern_intent(*(clause.split(None, 1) + [""])[:2]) for clause in split_clauses(text))
    request = None if _CLICK_QUOTED.search(text) or _reorders(text) or copied or \
        _edits_text(text) else parse_item_request(text, embedder=embedder)
    if request is not None:
        act = Intent("act", kinds=ANY_KIND, scope=request.item, action=request.action,
                     recipient=request.recipient, text=request.text)
        return GuiPlan((act, *_after_request(text, request, embedder)), "grammar", text)
    intents: list[Intent] = []
    understood = False
    typed = 0
    scope = ""
    value = ""  # what a "find ..." / "solve ..." clause worked out, for "type that"
    area = ""  # where that value is read (a text area the clause names), see Intent.area
    clauses = []
    for clause in split_clauses(text):  # "for the post of @ann press ..." (OCR lost the comma)
        verb_alt = "|".join(sorted(VERBS, key=len, reverse=True))
        m = re.match(rf"(for\s.+?)\s+((?:{verb_alt})\b.*)$", clause, flags=re.IGNORECASE)
        clauses.extend([m[1], m[2]] if m and _scope_phrase(m[1]) else [clause])
    for clause in clauses:
        sc = _scope_phrase(clause)
        if sc:
            scope = sc
            continue
        sides = _sides_intent(clause) if re.match(r"how\b", clause, flags=re.I) else None
        if sides is not None:  # "how many sides does the shape have?"
            intents.append(sides)
            understood = True
            continue
        question = _HOW_MANY.fullmatch(clause.strip(" ?."))
        figure = _figure_phrase(question[1], plural=True) if question else None
        if figure is not None:  # answered by clicking the choice that names the count
            intents.append(Intent("click", kinds=ANSWER_KINDS, figure=figure, count=True))
            understood = True
            continue
        m = re.match(r"(?:please\s+)?(\w+)\b\s*(.*)$", clause, flags=re.IGNORECASE)
        verb, obj = (m[1].lower(), m[2].strip()) if m else ("", "")
        heat = heat_goal(clause) if verb in CLICK_VERBS | {"find", "locate", "search"} else None
        if heat is not None:  # "click on the HOT area": found by the page's answers to the pointer
            intents.append(Intent("seek", kinds=(), text=str(heat)))
            understood = True
            continue
        watched = _watched_intents(verb, obj, clause)
        if watched is not None:  # act on a number the page shows: when / until it meets a test
            intents.extend(watched)
            understood = True
            continue
        timed = _timed_intent(verb, obj)
        if timed is not None:  # "wait 2 seconds", "keep the mouse on the circle"
            intents.append(timed)
            understood = True
            continue
        picked = _picker_intent(verb, obj)
        if picked is not None:  # "select aqua with the colour picker"
            intents.append(picked)
            understood = True
            continue
        pattern = _pattern_intent(verb, obj)
        if pattern is not None:
            intents.append(pattern)
            understood = True
            continue
        edits = _edit_intents(verb, obj)
        if edits is not None:
            intents.extend(edits)
            understood = True
            continue
        drawn = _turn_intents(verb, obj) or _drawn_intents(verb, obj)
        if drawn is None:
            drawn = _reorder_intents(verb, obj, clause)
        if drawn is None:
            drawn = _resize_intents(verb, obj)
        if drawn is None:
            drawn = _carry_intents(verb, obj)
        if drawn is not None:
            intents.extend(drawn)
            understood = True
            continue
        if verb in VALUE_VERBS and _value_source(verb, obj):
            value = _value_source(verb, obj)
            if _AREA.search(obj):  # "the last word in the text area": read inside it
                area = "textarea"
                if value == "word:-1":  # (its end may be scrolled out of view)
                    intents.append(Intent("scroll", kinds=("input",), text="down", area=area))
            understood = True
            continue
        use = re.match(r"(?:the\s+)?(.+?)\s+to\s+(\w+)\b\s*(.*)$", obj, flags=re.IGNORECASE) \
            if verb in ("use", "using") else None
        if use and use[2].lower() in VERBS:  # "use the textbox to enter X": the verb that follows
            verb, obj = use[2].lower(), use[3].strip()
            if verb in TYPE_VERBS and not re.search(r"\b(?:into|in)\b", _QUOTE.sub("", obj)):
                obj = f"{obj} into the {use[1]}"
        elif verb in SCROLL_VERBS:  # "scroll to the bottom of the text area"
            intents.append(scroll_intent(obj))
            understood = True
            continue
        elif verb not in VERBS:
            if m and '"' not in clause and len(re.findall(r"[^\W_]+", obj)) >= 3 and \
                    re.search(r"\b(?:for|by|from|with|named|called|in|of|on|at)\b", obj):
                # a free request ("look for X produced by Y"): fill the form's fields, submit;
                # a superlative ("the cheapest X") then chooses among the results
                best = find_criterion(clause)
                intents.append(Intent("fill", kinds=("input",),
                                      text=without_criterion(clause, best) if best else clause))
                intents.append(Intent("click", target=m[1], kinds=("button",), index=-1))
                if best is not None:
                    intents.append(Intent("click", target=m[1], kinds=("button",),
                                          best=best.word))
                understood = True
            else:
                logger.debug("clause %r has no verb I know", clause)
            continue
        understood = True
        widget = _widget_intents(verb, obj, typed)
        if widget is not None:
            typed += sum(i.op == "type" for i in widget)
            intents.extend(widget)
            continue
        derived = _derived_type_intents(obj, typed, value) if verb in TYPE_VERBS and \
            ('"' not in obj or _LOOKUP.match(obj)) else []
        if derived:
            typed += len(derived)
            intents.extend(dataclasses.replace(i, area=area) if i.source else i for i in derived)
        elif verb in TYPE_VERBS and '"' in obj:
            new = _type_intents(obj, typed)
            typed += len(new)
            intents.extend(new)
        else:
            items = item_phrase(obj) if verb not in TYPE_VERBS else None
            if items is not None:  # "... on all posts by @ann": each item the marker marks
                rest, marker, many = items
                intents.extend(dataclasses.replace(i, scope=marker, items=many)
                               for i in _click_intents(verb, rest, clause))
                continue
            intents.extend(_click_intents("click" if verb in TYPE_VERBS else verb, obj, clause))
    if scope:
        intents = [i if i.scope else dataclasses.replace(i, scope=scope) for i in intents]
    logger.debug("instruction %r: %s", text, [i.describe() for i in intents])
    if not understood:
        logger.info("the grammar does not understand the instruction %r", text)
    return GuiPlan(tuple(intents), "grammar" if understood else "none", text)


# -- widgets: menus, lists, spinners, time and date values, constrained items ----
#: A time of day (``9:37 PM``, ``21:37``, ``9:37 a.m.``).
#: OCR may read the colon as a dot when AM/PM follows.
TIME_VALUE = re.compile(r"\b(\d{1,2})[:.](\d{2})(?::\d{2})?\s*([AaPp])\.?\s*[Mm]\.?(?=\W|$)|"
                        r"\b(\d{1,2}):(\d{2})\b")
#: A calendar date (``12/31/2016``, ``2016-12-31``).
DATE_VALUE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b")
#: Where a chosen item comes from: a list, dropdown or menu (the words say nothing
#: about the target).
_FROM_LIST = re.compile(r"\b(?:from|in|on) (?:the |a )?(?:scroll(?:ing|able)? |drop-?do[wv]n |select )?"
                        r"(?:list|drop-?do[wv]n|menu|select box|selection)\b", re.IGNORECASE)
#: A number field stepped with arrows.
_STEPPER = re.compile(r"\b(?:with|using|on|in) (?:the |a )?(?:spinner|stepper|number (?:field|input|box))\b",
                      re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])(?:[-+\u2212] ?)?\d+(?:\.\d+)?(?![\w.])")
_CONSTRAINT = re.compile(r'\b(?:starts?|starting|begins?|beginning) with\s+"([^"]*)"'
                         r'(?:.*?\b(?:ends?|ending) with\s+"([^"]*)")?', re.IGNORECASE)


def _widget_intents(verb: str, obj: str, typed: int) -> list[Intent] | None:
    """Intents for objects that name a widget's value rather than an element's label, or
    None when the object is an ordinary one.

    * a menu path ``A > B > C``: hover over ``A`` and ``B`` (their submenus open), click ``C``;
    * ``N with the spinner``: set the number field to ``N``;
    * a date to click, not type (``select 01/14/2016 as the date``, ``pick March 3, 2016``):
      choose it in a date picker;
    * a time or date value without quotes (``enter 9:37 PM as the time``): type it into the
      field named by the remaining words;
    * ``something that begins with "x" (and ends with "y")``: type ``x`` and click the
      suggestion that fits both;
    * ``X from the list``: the list words are dropped (the agent finds X in a list, or
      chooses it in a dropdown).
    """
    if verb in CLICK_VERBS and re.fullmatch(r"[A-Z][a-z]+(?:(?:\s*[>?]\s*|z)[A-Z][a-z]+)+", obj):
        # a path of names where OCR read a '>' as 'z' or '?': 'FannizGeorgeta'
        obj = re.sub(r"(?<=[a-z])(?:z|\s?\?\s?)(?=[A-Z])", ">", obj)
    if verb in CLICK_VERBS and '"' not in obj and re.search(r"\S\s*>\s*\S", obj) and \
            not _PICTURED.search(obj):  # ("the > icon" is a picture, not a path)
        steps = [p.strip(" .") for p in obj.split(">") if p.strip(" .")]
        if len(steps) >= 2:
            return [Intent("hover", target=t, kinds=ANY_KIND) for t in steps[:-1]] + \
                [Intent("click", target=steps[-1], kinds=ANY_KIND)]
    if _STEPPER.search(obj):
        num = _NUMBER.search(_STEPPER.sub(" ", obj))
        if num:
            return [Intent("set", kinds=("input",),
                           text=num[0].replace("\u2212", "-").replace(" ", ""))]
    if verb in TYPE_VERBS and '"' not in obj:
        value = TIME_VALUE.search(obj) or DATE_VALUE.search(obj)
        if value:
            rest = _phrase(obj.replace(value[0], " ").replace(" as ", " "))
            text = value[0].strip()
            if value.re is TIME_VALUE and value[1]:  # one spelling: "9:37 PM"
                text = f"{int(value[1])}:{value[2]} {value[3].upper()}M"
            return [Intent("type", target=rest.words, kinds=("input",), index=typed, text=text)]
    if verb in CLICK_VERBS:
        unquoted = _QUOTE.sub(lambda m: m[1] if parse_date(m[1]) else m[0], obj)
        found = find_date(unquoted) if '"' not in unquoted else None
        if found is not None:  # "select 01/14/2016 as the date": a date picker's value
            day, (a, b) = found
            rest = _phrase((unquoted[:a] + " " + unquoted[b:]).replace(" as ", " "))
            return [Intent("date", target=rest.words, kinds=("input",), text=day.isoformat())]
    if verb in TYPE_VERBS:
        cons = _CONSTRAINT.search(obj)
        if cons:
            return [Intent("type", kinds=("input",), index=typed, text=cons[1]),
                    Intent("click", kinds=("text", "button", "link"), starts=cons[1],
                           ends=cons[2] or "")]
    if _FROM_LIST.search(obj):
        what = _FROM_LIST.sub(" ", obj).strip(" ,")
        if '"' not in what:  # items are split at commas; 'and' may be part of a name
            items = [p.strip() for p in re.split(r"[,;]", what) if p.strip()]  # (OCR: ; for ,)
            last = re.split(r"\s+and\s+", items[-1]) if items else []
            if len(items) > 1 and all(len(p.split()) == 1 for p in items[:-1] + last):
                items = items[:-1] + last  # 'A, B and C'
            what = " ".join(f'"{p}"' for p in items)
        return _click_intents(verb, what, obj)
    return None
