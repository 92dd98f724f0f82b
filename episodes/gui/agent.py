"""The GUI agent: a policy that reads the screen and carries out a plan of intents.

Each decision perceives the current screenshot (:func:`find_elements`), reads
the text of the elements the next intent may refer to (:class:`TextReader`),
picks the element that best matches the intent and clicks its centre; a
``type`` intent then types its text. After a click that moves things outside
the clicked element (a tab switch, an expanding section) the agent waits until
two consecutive screenshots agree before acting again. The agent never sees
anything but the :class:`~lavr.episodes.loop.Observation`: pixels and the
instruction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
import re
import time
import unicodedata
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lavr.episodes.gui import (
    arrange,
    calendars,
    editing,
    geometry,
    numbers,
    patterns,
    plots,
    popups,
    shapes,
    skills,
    sliders,
    swatches,
    timing,
)
from lavr.episodes.gui.appearance import ink_patch, quoted_word, word_box
from lavr.episodes.gui.appearance import similarity as appearance_similarity
from lavr.episodes.gui.board import best_move, find_board, our_turn, winner
from lavr.episodes.gui.console import (
    GLYPH_SHEET,
    command_output,
    find_console,
    learn_glyphs,
    parse_shell_request,
    pick_files,
    text_ink,
)
from lavr.episodes.gui.detector import TOOL_NAME as DETECTOR_TOOL
from lavr.episodes.gui.detector import UiDetector, complement, shared_detector
from lavr.episodes.gui.feedback import HeatSearch, NumberSearch, read_heat, read_hint
from lavr.episodes.gui.instruction import ANY_KIND, GuiPlan, Intent, parse_instruction
from lavr.episodes.gui.language import (
    assign_fields,
    evaluate_expression,
    format_number,
    nth_word,
    solve_equation,
)
from lavr.episodes.gui.perception import (
    ScreenElement,
    ScreenParse,
    TextReader,
    box_within,
    find_elements,
    ink_mask,
    instruction_lines,
    normalise_text,
    read_instruction,
    read_texts,
    text_runs,
    text_similarity,
)
from lavr.episodes.gui.reading import (
    CELL_GAP,
    LABEL_LEFT,
    REREAD_ZOOMS,
    area_text,
    binarised,
    field_labels,
    label_boxes,
    page_cells,
    page_text,
    property_value,
    read_boxes,
    reader_at_zoom,
    run_from,
    text_rows,
    value_of,
)
from lavr.episodes.gui.requests import ITEM_ACTIONS, SEND, ItemAction, item_action
from lavr.episodes.gui.results import (
    ROW_SNAP,
    Criterion,
    ResultsSearch,
    best_index,
    find_criterion,
    read_quantity,
    vertical_shift,
)
from lavr.episodes.gui.widgets import (
    Widgets,
    augment,
    field_content,
    fits,
    masked_keys,
    read_number,
)
from lavr.episodes.loop import Action, Observation, Percept, PerceptionCall, StepChoice
from lavr.tools.colour import nearest_colour_word
from lavr.tools.errors import ToolError
from lavr.tools.vocab import colour_matches

if TYPE_CHECKING:
    from lavr.planners.demos.embed import TextEmbedder
    from lavr.tools.detections import Detections

logger = logging.getLogger(__name__)

#: How far (px) a drag that turns a thing in 3-D sweeps, and how long each step of it takes.
TURN_DRAG = 40.0
TURN_PACE_MS = 60
#: The least glyph score that reads the active side's mark as the wanted one.
TURN_READ = 0.4
#: A text match below this similarity is no match.
MATCH_THRESHOLD = 0.5
#: A label is this close (px) above or left of the input it names.
LABEL_DISTANCE = 30
#: MiniLM cosine a target and an element's text need when no spelling matches ...
SEMANTIC_THRESHOLD = 0.6
#: ... and by how much the best element must beat the runner-up.
SEMANTIC_MARGIN = 0.08
#: Look-alike score a label needs to match a target's pixels when OCR cannot read them ...
APPEARANCE_MATCH = 0.2
#: ... and by how much it must beat the runner-up.
APPEARANCE_MARGIN = 0.1
#: Changed pixels outside the clicked element (fraction of the screen) that mean "layout moved".
LAYOUT_CHANGE = 0.004
#: A text match this good needs no search behind tabs first.
STRONG_MATCH = 0.8
#: Scroll steps allowed per intent while looking for its list item.
MAX_SCROLLS = 12
#: Pixels one scroll step moves.
#: Text similarity a menu path's item needs (names, not sentences: no loose matches).
STRICT_MATCH = 0.75
#: Steps to wait after a hover for a menu to open, and the pause of each (ms).
HOVER_WAITS = 6
HOVER_PAUSE_MS = 120
#: Pause of a wait for suggestions to pop up under a field (ms).
SUGGEST_PAUSE_MS = 150
#: Pause after opening a section or tree node before looking again (ms).
OPEN_PAUSE_MS = 450
#: Zooms a result's button is read at again when its value was not read at the usual one.
RE_READ_ZOOMS = (2.0, 4.0)
#: Scrolls of a suggestion list that popped up under a typed field while none in view fits.
SUGGEST_WAITS = 3
#: Pause of a wait for a suggestion list after typing (ms; lists often wait 300 ms for more keys).
SUGGEST_DELAY_MS = 350
#: A field's text whose darkest pixel is lighter than this is a hint (placeholder), not a value.
PLACEHOLDER_GREY = 70
#: Changed pixels between two screens that still count as a still screen (a blinking
#: text cursor is a 1 px wide line as tall as the text).
CARET_PIXELS = 16
#: Largest gap (px) between the two lines of one wrapped suggestion.
WRAP_GAP = 8
SCROLL_STEP = 50
#: Elements read again at other zooms when no element's text matches a target well.
REREAD_TOP = 3
#: Most pages of a paged list turned looking for one entry.
MAX_PAGES = 20
#: Pixels of a scroll back to the top of a page or list (more than any page here).
REWIND = 5000
#: Rounds of moving a slider and reading its value again before giving up.
MAX_SLIDES = 5
#: Value changes per key press a slider is believed to step by when its readings show one.
ROUND_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0,
               100.0)
#: Pixels the first drag of a slider's handle moves it, to learn its scale (when keys do not
#: move it).
PROBE_DRAG = 20
#: Waits for what an opener showed to stop moving before choosing among it anyway.
MAX_MOVING_WAITS = 10
#: Clicks at most made to bring a number about (``generate an odd number``) ...
MAX_UNTIL_CLICKS = 25
#: ... and steps at most spent watching a number before acting on it (``buy when ...``).
MAX_WATCH_STEPS = 200
#: A screen seen longer ago than this (s) is looked at again before a watched number on it
#: is acted on.
WATCH_FRESH_S = 0.6
#: A watched number that moves by itself is acted on when it passes its test by this many
#: of its typical moves over the time a click takes to land ...
WATCH_MARGIN = 1.0
#: ... which is the screen's age plus this (s).
CLICK_LATENCY_S = 0.3
#: Longest wait (ms) between two looks at a watched number.
WATCH_PAUSE_MS = 500
#: A watched number read this much (a fraction of it) away from the last reading is misread.
MISREAD_JUMP = 0.3
#: Shortest wait (ms) between two looks at it (the step budget lasts a few seconds longer).
WATCH_MIN_PAUSE_MS = 100
#: Widest gap (px) between the glyphs of one word of page text.
WORD_GAP = 3
#: Positions tried around the warmest one so far before it is clicked anyway.
REFINE_TRIES = 4
#: Waits for a date picker to show after its field was clicked, before typing the date.
PICKER_WAITS = 2
#: Arrow clicks allowed per date (years of months; the header is re-read after each one).
MAX_MONTH_STEPS = 60
#: Header readings in a row that may show no change after an arrow click.
PICKER_STUCK = 3
#: The end of a menu item's label that says it opens a submenu (an arrow read by OCR).
SUBMENU_ARROW = re.compile(r"\S\s*[>›»▸▶]\s*$")
#: Waits (of :data:`REPEAT_PAUSE_MS`) without a figure to click before "as many as possible"
#: is over: on a still page, and on a page seen moving by itself (more may come in).
REPEAT_WAITS = 3
REPEAT_WAITS_MOVING = 15
REPEAT_PAUSE_MS = 500
#: Clicks allowed to place a square corner's point (the page's answer after each one).
SQUARE_TRIES = 4
#: Keeping the pointer on a figure: the pause (ms) while the pointer is still on it, the
#: steps waited without seeing it before giving up, and how far ahead (s) its motion is
#: followed (where it will be when the pointer gets there).
FOLLOW_PAUSE_MS = 300
FOLLOW_WAITS = 12
FOLLOW_LEAD_S = 0.15
#: Colours of the figures that are not "the coloured one" (the greys of a plain drawing).
UNCOLOURED = frozenset({"black", "grey", "white"})  # (vocabulary names)
#: Pixels a widget's grip is dragged to resize it (less when it would leave the screen).
RESIZE_BY = 30.0
#: Pause (ms) after a day is chosen, while the picker closes over what is below it.
PICKER_CLOSE_MS = 300


def _union_box(boxes: tuple[tuple[int, int, int, int], ...]) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))


@dataclass(frozen=True)
class Choice:
    """An element chosen for an intent, with its score and why."""

    element: ScreenElement
    score: float
    reason: str
    #: Chosen for certain although ``score`` is low (a clear winner on another scale).
    sure: bool = False


def _centre(box: tuple[int, int, int, int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 2 and min(a[3], b[3]) - max(a[1], b[1]) > 2


def _same_mark(read: str, wanted: str) -> bool:
    """A mark read on a turned side is the wanted one (case aside; ``6`` and ``9`` are one
    glyph turned upside down)."""
    turned = {"6": "9", "9": "6"}
    return read.lower() == wanted.lower() or turned.get(read) == wanted


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two XYXY boxes."""
    iw, ih = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0) * max(ih, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _same_column(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Parts of one list: the same left and right edges, overlapping rows."""
    return abs(a[0] - b[0]) <= 3 and abs(a[2] - b[2]) <= 3 and min(a[3], b[3]) > max(a[1], b[1])


def _cut_at_bottom(image: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """A panel's content reaches its bottom edge (more of it may be scrolled into view)."""
    x1, y1, x2, y2 = box
    inner = image[max(y2 - 5, y1):y2 - 1, x1 + 2:x2 - 2].astype(np.float32).mean(axis=2)
    return bool((inner < 185).any())


def _box_slice(box: tuple[int, int, int, int], margin: int, shape: tuple[int, ...]) -> tuple[
        slice, slice]:
    x1, y1, x2, y2 = box
    return (slice(max(y1 - margin, 0), min(y2 + margin, shape[0])),
            slice(max(x1 - margin, 0), min(x2 + margin, shape[1])))


#: A choice naming a class (``odd``) and the element that names it.
ShownChoice = tuple[str, ScreenElement]

#: Steps a page's unchanged text is taken as "no answer yet" to a try before it is read as
#: the answer (the same hint as the try before: ``Too low!`` twice).
SAME_HINT_WAITS = 3


class GuiAgent:
    """Rule-driven GUI policy over pixels (see the module docstring).

    Args:
        text_reader: OCR for element texts; None makes one (offline EasyOCR,
            loaded on first use, 3x zoom).
        match_threshold: Smallest text similarity accepted as a match.
        max_waits: Wait steps allowed per intent when its element is not on
            screen (the page may still be drawing).
        settle_steps: Wait steps allowed after a click for the screen to stop moving.
        embedder: Text embedder (``embed(texts) -> unit vectors``) for matching a target
            to an element by meaning; None uses the packaged MiniLM when installed.
        semantic: Match by meaning at all (False: spelling only).
        ui_detector: Also run the UI-element detector trained here (``ui_elements``) on every
            observation and add the widgets the screen parser missed
            (:func:`~lavr.episodes.gui.detector.complement`); a :class:`UiDetector` to use
            that one. Off by default (README "The UI-element detector").
    """

    #: The screen parser runs as a registered tool on every observation (OCR stays lazy:
    #: only the texts a step needs are read).
    perception: tuple[PerceptionCall, ...] = (PerceptionCall("screen_elements"),)

    def __init__(self, *, text_reader: TextReader | None = None,
                 match_threshold: float = MATCH_THRESHOLD, max_waits: int = 2,
                 settle_steps: int = 4, embedder: TextEmbedder | None = None,
                 semantic: bool = True, ui_detector: bool | UiDetector = False) -> None:
        self.text_reader = text_reader if text_reader is not None else TextReader()
        self.ui_detector: UiDetector | None = (
            ui_detector if isinstance(ui_detector, UiDetector)
            else shared_detector() if ui_detector else None)
        if self.ui_detector is not None:
            self.perception = (*type(self).perception, PerceptionCall(DETECTOR_TOOL))
        self._detector_failed = False
        self.match_threshold = match_threshold
        self.max_waits = max_waits
        self.settle_steps = settle_steps
        if embedder is None and semantic:
            from lavr.planners.demos.embed import MiniLMEmbedder

            embedder = MiniLMEmbedder() if MiniLMEmbedder.available() else None
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}
        self._banner: tuple[np.ndarray, ScreenParse] | None = None  # the screen the instruction was read on
        self.plan: GuiPlan = GuiPlan((), "none")
        self.instruction = ""
        self.instruction_source = ""
        self._planned = False
        self._read_note = ""
        self._intents: deque[Intent] = deque()
        self._pending: deque[Action] = deque()
        self._parse_cache: tuple[str, ScreenParse] | None = None
        self._waits = 0
        self._after_click: tuple[np.ndarray, tuple[int, int, int, int]] | None = None
        self._settling: np.ndarray | None = None
        self._settle_count = 0
        self._chosen: set[tuple[int, int, int, int]] = set()
        self._previous: np.ndarray | None = None  # the screen of the last step
        self._decide_start = time.monotonic()  # when the current step began to be decided
        self._reset_skills()
        self._reset_widgets()

    def _reset_skills(self) -> None:
        self._explored: set[tuple[int, int]] = set()  # tabs opened while searching
        self._open_tab: tuple[int, int] | None = None  # the tab shown now (when known)
        self._tab_best: tuple[float, tuple[int, int] | None] | None = None  # best weak match, its tab
        self._first_parse: ScreenParse | None = None  # the screen before any action
        self._check_dialog = False  # the layout moved: a dialog may have appeared
        self._last_intent: Intent | None = None  # the intent the pending actions belong to
        self._scrolls = 0  # scroll steps taken looking for the current intent's item
        self._menu_opened = 0  # times the current intent's item menu was clicked open
        self._menu_scrolls = 0  # scroll steps taken to see the rest of an open menu
        self._page = 1  # the page of a paged list the current intent looks at
        self._paged_from: np.ndarray | None = None  # the screen before the last page turned
        self._scrolled_from: np.ndarray | None = None  # the screen the last scroll started on
        self._items_done: list[int] = []  # list items acted on: their marker's top, page rows
        self._items_offset = 0  # rows the list has scrolled by since the intent began
        self._items_acted = 0  # items acted on for the current intent
        self._shift_from: np.ndarray | None = None  # the screen before the last scroll, to measure it
        self._list_ended = False  # the last scroll reached the end of the list
        self._scroll_expect = SCROLL_STEP  # px the last scroll asked for
        self._shift_checked = False  # a short scroll was looked at again
        self._scrolled_page = False  # a list of items was scrolled through this episode
        self._act_phase = "item"  # acting on a list item: item -> opened -> fill -> send
        self._scope_rewound = False  # the list was scrolled back to its top looking for an item
        # a dropdown the page draws, opened to choose in its list: the screen before, its box
        self._list_from: tuple[np.ndarray, tuple[int, int, int, int]] | None = None
        self._list_scrolls = 0  # scrolls of its list
        self._list_seen: np.ndarray | None = None  # the screen before the last of them
        self._scroll_box: tuple[int, int, int, int] | None = None  # the area scrolled to its end
        self._scroll_seen: np.ndarray | None = None  # ... as it was before the last scroll
        self._scroll_count = 0  # scrolls of it so far
        self._area_box: tuple[int, int, int, int] | None = None  # the last area scrolled to its end
        self._act_filled: set[str] = set()  # what the action's form has been given
        self._repeat_waited = False  # the last step waited for more figures to click
        self._repeat_moves = False  # ... and the page changed meanwhile: it moves by itself
        self._repeat_clicked: list[tuple[int, int, int, int]] = []  # figures clicked so far
        self._heat: HeatSearch | None = None  # a spot sought with the pointer
        self._heat_blank: np.ndarray | None = None  # the screen before the pointer moved
        self._heat_at: tuple[float, float] | None = None  # where it was moved last, unanswered
        self._heat_waits = 0  # steps the page's answer has been waited for
        self._watch_steps = 0  # steps spent on the current until / when intent
        self._watched: list[tuple[float, float]] = []  # (time, value) of its number, read so far
        self._jumps = 0  # readings in a row far from the last one kept
        self._watch_box: tuple[int, int, int, int] | None = None  # where its number was read
        self._watch_at: Choice | None = None  # the control it clicks, located while watching
        self._menu_click: Intent | None = None  # the plan's last click, into a menu with submenus
        self._menu_retried = False  # ... planned again once after the menu stayed open
        self._copied_from: tuple[int, int, int, int] | None = None  # the field text was copied from
        self._pacer = timing.Pacer()  # a stated pause timed from the action before it
        self._pause_started = False  # ... the current wait intent started its deadline
        self._pointer: tuple[float, float] | None = None  # where the pointer was moved last
        self._followed: tuple[float, tuple[float, float]] | None = None  # (when, where) seen
        self._flashes: timing.Flashes | None = None  # controls watched lighting up
        self._weak_box: tuple[int, int, int, int] | None = None  # a weak match, no opener
        self._looked: tuple[np.ndarray, ...] = ()  # the screens the last watch saw
        self._colour_typed = False  # the colour field's value was typed (its picker is open)

    def _reset_widgets(self) -> None:
        self._widgets = Widgets()
        self._tried: set[str] = set()
        # dropdowns the page draws, opened to look for a target: (target, centre)
        self._lists_opened: list[tuple[str, tuple[float, float]]] = []
        self._last_scroll: tuple[tuple[int, int, int, int], int, np.ndarray] | None = None
        self._scrolled_out: list[tuple[tuple[int, int, int, int], int]] = []
        self._selected_in: list[tuple[int, int, int, int]] = []
        self._submitted = False
        self._hovered: tuple[list[tuple[int, int, int, int]], tuple[int, int, int, int],
                             int] | None = None
        self._path = False
        self._typed_box: tuple[int, int, int, int] | None = None
        self._typed_before: np.ndarray | None = None  # the screen before the last typing
        self._results = ResultsSearch()  # a list of results read while scrolling through it
        self._opened = False
        self._chosen_texts: set[str] = set()  # texts of elements chosen for earlier targets
        self._appeared_from: np.ndarray | None = None  # the screen before an opening click
        self._unfolded_for: Intent | None = None  # the intent after a hover that opened something
        self._opener_box: tuple[int, int, int, int] | None = None  # the control clicked open
        # a choice among what appeared: the screen before the opening, the intent, the opener
        self._picked: tuple[np.ndarray, Intent, tuple[int, int, int, int]] | None = None
        self._repicked = False
        self._moved = 0  # waits for what was opened to stop moving
        self._reset_picker()
        self._reset_search()
        self._reset_slide()
        self._reset_reorder()
        # a square corner's point: the screen before its click, the segment's ends, the
        # (corner, point)s still to try, the one clicked, clicks so far
        self._square: tuple[np.ndarray, tuple[geometry.Point, geometry.Point],
                            list[tuple[int, geometry.Point]], tuple[int, geometry.Point],
                            int] | None = None

        self._resized: tuple[tuple[int, int, int, int], int] | None = None  # box before, drags
        self._carried: tuple[tuple[int, int, int, int], int] | None = None  # the thing's box, drags
        self._left_alone: set[tuple[int, int, int, int]] = set()  # figures that would not move
        self._turns = 0  # drags that turned a thing in 3-D so far
        self._turn_waits = 0  # waits for it to stop turning
        self._active_colour = ""  # the colour the active side's mark is drawn in
        self._turn_last = ("?", "")  # the active mark before the last sweep, and its way
        self._turn_looked = False  # the first view was looked at twice
        self._shell_phase = "list"  # a console request: list -> learn -> run -> try
        self._shell_listing: np.ndarray | None = None  # the screen showing the listing
        self._shell_tries: list[str] = []  # file names still to try, best first

    def _reset_reorder(self) -> None:
        self._reorder_moves = 0  # drags made for the current reorder intent
        self._reorder_seen: tuple[str, ...] | None = None  # the items' texts before the last drag
        self._reorder_stuck = 0  # drags after which the items read the same as before
        self._reorder_goal: int | None = None  # the place the named item is dragged to

    def _reset_slide(self) -> None:
        self._slides = 0  # rounds of moving the current slider
        self._slide_from: tuple[float, float] | None = None  # (value, handle place) before the last move
        self._slide_rate = 1.0  # value change per key press (keys) or per pixel (drag)
        self._slide_drag = False  # keys did not move it: drag the handle instead
        self._slider_seen: sliders.Slider | None = None  # the slider being moved, as last seen
        self._keys_sent = 0  # key presses of the last round
        self._slide_sign = 1.0  # their direction (+1 up the scale)

    def _reset_picker(self) -> None:
        self._picker_opened = False  # the date field was clicked to open its picker
        self._field_focused = False  # ... by this agent (the keys go to it)
        self._picker_waits = 0  # steps waited for the picker to show
        self._month_steps = 0  # arrow clicks taken toward the date's month
        self._month_expected: tuple[int, int] | None = None  # (year, month) after the last arrow
        self._month_seen: tuple[int, int] | None = None  # the header as last read
        self._picker_stuck = 0  # readings in a row the header did not move after an arrow
        self._key_jump: tuple[int, int] | None = None  # the month shown before a key jump
        self._keys_tried = False  # month keys were pressed once (they work, or arrows only)

    def _reset_search(self) -> None:
        self._search: NumberSearch | None = None  # the numbers still possible
        self._awaiting: int | None = None  # the try whose hint the page has not shown yet
        self._hint_waits = 0  # steps the page has shown no hint for the last try
        self._try_screen: np.ndarray | None = None  # the screen when the last try was typed
        self._focused = False  # the field keeps the focus after a try submitted with Enter

    def warm_up(self) -> None:
        """Load the perception experts now (OCR, MiniLM, the UI detector when on), so no
        timed episode pays for loading.

        Raises:
            ExpertUnavailableError: The UI detector is on and its checkpoint is missing.
        """
        _ = self.text_reader.reader
        if self.ui_detector is not None:
            self.ui_detector.load()
        if self.embedder is not None:
            self.embedder.embed(["warm up"])

    # -- policy protocol -------------------------------------------------------
    def reset(self, instruction: str) -> None:
        """Forget the previous episode; plan for ``instruction``, or, when it is empty,
        for the instruction read from the first screenshot."""
        self.instruction = instruction
        self.plan = GuiPlan((), "none")
        self._planned = False
        self._read_note = ""
        if instruction:
            self._make_plan(instruction, source="given")
        self._pending.clear()
        self._parse_cache = None
        self._waits = 0
        self._after_click = None
        self._settling = None
        self._settle_count = 0
        self._reset_skills()
        self._reset_widgets()
        self._chosen = set()
        self._previous = None
        self._banner = None

    def _make_plan(self, instruction: str, *, source: str) -> None:
        self.instruction = instruction
        self.instruction_source = source
        self.plan = parse_instruction(instruction, embedder=self.embedder)
        self._intents = deque(self.plan.intents)
        self._planned = True
        logger.info("instruction (%s): %r; plan: %s", source, instruction,
                    "; ".join(i.describe() for i in self.plan.intents) or "nothing understood")

    def read_instruction(self, image: np.ndarray) -> str:
        """The instruction written on the screen (the banner), read by OCR; a colour swatch
        set into its text is read as the name of its colour."""
        parse = self.perceive(image)
        shown = swatches.find_swatches(image, within=parse.banner) if parse.banner else []
        pictures = [(s.box, nearest_colour_word(s.rgb)) for s in shown]
        return read_instruction(parse, self.text_reader, pictures=pictures)

    def acted(self, action: Action) -> None:
        """Nothing to record: the GUI agent re-reads the screen every step."""

    @property
    def pending(self) -> tuple[Action, ...]:
        """Actions queued for the next steps (the typing after a field's click ...)."""
        return tuple(self._pending)

    def decide(self, observation: Observation,
               percepts: Mapping[str, Percept] | None = None) -> StepChoice:
        """Choose the next action from the screenshot alone."""
        self._decide_start = time.monotonic()
        self._pacer.asked()
        image = observation.image
        self._looked = observation.frames
        seen = (percepts or {}).get("screen_elements")
        if seen is not None and isinstance(seen.artifact, ScreenParse) and \
                seen.artifact.image.shape == image.shape:
            key = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
            if self._parse_cache is None or self._parse_cache[0] != key:
                parse = self._complement(seen.artifact, (percepts or {}).get(DETECTOR_TOOL))
                self._parse_cache = (key, self._augment(parse))
        if not self._planned:
            text = observation.instruction or self.read_instruction(image)
            self._banner = (image, self.perceive(image)) if not observation.instruction else None
            self._make_plan(text, source="given" if observation.instruction else "screen (OCR)")
            if not observation.instruction:
                self._read_note = f"read from the screen: {text!r}; "
        decision = self._decide(image, observation.instruction)
        self._previous = image
        if self._read_note:
            decision.summary, self._read_note = self._read_note + decision.summary, ""
        kind = decision.action.kind
        if kind not in ("wait", "watch", "done"):
            hold = self._pacer.hold()  # a stated pause before this action: go on time
            if hold > 0:
                time.sleep(hold)
                decision.summary += f" (held {hold * 1000:.0f} ms: the pause asked for)"
        self._pacer.sent(kind, decision.action.amount)
        return decision

    def _decide(self, image: np.ndarray, given: str) -> StepChoice:
        wait = self._settle(image)
        if wait is not None:
            return wait
        if self._first_parse is None:
            self._first_parse = self.perceive(image)
        if self._check_dialog:
            self._check_dialog = False
            dismiss = self._dismiss_dialog(image)
            if dismiss is not None:
                return dismiss
        if self._pending:
            action = self._pending.popleft()
            if action.kind == "type":
                self._typed_before = image  # (what pops up for the typing is new after it)
            return StepChoice(action, f"continue: {action.describe()}")
        if not self._intents:
            retry = self._retry_appeared(image)
            if retry is not None:
                return retry
            if self._retry_menu(image):
                return self._decide(image, given)
            if self.plan.intents:
                submit = self._submit(image)
                if submit is not None:
                    return submit
            why = "plan finished" if self.plan.intents else \
                f"the grammar does not understand {self.instruction!r}"
            return StepChoice(Action("done"), why)
        intent = self._intents[0]
        if intent.op == "wait":
            return self._pause(intent, image, given)
        parse = self.perceive(image)
        if intent.op == "follow":
            return self._follow(intent, parse)
        if intent.op == "colour":
            return self._set_colour(intent, parse)
        if intent.op == "guess":
            return self._guess(intent, parse)
        if intent.op == "play":
            return self._play(intent, parse)
        if intent.op == "seek":
            return self._seek(intent, parse, image)
        if intent.op == "draw":
            return self._draw(intent, parse)
        if intent.op == "reorder":
            return self._reorder(intent, parse, given)
        if intent.op == "resize":
            return self._resize(intent, parse, given)
        if intent.op == "move":
            return self._carry(intent, parse, given)
        if intent.op == "turn":
            return self._turn(intent, parse, given)
        if intent.op == "shell":
            return self._shell(intent, image)
        if intent.op == "set" and "slider" in intent.kinds:
            return self._slide(intent, parse, given)
        if intent.op == "date":
            return self._pick_date(intent, parse, image)
        if intent.until or intent.when:
            return self._watch(intent, parse, image, given)
        if intent.repeat:
            return self._click_every(intent, parse, image)
        if intent.pattern:
            return self._copy_pattern(intent, parse)
        if intent.op == "scroll":
            return self._scroll_to_end(intent, parse, image, given)
        if intent.order == "shown":
            return self._replay(intent, parse, image)
        if intent.order or intent.pick:
            return self._click_in_order(intent, parse)
        if intent.classes:
            return self._mark_classes(intent, parse)
        if intent.op in ("copy", "paste", "highlight", "style", "clear", "key"):
            step = self._edit_text(intent, parse)
            step.overlay = parse.to_detections()
            return step
        if intent.op == "fill":  # a free request: one typed value per labelled field
            self._intents.popleft()
            fills = self._lookup_intents(parse) if intent.source == "lookup" else \
                self._fill_intents(intent, parse)
            self._intents.extendleft(reversed(fills))
            return self._decide(image, given)
        if intent.suggest:  # the suggestion that popped up for the value just typed
            return self._pick_suggestion(intent, parse, image, given)
        if intent.best:  # the best of the results listed, by a criterion
            return self._choose_best(intent, parse, image)
        if intent.op == "act":
            step = self._act(intent, parse, image)
            step.overlay = parse.to_detections()
            return step
        if intent.op == "click" and intent.source == "lookup":  # "click on their address"
            step = self._click_value(intent, parse, image)
            step.overlay = parse.to_detections()
            return step
        if intent.shades:  # every shade of a colour: one click per swatch
            self._intents.popleft()
            self._intents.extendleft(reversed(self._shade_intents(intent, parse)))
            return self._decide(image, given)
        if intent.op == "click" and " " in intent.target.strip() and "checkbox" in intent.kinds \
                and self._list_from is None:  # (an open list's entries name no checkboxes)
            split = self._split_merged(intent, parse)
            if split:
                self._intents.popleft()
                self._intents.extendleft(reversed(split))
                intent = split[0]
        if intent.op == "type" and intent.source and not intent.text:
            value = self._derive(intent, parse)
            if value:
                intent = dataclasses.replace(intent, text=value, source="", figure=None)
                self._intents[0] = intent
        overlay = parse.to_detections()
        if intent.op == "click" and intent.target and not intent.scope and not intent.similar \
                and not intent.figure and not intent.colour:
            listed = self._pick_in_list(intent, parse, image)
            if listed is not None:
                listed.overlay = overlay
                return listed
        if intent.scope and intent.items is not None:
            step = self._each_item(intent, parse, image)
            if step is None:  # every item it asks for is done: on with the plan
                return self._decide(image, given)
            step.overlay = overlay
            return step
        if intent.scope:
            scoped = self._scoped(intent, parse, image)
            if isinstance(scoped, StepChoice):
                scoped.overlay = overlay
                return scoped
            choice = scoped
        elif intent.op == "type" and intent.source and not intent.text:
            choice = None  # the value could not be worked out (yet)
        else:
            choice = self.choose(intent, parse)
        if self._appeared_from is not None and intent.op == "click" and intent.target:
            # something was just opened: the opener itself is no choice, and when nothing
            # already on the screen names the target well, its new labels are the choices,
            # read once they stop moving (a radial menu spreads out)
            if choice is not None and self._opener_box is not None and \
                    _overlap(choice.element.box, self._opener_box):
                choice = None
            if choice is None or (choice.score < STRONG_MATCH and not choice.sure):
                if self._moving(image) and self._moved < MAX_MOVING_WAITS:
                    self._moved += 1
                    return StepChoice(Action("wait", amount=SUGGEST_PAUSE_MS), "what was "
                                      "opened is still moving; waiting", overlay=overlay)
                appeared = self._choose_appeared(intent, parse)
                if appeared is not None and (choice is None or appeared.score >= choice.score):
                    choice = appeared
        if choice is None and intent.index is not None and intent.index >= 0 and \
                not intent.target and "link" in intent.kinds:
            paged = self._next_page(intent, parse, image)
            if paged is not None:
                paged.overlay = overlay
                return paged
        if intent.target and not intent.similar and intent.source != "lookup" and \
                (choice is None or (choice.score < STRONG_MATCH and not choice.sure)):
            explore = self._explore_tabs(parse, choice, image)
            if explore is not None:
                explore.overlay = overlay
                return explore
        if choice is not None and choice.score < STRICT_MATCH:
            # a weak match while more can be uncovered: look further first (unless the
            # controls to open are of the kind matched: then it is the one)
            self._weak_box = choice.element.box
            explored = self._explore(intent, parse, image)
            self._weak_box = None
            if explored is not None:
                self._waits = 0
                explored.overlay = overlay
                return explored
        if choice is None:
            explored = self._explore(intent, parse, image)
            if explored is not None:
                self._waits = 0
                explored.overlay = overlay
                return explored
            if intent.opens:
                opened = self._open_unlabelled(intent, parse, image)
                if opened is not None:
                    opened.overlay = overlay
                    return opened
            self._waits += 1
            # what was opened (by a click, or by the hover before) may still unfold
            opening = self._appeared_from is not None or self._unfolded_for is intent
            if self._waits > self.max_waits + (3 if intent.starts or opening else 0):
                self._intents.clear()
                return StepChoice(Action("done"), f"gave up: nothing matches {intent.describe()}",
                                overlay=overlay)
            pause = SUGGEST_PAUSE_MS if intent.starts or intent.ends or opening else 0
            return StepChoice(Action("wait", amount=pause),
                              f"nothing matches {intent.describe()} yet; waiting",
                            overlay=overlay)
        self._intents.popleft()
        self._waits = 0
        if not self._intents and intent.op == "click" and (intent.target or intent.pictured) \
                and not self._menu_retried and self._submenus(parse, "menu-open"):
            self._menu_click = intent  # the last click, into a menu with submenus
        if choice.reason.startswith("appeared") and self._opener_box is not None and \
                self._appeared_from is not None:
            self._picked = (self._appeared_from, intent, self._opener_box)
            self._appeared_from = None
        self._explored.clear()
        self._open_tab, self._tab_best = None, None
        self._scrolls, self._menu_opened, self._page, self._menu_scrolls = 0, 0, 1, 0
        self._scope_rewound = False
        if intent.scope:  # an item of a list acted on: what comes next may be further down
            self._scrolled_page = True
        self._last_intent = intent
        el = choice.element
        self._chosen.add(el.box)
        x, y = el.click_point
        self._tried.update((self._ident(el), self._place(el)))
        if el.text and intent.target:
            self._chosen_texts.add(normalise_text(el.text))
        action = Action.click(x, y)
        if intent.op == "hover":
            action = Action.hover(x, y)
            self._hovered = ([e.box for e in parse.elements], el.box, 0)
            self._path = True
        else:
            self._path = False
        if intent.op == "set":
            x, y, keys = self._set_number(intent, parse, el)
            action = Action.click(x, y)
            self._pending.extend(keys)
        elif intent.op == "type":
            shown = field_content(parse, el.box, self.text_reader) \
                if masked_keys(intent.text) is not None else ""
            keys = masked_keys(intent.text, shown)
            if keys is not None and _masked(shown):
                # a segmented time/date field: start at its first segment, type digits in
                # the order of the segments it shows
                x = el.box[0] + min(8.0, el.width / 4)
                action = Action.click(x, y)
                self._pending.append(Action.type_text(keys))
            else:  # (a pause when a suggestion list may pop up for the value)
                pause = SUGGEST_DELAY_MS if self._intents and self._intents[0].suggest else 0
                self._pending.append(Action.type_text(intent.text, pause_ms=pause))
            self._typed_box = el.box
        else:
            area = self._area_of(el)
            if area is not None:
                if any(_same_column(area, a) for a in self._selected_in):
                    # a second item of a list: add it to the selection
                    action = Action("click", x=float(x), y=float(y), key="C-")
                self._selected_in.append(area)
        self._scrolled_out = []  # a new target: every list may be searched again
        if self._submit_like(el):
            self._submitted = True
        # (a stated pause after the click: no waiting for the screen, the pause is timed)
        pause_next = bool(self._intents) and self._intents[0].op == "wait"
        self._after_click = None if intent.op == "hover" or pause_next else (image, el.box)
        if intent.opens:  # what this click opens holds the next choices
            self._appeared_from, self._opener_box = image, el.box
        return StepChoice(action,
                        f"{intent.describe()} -> {el.describe()} ({choice.reason}, {choice.score:.2f})",
                        point=(x, y), overlay=overlay, target=tuple(float(v) for v in el.box))

    # -- text handled as text: select, copy, paste, style ------------------------------
    def _edit_text(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Copy, paste, highlight or style text (see :mod:`lavr.episodes.gui.editing`): the
        first action now, the rest queued; a wait (and in the end giving up) when what the
        intent names is not on the screen."""
        found = self._edit_actions(intent, parse)
        if found is None:
            self._waits += 1
            if self._waits > self.max_waits:
                self._intents.clear()
                return StepChoice(Action("done"), f"gave up: nothing on the screen for "
                                  f"{intent.describe()}")
            return StepChoice(Action("wait", amount=SUGGEST_PAUSE_MS),
                              f"nothing on the screen for {intent.describe()} yet; waiting")
        actions, box, what = found
        self._intents.popleft()
        self._waits = 0
        if intent.op == "style" and intent.text == "colour":  # then the colour in the palette
            self._intents.appendleft(Intent("click", kinds=("swatch",), colour=intent.colour))
        self._pending.extend(actions[1:])
        first = actions[0]
        return StepChoice(first, f"{intent.describe()}: {what}; "
                          + ", ".join(a.describe() for a in actions), point=first.point,
                          target=tuple(float(v) for v in box))

    def _edit_actions(self, intent: Intent, parse: ScreenParse) -> tuple[
            list[Action], tuple[int, int, int, int], str] | None:
        """The actions of a text intent, the box they act on and what that is, in words."""
        image = parse.image
        if intent.op == "key":
            h, w = image.shape[:2]
            return [Action.press(intent.text, max(intent.index or 1, 1))], (0, 0, w, h), \
                "a key press"
        width = image.shape[1]
        fields = editing.text_fields(parse)
        rows = text_rows(parse)
        if intent.op == "copy" and intent.require_icon and \
                not any(editing.is_text_area(f, fields) for f in fields):
            # a text area named but none seen as a field (its text runs into its frame):
            # its text is a block of rows; a click into it focuses it
            blocks = editing.paragraphs(parse, rows)
            i = 0 if intent.index is None else intent.index
            if not blocks or i >= len(blocks) or i < -len(blocks):
                return None
            block = blocks[i]
            box = (min(b[0] for b in block), block[0][1], max(b[2] for b in block), block[-1][3])
            self._copied_from = box
            first = block[0]
            click = Action.click((first[0] + first[2]) / 2.0, (first[1] + first[3]) / 2.0)
            return [click, Action.press(editing.SELECT_ALL), Action.press(editing.COPY)], box, \
                f"the text area's text, a block of {len(block)} rows (no text area seen as a field)"
        if intent.op in ("copy", "paste", "clear", "highlight") and intent.kinds == ("input",):
            exclude = [self._copied_from] if intent.op == "paste" and self._copied_from else []
            el = editing.choose_field(fields, area=intent.require_icon, index=intent.index,
                                      exclude=exclude)
            if el is None:
                return None
            x, y = el.click_point
            keys = [Action.press(editing.SELECT_ALL)]
            if intent.op == "copy":
                self._copied_from = el.box
                keys.append(Action.press(editing.CUT if intent.text == "cut" else editing.COPY))
            elif intent.op == "paste":
                keys.append(Action.press(editing.PASTE))
            elif intent.op == "clear":
                keys.append(Action.press(editing.DELETE))
            return [Action.click(x, y), *keys], el.box, el.describe()
        if intent.op in ("copy", "highlight") and not intent.target:
            blocks = editing.paragraphs(parse, rows)
            i = 0 if intent.index is None else intent.index
            if not blocks or i >= len(blocks) or i < -len(blocks):
                return None
            block = blocks[i]
            drag = Action.drag(*editing.selection_drag(block[0], block[-1], width=width))
            box = (min(b[0] for b in block), block[0][1], max(b[2] for b in block), block[-1][3])
            keys = [Action.press(editing.CUT if intent.text == "cut" else editing.COPY)] \
                if intent.op == "copy" else []
            return [drag, *keys], box, f"paragraph {i + 1 if i >= 0 else len(blocks)} of " \
                f"{len(blocks)} ({len(block)} rows)"
        if intent.target:
            phrase = editing.find_phrase(image, rows, self.text_reader, intent.target)
            if phrase is None:
                return None
            select = [Action.drag(*editing.selection_drag(phrase.first, phrase.last, width=width))]
            box = (phrase.first[0], phrase.first[1], phrase.last[2], phrase.last[3])
            what = f'the words "{phrase.text}" ({phrase.score:.2f})'
        else:  # everything: click into the text, select all of it
            if not rows:
                return None
            first = rows[0]
            select = [Action.click((first[0] + first[2]) / 2.0, (first[1] + first[3]) / 2.0),
                      Action.press(editing.SELECT_ALL)]
            box = (min(r[0] for r in rows), rows[0][1], max(r[2] for r in rows), rows[-1][3])
            what = f"all the text ({len(rows)} rows)"
        if intent.op == "copy":
            return [*select, Action.press(editing.CUT if intent.text == "cut" else editing.COPY)], \
                box, what
        if intent.op in ("highlight", "clear"):
            return select + ([Action.press(editing.DELETE)] if intent.op == "clear" else []), \
                box, what
        if intent.text == "colour":
            control = editing.colour_control(parse, self.text_reader)
            if control is None:
                return None
            cx, cy = (control[0] + control[2]) / 2.0, (control[1] + control[3]) / 2.0
            return [*select, Action.click(cx, cy)], box, f"{what}, then the colour control " \
                f"at ({cx:.0f}, {cy:.0f}) opens the palette"
        key = editing.STYLE_KEYS.get(intent.text)
        if key is None:
            logger.info("%s: no chord for the style %r", intent.describe(), intent.text)
            return None
        return [*select, Action.press(key)], box, what

    # -- widgets that open, then offer a choice -------------------------------------
    def _moving(self, image: np.ndarray) -> bool:
        """The screen below the banner changed since the last step (something moves)."""
        before = self._previous
        if before is None or before.shape != image.shape:
            return False
        top = self._first_parse.banner[3] if self._first_parse is not None and \
            self._first_parse.banner is not None else 0
        return float(np.any(before[top:] != image[top:], axis=2).mean()) > LAYOUT_CHANGE

    def _open_unlabelled(self, intent: Intent, parse: ScreenParse,
                         image: np.ndarray) -> StepChoice | None:
        """``expand the menu`` when nothing is labelled like it: click the one control
        without a word (a round button drawn as a filled disc, or a button with no text and
        no icon), and remember the screen, so the next target may be chosen among what
        appeared (:func:`~lavr.episodes.gui.popups.appeared_labels`)."""
        parse = self._read(parse, ("button",))
        round_ = [ScreenElement("button", f.box, anchor=f.point) for f in self.figures(parse)
                  if f.shape == "circle" and 10 <= f.extent <= 80]
        bare = [e for e in parse.of_kind("button") if not e.text and not e.icon]
        cands = round_ + [b for b in bare if not any(_overlap(b.box, r.box) for r in round_)]
        if len(cands) != 1:
            logger.info("%s: %d controls without a word, no opener", intent.describe(), len(cands))
            return None
        el = cands[0]
        self._intents.popleft()
        self._waits = 0
        self._appeared_from, self._opener_box = image, el.box
        self._after_click = (image, el.box)  # what opens may move in: choose once it is still
        x, y = el.click_point
        return StepChoice(Action.click(x, y), f"{intent.describe()}: nothing is labelled so; "
                          f"open the one control without a word, {el.describe()}", point=(x, y),
                          target=tuple(float(v) for v in el.box))

    def _retry_appeared(self, image: np.ndarray) -> StepChoice | None:
        """The plan is done, but what the opener showed is still open and the chosen label
        is still among it: the click did not take (a menu may ignore a click while it
        moves, or on its selected item once settled). Once: find the label where it is
        now, close and reopen the menu with its opener and click the label's place at once."""
        if self._picked is None or self._repicked:
            return None
        before, intent, opener = self._picked
        self._repicked = True
        self._appeared_from, self._opener_box = before, opener
        choice = self._choose_appeared(intent, self.perceive(image))
        self._appeared_from = None
        if choice is None or choice.score < STRICT_MATCH:
            return None
        x, y = choice.element.click_point
        self._after_click, self._settling = None, None
        ox, oy = (opener[0] + opener[2]) / 2.0, (opener[1] + opener[3]) / 2.0
        self._pending.extend([Action.click(ox, oy), Action.click(x, y)])
        return StepChoice(Action.click(ox, oy), f"{intent.describe()}: the menu is still open "
                          f"and shows {choice.element.describe()}: the click did not take; "
                          "close and reopen the menu, then click it at once", point=(ox, oy),
                          target=tuple(float(v) for v in opener))

    def _choose_appeared(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        """The label that appeared since the opening click and reads like the target."""
        assert self._appeared_from is not None
        top = parse.banner[3] if parse.banner is not None else 0
        exclude = [self._opener_box] if self._opener_box is not None else []
        boxes, ink = popups.appeared_labels(self._appeared_from, parse.image, top=top,
                                            exclude=exclude)
        if not boxes:
            return None
        reads = popups.case_by_height(self.text_reader.read(popups.ink_picture(ink), boxes),
                                      boxes)
        scored = [(popups.label_similarity(t, intent.target), b, t)
                  for b, t in zip(boxes, reads, strict=True) if t]
        if not scored:
            return None
        score, box, text = max(scored, key=lambda t: t[0])
        logger.info("appeared: %s", [(t, b) for _, b, t in scored])
        if score < self.match_threshold:
            return None
        return Choice(ScreenElement("text", box, text=text, text_boxes=(box,)), score,
                      f'appeared after the opening click: "{text}" '
                      f"(of {len(scored)} new labels)", sure=score >= STRICT_MATCH)

    # -- every figure that fits, as long as more come ---------------------------------------
    def _click_every(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice:
        """Click a figure that fits the description, one per step, each where it is seen on
        this screen; while none fits, wait as long as the page still moves, then go on with
        the plan. On a page not seen moving by itself, a figure still where it was clicked
        is not clicked again. A figure cut by the page's edge or
        touching another no longer has its shape: when no figure has the shape asked for,
        figures of the asked colour and size count."""
        overlay = parse.to_detections()
        assert intent.figure is not None
        size, colour, what = intent.figure
        figs = self.figures(parse)
        fits = [f for f in figs if shapes.matches(f, size, colour, what)]
        if not fits and len(what) > 1:
            fits = [f for f in figs if shapes.matches(f, size, colour, "")]
        if self._repeat_waited and self._moving(image):
            self._repeat_moves = True  # the page moves by itself: more may come any time
        if not self._repeat_moves:  # a still page: a figure still there once clicked is done
            fits = [f for f in fits if not any(
                all(abs(u - v) <= 2 for u, v in zip(f.box, b, strict=True))
                for b in self._repeat_clicked)]
        if not fits:
            self._waits += 1
            patience = REPEAT_WAITS_MOVING if self._repeat_moves else REPEAT_WAITS
            if self._waits <= patience:
                self._repeat_waited = True
                return StepChoice(Action("wait", amount=REPEAT_PAUSE_MS), f"{intent.describe()}: "
                                  "none on the screen now; waiting for more", overlay=overlay)
            self._intents.popleft()
            self._waits = 0
            return self._decide(image, "")
        self._waits = 0
        self._repeat_waited = False
        fig = max(fits, key=lambda f: (shapes.matches(f, size, colour, what), f.extent))
        self._repeat_clicked.append(fig.box)
        x, y = fig.point
        return StepChoice(Action.click(x, y), f"{intent.describe()}: {fig.describe()} "
                          f"({len(fits)} fit)", point=(x, y), overlay=overlay,
                          target=tuple(float(v) for v in fig.box))

    # -- time: a stated pause, the pointer kept on a moving figure ---------------------------
    def _pause(self, intent: Intent, image: np.ndarray, given: str) -> StepChoice:
        """Pause ``intent.seconds`` after the action before it: waits while the deadline is
        far, then the next intent's action, held back until the deadline (see
        :class:`~lavr.episodes.gui.timing.Pacer`)."""
        if not self._pause_started:
            self._pause_started = True
            self._pacer.start(intent.seconds)
        ms = self._pacer.wait_ms()
        if ms > 0:
            return StepChoice(Action("wait", amount=ms), f"{intent.describe()}: pausing {ms} ms")
        self._intents.popleft()
        self._pause_started = False
        return self._decide(image, given)

    def _replay(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice:
        """Watch the page's controls (flat patches of colour) light up, one screenshot per
        step, then click them in the order they lit up (see
        :class:`~lavr.episodes.gui.timing.Flashes`)."""
        overlay = parse.to_detections()
        now = time.monotonic()
        if self._flashes is None:
            found = [s.box for s in self._page_swatches(parse)
                     if min(s.box[2] - s.box[0], s.box[3] - s.box[1]) >= 12]
            if not found:
                self._waits += 1
                if self._waits > self.max_waits:
                    self._intents.popleft()
                    return StepChoice(Action("done"), f"gave up: no controls for {intent.describe()}",
                                      overlay=overlay)
                return StepChoice(Action("wait"), f"{intent.describe()}: no controls seen yet",
                                  overlay=overlay)
            self._waits = 0
            self._flashes = timing.Flashes(found, timing.Flashes.colours(image, found), now)
            return StepChoice(Action.watch(timing.FIRST_LOOK_MS), f"{intent.describe()}: "
                              f"watching {len(found)} controls", overlay=overlay)
        watch = self._flashes
        watch.look([*self._looked, image])
        if not watch.done(now):
            return StepChoice(Action.watch(timing.NEXT_LOOK_MS), f"watching: {watch.describe(now)} "
                              f"({len(self._looked)} screens in the last look)", overlay=overlay)
        self._intents.popleft()
        if not watch.order:
            return StepChoice(Action("done"), f"{intent.describe()}: nothing lit up", overlay=overlay)
        points = [_centre(watch.boxes[i]) for i in watch.order]
        self._pending.extend(Action.click(x, y) for x, y in points[1:])
        x, y = points[0]
        return StepChoice(Action.click(x, y), f"{intent.describe()}: {len(points)} in the order "
                          f"{', '.join(str(i + 1) for i in watch.order)}", point=(x, y), overlay=overlay)

    def _follow(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Keep the pointer on the figure the intent describes: move it to where the figure
        will be (its motion between the last two screens followed a little ahead) when the
        pointer is not on it, else pause; the page ends the task."""
        overlay = parse.to_detections()
        assert intent.figure is not None
        size, colour, what = intent.figure
        figs = self.figures(parse)
        if colour == "coloured":  # the one drawn in colour among grey ones
            figs, colour = [f for f in figs if f.colour not in UNCOLOURED], ""
        fits = [f for f in figs if shapes.matches(f, size, colour, what)] or \
            [f for f in figs if shapes.matches(f, size, colour, "")]
        if not fits:
            self._waits += 1
            if self._waits > FOLLOW_WAITS:
                self._intents.popleft()
                return StepChoice(Action("done"), f"{intent.describe()}: no such figure seen",
                                  overlay=overlay)
            return StepChoice(Action("wait", amount=FOLLOW_PAUSE_MS),
                              f"{intent.describe()}: not on the screen now; waiting", overlay=overlay)
        self._waits = 0
        fig = max(fits, key=lambda f: f.extent)
        box = fig.box
        cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
        now = time.monotonic()
        aim = (cx, cy)
        if self._followed is not None and now > self._followed[0] and \
                math.hypot(cx - self._followed[1][0], cy - self._followed[1][1]) < fig.extent:
            # (it moved, not jumped: a jump is another figure, nothing to follow ahead)
            (t0, (px, py)), reach = self._followed, 0.35 * min(box[2] - box[0], box[3] - box[1])
            dx, dy = (cx - px) / (now - t0) * FOLLOW_LEAD_S, (cy - py) / (now - t0) * FOLLOW_LEAD_S
            scale = min(1.0, reach / max(1e-6, math.hypot(dx, dy)))
            aim = (cx + dx * scale, cy + dy * scale)
        self._followed = (now, (cx, cy))
        target = tuple(float(v) for v in box)
        if self._pointer is not None:
            x, y = self._pointer
            inner = 0.2 * min(box[2] - box[0], box[3] - box[1])
            if box[0] + inner <= x <= box[2] - inner and box[1] + inner <= y <= box[3] - inner:
                return StepChoice(Action("wait", amount=FOLLOW_PAUSE_MS),
                                  f"{intent.describe()}: the pointer is on the {fig.describe()}",
                                  overlay=overlay, target=target)
        self._pointer = aim
        return StepChoice(Action.hover(*aim, pause_ms=FOLLOW_PAUSE_MS),
                          f"{intent.describe()}: onto the {fig.describe()}",
                          point=aim, overlay=overlay, target=target)

    def _set_colour(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Set a colour field to the intent's colour: the field is a box drawn on its colour
        that shows that colour's hex code (as colour pickers draw their input); it is
        clicked, its text selected and the wanted colour's hex code typed over it; then a
        click on the emptiest spot of the page closes the picker the field opened. The colour
        is the swatch shown in the instruction when there is one (its exact pixels), else
        the colour word's prototype."""
        overlay = parse.to_detections()
        if self._colour_typed:  # close the picker it opened: a click on nothing
            self._colour_typed = False
            self._intents.popleft()
            spot = skills.blank_point(parse.image, top=parse.banner[3] if parse.banner else 0)
            if spot is not None:
                return StepChoice(Action.click(*spot), f"{intent.describe()}: close the picker "
                                  "with a click on nothing", point=spot, overlay=overlay)
            return self._decide(parse.image, "")
        ref = self._reference_colour(intent.colour)
        patches = swatches.text_patches(parse.image, exclude=[parse.banner] if parse.banner else [])
        # (a field drawn white on the white page is a text field like any other)
        patches += [swatches.TextPatch(e.box, (255, 255, 255), _union_box(tuple(e.text_boxes)))
                    for e in parse.of_kind("input") if e.text_boxes and
                    not any(_overlap(e.box, p.box) for p in patches)]
        read = self.text_reader.read(parse.image, [p.ink for p in patches]) if patches else []
        fields = [(p, swatches.hex_code(t)) for p, (t, _) in zip(patches, read, strict=True)]
        shown = [(p, code) for p, code in fields if code]
        if ref is None or not shown:
            self._waits += 1
            if self._waits > self.max_waits:
                self._intents.popleft()
                self._waits = 0
                return StepChoice(Action("done"), f"gave up: no colour field for {intent.describe()}",
                                  overlay=overlay)
            return StepChoice(Action("wait"), f"{intent.describe()}: no colour field seen yet",
                              overlay=overlay)
        self._waits = 0
        self._colour_typed = True
        # the field whose colour is the code it shows (else the first showing a code)
        field, code = min(shown, key=lambda t: swatches.colour_distance(
            t[0].rgb, tuple(int(t[1][i:i + 2], 16) for i in (0, 2, 4))))
        want = swatches.rgb_hex(ref[0])
        x, y = (field.box[0] + field.box[2]) / 2.0, (field.box[1] + field.box[3]) / 2.0
        self._pending.extend([Action.press("C-a"), Action.type_text(want.upper())])
        return StepChoice(Action.click(x, y), f'{intent.describe()}: the field showing "{code}" '
                          f"-> #{want} ({ref[1]})", point=(x, y), overlay=overlay,
                          target=tuple(float(v) for v in field.box))

    # -- a pattern copied into a grid of checkboxes ----------------------------------------
    def _copy_pattern(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Copy the example drawn on the page into the grid of checkboxes: find the grid (the
        largest lattice of checkboxes), the example (a lattice of flat squares of its shape
        elsewhere, or a second lattice of checkboxes with some checked beside an empty one),
        and click every box whose state differs from its example cell."""
        overlay = parse.to_detections()
        tables = patterns.lattices([e.box for e in parse.of_kind(*intent.kinds)])
        if not tables:
            return self._wait_for(f"{intent.describe()}: no grid of checkboxes", overlay)
        table = tables[0]
        rows, cols = len(table), len(table[0])
        grid = (table[0][0][0], table[0][0][1], table[-1][-1][2], table[-1][-1][3])
        cell = float(np.median([b[2] - b[0] for row in table for b in row]))
        top = parse.banner[3] if parse.banner is not None else 0
        example = patterns.find_example(parse.image, rows, cols, cell=cell, exclude=grid, top=top)
        if example is None:  # drawn as a second grid of checkboxes, some of them checked
            pair = patterns.checkbox_example(parse.image, tables)
            if pair is not None:
                table, example = pair
                rows, cols = len(table), len(table[0])
        if example is None:
            return self._wait_for(f"{intent.describe()}: no {rows}x{cols} example beside the "
                                  "grid", overlay)
        todo = [table[r][c] for r in range(rows) for c in range(cols)
                if example[r][c] != patterns.is_checked(parse.image, table[r][c])]
        self._intents.popleft()
        self._waits = 0
        drawn = " / ".join("".join("#" if v else "." for v in row) for row in example)
        if not todo:
            return self._decide(parse.image, "")
        for b in todo[1:]:
            self._pending.append(Action.click(*_centre(b)))
        x, y = _centre(todo[0])
        return StepChoice(Action.click(x, y), f"{intent.describe()}: example {rows}x{cols} "
                          f"{drawn}; {len(todo)} boxes to click", point=(x, y), overlay=overlay,
                          target=tuple(float(v) for v in todo[0]))

    # -- numbers shown on the page -------------------------------------------------------
    def _click_in_order(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Click every number the page shows in the order asked for, or the numbers a
        request picks (the largest, those above 5, the even ones): the numbers are read
        once, and the later clicks are queued at the places they were seen (a page may
        cover them once the clicking starts)."""
        overlay = parse.to_detections()
        parse = self._read(parse, intent.kinds)
        if intent.order == "alphabetical":
            shown = [numbers.ShownNumber(0.0, e.box, e.text, e.kind)
                     for e in parse.of_kind(*intent.kinds) if re.search(r"[A-Za-z]", e.text)]
        else:
            shown = numbers.shown_numbers(parse, self.text_reader, kinds=intent.kinds)
        if not shown:
            return self._wait_for(f"{intent.describe()}: no numbers on the screen", overlay)
        ordered = numbers.in_order(shown, intent.order) if intent.order else \
            numbers.picked(shown, intent.pick)
        if not ordered:
            self._intents.popleft()
            return self._decide(parse.image, "")
        self._intents.popleft()
        self._waits = 0
        for n in ordered[1:]:
            self._pending.append(Action.click(*n.center))
        x, y = ordered[0].center
        seq = ", ".join(n.text if intent.order == "alphabetical" else f"{n.value:g}"
                        for n in ordered)
        return StepChoice(Action.click(x, y), f"{intent.describe()}: {seq}", point=(x, y),
                          overlay=overlay,
                          target=tuple(float(v) for v in ordered[0].box))

    def _mark_classes(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """For every number the page shows as text, click the choice nearest to it that
        names a property the number has (``Odd`` / ``Even`` beside each number)."""
        overlay = parse.to_detections()
        parse = self._read(parse, (*intent.kinds, "text"))
        choices = [(word, c) for c in parse.of_kind(*intent.kinds) if c.text
                   for word in intent.classes if text_similarity(c.text, word) >= STRICT_MATCH]
        shown = [n for n in numbers.shown_numbers(parse, self.text_reader, kinds=("text",))
                 if not any(_overlap(n.box, c.box) for _, c in choices)]
        if not shown or not choices:
            return self._wait_for(f"{intent.describe()}: {len(shown)} numbers, {len(choices)} "
                                  "choices naming a class on the screen", overlay)
        clicks: list[tuple[ShownChoice, float]] = []
        for n in shown:
            fits = [(w, c) for w, c in choices if numbers.holds(n.value, w)]
            if not fits:
                continue
            cx, cy = n.center
            # the nearest choice, rows first (a choice beside the number beats one below it)
            word, best = min(fits, key=lambda t: 3 * abs(t[1].center[1] - cy) +
                             abs(t[1].center[0] - cx))
            clicks.append(((word, best), n.value))
        self._intents.popleft()
        self._waits = 0
        if not clicks:
            return self._decide(parse.image, "")
        for (_, el), _ in clicks[1:]:
            self._pending.append(Action.click(*el.click_point))
        (word, el), value = clicks[0]
        x, y = el.click_point
        said = "; ".join(f"{v:g} {w}" for (w, _), v in clicks)
        return StepChoice(Action.click(x, y), f"{intent.describe()}: {said}", point=(x, y),
                          overlay=overlay, target=tuple(float(v) for v in el.box))

    # -- dropdowns the page draws itself ------------------------------------------------
    def _pick_in_list(self, intent: Intent, parse: ScreenParse,
                      image: np.ndarray) -> StepChoice | None:
        """Choose the target in the list of a dropdown the page draws (a box with a pale
        triangle, :func:`~lavr.episodes.gui.widgets.augment`): when nothing on the screen is
        labelled like the target, click the dropdown open, read the lines that appeared under
        it, click the one that spells the target (look-alikes folded), else scroll the list
        and read again; a list that does not hold the target leaves the next dropdown (of
        those not opened for it yet) to be tried, and this step to the usual search. None: no
        such dropdown left, or the target is on the screen already."""
        if self._list_from is None:
            drops = [e for e in parse.of_kind("button") if e.icon == "dropdown" and not any(
                t == intent.target and math.dist(c, e.center) <= 4 for t, c in self._lists_opened)]
            if not drops:
                return None
            choice = self.choose(intent, parse)
            if choice is not None and choice.element not in drops and \
                    (choice.score >= STRONG_MATCH or choice.sure):
                return None
            el = drops[0]
            self._lists_opened.append((intent.target, el.center))
            self._list_from, self._list_scrolls, self._list_seen = (image, el.box), 0, None
            self._waits = 0
            x, y = el.center
            return StepChoice(Action.click(x, y), f"{intent.describe()}: not on the screen; "
                              f"open the dropdown {el.describe()} to find it in its list",
                              point=(x, y), target=tuple(float(v) for v in el.box))
        before, box = self._list_from
        lines = self._list_lines(parse, before, box)
        want = normalise_text(intent.target)
        scored = sorted(((1.0 if normalise_text(t) == want else text_similarity(t, intent.target),
                          b, t) for b, t in lines), key=lambda s: -s[0])
        if scored and scored[0][0] >= 0.95:
            score, b, text = scored[0]
            self._intents.popleft()
            self._list_from, self._list_seen = None, None
            self._waits = 0
            self._last_intent = intent
            x, y = (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0
            self._after_click = (image, b)
            return StepChoice(Action.click(x, y), f'{intent.describe()} -> "{text}" in the '
                              f"dropdown's list ({score:.2f}, of {len(lines)} lines)",
                              point=(x, y), target=tuple(float(v) for v in b))
        if not lines and self._waits < self.max_waits:
            self._waits += 1
            return StepChoice(Action("wait", amount=SUGGEST_PAUSE_MS), f"{intent.describe()}: "
                              "waiting for the dropdown's list to show")
        still = self._list_seen is not None and np.array_equal(self._list_seen, image)
        if lines and not still and self._list_scrolls < MAX_SCROLLS:
            self._list_scrolls += 1
            self._list_seen = image
            y1, y2 = min(b[1] for b, _ in lines), max(b[3] for b, _ in lines)
            x, y = (box[0] + box[2]) / 2.0, (y1 + y2) / 2.0
            step = max(SCROLL_STEP // 2, (y2 - y1) // 2)
            return StepChoice(Action.scroll(x, y, step), f"{intent.describe()}: not among "
                              f"{[t for _, t in lines]}; scroll the list", point=(x, y))
        self._list_from, self._list_seen = None, None
        self._waits = 0
        logger.info("%s: not in the dropdown's list %s", intent.describe(), [t for _, t in lines])
        return self._pick_in_list(intent, parse, image)  # the next dropdown, else None

    def _list_lines(self, parse: ScreenParse, before: np.ndarray,
                    box: tuple[int, int, int, int]) -> list[tuple[tuple[int, int, int, int], str]]:
        """Lines of text that appeared under a dropdown's box (within its columns) since it
        was opened, read by OCR, top to bottom."""
        image = parse.image
        if before.shape != image.shape:
            return []
        x1, x2, y1 = box[0], box[2], box[3]
        changed = np.any(before[y1:, x1:x2] != image[y1:, x1:x2], axis=2)
        ink = ink_mask(image)[y1:, x1:x2]
        runs = [r for r in text_runs(ink, gap=CELL_GAP, offset=(x1, y1))
                if r[3] - r[1] >= 4 and r[3] < image.shape[0] - 1
                and changed[r[1] - y1:r[3] - y1, r[0] - x1:r[2] - x1].any()]
        if not runs:
            return []
        reads = self.text_reader.read(image, runs)
        return [(r, t) for r, (t, _) in zip(runs, reads, strict=True) if t]

    # -- scrolling an area to its end ---------------------------------------------------
    def _scroll_to_end(self, intent: Intent, parse: ScreenParse, image: np.ndarray,
                       given: str) -> StepChoice:
        """Scroll the area the intent names (else the one whose content is cut off, else the
        page) to its end, eight of its heights per scroll, until a scroll leaves it as it was
        (its end is reached, and the page may now enable what waited for it)."""
        overlay = parse.to_detections()
        if self._scroll_box is not None and self._scroll_seen is not None:
            x1, y1, x2, y2 = self._scroll_box
            now = image[y1:y2, x1:x2]
            still = now.shape == self._scroll_seen.shape and np.count_nonzero(
                np.any(now != self._scroll_seen, axis=2)) <= CARET_PIXELS
            if still or self._scroll_count >= MAX_SCROLLS:
                self._intents.popleft()
                box, n = self._scroll_box, self._scroll_count
                self._area_box = box
                self._scroll_box, self._scroll_seen, self._scroll_count = None, None, 0
                self._after_click = None
                done = self._decide(image, given)
                done.summary = (f"{intent.describe()}: the area at {box} "
                                f"{'stopped moving' if still else 'still moves'} after {n} "
                                f"scroll(s); " + done.summary)
                return done
        if self._scroll_box is None:
            self._scroll_box = self._scroll_target(intent, parse)
        x1, y1, x2, y2 = self._scroll_box
        self._scroll_seen = image[y1:y2, x1:x2].copy()
        self._scroll_count += 1
        amount = max(SCROLL_STEP, 8 * (y2 - y1)) * (-1 if intent.text == "up" else 1)
        x, y = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        return StepChoice(Action.scroll(x, y, amount), f"{intent.describe()}: scroll the area "
                          f"at {self._scroll_box} by {amount:+d} px ({self._scroll_count})",
                          point=(x, y), overlay=overlay, target=tuple(float(v) for v in self._scroll_box))

    def _scroll_target(self, intent: Intent, parse: ScreenParse) -> tuple[int, int, int, int]:
        """The area a scroll intent means: of the panels and tall boxes (fields, text areas,
        lists) of the kinds it names (any kind when none is of those), those whose content is
        cut off at the bottom first, the largest; the page below the banner when there is
        none."""
        h, w = parse.image.shape[:2]
        top = parse.banner[3] if parse.banner is not None else 0
        tall = [e for e in parse.elements if e.height >= 30 and e.kind in ("input", "button")
                and e.box[1] >= top - 1]
        # (a disabled text area is drawn grey, like a button: any tall box when none is named so)
        boxes = {e.box for e in tall if e.kind in intent.kinds} or {e.box for e in tall}
        boxes.update(a for a in self._widgets.scroll_areas if a[3] - a[1] >= 30 and a[1] >= top - 1)
        if not boxes:
            return (0, top, w, h)
        return max(boxes, key=lambda b: (_cut_at_bottom(parse.image, b) == (intent.text != "up"),
                                         (b[2] - b[0]) * (b[3] - b[1])))

    # -- calendar date pickers ---------------------------------------------------------
    def _pick_date(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice:
        """Choose a date in a calendar date picker: open it from its field when no calendar
        shows; read the month and year its header shows, click the arrow toward the date's
        month (reading the header again after every click), then click the day's cell. A
        field this agent focused (it opened the picker) first gets the month keys (Page Up /
        Page Down, once, the whole distance in one step; the header read next tells whether
        they worked). A field that opens no calendar gets the date typed instead."""
        overlay = parse.to_detections()
        want = dt.date.fromisoformat(intent.text)

        def read(boxes: list[tuple[int, int, int, int]]) -> list[str]:
            return [t for t, _ in self.text_reader.read(parse.image, boxes)]

        cal = calendars.find_calendar(parse, read=read)
        if cal is None:
            return self._open_picker(intent, parse, image, want)
        self._picker_opened, self._picker_waits = True, 0
        title = read([cal.title])[0] if cal.title is not None else ""
        shown = calendars.read_month(title)
        if shown is not None and shown == self._month_seen and self._month_steps:
            self._picker_stuck += 1  # the last arrow click has not shown yet (or did nothing)
        else:
            self._picker_stuck = 0
        self._month_seen = shown or self._month_seen
        if shown is None:
            shown = self._month_expected
        if shown is None:
            return self._wait_for(f"{intent.describe()}: {cal.describe()}, but its header "
                                  f"{title!r} names no month", overlay)
        steps = calendars.months_between(shown, want)
        where = f"{cal.describe()} shows {dt.date(shown[0], shown[1], 1):%B %Y}"
        if self._key_jump is not None:
            logger.info("month keys: %s -> %s", self._key_jump, shown)
            self._key_jump = None
        if abs(steps) >= 2 and self._field_focused and not self._keys_tried:
            # a date picker's keys (WAI-ARIA: Page Up / Page Down, a month each) go the whole
            # way in one step; the header read next says whether they worked (else arrows)
            self._keys_tried, self._key_jump = True, shown
            key = "<PageUp>" if steps < 0 else "<PageDown>"
            return StepChoice(Action.press(key, abs(steps)), f"{intent.describe()}: {where}; "
                              f"{abs(steps)} month(s) {'back' if steps < 0 else 'on'}: press "
                              f"{key} {abs(steps)} times in the focused field", overlay=overlay)
        if steps and self._picker_stuck < PICKER_STUCK and self._month_steps < MAX_MONTH_STEPS:
            arrow = cal.prev if steps < 0 else cal.next
            if arrow is not None:
                self._month_steps += 1
                n = shown[0] * 12 + shown[1] - 1 + (1 if steps > 0 else -1)
                self._month_expected = (n // 12, n % 12 + 1)
                x, y = (arrow[0] + arrow[2]) / 2.0, (arrow[1] + arrow[3]) / 2.0
                return StepChoice(Action.click(x, y), f"{intent.describe()}: {where}; "
                                  f"{abs(steps)} month(s) {'back' if steps < 0 else 'on'}: "
                                  f"click the {'previous' if steps < 0 else 'next'} arrow",
                                  point=(x, y), overlay=overlay, target=tuple(float(v) for v in arrow))
        cell = cal.day_cell(shown[0], shown[1], want.day) if not steps else None
        if cell is None:
            self._intents.clear()
            return StepChoice(Action("done"), f"gave up: {intent.describe()}: {where}, "
                              + ("no arrow leads there" if steps else f"no cell for day {want.day}"),
                              overlay=overlay)
        self._intents.popleft()
        self._reset_picker()
        self._waits = 0
        self._pending.append(Action("wait", amount=PICKER_CLOSE_MS))
        x, y = (cell[0] + cell[2]) / 2.0, (cell[1] + cell[3]) / 2.0
        return StepChoice(Action.click(x, y), f"{intent.describe()}: {where}; click day "
                          f"{want.day}", point=(x, y), overlay=overlay,
                          target=tuple(float(v) for v in cell))

    def _open_picker(self, intent: Intent, parse: ScreenParse, image: np.ndarray,
                     want: dt.date) -> StepChoice:
        """No calendar on the screen: click the date field (once) to open its picker, wait
        for it to show, else type the date into the field."""
        overlay = parse.to_detections()
        inputs = parse.of_kind("input")
        if not inputs:
            return self._wait_for(f"{intent.describe()}: no date field", overlay)
        field = self._choose_input(dataclasses.replace(intent, op="type"), parse, inputs)
        if field is None:
            return self._wait_for(f"{intent.describe()}: no date field", overlay)
        if not self._picker_opened:
            self._picker_opened = self._field_focused = True
            self._waits = 0
            x, y = field.element.click_point
            return StepChoice(Action.click(x, y), f"{intent.describe()}: no calendar on the "
                              f"screen; open the picker from {field.element.describe()}",
                              point=(x, y), overlay=overlay,
                              target=tuple(float(v) for v in field.element.box))
        if self._picker_waits < PICKER_WAITS:
            self._picker_waits += 1
            return StepChoice(Action("wait", amount=SUGGEST_PAUSE_MS),
                              f"{intent.describe()}: waiting for the date picker to show",
                              overlay=overlay)
        # the field opens no calendar: it takes the date typed
        self._reset_picker()
        self._intents[0] = Intent("type", target=intent.target, kinds=("input",),
                                  text=f"{want:%m/%d/%Y}", at=field.element.center)
        return self._decide(image, "")

    # -- search with feedback ----------------------------------------------------
    def _guess(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Find a number by trying: type a try into the field and submit it (Enter, else the
        submit button), read the page's hint (higher / lower / correct), narrow the range,
        try its middle next."""
        overlay = parse.to_detections()
        if self._search is None:
            low, high = (int(v) for v in intent.text.split(".."))
            self._search = NumberSearch(low, high)
        search = self._search
        if self._awaiting is not None:
            tried = self._awaiting
            hint = self._page_hint(parse, tried)
            if hint is None:
                self._hint_waits += 1
                if self._hint_waits == 2:  # Enter submitted nothing: press the button
                    buttons = self._read(parse, ("button",)).of_kind("button")
                    if buttons:
                        b = max(buttons, key=lambda e: text_similarity(e.text, "submit"))
                        self._focused = False
                        x, y = b.click_point
                        return StepChoice(Action.click(x, y), f"no hint for {tried} yet: submit "
                                          f"it with {b.describe()}", point=(x, y),
                                          overlay=overlay, target=tuple(float(v) for v in b.box))
                if self._hint_waits > 4:
                    self._intents.clear()
                    return StepChoice(Action("done"), f"gave up: the page shows no hint for "
                                                      f"{tried}", overlay=overlay)
                return StepChoice(Action("wait", amount=150), f"waiting for the hint on {tried}",
                                  overlay=overlay)
            self._awaiting, self._hint_waits = None, 0
            if hint == "correct":
                self._intents.clear()
                return StepChoice(Action("done"), f"the page says {tried} is correct",
                                  overlay=overlay)
            search.update(hint, tried)
        guess = search.next_try()
        search.tries.append(guess)
        self._awaiting = guess
        self._try_screen = parse.image
        why = f"{intent.describe()}: {search.low}..{search.high} still possible; try {guess}"
        # the last try is still in the field: as many Backspaces as it has characters, and more
        clear = max(8, 2 * len(str(search.tries[-2]))) if len(search.tries) > 1 else 0
        if self._focused and clear:
            self._pending.extend([Action.type_text(str(guess)), Action.press("<Enter>")])
            return StepChoice(Action.press("<Backspace>", clear), f"{why} (clear the last try)",
                              overlay=overlay)
        inputs = parse.of_kind("input")
        if not inputs:
            self._awaiting = None
            search.tries.pop()
            return self._wait_for(f"{intent.describe()}: no field to type into", overlay)
        self._waits = 0
        field = inputs[0]
        # (left of the middle: a number field's arrows sit at its right end)
        x, y = field.box[0] + min(12.0, field.width / 3), field.center[1]
        if clear:
            self._pending.extend([Action.press("<End>"), Action.press("<Backspace>", clear)])
        self._pending.extend([Action.type_text(str(guess)), Action.press("<Enter>")])
        self._focused = True
        return StepChoice(Action.click(x, y), f"{why} in {field.describe()}", point=(x, y),
                          overlay=overlay, target=tuple(float(v) for v in field.box))

    # -- a spot found with the pointer: the page answers how near it is ---------------
    def _seek(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice:
        """Find the spot of an area that the page calls hot (:attr:`Intent.text`, a heat of
        :data:`~lavr.episodes.gui.feedback.HEAT_WORDS`): move the pointer over the area (the
        largest frame drawn below the banner), read the page's answer (the text that
        appeared outside the area since before the first move), narrow the search
        (:class:`~lavr.episodes.gui.feedback.HeatSearch`), and click where the answer reached
        the goal — or, after :data:`REFINE_TRIES` tries around the warmest spot found, there."""
        overlay = parse.to_detections()
        if self._heat is None:
            top, exclude = self._drawing_area(parse)
            frames = geometry.find_frames(image, top=top, exclude=exclude)
            if not frames:
                return self._wait_for("no area to search with the pointer", overlay)
            x1, y1, x2, y2 = frames[0]
            self._heat = HeatSearch((x1 + 2, y1 + 2, x2 - 2, y2 - 2), goal=int(intent.text))
            self._heat_blank = image
        search = self._heat
        if self._heat_at is not None:
            heat, said = self._heat_answer(image, search.area)
            if heat is None and self._heat_waits < 2:
                self._heat_waits += 1
                return StepChoice(Action("wait"), f"no answer read at {self._heat_at} yet "
                                                  f"({said!r}); waiting", overlay=overlay)
            x, y = self._heat_at
            search.tried.append((x, y, heat if heat is not None else -1))
            self._heat_at, self._heat_waits = None, 0
            logger.info("the page says %r (heat %s) at (%.0f, %.0f)", said, heat, x, y)
        point = search.next_point()
        best = search.best()
        if best is not None and (search.found() or point is None or
                                 (best[2] > min(h for *_, h in search.tried) and
                                  search.refined() >= REFINE_TRIES)):
            self._intents.popleft()
            self._heat = None
            x, y, heat = best
            return StepChoice(Action.click(x, y), f"{intent.describe()}: the warmest spot "
                              f"found (heat {heat} of {search.goal}, {len(search.tried)} tries)",
                              point=(x, y), overlay=overlay)
        if point is None:
            self._intents.clear()
            return StepChoice(Action("done"), "gave up: nowhere left to try", overlay=overlay)
        self._heat_at = point
        return StepChoice(Action.hover(*point), f"{intent.describe()}: try ({point[0]:.0f}, "
                          f"{point[1]:.0f}), best so far {best}", point=point, overlay=overlay)

    def _heat_answer(self, image: np.ndarray, area: tuple[int, int, int, int]) -> tuple[
            int | None, str]:
        """The heat of the page's answer to the pointer (the text drawn outside ``area`` that
        differs from the screen before the first move, binarised and read) and the text read."""
        blank = self._heat_blank
        if blank is None or blank.shape != image.shape:
            return None, ""
        changed = np.any(np.abs(image.astype(np.int16) - blank.astype(np.int16)) > 40, axis=2)
        x1, y1, x2, y2 = area
        changed[max(y1 - 3, 0):y2 + 3, max(x1 - 3, 0):x2 + 3] = False
        ys, xs = np.nonzero(changed)
        if len(xs) < 4:
            return None, ""
        h, w = image.shape[:2]
        box = (max(int(xs.min()) - 2, 0), max(int(ys.min()) - 2, 0), min(int(xs.max()) + 3, w),
               min(int(ys.max()) + 3, h))
        text, _ = self.text_reader.read(binarised(image, box), [box])[0]
        return read_heat(text), text

    # -- acting on a number the page shows: until / when it passes a test -----------
    def _watch(self, intent: Intent, parse: ScreenParse, image: np.ndarray, given: str) -> StepChoice:
        """Act on a number the page shows. ``until``: click the target again and again until
        the number passes the test (none when it already does; given up after
        :data:`MAX_UNTIL_CLICKS`). ``when``: read the number at every step (only where it was
        found, once found) and click the target, located meanwhile, the moment it passes."""
        overlay = parse.to_detections()
        value = self._watched_value(intent, parse)
        if intent.when and value is not None and self._watched and \
                abs(value - self._watched[-1][1]) > MISREAD_JUMP * max(abs(self._watched[-1][1]), 1.0):
            # a number that moves by itself moves a little at a time: this reading or the
            # last was wrong; the one read again since is kept
            self._jumps += 1
            logger.info("%s read as %s after %s: a misreading", intent.watch, value,
                        self._watched[-1][1])
            if self._jumps == 1:
                value = None  # (look again)
            else:
                self._watched, self._jumps = [], 0
        elif value is not None:
            self._jumps = 0
        test = _sign_free_test(intent.until or intent.when, value)
        met = value is not None and numbers.passes(value, test)
        pause = 0
        if intent.when and value is not None:
            seen = self._decide_start
            margin = self._watch_margin(seen, value)
            pause = self._watch_pause(seen, value, test, margin)
            self._watched.append((seen, value))
            # a number that moves by itself must pass with room to spare: it moves on
            # while the click is on its way
            met = met and numbers.passes(value + margin * _test_side(test), test)
        what = f"the {intent.watch}" if intent.watch else "the number shown"
        self._watch_steps += 1
        if intent.until and (met or self._watch_steps > MAX_UNTIL_CLICKS):
            self._end_watch()
            if not met:
                logger.info("gave up bringing %s to %s: %s after %d clicks", what, test, value,
                            MAX_UNTIL_CLICKS)
            return self._decide(image, given)
        if self._watch_at is None:
            self._watch_at = self.choose(intent, parse)
        if self._watch_at is None:
            return self._wait_for(f"nothing matches {intent.describe()}", overlay)
        if intent.when and met and len(self._watched) < 2:
            # one look tells nothing of how fast it moves: look again before acting on it
            return StepChoice(Action("wait"), f"{what} is {value}, {test}; looking again to "
                                              f"see how fast it moves", overlay=overlay)
        if intent.when and met and time.monotonic() - self._decide_start > WATCH_FRESH_S:
            # the screen was seen a while ago (the instruction was being read): the number
            # may have moved since; look again before acting on it
            return StepChoice(Action("wait"), f"{what} was {value}, {test}, on a screen seen "
                                              f"{time.monotonic() - self._decide_start:.1f} s "
                                              f"ago; looking again", overlay=overlay)
        if intent.when and not met:
            if self._watch_steps > MAX_WATCH_STEPS:
                self._intents.clear()
                return StepChoice(Action("done"), f"gave up: {what} never was {test}",
                                  overlay=overlay)
            return StepChoice(Action("wait", amount=pause), f"{what} is {value}, not {test} "
                              f"yet; watching", overlay=overlay)
        el = self._watch_at.element
        x, y = el.click_point
        why = f"{intent.describe()}: {what} is {value}, {test}" + ("" if intent.until else "; now")
        if intent.when:
            self._end_watch()
        return StepChoice(Action.click(x, y), f"{why} -> {el.describe()}", point=(x, y),
                          overlay=overlay, target=tuple(float(v) for v in el.box))

    def _end_watch(self) -> None:
        """The until / when intent is done: on with the plan."""
        self._intents.popleft()
        self._watch_steps, self._watch_box, self._watch_at = 0, None, None
        self._watched, self._jumps = [], 0
        self._waits = 0

    def _watch_pause(self, seen: float, value: float, test: str, margin: float) -> int:
        """How long (ms) to wait before the next look at a watched number that has far to go
        (a seventh of the time a random walk of its typical moves takes to go that far, at
        most :data:`WATCH_PAUSE_MS`, at least :data:`WATCH_MIN_PAUSE_MS`): the step budget lasts
        while it gets there."""
        m = re.fullmatch(r"(>=|<=|>|<)(-?\d+(?:\.\d+)?)", test)
        reads = [*self._watched, (seen, value)]
        moves = [abs(v2 - v1) / math.sqrt(max(t2 - t1, 1e-3))
                 for (t1, v1), (t2, v2) in zip(reads, reads[1:], strict=False)]
        spread = float(np.median(moves)) if moves else 0.0
        if m is None or spread <= 0:
            return WATCH_MIN_PAUSE_MS
        far = max(abs(value - float(m[2])) - margin, 0.0)
        return int(min(max(150.0 * (far / spread) ** 2, WATCH_MIN_PAUSE_MS), WATCH_PAUSE_MS))

    def _watch_margin(self, seen: float, value: float) -> float:
        """How far a watched number that moves by itself may move before a click decided now
        lands: :data:`WATCH_MARGIN` times its typical move per square-root second (over the
        reads so far) times the square root of the time from the screen to the click (this
        step's age plus the typical time between two looks, at least
        :data:`CLICK_LATENCY_S`); 0 before two reads."""
        reads = [*self._watched, (seen, value)]
        moves = [abs(v2 - v1) / math.sqrt(max(t2 - t1, 1e-3))
                 for (t1, v1), (t2, v2) in zip(reads, reads[1:], strict=False)]
        if not moves:
            return 0.0
        # a click decided now lands about one step after the screen was taken
        step = float(np.median([t2 - t1 for (t1, _), (t2, _) in zip(reads, reads[1:], strict=False)]))
        age = time.monotonic() - seen + max(step, CLICK_LATENCY_S)
        return WATCH_MARGIN * float(np.median(moves)) * math.sqrt(age)

    def _watched_value(self, intent: Intent, parse: ScreenParse) -> float | None:
        """The number an until / when intent watches: the value the page shows beside the
        label :attr:`Intent.watch` (``Stock price: $45.30``; a label that ends with the word
        named counts), else the number alone on a text row (the largest one); re-read where
        it was found last time while it is still drawn there."""
        image = parse.image
        if self._watch_box is not None:
            box = run_from(image, self._watch_box)
            value = self._read_amount(image, box) if box is not None else None
            if value is not None:
                return value
        if intent.watch:
            cells = page_cells(parse, self.text_reader)
            found = value_of(cells, intent.watch)
            if found is None:  # a label that ends with the word: "Stock price:" for "price"
                ending = re.compile(rf"\b{re.escape(intent.watch)}$", re.IGNORECASE)
                named = [t.split(":")[0].strip() for _, t in cells
                         if ending.search(t.split(":")[0].strip())]
                found = value_of(cells, named[0]) if named else None
            if found is None:
                return None
            text, label_box, value_box = found
            value = numbers.money_number(text)
            if value is not None and value_box == label_box:  # "Price: $4.50" read as one cell
                words = text_runs(ink_mask(image[value_box[1]:value_box[3],
                                                 value_box[0]:value_box[2]]),
                                  gap=WORD_GAP, offset=value_box[:2])
                value_box = words[-1] if len(words) > 1 else label_box
            if value is not None and value_box != label_box:
                # its digits re-read on their own, after a currency sign drawn taller
                value = self._read_amount(image, value_box)
                self._watch_box = value_box
            logger.info("%s reads %r: %s", intent.watch, text, value)
            return value
        read = [(b, numbers.money_number(t)) for b, t in read_boxes(image, text_rows(parse),
                                                                    self.text_reader)]
        shown = [(b, v) for b, v in read if v is not None]
        if not shown:
            return None
        return max(shown, key=lambda n: n[0][3] - n[0][1])[1]

    def _read_amount(self, image: np.ndarray, box: tuple[int, int, int, int]) -> float | None:
        """The number drawn in ``box``: a currency sign drawn before the digits
        (:func:`~lavr.episodes.gui.numbers.currency_sign`) is cut off before they are read."""
        start = numbers.currency_sign(image, box)
        if start is not None:
            box = (start, box[1], box[2], box[3])
        read = read_boxes(image, [box], self.text_reader)
        return numbers.money_number(read[0][1]) if read else None

    def _wait_for(self, missing: str, overlay: Detections) -> StepChoice:
        """Wait for what is ``missing`` from the screen; after :attr:`max_waits` waits, stop
        (the plan is dropped)."""
        self._waits += 1
        if self._waits > self.max_waits:
            self._intents.clear()
            return StepChoice(Action("done"), missing, overlay=overlay)
        return StepChoice(Action("wait"), f"{missing} yet; waiting", overlay=overlay)

    # -- board games ---------------------------------------------------------------
    def _play(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Read the board (a grid of cells with marks) and mark the cell a game-tree search
        chooses; stop when a line is complete or the board is full."""
        overlay = parse.to_detections()
        board = find_board(parse)
        if board is None:
            return self._wait_for(f"{intent.describe()}: no board on the screen", overlay)
        if not our_turn(board.marks, intent.text) and not winner(board.marks, board.size) \
                and not all(board.marks) and self._waits < self.max_waits + 2:
            self._waits += 1  # the opponent has not replied yet
            return StepChoice(Action("wait", amount=200), f"board {board.describe()}: the "
                              "opponent's turn; waiting", overlay=overlay)
        self._waits = 0
        move = best_move(board.marks, board.size, intent.text)
        if move is None:
            self._intents.clear()
            won = winner(board.marks, board.size)
            return StepChoice(Action("done"), f"board {board.describe()}: "
                              + (f"{won} has a line" if won else "full"), overlay=overlay)
        box = board.cells[move]
        x, y = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
        row, col = divmod(move, board.size)
        return StepChoice(Action.click(x, y), f"{intent.describe()}: board {board.describe()}; "
                          f"mark row {row + 1}, column {col + 1}", point=(x, y),
                          overlay=overlay, target=tuple(float(v) for v in box))

    def _page_hint(self, parse: ScreenParse, tried: int) -> str | None:
        """The hint the page shows about ``tried`` (``higher`` / ``lower`` / ``correct``),
        or None: no hint, or the page's text has not changed since the try was typed (the
        hint on the try before is still shown). Text that stays the same for
        :data:`SAME_HINT_WAITS` steps (Enter and the submit button both had their turn) is
        the page's answer after all (``Too low!`` twice), unless it names another number or
        no try has had an answer yet."""
        rows = text_rows(parse)
        before = self._try_screen
        unchanged = before is not None and before.shape == parse.image.shape and all(
            np.array_equal(before[y1:y2, x1:x2], parse.image[y1:y2, x1:x2])
            for x1, y1, x2, y2 in rows)
        answered = self._search is not None and len(self._search.tries) > 1  # a hint came before
        if unchanged and (self._hint_waits < SAME_HINT_WAITS or not answered):
            return None  # (text there before the first try is never its answer)
        text = " ".join(page_text(parse, self.text_reader))  # (a hint may wrap)
        read = read_hint(text)
        if read is None or (unchanged and read[1] is not None and read[1] != tried):
            return None
        logger.info("hint on %d: %r -> %s", tried, text, read[0])
        return read[0]

    # -- perception ------------------------------------------------------------
    def perceive(self, image: np.ndarray) -> ScreenParse:
        """Elements on the screenshot (cached for an unchanged screen)."""
        key = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
        if self._parse_cache is not None and self._parse_cache[0] == key:
            return self._parse_cache[1]
        parse = self._augment(self._complement(find_elements(image)))
        self._parse_cache = (key, parse)
        return parse

    def _complement(self, parse: ScreenParse, seen: Percept | None = None) -> ScreenParse:
        """``parse`` plus the widgets the UI detector found and the parser missed (the
        detector's percept when given, else a detector call); ``parse`` when it is off."""
        if self.ui_detector is None or self._detector_failed:
            return parse
        if seen is not None and isinstance(seen.artifact, list):
            return complement(parse, seen.artifact)
        try:
            return complement(parse, self.ui_detector.detect(parse.image))
        except ToolError as exc:
            logger.warning("UI detector off for this agent: %s", exc.reason)
            self._detector_failed = True
            return parse

    def _augment(self, parse: ScreenParse) -> ScreenParse:
        """Composite widgets (menus and lists split into items, dropdowns, spinners ...)."""
        parse, self._widgets = augment(parse)
        return parse

    def _read(self, parse: ScreenParse, kinds: tuple[str, ...]) -> ScreenParse:
        parse = read_texts(parse, self.text_reader, kinds=kinds)
        if self._parse_cache is not None and self._parse_cache[1].image is parse.image:
            self._parse_cache = (self._parse_cache[0], parse)
        return parse

    def _settle(self, image: np.ndarray) -> StepChoice | None:
        """Wait while the screen is still moving after a click that changed the layout, and
        after a hover until what it opens appears."""
        if self._hovered is not None:
            before, box, count = self._hovered
            now = [e.box for e in self.perceive(image).elements]
            opened = [b for b in now if not any(_overlap(b, o) for o in before)]
            if opened or count >= HOVER_WAITS:
                self._hovered = None
                if opened:  # it is still drawing: wait until two screens agree
                    self._settling, self._settle_count = image, 0
                    self._unfolded_for = self._intents[0] if self._intents else None
                    return StepChoice(Action("wait"), "the hover opened something; waiting for "
                                                      "it to settle")
            else:
                self._hovered = (before, box, count + 1)
                return StepChoice(Action("wait", amount=HOVER_PAUSE_MS),
                                  "hovering; waiting for what it opens")
        if self._after_click is not None:
            before, box = self._after_click
            self._after_click = None
            if before.shape == image.shape:
                changed = np.any(before != image, axis=2)
                changed[_box_slice(box, 4, image.shape)] = False
                if changed.mean() > LAYOUT_CHANGE:
                    self._settling, self._settle_count = image, 0
                    self._check_dialog = True
                    return StepChoice(Action("wait"), "layout changed after the click; waiting for it "
                                                    "to settle")
        if self._opened:  # what an opener shows slides in after a moment: look after it
            self._opened = False
            return StepChoice(Action("wait", amount=OPEN_PAUSE_MS), "opened a section; waiting "
                                                                  "for it to show")
        if self._settling is not None:
            if self._settling.shape == image.shape and \
                    np.count_nonzero(np.any(self._settling != image, axis=2)) <= CARET_PIXELS:
                # (still but for a blinking text cursor)
                self._settling = None
                return None
            self._settle_count += 1
            if self._settle_count > self.settle_steps:
                self._settling = None
                return None
            self._settling = image
            return StepChoice(Action("wait"), "screen still changing; waiting")
        return None

    # -- choosing elements -----------------------------------------------------
    def choose(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        """The element an intent refers to on this screen, or None.

        Args:
            intent: What to act on.
            parse: The perceived screen.

        Returns:
            The best element with its score, or None when nothing qualifies.
        """
        if intent.colour:
            return self._choose_colour(intent, parse)
        if intent.pictured:
            return self._choose_pictured(parse)
        if intent.geometry:
            return self._choose_point(intent, parse)
        if intent.coord is not None:
            return self._choose_coordinate(intent, parse)
        if intent.count and intent.figure is not None:
            return self._choose_count(intent, parse)
        if intent.figure is not None or intent.describes:
            return self._choose_figure(intent, parse)
        if intent.op == "set":
            spinners = [e for e in parse.of_kind("input") if e.icon == "spinner"]
            if spinners:
                return Choice(spinners[0], 1.0, "the number field with arrows")
        if intent.starts or intent.ends:
            return self._choose_fitting(intent, parse)
        cands = parse.of_kind(*intent.kinds)
        if "link" in intent.kinds and not intent.target and intent.index is not None:
            parse = self._read(parse, ("link",))  # page numbers and arrows are not items
            pager = skills.pager_links(parse.of_kind("link"))
            cands = [e for e in parse.of_kind(*intent.kinds) if e not in pager]
        if any(c.kind in ("checkbox", "radio") for c in cands):
            cands = self._outside_sliders(parse, cands)
        if intent.require_icon is True:
            cands = [c for c in cands if c.icon == intent.icon]
        elif intent.require_icon is False:
            cands = [c for c in cands if not c.icon]
        if intent.area and intent.op == "type":  # the value is read in a text area: typed elsewhere
            area = self._text_area(parse)  # (a focus ring may have grown its box by a pixel)
            cands = [c for c in cands if area is None or not box_within(c.box, area, margin=3)
                     or not box_within(area, c.box, margin=3)] or cands
        if not cands:
            return None
        if intent.kinds == ("input",):
            return self._choose_input(intent, parse, cands)
        if intent.similar:
            return self._choose_similar(intent, parse, cands)
        if intent.target:
            parse = self._read(parse, intent.kinds)
            keep = {c.box for c in cands}
            cands = [e for e in parse.elements if e.box in keep and e.kind in intent.kinds]
            # an element an earlier intent chose for another target is not this one
            cands = [e for e in cands if not e.text or normalise_text(e.text) not in self._chosen_texts
                     or normalise_text(e.text) == normalise_text(intent.target)] or cands
            scored = []
            for c in cands:
                score = text_similarity(c.text, intent.target)
                rest = _after_mark(c.text)
                if rest:  # an icon before the label, read as a stray sign ("14 Prev")
                    score = max(score, 0.98 * text_similarity(rest, intent.target))
                if c.kind == "text" and len(intent.kinds) > 1:
                    score *= 0.9  # a widget that says it beats plain text that says it
                if intent.icon and c.icon == intent.icon:
                    score = max(score, 1.0)
                scored.append((score * _case_fit(c.text, intent.target), c))
            if max(t[0] for t in scored) < STRONG_MATCH:  # a weak best: read the likely ones again
                scored = self._reread(scored, intent.target, parse)
            score, best = max(scored, key=lambda t: t[0])
            strict = intent.op == "hover" or self._path  # a menu path names items exactly
            if score < STRONG_MATCH and not strict:  # text OCR cannot read: its look
                looks = self._by_appearance(intent.target, [c for c in cands if c.kind != "text"],
                                            parse)
                if looks is not None:
                    return looks
            if score >= (max(self.match_threshold, STRICT_MATCH) if strict else self.match_threshold):
                return Choice(best, score, f'text "{best.text}"' if best.text else f"icon {best.icon}")
            if strict:
                return None
            widgets = [c for c in cands if c.kind != "text"]
            meant = self._semantic(intent.target, widgets) if widgets else None
            if meant is not None:
                return meant
            # (a label of a few words: a box holding sentences is a panel, not a button)
            buttons = [c for c in cands if c.kind == "button" and c.text and len(c.text.split()) <= 3]
            # (a button another step of the plan names is that step's, not this one's)
            others = [i.target for i in self._intents if i.target and i is not intent and
                      normalise_text(i.target) != normalise_text(intent.target)]
            buttons = [c for c in buttons if not any(
                text_similarity(c.text, t) >= self.match_threshold for t in others)]
            if len(buttons) == 1 and intent.index is None and intent.op == "click" and \
                    not skills.tab_bar(parse.elements):
                return Choice(buttons[0], score, "the only button: it does what the page offers "
                                                 f"(best text match only {score:.2f})")
            meant = self._semantic(intent.target, cands)
            if meant is not None:
                return meant
            if intent.index is not None and intent.index < len(cands):
                return Choice(cands[intent.index], score, f"position {intent.index + 1} "
                                                          f"(best text match only {score:.2f})")
            hidden = [c for c in cands if c.kind == "button" and not c.text and not c.icon]
            if len(hidden) == 1:  # the label may be covered by another element
                return Choice(hidden[0], score, "the one button whose label is hidden "
                                                f"(best text match only {score:.2f})")
            return None
        if intent.index is not None:
            if intent.index < len(cands):
                return Choice(cands[intent.index], 1.0, f"position {intent.index + 1}")
            return None
        return Choice(cands[0], 1.0 if len(cands) == 1 else 0.5,
                      "the only one" if len(cands) == 1 else "the first of several")

    def _reread(self, scored: list[tuple[float, ScreenElement]], target: str,
                parse: ScreenParse) -> list[tuple[float, ScreenElement]]:
        """``scored`` with the :data:`REREAD_TOP` best elements (scoring at least
        :data:`MATCH_THRESHOLD`) read again at other zooms, each scored by its best reading:
        OCR may merge or drop a letter at one zoom only (``viverra`` read ``vivena``)."""
        order = sorted(range(len(scored)), key=lambda i: -scored[i][0])
        out = list(scored)
        for i in order[:REREAD_TOP]:
            score, el = scored[i]
            if score < MATCH_THRESHOLD or not el.text:
                continue
            box = _union_box(tuple(el.text_boxes)) if el.text_boxes else el.box
            reads = [reader_at_zoom(self.text_reader, z).read(parse.image, [box], pad=pad)[0][0]
                     for z in REREAD_ZOOMS for pad in (2, 4)]
            again = max((text_similarity(t, target) * _case_fit(t, target), t) for t in reads if t) \
                if any(reads) else (0.0, "")
            if again[0] > score:
                logger.info("%s read again as %r (%.2f, was %.2f)", el.describe(), again[1],
                            again[0], score)
                out[i] = (again[0], dataclasses.replace(el, text=again[1]))
        return out

    def _outside_sliders(self, parse: ScreenParse,
                         cands: list[ScreenElement]) -> list[ScreenElement]:
        """``cands`` less the boxes inside a slider drawn on the page (a focused handle, or
        the track beside it, may look like a checkbox)."""
        top, exclude = self._drawing_area(parse)
        boxes = [sl.box for sl in sliders.find_sliders(parse.image, top=top, exclude=exclude)]
        if self._slider_seen is not None:
            boxes.append(self._slider_seen.box)
        return [c for c in cands if not any(
            b[0] - 2 <= c.box[0] and b[1] - 2 <= c.box[1] and c.box[2] <= b[2] + 2 and
            c.box[3] <= b[3] + 2 for b in boxes)]

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts`` from the embedder, each text embedded once per agent."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if todo:
            if len(self._vectors) > 4096:
                self._vectors.clear()
            self._vectors.update(zip(todo, self.embedder.embed(todo), strict=True))
        return np.stack([self._vectors[t] for t in texts])

    def _by_appearance(self, target: str, cands: list[ScreenElement],
                       parse: ScreenParse) -> Choice | None:
        """The element whose label looks like the target's quoted pixels in the banner
        (a clear winner only); None when the target is not quoted on the banner."""
        if self._banner is None or not cands:
            return None
        image, banner = self._banner
        lines = instruction_lines(banner)
        box = None
        for line, (text, _) in zip(lines, self.text_reader.read(image, lines), strict=True):
            if quoted_word(text, target):
                x1, y1, x2, y2 = line
                box = word_box(image[y1:y2, x1:x2], text, f'"{target}"', offset=(x1, y1))
                break
        want = ink_patch(image, box) if box is not None else None
        if want is None:
            return None
        scored = []
        for c in cands:
            got = ink_patch(parse.image, _union_box(c.text_boxes)) if c.text_boxes else None
            scored.append((appearance_similarity(want, got) if got is not None else 0.0, c))
        scored.sort(key=lambda t: -t[0])
        best, second = scored[0][0], scored[1][0] if len(scored) > 1 else 0.0
        if best < APPEARANCE_MATCH or best - second < APPEARANCE_MARGIN:
            return None
        el = scored[0][1]
        return Choice(el, best, f"looks like the quoted text on the banner ({best:.2f}, next "
                                f"{second:.2f})", sure=True)

    def _split_merged(self, intent: Intent, parse: ScreenParse) -> list[Intent]:
        """One intent per word when OCR lost the comma between two listed names: no element
        says the whole target, but each word names a different element (empty list: no)."""
        parse = self._read(parse, intent.kinds)
        cands = [e for e in parse.of_kind(*intent.kinds) if e.text]
        words = intent.target.split()
        whole = max((text_similarity(c.text, intent.target) for c in cands), default=1.0)
        if whole >= STRONG_MATCH:
            return []
        best = [max(cands, key=lambda c, w=w: text_similarity(c.text, w)) for w in words]
        scores = [text_similarity(b.text, w) for b, w in zip(best, words, strict=True)]
        if len({b.box for b in best}) < len(words) or min(scores) < self.match_threshold or \
                sum(scores) / len(scores) <= whole:
            return []
        return [dataclasses.replace(intent, target=w) for w in words]

    # -- reading and reasoning -------------------------------------------------
    def _derive(self, intent: Intent, parse: ScreenParse) -> str:
        """The text a ``type`` intent's ``source`` names, worked out from the page's text
        (or, for ``count``, from the figures drawn on it)."""
        source = intent.source
        if source == "count" and intent.part:  # the sides of the figure drawn on the page
            figs = self.figures(parse)
            if not figs:
                return ""
            fig = max(figs, key=lambda f: f.extent)
            return str(shapes.count_corners(parse.image, fig.box))
        if source == "count" and intent.figure is not None:
            expression = shapes.count_expression(parse.image, self.figures(parse), *intent.figure)
            value = evaluate_expression(expression) if expression else None
            logger.info("figures fitting %s: %r = %s", intent.figure, expression, value)
            return format_number(value) if value is not None else ""
        if source == "lookup":
            cells = page_cells(parse, self.text_reader)
            if intent.at is not None:  # a form's field: its own label and the fields are no source
                cells = self._outside_form(parse, cells, intent.at)
            found = value_of(cells, intent.key)
            logger.info("the value of %r: %s", intent.key, found)
            return found[0] if found is not None else ""
        if intent.area:  # the words inside the area the instruction names (a text area)
            area = self._text_area(parse)
            if area is None:
                return ""
            last = source == "word:-1"
            text = area_text(parse.image, area, self.text_reader, last=last)
            logger.info("the text in the area at %s%s: %r", area, " (last line)" if last else "", text)
            if source.startswith("word:"):
                return nth_word(text, int(source.split(":", 1)[1]))
            return text
        rows = page_text(parse, self.text_reader)
        if not rows:
            return ""
        if source == "expression":  # the value of the arithmetic shown, or its unknown
            # (a row alone, two rows together: a narrow page wraps "1 + x =" / "21")
            pairs = [f"{a} {b}" for a, b in zip(rows, rows[1:], strict=False)]
            texts = [*rows, *pairs, " ".join(rows)]
            # an equation's unknown, else a calculation, else a number shown alone
            for value in (*map(solve_equation, texts),
                          *(evaluate_expression(t) for t in texts if not _plain_number(t)),
                          *map(evaluate_expression, texts)):
                if value is not None:
                    return format_number(value)
            return ""
        if source.startswith("word:"):
            return nth_word(" ".join(rows), int(source.split(":", 1)[1]))
        return " ".join(rows)

    def _text_area(self, parse: ScreenParse) -> tuple[int, int, int, int] | None:
        """The text area a value is read from: the area last scrolled to its end, else the
        field with a resize grip, else the tallest field (30 px or more)."""
        if self._area_box is not None:
            return self._area_box
        inputs = parse.of_kind("input")
        grips = [e for e in inputs if e.icon == "grip"]
        tall = grips or [e for e in inputs if e.height >= 30]
        return max(tall, key=lambda e: e.height).box if tall else None

    def _outside_form(self, parse: ScreenParse, cells: list[tuple[tuple[int, int, int, int], str]],
                      at: tuple[float, float]) -> list[tuple[tuple[int, int, int, int], str]]:
        """``cells`` less the field at ``at`` and its label (a form's own label names the value
        to look up elsewhere on the page; a table's cells may look like fields)."""
        inputs = parse.of_kind("input")
        if not inputs:
            return cells
        x, y = at
        field = min(inputs, key=lambda e: float(np.hypot(max(e.box[0] - x, 0, x - e.box[2]),
                                                         max(e.box[1] - y, 0, y - e.box[3]))))
        own = _row_label(cells, field.box)
        if own is None:
            found = label_boxes(parse, [field])[0]
            own = found[0] if found is not None else None
        return [(b, t) for b, t in cells if not box_within(b, field.box, margin=2)
                and (own is None or not _overlap(b, own))]

    def _lookup_intents(self, parse: ScreenParse) -> list[Intent]:
        """One ``type`` intent per empty labelled field of the form on the screen (a box showing
        text is data, not a field to fill), its value what the page shows elsewhere for the
        field's label (a table of labels and values). A field's label is the text left of it on
        its row, else the nearest text around it."""
        inputs = parse.of_kind("input")
        ink = ink_mask(parse.image)
        empty = [e for e in inputs if not ink[e.box[1] + 3:e.box[3] - 3, e.box[0] + 3:e.box[2] - 3].any()]
        inputs = empty or inputs
        cells = page_cells(parse, self.text_reader) if inputs else []
        out = []
        for j, field in enumerate(inputs):
            beside = _row_label(cells, field.box)
            label = next((t for b, t in cells if b == beside), "") if beside is not None else \
                field_labels(parse, [field], self.text_reader)[0]
            key = label.strip(" :;.")
            if key:
                out.append(Intent("type", target=key, kinds=("input",), index=j, source="lookup",
                                  key=key, at=field.center))
        logger.info("fields to fill from the page by their labels: %s", [i.key for i in out])
        return out

    def _fill_intents(self, intent: Intent, parse: ScreenParse) -> list[Intent]:
        """``type`` intents that fill the labelled fields on screen from a free request, each
        followed by a click on the suggestion that may pop up for its value. A field's label is
        what is written beside it and the hint (placeholder) it shows while empty. When no
        button is named like the request's verb, the form's last button is named for the
        click that submits it. A box that holds a button is a card of a list, not a field;
        with no field to fill, a list of results is already shown: the submitting click is
        dropped when the best result is to be chosen next."""
        boxes = parse.of_kind("input")
        cards = [e.box for e in boxes if any(o.kind == "button" and box_within(o.box, e.box, margin=2)
                                             for o in parse.elements)]
        # (a card cut off at the bottom of the view is as wide as the others)
        inputs = [e for e in boxes if not any(abs(e.box[0] - c[0]) <= 2 and abs(e.box[2] - c[2]) <= 2
                                              for c in cards)]
        if not inputs:
            if len(self._intents) >= 2 and self._intents[0].op == "click" and \
                    not self._intents[0].best and self._intents[1].best:
                self._intents.popleft()
                logger.info("no field to fill: the results are shown; choose among them")
            return []
        outside = field_labels(parse, inputs, self.text_reader)
        labels = [f"{lab} {hint}".strip() for lab, hint in
                  zip(outside, (self._placeholder(parse, f) for f in inputs), strict=True)]
        verb = (re.findall(r"[^\W_]+", intent.text) or [""])[0]
        values = assign_fields(intent.text, labels, embedder=self.embedder, skip=[verb])
        logger.info("fields %s get %s", labels, values)
        self._name_submit(parse, inputs)
        out = []
        for j, v in sorted(values.items()):
            day = calendars.parse_date(v)
            if day is not None:  # a date: picked in the field's calendar, else typed
                out.append(Intent("date", target=labels[j], kinds=("input",), index=j,
                                  text=day.isoformat(), at=inputs[j].center))
                continue
            out.append(Intent("type", target=labels[j], kinds=("input",), index=j, text=v,
                              at=inputs[j].center))
            if masked_keys(v) is None:  # (a time is typed whole, not suggested)
                out.append(Intent("click", kinds=("text",), suggest=v))
        return out

    def _placeholder(self, parse: ScreenParse, field: ScreenElement) -> str:
        """The hint an empty field shows (grey text, lighter than typed text), or ``""``."""
        x1, y1, x2, y2 = field.box
        grey = parse.image[y1 + 2:y2 - 2, x1 + 2:x2 - 2].astype(np.float32).mean(axis=2)
        if grey.size == 0 or not (grey < 185).any() or grey.min() < PLACEHOLDER_GREY:
            return ""  # empty, or dark text: a value, not a hint
        return field_content(parse, field.box, self.text_reader)

    def _name_submit(self, parse: ScreenParse, inputs: list[ScreenElement]) -> None:
        """Name the button that submits the form being filled in the click intent that follows
        (the request's verb): when no button is named like the verb, the last button below
        the first field."""
        if not self._intents or self._intents[0].op != "click" or self._intents[0].best:
            return
        click = self._intents[0]
        choice = self.choose(click, parse)
        if choice is not None and (choice.score >= STRICT_MATCH or choice.sure):
            return
        parse = self._read(parse, ("button",))
        below = [b for b in parse.of_kind("button") if b.text and b.box[1] >= inputs[0].box[1]]
        if below:
            self._intents[0] = dataclasses.replace(click, target=below[-1].text)
            logger.info("no button says %r: the form's last button %s submits it", click.target,
                        below[-1].describe())

    def _pick_suggestion(self, intent: Intent, parse: ScreenParse, image: np.ndarray,
                         given: str) -> StepChoice:
        """Click the suggestion that popped up under the field just typed into and holds every
        word of the typed value; when none popped up while the typing paused for it (a plain
        field), go on at once."""
        lines = self._popped_lines(parse)
        scored = [(_word_cover(t, intent.suggest), text_similarity(t, intent.suggest), box, t)
                  for box, t in lines]
        scored = [s for s in scored if s[0] >= 0.5]
        if scored:
            cover, _, box, text = max(scored, key=lambda s: (s[0], s[1], -s[2][1]))
            self._intents.popleft()
            self._waits = 0
            x, y = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
            self._after_click = None  # (the list closes: nothing else moves)
            return StepChoice(Action.click(x, y), f'{intent.describe()} -> "{text}" '
                              f"({cover:.0%} of its words, of {len(lines)} popped up)",
                              point=(x, y), target=tuple(float(v) for v in box))
        self._waits += 1
        if not lines or self._waits > SUGGEST_WAITS:  # (the typing paused for the list)
            self._intents.popleft()
            self._waits = 0
            logger.info("%s: none fits (%d lines popped up)", intent.describe(), len(lines))
            return self._decide(image, given)
        # the one that fits may be further down a list that scrolls: scroll it by its height
        y1, y2 = min(b[1] for b, _ in lines), max(b[3] for b, _ in lines)
        x = float(np.mean([(b[0] + b[2]) / 2.0 for b, _ in lines]))
        y = (y1 + y2) / 2.0
        return StepChoice(Action.scroll(x, y, max(SCROLL_STEP // 2, y2 - y1 - 8)),
                          f"{intent.describe()}: none of the {len(lines)} lines in view fits; "
                          "scroll the list", point=(x, y))

    # -- the best of a list of results -------------------------------------------
    def _choose_best(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice:
        """Click the button of the result that is best by the intent's criterion: read each
        result's value (the button's text and the lines above it, back to the previous
        result's button) while scrolling down the list to its end, then scroll back to the
        best one (one scroll by the measured offset) and click its button."""
        crit = find_criterion(intent.best)
        assert crit is not None
        state = self._results
        overlay = parse.to_detections()
        top = parse.banner[3] if parse.banner is not None else 0
        height = image.shape[0]
        if state.before is not None:
            before, asked = state.before
            if abs(asked) < height - top - 20:
                moved = vertical_shift(before, image, top=top,
                                       most=asked + (10 if asked > 0 else -10))
            else:  # too far to see the same content twice: as asked, within the ends seen
                moved = max(asked, -state.offset)
                if state.at_end:
                    moved = min(moved, state.bottom - state.offset)
            if asked > 0 and moved < asked and not state.rechecked:
                state.rechecked = True  # (a smooth scroll may still be moving)
                return StepChoice(Action("wait", amount=200), f"{intent.describe()}: the list "
                                  f"moved {moved} of {asked} px; look again (still moving, or "
                                  "its end)", overlay=overlay)
            state.before, state.rechecked = None, False
            state.offset += moved
            if asked > 0 and moved < asked:
                state.at_end = True  # it moved less than asked: the bottom is in view
                state.bottom = state.offset
        buttons = self._result_buttons(intent, parse)
        view = height - top
        if not buttons:  # not shown yet, or below the view (a long first result)
            state.waits += 1
            if state.waits > self.max_waits + 2 or (state.at_end and not state.values):
                self._intents.popleft()
                return StepChoice(Action("done"), f"gave up: no results with a button like "
                                  f'"{intent.target}"', overlay=overlay)
            if state.waits > 1 and not state.at_end and text_rows(parse):
                return self._scroll_results(image, top, view // 2, f"{intent.describe()}: no "
                                            "result's button in view; scroll down", overlay)
            return StepChoice(Action("wait", amount=300), f"{intent.describe()}: no results "
                              "yet; waiting", overlay=overlay)
        whole = [b for b in buttons if b.box[1] > top + 1 and b.box[3] < height - 1]
        for prev, b in zip([None, *whole], whole, strict=False):
            key = state.row(b.box[1])
            if state.values.get(key) is None:
                start = prev.box[3] if prev is not None else top
                state.values[key] = self._result_value(parse, b, start, crit)
        seen = ", ".join(f"{v:g}" if v is not None else "?" for _, v in sorted(state.values.items()))
        if not state.at_end:
            # down by the view less what one result needs in view: its button (and the line
            # above it when the value is not on the button)
            need = max(b.height for b in buttons) + (0 if crit.quantity == "price" else 30)
            step = max(SCROLL_STEP, view - need - 8)
            return self._scroll_results(image, top, step, f"{intent.describe()}: {seen} so "
                                        "far; scroll down for more", overlay)
        best = best_index(list(state.values.values()), crit)
        if best is None:
            self._intents.popleft()
            return StepChoice(Action("done"), f"gave up: no {crit.quantity} read in "
                              f"{len(state.values)} results", overlay=overlay)
        key = list(state.values)[best]
        here = [b for b in whole if abs(b.box[1] + state.offset - key) <= ROW_SNAP]
        if here:
            self._intents.popleft()
            el = here[0]
            x, y = el.click_point
            self._after_click = (image, el.box)
            return StepChoice(Action.click(x, y), f"{intent.describe()}: values {seen}; the "
                              f"{crit.describe()} is {state.values[key]:g} -> {el.describe()}",
                              point=(x, y), overlay=overlay, target=tuple(float(v) for v in el.box))
        if state.returns >= 3:
            self._intents.popleft()
            return StepChoice(Action("done"), "gave up: the best result does not come into view",
                              overlay=overlay)
        state.returns += 1
        want = key - state.offset  # its screen y now; bring it to the middle of the view
        amount = int(want - (top + view // 2))
        return self._scroll_results(image, top, amount, f"{intent.describe()}: values {seen}; "
                                    f"back to the {crit.word} ({state.values[key]:g})", overlay)

    def _scroll_results(self, image: np.ndarray, top: int, amount: int, why: str,
                        overlay: Detections) -> StepChoice:
        self._results.before = (image, amount)
        x, y = image.shape[1] / 2.0, (top + image.shape[0]) / 2.0
        return StepChoice(Action.scroll(x, y, amount), f"{why} ({amount:+d} px)", point=(x, y),
                          overlay=overlay)

    def _result_buttons(self, intent: Intent, parse: ScreenParse) -> list[ScreenElement]:
        """The results' own buttons, top to bottom: buttons whose text holds the intent's
        target word (``Reserve`` in ``Reserve for $220``), else buttons repeated with one
        width and fill down the page."""
        parse = self._read(parse, ("button",))
        buttons = [b for b in parse.of_kind("button") if b.text]
        named = [b for b in buttons if _word_cover(b.text, intent.target) >= 1.0] \
            if intent.target else []
        if not named:
            named = [b for b in buttons if sum(  # (a shaded face's fill varies a little)
                abs(o.width - b.width) <= 2 and max(abs(u - v) for u, v in zip(
                    o.fill, b.fill, strict=True)) <= 8 for o in buttons) >= 2]
        return sorted(named, key=lambda b: b.box[1])

    def _result_value(self, parse: ScreenParse, button: ScreenElement, start: int,
                      crit: Criterion) -> float | None:
        """The criterion's quantity shown by one result: on its button, or in the text lines
        between ``start`` (the previous result's button, or the top of the view) and the
        button, nearest the button first (a time of day: the first line first)."""
        # the lines are cut from the ink (a result drawn as a card may be taken for a field,
        # whose text is no element)
        h, w = parse.image.shape[:2]
        xa, xb = max(button.box[0] - 40, 0), min(button.box[2] + 40, w)
        ink = ink_mask(parse.image)[start:button.box[1], xa:xb]
        lines = [ScreenElement("text", r, text_boxes=(r,)) for r in
                 text_runs(ink, gap=CELL_GAP, offset=(xa, start)) if r[3] - r[1] >= 4
                 and min(r[2], button.box[2] + 20) > max(r[0], button.box[0] - 20)]
        lines.sort(key=lambda e: e.box[1], reverse=crit.quantity != "time")
        if crit.quantity in ("price", "number"):
            value = read_quantity(button.text, crit.quantity)
            texts = [button.text]
            if value is None and isinstance(self.text_reader, TextReader):
                x1, y1, x2, y2 = button.box
                # (a "$" read as a digit: another zoom may see it; a label cut in two whose
                # number was left out of its text boxes: the whole face is read)
                faces = [list(button.text_boxes)] if button.text_boxes else []
                faces += [[(x1 + 1, y1 + 1, x2 - 1, y2 - 1)], [button.box]]
                for boxes, zoom in ((b, z) for b in faces for z in RE_READ_ZOOMS):
                    again = self.text_reader.at_zoom(zoom).read(parse.image, boxes)
                    texts.append(" ".join(t for t, _ in again))
                    value = read_quantity(texts[-1], crit.quantity)
                    if value is not None:
                        break
            if value is None and crit.quantity == "price":  # (no currency read at any zoom:
                found = [n for n in (re.findall(r"\d[\d,]*(?:\.\d+)?", t) for t in texts) if n]
                value = float(found[0][-1].replace(",", "")) if found else None  # its last number)
            if value is not None:
                return value
        for e in lines:
            text, _ = self.text_reader.read(parse.image, [e.text_boxes[0] if e.text_boxes
                                                          else e.box])[0]
            value = read_quantity(text, crit.quantity)
            if value is not None:
                return value
        return None

    def _popped_lines(self, parse: ScreenParse) -> list[tuple[tuple[int, int, int, int], str]]:
        """Text lines below the field typed into that were not on the screen before the
        typing (a suggestion list), read by OCR, top to bottom."""
        before, box = self._typed_before, self._typed_box
        image = parse.image
        if before is None or box is None or before.shape != image.shape:
            return []
        new = np.any(before != image, axis=2)
        new[:box[3] + 1] = False
        xa, xb = max(box[0] - 12, 0), min(box[2] + 40, image.shape[1])
        new[:, :xa] = False
        new[:, xb:] = False
        # the pop-up: changed rows under the field's columns, from right under the field on
        # (its padding between lines may be unchanged: white on a white field it covers)
        rows = new[:, box[0]:box[2]].any(axis=1)
        y1 = box[3] + 1
        while y1 < min(box[3] + 7, len(rows)) and not rows[y1]:
            y1 += 1
        y2 = y1
        while y2 < len(rows) and (rows[y2] or rows[y2 + 1:y2 + 5].any()):
            y2 += 1
        if y2 - y1 < 8:
            return []  # no box popped up: a few pixels changed (a focus ring, a hover)
        cols = np.flatnonzero(new[y1:y2].any(axis=0))
        x1, x2 = int(cols[0]), int(cols[-1]) + 1
        ink = ink_mask(image)[y1:y2, x1:x2]
        runs = [r for r in text_runs(ink, gap=8, offset=(x1, y1)) if r[3] - r[1] >= 4]
        runs = [r for r in runs if new[r[1]:r[3], r[0]:r[2]].any()]
        if not runs:
            return []
        reads = self.text_reader.read(image, runs)
        return [(r, t) for r, (t, _) in zip(runs, reads, strict=True) if t]

    def _choose_similar(self, intent: Intent, parse: ScreenParse,
                        cands: list[ScreenElement]) -> Choice | None:
        """The element (not chosen before) whose text is closest in meaning to the target."""
        parse = self._read(parse, intent.kinds)
        keep = {c.box for c in cands}
        cands = [e for e in parse.elements if e.box in keep and e.kind in intent.kinds and
                 e.text and e.box not in self._chosen]
        if not cands:
            return None
        # every target still to choose by meaning takes part, so an element goes to the
        # target it fits best (greedy over the whole target x element table)
        targets = [intent.target] + [i.target for i in list(self._intents)[1:]
                                     if i.similar and i.kinds == intent.kinds]
        texts = [c.text for c in cands]
        if self.embedder is None:
            sims = np.array([[text_similarity(c, t) for c in texts] for t in targets])
            how = "spelling"
        else:
            vecs = self._embed(targets + texts)
            sims = vecs[:len(targets)] @ vecs[len(targets):].T
            how = "MiniLM"
        table = sims.copy()
        while True:
            t, i = np.unravel_index(int(np.argmax(table)), table.shape)
            if t == 0 or table[t, i] <= -9.0:
                break
            table[t, :] = -9.0
            table[:, i] = -9.0
        i = int(np.argmax(table[0])) if table[0].max() > -9.0 else int(np.argmax(sims[0]))
        return Choice(cands[i], float(sims[0, i]), f'meaning of "{cands[i].text}" '
                                                   f'({how} {float(sims[0, i]):.2f})')

    def _semantic(self, target: str, cands: list[ScreenElement]) -> Choice | None:
        """The element whose text means the target (MiniLM cosine), when no spelling matches.

        Only for word targets (3+ letters) and when the best element beats the
        runner-up clearly; None without the packaged MiniLM or a clear winner.
        """
        texts = [c.text for c in cands]
        if self.embedder is None or not re.search(r"[A-Za-z]{3}", target) or not any(texts):
            return None
        vecs = self._embed([target, *texts])
        sims = vecs[1:] @ vecs[0]
        sims[[not t for t in texts]] = -1.0
        order = np.argsort(-sims)
        best = float(sims[order[0]])
        second = float(sims[order[1]]) if len(order) > 1 else -1.0
        if best < SEMANTIC_THRESHOLD or best - second < SEMANTIC_MARGIN:
            return None
        el = cands[int(order[0])]
        return Choice(el, best, f'meaning of "{el.text}" (MiniLM {best:.2f})')

    def _choose_input(self, intent: Intent, parse: ScreenParse,
                      inputs: list[ScreenElement]) -> Choice | None:
        if intent.at is not None:  # located before: the field there (or the nearest one)
            x, y = intent.at

            def dist(e: ScreenElement) -> float:
                x1, y1, x2, y2 = e.box
                return float(np.hypot(max(x1 - x, 0, x - x2), max(y1 - y, 0, y - y2)))

            best = min(inputs, key=dist)
            return Choice(best, 1.0, f"the field located at ({x:.0f},{y:.0f})")
        if intent.target:
            labels = self._labels(parse, inputs)
            scored = [(text_similarity(labels.get(c.box, ""), intent.target), c) for c in inputs]
            score, best = max(scored, key=lambda t: t[0])
            if score >= self.match_threshold:
                return Choice(best, score, f'label "{labels.get(best.box, "")}"')
            # no label beside it: the hint an empty field shows (a placeholder ``Name``)
            hints = [(self._placeholder(parse, c), c) for c in inputs]
            scored = [(text_similarity(t, intent.target), t, c) for t, c in hints if t]
            if scored:
                score, hint, best = max(scored, key=lambda t: t[0])
                if score >= max(self.match_threshold, STRICT_MATCH):
                    return Choice(best, score, f'hint "{hint}"')
        if intent.index is not None:
            if intent.index < len(inputs):
                return Choice(inputs[intent.index], 1.0, f"position {intent.index + 1}")
            return None
        return Choice(inputs[0], 1.0 if len(inputs) == 1 else 0.5, "first text field")

    def _labels(self, parse: ScreenParse, inputs: list[ScreenElement]) -> dict[
            tuple[int, int, int, int], str]:
        """Text right above or left of each input (read by OCR)."""
        texts = parse.of_kind("text")
        near: dict[tuple[int, int, int, int], ScreenElement] = {}
        for inp in inputs:
            x1, y1, x2, y2 = inp.box
            best, best_d = None, float(LABEL_DISTANCE)
            for t in texts:
                tx1, ty1, tx2, ty2 = t.box
                above = ty2 <= y1 + 2 and min(tx2, x2) - max(tx1, x1) > 0
                left = tx2 <= x1 + 2 and min(ty2, y2) - max(ty1, y1) > 0
                d = (y1 - ty2) if above else (x1 - tx2) if left else None
                if d is not None and d < best_d:
                    best, best_d = t, float(d)
            if best is not None:
                near[inp.box] = best
        if not near:
            return {}
        reads = self.text_reader.read(parse.image, [t.text_boxes[0] for t in near.values()])
        return {box: text for box, (text, _) in zip(near, reads, strict=True)}

    # -- structure and exploration skills ----------------------------------------
    def _explore_tabs(self, parse: ScreenParse, choice: Choice | None,
                      image: np.ndarray) -> StepChoice | None:
        """Open the next unopened tab when the target is not (clearly) on this one."""
        tabs = skills.tab_bar(parse.elements)
        if not tabs or (choice is not None and choice.element in tabs):
            return None
        if not self._explored:
            active = skills.active_tab(tabs)
            if active is not None:
                self._explored.add(_key(active))
                self._open_tab = _key(active)
        if choice is not None and (self._tab_best is None or choice.score > self._tab_best[0]):
            self._tab_best = (choice.score, self._open_tab)
        todo = [t for t in tabs if _key(t) not in self._explored]
        if not todo:  # every tab seen: go back to the one with the best (weak) match
            back = self._tab_best[1] if self._tab_best is not None else None
            tab = next((t for t in tabs if _key(t) == back), None)
            if tab is None or back == self._open_tab:
                return None
            self._open_tab = back
            self._after_click = (image, tab.box)
            x, y = tab.click_point
            return StepChoice(Action.click(x, y), f"every tab seen: back to the tab with the best "
                              f"match ({self._tab_best[0]:.2f}) -> {tab.describe()}", point=(x, y),
                              target=tuple(float(v) for v in tab.box))
        tab = todo[0]
        self._explored.add(_key(tab))
        self._open_tab = _key(tab)
        self._after_click = (image, tab.box)
        x, y = tab.click_point
        seen = "nothing matches" if choice is None else \
            f"best match only {choice.score:.2f} ({choice.element.describe()})"
        return StepChoice(Action.click(x, y), f"{seen}: open tab {len(self._explored)} of "
                          f"{len(tabs)} to look behind it -> {tab.describe()}", point=(x, y),
                          target=tuple(float(v) for v in tab.box))

    def _dismiss_dialog(self, image: np.ndarray) -> StepChoice | None:
        """Dismiss a dialog that appeared after an action and that the plan does not ask for;
        the interrupted intent is carried out again afterwards."""
        first = self._first_parse
        parse = self._read(self.perceive(image), ("button",))
        if first is None or first.image is parse.image:
            return None
        first = read_texts(first, self.text_reader, kinds=("button",))
        self._first_parse = first
        known = {normalise_text(b.text, fold=False) for b in first.of_kind("button")}
        wanted = {normalise_text(i.target, fold=False) for i in self._intents if i.target}
        button = skills.dismiss_button(parse.of_kind("button"), known=known, wanted=wanted)
        if button is None:
            return None
        redo = ""
        if self._pending and self._last_intent is not None:
            self._pending.clear()
            self._intents.appendleft(self._last_intent)
            redo = f"; then again: {self._last_intent.describe()}"
        self._after_click = (image, button.box)
        x, y = button.click_point
        return StepChoice(Action.click(x, y), f"a dialog appeared: dismiss it with "
                          f"{button.describe()}{redo}", point=(x, y),
                          overlay=parse.to_detections(), target=tuple(float(v) for v in button.box))

    def _next_page(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice | None:
        """The n-th item is past this page: open the next page and count on from there."""
        parse = self._read(parse, ("link",))
        links = parse.of_kind("link")
        pager = skills.pager_links(links)
        items = [e for e in links if e not in pager]
        nxt = skills.pager_next(pager, page=self._page)
        if nxt is None or not items or intent.index is None:
            return None
        self._intents[0] = dataclasses.replace(intent, index=intent.index - len(items))
        self._page += 1
        self._after_click = (image, nxt.box)
        x, y = nxt.click_point
        return StepChoice(Action.click(x, y), f"{intent.describe()}: {len(items)} items on this "
                          f"page; next page -> {nxt.describe()}", point=(x, y),
                          target=tuple(float(v) for v in nxt.box))

    def _turn_page(self, parse: ScreenParse, image: np.ndarray, why: str) -> StepChoice | None:
        """Open the next page of a paged list (its pager's ``>`` / ``next`` control, else the
        next page number), unless :data:`MAX_PAGES` pages were turned or the last turn changed
        nothing (the last page); None then."""
        parse = self._read(parse, ("link", "button", "text"))
        pager = skills.pager_links([e for e in parse.elements if e.kind in ("link", "button")])
        nxt = skills.pager_next(pager, page=self._page)
        last = self._paged_from
        if nxt is None or self._page > MAX_PAGES or (
                last is not None and last.shape == image.shape and np.array_equal(last, image)):
            return None
        self._page += 1
        self._paged_from = image
        self._after_click = (image, nxt.box)
        x, y = nxt.click_point
        return StepChoice(Action.click(x, y), f"{why}: next page ({self._page}) -> "
                          f"{nxt.describe()}", point=(x, y), target=tuple(float(v) for v in nxt.box))

    def _click_value(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice:
        """Click the value the page shows for the label ``intent.key`` (``click on their
        address``: the link beside ``Address:``). With ``intent.scope``, in the entry it
        names: the pages of a paged list are turned (or the page scrolled) until the entry
        shows, and only the labels from its name down count."""
        top = parse.banner[3] if parse.banner is not None else 0
        cells = [(b, t) for b, t in page_cells(parse, self.text_reader) if b[1] >= top]
        if intent.scope:
            marks = [(_word_cover(t, intent.scope), b) for b, t in cells]
            score, anchor = max(marks, key=lambda m: m[0], default=(0.0, None))
            if anchor is None or score < STRONG_MATCH:
                why = f'"{intent.scope}" is not on the screen'
                step = self._turn_page(parse, image, why) or self._scroll(image, top, why)
                if step is not None:
                    return step
                self._intents.clear()
                return StepChoice(Action("done"), f"gave up: {why}, and there is no more to see")
            cells = [(b, t) for b, t in cells if b[1] >= anchor[1] - 2 and b != anchor]
        found = property_value(cells, intent.key)
        if found is None:
            self._waits += 1
            if self._waits > self.max_waits:
                self._intents.clear()
                return StepChoice(Action("done"), f"gave up: no label names {intent.key!r}")
            return StepChoice(Action("wait"), f"{intent.describe()}: no label names it yet; waiting")
        value, label, box = found
        self._intents.popleft()
        self._waits, self._page, self._paged_from, self._scrolls = 0, 1, None, 0
        self._last_intent = intent
        x, y = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
        self._after_click = (image, box)
        return StepChoice(Action.click(x, y), f'{intent.describe()} -> "{value}" at {box} (beside '
                          f"the label at {label})", point=(x, y), target=tuple(float(v) for v in box))

    def _scoped(self, intent: Intent, parse: ScreenParse,
                image: np.ndarray) -> StepChoice | Choice | None:
        """The target inside the list item marked by ``intent.scope``: scroll until the item
        shows, look in it, then behind its "more" menu (menus may float over other items)."""
        parse = self._read(parse, ("text", "link", "button"))
        height, width = image.shape[:2]
        top = parse.banner[3] if parse.banner is not None else 0
        plain = dataclasses.replace(intent, scope="")
        if self._menu_opened:  # the item's menu is open: its entries may float anywhere
            found = self._best_text(plain.target, parse.elements + self._boxed_lines(parse))
            if found is not None and found.score >= STRONG_MATCH:
                return Choice(found.element, found.score, f"{found.reason} in the item's menu")
            if self._menu_scrolls < 2 and self._scrolls < MAX_SCROLLS and \
                    (found is None or found.score < self.match_threshold):
                self._menu_scrolls += 1  # a long menu goes on below the screen
                step = self._scroll(image, top, f"{plain.describe()} is not in the open menu "
                                                "yet; it may go on below")
                if step is not None:
                    return step
        # a marker's symbols (the @ of a handle) are what OCR folds away: lines that show
        # them too are preferred over a word spelled alike in running text
        symbols = set(re.sub(r"[\w\s]", "", intent.scope))
        # (a long name wraps: the lines of one text block count together)
        marks = [(_word_cover(e.text, intent.scope) + 0.1 * bool(symbols & set(e.text)), e)
                 for e in parse.elements + _wrapped_lines(parse.elements) if e.text]
        score, anchor = max(marks, key=lambda t: t[0], default=(0.0, None))
        if anchor is None or score < STRONG_MATCH:
            # a page down at a time (the views overlap), then once back to the top: an item
            # above the view (a later item of a list may come first on the page)
            step = self._scroll(image, top, f'"{intent.scope}" is not on the screen',
                                amount=max(SCROLL_STEP, int(0.6 * (height - top))))
            self._scrolled_page = self._scrolled_page or step is not None  # (look below later)
            if step is None and not self._scope_rewound:
                self._scope_rewound = True
                self._scrolls, self._scrolled_from = 0, None
                x, y = width / 2.0, (top + height) / 2.0
                return StepChoice(Action.scroll(x, y, -REWIND), f'"{intent.scope}" is not on '
                                  "the screen down to the end: back to the top", point=(x, y))
            return step
        inside_of = [e for e in parse.elements if _overlap(e.box, anchor.box)]
        band = skills.row_band(anchor.box, skills.separators(image, top=top), height, top=top)
        inside = [e for e in parse.elements if band[0] <= e.center[1] <= band[1] and e is not anchor
                  and e not in inside_of]
        choice = self._best_text(plain.target, inside)
        if choice is not None and choice.score >= STRONG_MATCH:
            return choice
        icon = skills.named_icon(image, band, plain.target)  # "click the star icon ..."
        if icon is not None:
            box, score = icon
            return Choice(ScreenElement("button", box), score, f"the icon the instruction names "
                          f"(look-alike {score:.2f})", sure=True)
        if self._menu_opened:
            choice = self._best_text(plain.target, [e for e in parse.elements if e is not anchor])
            if choice is not None and choice.score >= STRONG_MATCH:
                return Choice(choice.element, choice.score, f"{choice.reason} in the item's menu")
            if (choice is not None and choice.score >= self.match_threshold) or \
                    self._menu_opened >= 2:
                return choice
        more = skills.more_control(image, band, top=top)
        if more is not None and not self._menu_opened and more[1] > top + 0.4 * (height - top) \
                and anchor.box[1] - SCROLL_STEP > top:  # (the item's marker stays on screen)
            # a menu opens below its control: make room first (unless the list cannot move)
            room = self._scroll(image, top, f"make room below the \"more\" control of "
                                            f"{anchor.describe()} for its menu")
            if room is not None:
                return room
        if more is not None:  # (again, when the first click only hovered it: no menu showed)
            self._menu_opened += 1
            x, y = more
            self._after_click = (image, (int(x) - 8, int(y) - 4, int(x) + 8, int(y) + 4))
            return StepChoice(Action.click(x, y), f'{plain.describe()} is not in the item of '
                              f'{anchor.describe()}: open its "more" menu (...)', point=(x, y))
        if band[1] >= height - 2:  # the item goes on below the screen
            return self._scroll(image, top, f"the item of {anchor.describe()} goes on below")
        return choice if choice is not None and choice.score >= self.match_threshold else None

    def _each_item(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice | None:
        """Act on the next list item ``intent.scope`` marks that was not acted on yet: click
        the control in it that the target names (its text, else the icon named by the word,
        else the one icon no known icon looks like); scroll on when none is left on the
        screen. None (and the intent is done) once ``intent.items`` items are done, or the
        list ends."""
        height = image.shape[0]
        top = parse.banner[3] if parse.banner is not None else 0
        if self._shift_from is not None:  # how far the last scroll moved the list
            shift = vertical_shift(self._shift_from, image, top=top, most=self._scroll_expect + 10)
            short = shift < 0.9 * self._scroll_expect
            if short and not self._shift_checked:  # a smooth scroll may still be moving
                self._shift_checked = True
                return StepChoice(Action("wait"), f"{intent.describe()}: the list moved "
                                  f"{shift} of {self._scroll_expect} px; looking again")
            self._items_offset += shift
            self._list_ended = 0 < shift and short
            self._shift_from, self._shift_checked = None, False
        parse = self._read(parse, ("text", "link", "button"))
        plain = dataclasses.replace(intent, scope="", items=None)
        symbols = set(re.sub(r"[\w\s]", "", intent.scope))
        anchors = sorted((e for e in parse.elements if e.text and _word_cover(e.text, intent.scope)
                          + 0.1 * bool(symbols & set(e.text)) >= STRONG_MATCH),
                         key=lambda e: e.box[1])
        seps = skills.separators(image, top=top)
        # a page less a margin per scroll; an item cut at the bottom is brought up to the top
        # (its marker stays on the screen)
        amount = max(SCROLL_STEP, int(0.7 * (height - top)))
        for anchor in anchors:
            key = anchor.box[1] + self._items_offset
            if any(abs(key - k) <= 4 for k in self._items_done):
                continue
            band = skills.row_band(anchor.box, seps, height, top=top)
            if band[1] >= height - 2:  # the item goes on below the screen: scroll first
                amount = max(min(amount, anchor.box[1] - top - 4), 10)
                break
            self._items_done.append(key)
            inside = [e for e in parse.elements if band[0] <= e.center[1] <= band[1]
                      and e is not anchor]
            choice = self._best_text(plain.target, inside)
            if choice is not None and choice.score >= STRONG_MATCH:
                box, why = choice.element.box, choice.reason
            else:
                more = skills.more_control(image, band, top=top)
                icon = skills.named_icon(image, band, plain.target, by_elimination=more is None)
                if icon is None:
                    logger.info("no control for %s in the item of %s", plain.describe(),
                                anchor.describe())
                    continue
                box, why = icon[0], f"the icon it names (look-alike {icon[1]:.2f})"
            self._items_acted += 1
            x, y = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
            step = StepChoice(Action.click(x, y), f"{intent.describe()}: item "
                              f"{self._items_acted} ({anchor.describe()}) -> {why}", point=(x, y),
                              target=tuple(float(v) for v in box))
            if intent.items is not None and 0 < intent.items <= self._items_acted:
                self._intents.popleft()
                self._finish_items()
                self._scrolled_page = True  # what comes next may be further down the list
            return step
        if self._list_ended:  # the last scroll moved less than a step: the end is in view
            self._intents.popleft()
            logger.info("%s: the list ends; %d items acted on", intent.describe(), self._items_acted)
            self._finish_items()
            return None
        step = self._scroll(image, top, f"{intent.describe()}: {self._items_acted} done, "
                                        "more items may follow below", amount=amount)
        if step is not None:
            self._shift_from = image
            self._scrolled_page = True
            return step
        self._intents.popleft()
        logger.info("%s: the list ends; %d items acted on", intent.describe(), self._items_acted)
        self._finish_items()
        return None

    def _finish_items(self) -> None:
        self._items_done, self._items_offset, self._items_acted = [], 0, 0
        self._list_ended = False
        self._shift_from, self._scrolls, self._scrolled_from = None, 0, None
    # -- acting on an item of a list ------------------------------------------------------
    def _act(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice:
        """Do ``intent.action`` to the list item marked by ``intent.scope``: scroll until
        the item shows; click the action's control in its row when the row shows one,
        else open the item and click the control there; then give what the action opened
        its recipient and text, and send it."""
        spec = item_action(intent.action) or ItemAction(intent.action, (intent.action,))
        parse = self._read(parse, ("text", "link", "button"))
        height = image.shape[0]
        top = parse.banner[3] if parse.banner is not None else 0
        if self._act_phase == "item":
            marks = [(_word_cover(e.text, intent.scope), e) for e in parse.elements if e.text]
            score, anchor = max(marks, key=lambda t: t[0], default=(0.0, None))
            if anchor is None or score < STRONG_MATCH:  # the page's ink, inside widgets too (a
                # row drawn highlighted under the pointer is one box, its lines unread)
                cells = [(_word_cover(t, intent.scope), ScreenElement("text", b, text=t))
                         for b, t in page_cells(parse, self.text_reader) if b[1] >= top]
                score, anchor = max(cells, key=lambda t: t[0], default=(0.0, None))
            if anchor is None or score < STRONG_MATCH:
                step = self._scroll(image, top, f'"{intent.scope}" is not on the screen')
                return step or self._act_done(f'gave up: "{intent.scope}" is not in the list')
            intent = self._respell_recipient(intent, parse)
            band = skills.row_band(anchor.box, skills.separators(image, top=top), height, top=top)
            control = self._action_control(spec, parse, image, [band], exclude=anchor)
            if control is not None:
                return self._act_click(intent, spec, control, image, "in the item's row")
            if band[1] >= height - 2:  # the row goes on below the screen: see all of it first
                step = self._scroll(image, top, f"the item of {anchor.describe()} goes on below")
                if step is not None:
                    return step
            self._act_phase = "opened"
            self._after_click = (image, anchor.box)
            x, y = anchor.center
            return StepChoice(Action.click(x, y), f"{intent.describe()}: no {spec.name} control "
                              f"in the row; open the item {anchor.describe()}", point=(x, y),
                              target=tuple(float(v) for v in anchor.box))
        if self._act_phase == "opened":
            bars = [(e.box[1], e.box[3]) for e in parse.elements
                    if e.kind == "button" and 7 <= e.height <= 40]
            # (icons only on the opened item's bars: its toolbars, not the pictures of its text)
            control = self._action_control(spec, parse, image, self._bands(parse, image, top),
                                           icon_bands=bars)
            if control is None:  # the item's controls may be below its text: scroll to them
                step = self._scroll(image, top, f"no {spec.name} control on the opened item")
                return step or self._act_wait(f"no {spec.name} control on the opened item")
            return self._act_click(intent, spec, control, image, "in the opened item")
        if self._act_phase == "fill":
            step = self._fill_form(intent, parse, image, top)
            if step is not None:
                return step
            self._act_phase = "send"
        control = self._action_control(SEND, parse, image, self._bands(parse, image, top))
        if control is None:
            return self._act_wait("no send control")
        return self._act_click(intent, SEND, control, image, "to send")

    def _respell_recipient(self, intent: Intent, parse: ScreenParse) -> Intent:
        """The intent with its recipient spelled as the page spells that name (a sender of
        another item), when a word on the screen is spelled alike but not the same: the
        instruction's reading may have slipped (``Elwira`` read ``Elvira``), and a name is
        typed letter for letter."""
        if not intent.recipient:
            return intent
        words = {w.strip(".,;:!?") for e in parse.elements if e.text for w in e.text.split()}
        scored = [(text_similarity(w, intent.recipient), w) for w in words
                  if w[:1].isupper() and len(w) == len(intent.recipient)]
        score, word = max(scored, default=(0.0, ""))
        if score < STRONG_MATCH or word == intent.recipient:
            return intent
        logger.info("recipient %r spelled %r as the page shows it", intent.recipient, word)
        intent = dataclasses.replace(intent, recipient=word)
        self._intents[0] = intent
        return intent

    def _act_click(self, intent: Intent, spec: ItemAction, control: ScreenElement,
                   image: np.ndarray, where: str) -> StepChoice:
        """Click an action's control; the intent is done unless a form follows."""
        self._waits = 0
        if spec is not SEND and (intent.recipient or intent.text):
            self._act_phase = "fill"
        else:
            self._intents.popleft()
            self._act_phase, self._act_filled = "item", set()
            self._scrolls = 0
        self._after_click = (image, control.box)
        x, y = control.click_point
        return StepChoice(Action.click(x, y), f"{intent.describe()}: {spec.name} -> "
                          f"{control.describe()} {where}", point=(x, y),
                          target=tuple(float(v) for v in control.box))

    def _act_wait(self, why: str) -> StepChoice:
        self._waits += 1
        if self._waits > self.max_waits:
            return self._act_done(f"gave up: {why}")
        return StepChoice(Action("wait"), f"{why} yet; waiting")

    def _act_done(self, why: str) -> StepChoice:
        self._intents.clear()
        self._act_phase, self._act_filled = "item", set()
        return StepChoice(Action("done"), why)

    def _bands(self, parse: ScreenParse, image: np.ndarray, top: int) -> list[tuple[int, int]]:
        """Bands of rows to look for icons in: between the page's rules, and each bar (a
        flat button-like strip) on its own (its icons are drawn on its colour)."""
        seps = [top, *skills.separators(image, top=top), image.shape[0]]
        bands = [(a, b) for a, b in zip(seps, seps[1:], strict=False) if b - a >= 7]
        return bands + [(e.box[1], e.box[3]) for e in parse.elements
                        if e.kind == "button" and 7 <= e.height <= 40]

    def _action_control(self, spec: ItemAction, parse: ScreenParse, image: np.ndarray,
                        bands: list[tuple[int, int]], *, exclude: ScreenElement | None = None,
                        icon_bands: list[tuple[int, int]] | None = None) -> ScreenElement | None:
        """The control of an action in some band: an element whose text names it (``Reply``),
        else an icon drawn like its symbol (a star), else — for an action done in place,
        whose symbol the font lacks (a waste bin) — the one other icon beside a recognised
        icon of another action."""
        inside = [e for e in parse.elements if e is not exclude and e.text and
                  any(a <= e.center[1] <= b for a, b in bands) and
                  (e.kind in ("button", "link") or spec is not SEND)]  # (not a word of the text)
        scored = [(max(_names_word(w, v) for w in e.text.split() for v in spec.words), e)
                  for e in inside if e.text.split() and len(e.text.split()) <= 3]
        score, best = max(scored, key=lambda t: t[0], default=(0.0, None))
        if best is not None and score >= STRONG_MATCH:
            return best
        for band in bands if icon_bands is None else icon_bands:
            if spec.icons:
                found = skills.icon_named(image, band, spec.icons, what=spec.name)
                if found is not None:
                    return ScreenElement("button", found[0])
                continue
            if spec.recipient or spec.text:
                continue  # (an action that opens a form is labelled where it is offered)
            for other in ITEM_ACTIONS:
                known = skills.icon_named(image, band, other.icons, what=other.name) \
                    if other.icons and other is not spec else None
                beside = skills.icon_beside(image, band, known[0]) if known else None
                if beside is not None:
                    return ScreenElement("button", beside)
        return None

    def _fill_form(self, intent: Intent, parse: ScreenParse, image: np.ndarray,
                   top: int) -> StepChoice | None:
        """Type the recipient into the field labelled ``to`` and the text into the text
        area of the form an action opened; None when both are in."""
        if intent.recipient and "to" not in self._act_filled:
            labels = [e for e in parse.elements if e.text and
                      re.fullmatch(r"\s*to\s*[:;.]?\s*", e.text, flags=re.IGNORECASE)]
            for label in labels:
                fields = [e for e in parse.of_kind("input") if e.box[0] >= label.box[2] - 2
                          and abs(e.center[1] - label.center[1]) <= 6]
                point = fields[0].center if fields else skills.blank_after(image, label.box)
                if point is not None:
                    self._act_filled.add("to")
                    self._pending.append(Action.type_text(intent.recipient))
                    x, y = point
                    return StepChoice(Action.click(x, y), f'{intent.describe()}: type '
                                      f'"{intent.recipient}" into the field of {label.describe()}',
                                      point=(x, y))
            return self._act_wait('no field labelled "to"')
        if intent.text and "text" not in self._act_filled:
            areas = sorted(parse.of_kind("input"), key=lambda e: -e.width * e.height)
            blank = skills.blank_area(image, top=top)
            box = areas[0].box if areas else blank
            if box is None:
                return self._act_wait("no text area")
            self._act_filled.add("text")
            self._pending.append(Action.type_text(intent.text))
            x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            return StepChoice(Action.click(x, y), f'{intent.describe()}: type "{intent.text}" '
                              f"into the text area at {box}", point=(x, y))
        return None

    def _scroll(self, image: np.ndarray, top: int, why: str, *,
                amount: int = SCROLL_STEP) -> StepChoice | None:
        """Scroll the content down ``amount`` px, unless the budget is spent or the last
        scroll moved nothing (the end of the list)."""
        last = self._scrolled_from
        if self._scrolls >= MAX_SCROLLS or (last is not None and last.shape == image.shape
                                            and np.array_equal(last, image)):
            return None
        self._scrolls += 1
        self._scrolled_from = image
        height, width = image.shape[:2]
        x, y = width / 2.0, (top + height) / 2.0
        self._scroll_expect = amount
        return StepChoice(Action.scroll(x, y, amount), f"{why}: scroll down {amount} px "
                          f"({self._scrolls}/{MAX_SCROLLS})", point=(x, y))

    def _boxed_lines(self, parse: ScreenParse) -> list[ScreenElement]:
        """Lines of text inside boxes the parser took for text fields or unlabelled buttons
        (parts of a menu drawn over the page), read by OCR."""
        ink = ink_mask(parse.image)
        lines = []
        for e in parse.elements:
            if e.kind not in ("input", "button") or e.text_boxes:
                continue
            x1, y1, x2, y2 = e.box
            for b in text_runs(ink[y1 + 1:y2 - 1, x1 + 1:x2 - 1], offset=(x1 + 1, y1 + 1)):
                if b[3] - b[1] >= 5 and b[2] - b[0] >= 3:
                    lines.append(ScreenElement("text", b, text_boxes=(b,)))
        if not lines:
            return []
        reads = self.text_reader.read(parse.image, [e.box for e in lines])
        return [dataclasses.replace(e, text=t, text_confidence=c)
                for e, (t, c) in zip(lines, reads, strict=True)]

    @staticmethod
    def _best_text(target: str, elements: list[ScreenElement]) -> Choice | None:
        """The element whose text best holds ``target`` (whole words count: a menu entry
        ``Block @leo`` holds ``Block``); a text that is the symbol the target names (``+`` for
        ``plus``) holds it too."""
        symbols = _symbols_named(target)
        scored = [(1.0 if e.text.strip() in symbols else
                   max(text_similarity(e.text, target), 0.9 * _word_cover(e.text, target)), e)
                  for e in elements if e.text]
        if not scored:
            return None
        score, best = max(scored, key=lambda t: t[0])
        return Choice(best, score, f'text "{best.text}"')

    def figures(self, parse: ScreenParse) -> list[shapes.Figure]:
        """Figures (shapes, symbols) outside the labelled widgets and below the banner."""
        return shapes.figures_on_screen(parse)

    def _choose_figure(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        figs = self.figures(parse)
        if intent.describes:
            if not figs:
                return None
            fig = max(figs, key=lambda f: f.extent)
            parse = self._read(parse, intent.kinds)
            cands = [c for c in parse.of_kind(*intent.kinds) if c.text]
            if not cands:
                return None
            scored = [(max(text_similarity(c.text, n) for n in fig.names()), c) for c in cands]
            score, best = max(scored, key=lambda t: t[0])
            if score >= self.match_threshold:
                return Choice(best, score, f'"{best.text}" names the {fig.describe()}')
            meant = self._semantic(fig.names()[0], cands)
            if meant is not None:
                return Choice(meant.element, meant.score, f"{meant.reason} names the "
                                                          f"{fig.describe()}")
            return None
        assert intent.figure is not None
        size, colour, what = intent.figure
        fits = [f for f in figs if shapes.matches(f, size, colour, what)]
        if not fits and len(what) == 1:  # maybe plain text after all
            return self.choose(Intent("click", target=what, kinds=ANY_KIND), parse)
        if not fits:
            return None
        fig = fits[0]
        el = ScreenElement("text", fig.box, text=fig.describe(), anchor=fig.point)
        return Choice(el, 1.0 if len(fits) == 1 else 0.9,
                      f"figure {fig.describe()} ({len(fits)} fit)")

    # -- geometry on drawn figures and sliders -------------------------------------
    @staticmethod
    def _drawing_area(parse: ScreenParse) -> tuple[int, list[tuple[int, int, int, int]]]:
        """Where figures are drawn: the rows below the banner, and the labelled widgets
        (buttons and fields with text) to leave out."""
        top = parse.banner[3] if parse.banner is not None else 0
        return top, [e.box for e in parse.elements if e.kind in ("button", "input") and e.text_boxes]

    def _choose_point(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        """The point of a drawn figure the intent names (``center``): the centre of the circle
        fitted to a round figure's outline, else the centre of the matching figure's box."""
        size, colour, what = intent.figure or ("", "", "")
        top, exclude = self._drawing_area(parse)
        if intent.geometry == "midpoint":
            return self._choose_midpoint(intent, parse)
        if what in ("circle", "shape", "") and not colour:
            circles = geometry.find_circles(parse.image, top=top, exclude=exclude)
            if circles:
                c = circles[-1] if size == "small" else circles[0]
                return Choice(ScreenElement("figure", c.box, anchor=c.center), 1.0,
                              f"the {intent.geometry} of the {c.describe()} (a circle fitted "
                              f"to its outline, {len(circles)} circle(s))", sure=True)
        fits = [f for f in self.figures(parse) if shapes.matches(f, size, colour, what)]
        if not what:  # any figure: not a frame around others (a canvas's border)
            fits = [f for f in fits if not any(g is not f and box_within(g.box, f.box, margin=0)
                                               for g in fits)]
        if not fits:
            return None
        fig = max(fits, key=lambda f: f.extent) if size != "small" else min(fits, key=lambda f: f.extent)
        x1, y1, x2, y2 = fig.box
        return Choice(ScreenElement("figure", fig.box, anchor=((x1 + x2) / 2.0, (y1 + y2) / 2.0)),
                      0.9, f"the {intent.geometry} of the box of {fig.describe()}", sure=True)

    def _choose_midpoint(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        """The point halfway between the two figures the intent describes (``the midpoint
        between the two points``): the middle of their boxes' centres. When other than two
        figures fit the description but two figures are drawn, those two."""
        size, colour, what = intent.figure or ("", "", "")
        figs = self.figures(parse)
        fits = [f for f in figs if shapes.matches(f, size, colour, what)]
        if len(fits) != 2 and len(figs) == 2:
            fits = figs
        if len(fits) > 2:  # the two most alike in size
            pairs = [(abs(a.extent - b.extent), i, j) for i, a in enumerate(fits)
                     for j, b in enumerate(fits) if i < j]
            _, i, j = min(pairs)
            fits = [fits[i], fits[j]]
        if len(fits) != 2:
            return None
        (ax, ay), (bx, by) = (_centre(f.box) for f in fits)
        mx, my = (ax + bx) / 2.0, (ay + by) / 2.0
        box = (int(min(ax, bx)), int(min(ay, by)), int(max(ax, bx)) + 1, int(max(ay, by)) + 1)
        return Choice(ScreenElement("figure", box, anchor=(mx, my)), 1.0,
                      f"halfway between {fits[0].describe()} at ({ax:.0f},{ay:.0f}) and "
                      f"{fits[1].describe()} at ({bx:.0f},{by:.0f})", sure=True)

    def _draw(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Draw the line the intent names on a figure drawn on the page by dragging from its
        start to its end (``bisector``: from an angle's vertex along the ray halfway between
        its arms); a page that draws a line from a fixed point on a click gets the release."""
        overlay = parse.to_detections()
        top, exclude = self._drawing_area(parse)
        if intent.geometry in ("vertical", "horizontal"):
            return self._draw_through(intent, parse, top, exclude)
        if intent.geometry == "connect":
            return self._draw_joining(intent, parse)
        if intent.geometry == "square-corner":
            return self._square_corner(intent, parse, top, exclude)
        if intent.geometry.startswith("trace-"):
            return self._draw_shape(intent, parse, top, exclude)
        if intent.geometry != "bisector":
            self._intents.popleft()
            return StepChoice(Action("done"), f"{intent.describe()}: no skill draws it",
                              overlay=overlay)
        angles = geometry.find_angles(parse.image, top=top, exclude=exclude)
        if not angles:
            return self._wait_for(f"{intent.describe()}: no angle drawn on the screen", overlay)
        angle = angles[0]
        (vx, vy), (ex, ey) = angle.vertex, angle.bisector_point()
        self._intents.popleft()
        self._waits = 0
        return StepChoice(Action.drag(vx, vy, ex, ey),
                          f"{intent.describe()}: {angle.describe()} ({len(angles)} angle(s)); "
                          f"drag from the vertex along the bisector to ({ex:.0f},{ey:.0f})",
                          point=(vx, vy), overlay=overlay,
                          target=tuple(float(v) for v in angle.box))

    # -- a thing turned in 3-D by dragging it ------------------------------------------------
    def _turn(self, intent: Intent, parse: ScreenParse, given: str) -> StepChoice:
        """Turn a thing drawn in 3-D (a cube with marked sides) by dragging across it until
        the side marked ``intent.text`` is the active one: the mark drawn in a colour none of
        the other marks has (the only mark when one shows). Each drag is paced (the page
        turns the thing by the pointer's speed) and the screen is let settle before it is
        read; a drag pulls the wanted mark, when it shows, toward the active one, else sweeps
        across the thing sideways, or down when the last sweep left the same side active."""
        overlay = parse.to_detections()
        if not self._turn_looked:  # (a page may still be drawing its first view: look twice)
            self._turn_looked = True
            return StepChoice(Action("wait", amount=300), f"{intent.describe()}: look again "
                              "once the page is still", overlay=overlay)
        if self._previous is not None and self._previous.shape == parse.image.shape and \
                self._turn_waits < 6 and \
                np.abs(self._previous.astype(np.int16) - parse.image).max(axis=2).mean() > 0.2:
            self._turn_waits += 1
            return StepChoice(Action("wait", amount=500), f"{intent.describe()}: still turning; "
                              "waiting", overlay=overlay)
        self._turn_waits = 0
        marks = [f for f in self.figures(parse) if f.shape == "glyph" and f.extent >= 8]
        # (a mark on a turned side may be upside down or askew: read it at every turn, among
        # the characters of the wanted mark's kind)
        kind = "0123456789" if intent.text.isdigit() else shapes.GLYPHS
        read = [shapes.identify_turned_glyph(parse.image, f.box, chars=kind) for f in marks]
        marks = [dataclasses.replace(f, char=c, score=sc) for f, (c, sc) in zip(marks, read,
                                                                              strict=True)]
        marks = [f for f in marks if f.colour not in ("white", "grey")]  # (faint, far sides)
        colours = [f.colour for f in marks]
        odd = [f for f in marks if colours.count(f.colour) == 1]
        if len(marks) >= 3 and len(odd) == 1:  # the colour that marks the active side
            self._active_colour = odd[0].colour
        if self._active_colour:
            odd = [f for f in marks if f.colour == self._active_colour]
        elif len(marks) != 1:
            odd = odd if len(marks) >= 3 else []
        active = odd[0] if len(odd) == 1 else None
        seen = ", ".join(f"{f.char}:{f.colour}:{f.score:.2f}" for f in marks)
        if active is not None and _same_mark(active.char, intent.text) and \
                active.score >= TURN_READ:  # (a side seen askew reads poorly: turn on)
            self._intents.popleft()
            self._turns = 0
            step = self._decide(parse.image, given)
            step.summary = f"{intent.describe()}: {active.describe()} is active ({seen}); " + \
                step.summary
            return step
        if not marks or self._turns >= 12:
            self._intents.popleft()
            self._turns = 0
            step = self._decide(parse.image, given)
            step.summary = f"{intent.describe()}: gave up ({seen or 'no marks'}); " + step.summary
            return step
        x1 = min(f.box[0] for f in marks)
        y1 = min(f.box[1] for f in marks)
        x2 = max(f.box[2] for f in marks)
        y2 = max(f.box[3] for f in marks)
        cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        wanted = [f for f in marks if _same_mark(f.char, intent.text) and f is not active]
        self._turns += 1
        if wanted and active is not None:
            (ax, ay), (bx, by) = wanted[0].point, active.point
            d = max(math.hypot(bx - ax, by - ay), 1.0)
            sx, sy = cx - TURN_DRAG * (bx - ax) / d / 2, cy - TURN_DRAG * (by - ay) / d / 2
            ex, ey = cx + TURN_DRAG * (bx - ax) / d / 2, cy + TURN_DRAG * (by - ay) / d / 2
            why = f"pull {wanted[0].describe()} toward the active {active.describe()}"
        else:  # a sweep that left the same side active: the other way this time
            now = active.char if active is not None else ""
            if self._turn_last[0] == now:
                self._turn_last = (now, "down" if self._turn_last[1] == "right" else "right")
            way = self._turn_last[1] or "right"
            self._turn_last = (now, way)
            sx, sy, ex, ey = (cx, cy - TURN_DRAG / 2, cx, cy + TURN_DRAG / 2) if way == "down" \
                else (cx - TURN_DRAG / 2, cy, cx + TURN_DRAG / 2, cy)
            why = f"sweep {way} across it"
        self._waits = 0
        return StepChoice(Action.drag(sx, sy, ex, ey, pace_ms=TURN_PACE_MS),
                          f"{intent.describe()}: marks {seen}; {why}", point=(sx, sy),
                          overlay=overlay)

    # -- one thing dragged onto another ---------------------------------------------------
    def _frames(self, parse: ScreenParse) -> list[tuple[int, int, int, int]]:
        """Hollow frames drawn on the page (places to drop things into), largest first; when
        none is found, the empty boxes perception took for text fields."""
        top = parse.banner[3] if parse.banner is not None else 0
        widgets = [e.box for e in parse.elements if e.kind == "input" or
                   (e.kind == "button" and e.text_boxes)]
        frames = geometry.find_frames(parse.image, top=top, exclude=widgets)
        if not frames:  # an empty box taken for a text field (a figure touching its side)
            frames = sorted((e.box for e in parse.elements if e.kind == "input" and not e.text
                             and not e.text_boxes and min(e.width, e.height) >= 16),
                            key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
        return frames

    def _thing(self, figure: tuple[str, ...] | None, name: str, parse: ScreenParse,
               avoid: tuple[int, int, int, int] | None) -> tuple[tuple[int, int, int, int],
                                                             str] | None:
        """The box of the figure ``figure`` describes (the largest for ``large``, the smallest
        for ``small``; a box, any shape: a hollow frame first when it is where something is
        dropped, ``avoid`` given, of the colour named; a 4th part ``left`` / ``right`` /
        ``top`` / ``bottom`` picks the one furthest that way), else of the element whose text
        reads ``name``; never the one at ``avoid``, nor one that overlaps it unless a size
        word tells them apart; with a description."""
        if figure is not None:
            size, colour, what = figure[:3]
            side = figure[3] if len(figure) > 3 else ""

            def apart(box: tuple[int, int, int, int]) -> bool:
                if avoid is None:
                    return True
                return not _overlap(box, avoid) or (bool(size) and _iou(box, avoid) < 0.5)

            top = parse.banner[3] if parse.banner is not None else 0
            boxes = shapes.coloured_boxes(parse.image, top=top) \
                if what in ("rectangle", "shape", "") else []  # (boxes taken for buttons)
            figs: list[shapes.Figure] = []
            for pool, sized in ((self.figures(parse), size), (boxes, size),
                                (self.figures(parse), ""), (boxes, "")):
                # (one size on the screen: the size word says nothing)
                figs = figs or [f for f in pool if shapes.matches(f, sized, colour, what)
                                and apart(f.box)]
            if (not figs or avoid is not None or side) and what in ("rectangle", "shape", ""):
                # a place to drop into: a hollow box (a frame, of the colour named) before a
                # filled one (a text field is none; an empty "button" may be one)
                frames = [b for b in self._frames(parse)
                          if (avoid is None or not box_within(avoid, b, margin=0)) and
                          (not colour or colour_matches(colour,
                                                        geometry.frame_colour(parse.image, b)))]
                if frames:
                    box = arrange.on_side(frames, side) if side else \
                        frames[-1] if size == "small" else frames[0]
                    return box, f"{side + ' ' if side else ''}frame {box}"
            if not figs:
                return None
            if side:
                box = arrange.on_side([f.box for f in figs], side)
                fig = next(f for f in figs if f.box == box)
            else:
                fig = min(figs, key=lambda f: f.extent) if size == "small" else \
                    max(figs, key=lambda f: f.extent)
            return fig.box, fig.describe()
        if not name:
            return None
        parse = self._read(parse, ANY_KIND)
        cands = [e for e in parse.elements if e.text and e.kind in ANY_KIND and
                 (avoid is None or not _overlap(e.box, avoid))]
        best = self._best_text(name, cands)
        if best is None or best.score < self.match_threshold:
            return None
        return best.element.box, best.element.describe()

    def _press_point(self, image: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
        """Where to press on a thing to drag it: the ink of it nearest its box's middle."""
        x1, y1, x2, y2 = box
        ink = geometry.stroke_mask(image)[y1:y2, x1:x2]
        ys, xs = np.nonzero(ink)
        if not len(xs):
            return (x1 + x2) / 2.0, (y1 + y2) / 2.0
        k = int(np.argmin((xs + 0.5 - (x2 - x1) / 2.0) ** 2 + (ys + 0.5 - (y2 - y1) / 2.0) ** 2))
        return float(x1 + xs[k]), float(y1 + ys[k])

    def _carry(self, intent: Intent, parse: ScreenParse, given: str) -> StepChoice:
        """Drag one thing (a figure, or an element by its text) onto another: from the middle
        of the one to the middle of the other (``by:``: a step in a direction; ``repeat``:
        every figure that fits, one drag each, into free room of the place); then look
        again: the thing has left its place (done), else it is dragged once more from the
        ink it shows."""
        overlay = parse.to_detections()
        kind, _, where = intent.place.partition(":")
        if intent.repeat:
            return self._carry_every(intent, parse, given)
        src = self._thing(intent.figure, intent.target, parse, None)
        if self._carried is not None:
            before, tries = self._carried
            moved = src is None or not _overlap(src[0], before) or \
                abs(src[0][0] - before[0]) + abs(src[0][1] - before[1]) > 4
            if moved or tries >= 2:
                self._carried = None
                self._intents.popleft()
                self._waits = 0
                step = self._decide(parse.image, given)
                step.summary = f"{intent.describe()}: " + \
                    ("moved; " if moved else "did not move (gave up); ") + step.summary
                return step
        if src is None:
            return self._wait_for(f"{intent.describe()}: nothing to drag", overlay)
        (x1, y1, x2, y2) = src[0]
        tries = self._carried[1] + 1 if self._carried is not None else 1
        if tries > 1:  # press on the thing's own ink this time
            x, y = self._press_point(parse.image, src[0])
        else:
            x, y = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        if kind == "by":
            rows, cols = (int(v) for v in where.split(":"))
            h, w = parse.image.shape[:2]
            top = parse.banner[3] if parse.banner is not None else 0
            ex, ey = arrange.step_point((x, y), rows, cols, max(x2 - x1, y2 - y1),
                                        bounds=(0, top, w, h))
            onto = f"({ex:.0f},{ey:.0f})"
        else:
            parts = where.split(",")
            dest_fig = tuple(parts) if kind == "onto-figure" and len(parts) >= 3 else None
            dest = self._thing(dest_fig, "" if dest_fig else where, parse, src[0])
            if dest is None:
                return self._wait_for(f"{intent.describe()}: {src[1]}; no place to drop it",
                                      overlay)
            a1, b1, a2, b2 = dest[0]
            ex, ey = (a1 + a2) / 2.0, (b1 + b2) / 2.0
            onto = dest[1]
        self._carried = (src[0], tries)
        self._waits = 0
        return StepChoice(Action.drag(x, y, ex, ey), f"{intent.describe()}: {src[1]} onto "
                          f"{onto}", point=(x, y), overlay=overlay,
                          target=tuple(float(v) for v in src[0]))

    def _carry_every(self, intent: Intent, parse: ScreenParse, given: str) -> StepChoice:
        """Carry every figure that fits ``intent.figure`` (``rest``: every figure no other
        move of the plan describes) and is not yet inside a frame into the place the intent
        names, one drag per step, each into free room there; a figure that stays put after
        two drags is left. Done when none is left outside."""
        overlay = parse.to_detections()
        kind, _, where = intent.place.partition(":")
        frames = self._frames(parse)
        others = [i.figure for i in self.plan.intents
                  if i.op == "move" and i.figure is not None and not i.rest and i != intent]
        size, colour, what = (intent.figure or ("", "", ""))[:3]
        figs = [f for f in self.figures(parse)
                if not any(_overlap(f.box, b) for b in frames) and f.box not in self._left_alone
                and (not intent.rest or not any(shapes.matches(f, *o[:3]) for o in others))
                and (intent.rest or shapes.matches(f, size, colour, what))]
        if self._carried is not None:
            before, tries = self._carried
            if any(f.box == before for f in figs) and tries >= 2:
                self._left_alone.add(before)
                figs = [f for f in figs if f.box != before]
        if not figs:
            self._carried = None
            self._left_alone = set()
            self._intents.popleft()
            self._waits = 0
            step = self._decide(parse.image, given)
            step.summary = f"{intent.describe()}: none left to carry; " + step.summary
            return step
        fig = min(figs, key=lambda f: (f.box[1], f.box[0]))
        parts = where.split(",")
        dest_fig = tuple(parts) if kind == "onto-figure" and len(parts) >= 3 else None
        dest = self._thing(dest_fig, "" if dest_fig else where, parse, fig.box)
        if dest is None:
            return self._wait_for(f"{intent.describe()}: {fig.describe()}; no place to drop it",
                                  overlay)
        tries = self._carried[1] + 1 if self._carried is not None and \
            self._carried[0] == fig.box else 1
        x, y = ((fig.box[0] + fig.box[2]) / 2.0, (fig.box[1] + fig.box[3]) / 2.0) if tries == 1 \
            else self._press_point(parse.image, fig.box)
        ink = geometry.stroke_mask(parse.image)
        ex, ey = arrange.frame_slot(ink, dest[0], fig.extent)
        self._carried = (fig.box, tries)
        self._waits = 0
        return StepChoice(Action.drag(x, y, ex, ey), f"{intent.describe()}: {fig.describe()} "
                          f"into {dest[1]} at ({ex:.0f},{ey:.0f})", point=(x, y),
                          overlay=overlay, target=tuple(float(v) for v in fig.box))

    # -- widgets resized by their grip ---------------------------------------------------
    def _shell(self, intent: Intent, image: np.ndarray) -> StepChoice:
        """Run a command on a file in a console on the page (:mod:`lavr.episodes.gui.console`):
        list the files (``ls``), type every character once more at the prompt so the page
        draws its own font, read the listing with those glyphs, erase them, then run the
        command on each file that fits the request, best reading first (a wrong spelling
        only gets a "not found" from the shell)."""
        request = parse_shell_request(self.instruction)
        top = self._first_parse.banner[3] if self._first_parse and self._first_parse.banner else 0
        box = find_console(image, top=top)
        if request is None or box is None:
            self._intents.popleft()
            return StepChoice(Action("done"), f"{intent.describe()}: no console on the screen")
        if self._shell_phase == "list":
            self._shell_phase = "learn"
            cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
            self._pending.append(Action("type", text="ls\n", amount=300))
            return StepChoice(Action.click(cx, cy), "console: focus it, then list the files (ls)")
        if self._shell_phase == "learn":
            self._shell_phase = "run"
            self._shell_listing = image
            return StepChoice(Action("type", text=GLYPH_SHEET, amount=100),
                              "console: type every character once to learn its font")
        if self._shell_phase == "run":
            self._shell_phase = "try"
            glyphs = learn_glyphs(text_ink(image, box))
            listing = self._shell_listing if self._shell_listing is not None else image
            words = command_output(text_ink(listing, box), glyphs, "ls") if glyphs else []
            self._shell_tries = pick_files(words, request)[:3]
            logger.info("console listing read as %s; files for %s: %s", words, request.what,
                        self._shell_tries)
            return StepChoice(Action("key", key="<Backspace>", amount=len(GLYPH_SHEET)),
                              f"console: erase the typed characters; listing read as {words}")
        if not self._shell_tries:
            self._intents.popleft()
            return StepChoice(Action("done"), f"console: no file {request.what} read")
        name = self._shell_tries.pop(0)
        return StepChoice(Action("type", text=f"{request.command} {name}\n", amount=300),
                          f"console: {request.command} {name} ({request.what})")

    def _resize(self, intent: Intent, parse: ScreenParse, given: str) -> StepChoice:
        """Resize a widget by dragging its resize grip (the bottom-right corner of a text
        area): by :data:`RESIZE_BY` px along the dimension the intent names (less when it
        shrinks a small widget or grows one near the screen's edge), then look again: the
        widget's size changed the right way ends it, else the very corner is dragged (twice
        at most)."""
        overlay = parse.to_detections()
        dim, sign = intent.text.split(":")
        s = 1 if sign == "+" else -1
        fields = parse.of_kind(*intent.kinds)
        if self._resized is not None:  # the same widget: its top-left corner stays put
            before, tries = self._resized
            same = [e for e in fields if abs(e.box[0] - before[0]) <= 2 and
                    abs(e.box[1] - before[1]) <= 2]
            if same:
                box = same[0].box
                dw, dh = (box[2] - box[0]) - (before[2] - before[0]), \
                    (box[3] - box[1]) - (before[3] - before[1])
                done = {"width": s * dw > 0, "height": s * dh > 0,
                        "both": s * dw >= 0 and s * dh >= 0 and (dw or dh)}[dim]
                why = f"{intent.describe()}: {before} -> {box}"
                if done or tries >= 2:
                    self._intents.popleft()
                    self._resized = None
                    self._waits = 0
                    step = self._decide(parse.image, given)
                    step.summary = f"{why}{'' if done else ' (gave up)'}; " + step.summary
                    return step
            fields = same or fields
        grips = [e for e in fields if e.icon == "grip"]
        if not grips and not fields:
            return self._wait_for(f"{intent.describe()}: no such widget on the screen", overlay)
        el = grips[0] if grips else max(fields, key=lambda e: e.width * e.height)
        x1, y1, x2, y2 = el.box
        h, w = parse.image.shape[:2]
        tries = self._resized[1] + 1 if self._resized is not None else 1
        gx, gy = (x2 - 4.0, y2 - 4.0) if tries == 1 else (x2 - 1.5, y2 - 1.5)

        # room to grow: up to the next element to the right / below, or the screen's edge
        right = min([e.box[0] for e in parse.elements if e.box[0] >= x2 and
                     min(e.box[3], y2) > max(e.box[1], y1)] + [w])
        below = min([e.box[1] for e in parse.elements if e.box[1] >= y2 and
                     min(e.box[2], x2) > max(e.box[0], x1)] + [h])

        def by(size: int, room: float) -> float:
            return max(min(RESIZE_BY, room - 4), 4.0) if s > 0 else \
                -min(RESIZE_BY, max(size - 12, 4) / 2)

        dx = by(x2 - x1, right - x2) if dim in ("width", "both") else 0.0
        dy = by(y2 - y1, below - y2) if dim in ("height", "both") else 0.0
        self._resized = (el.box, tries)
        self._waits = 0
        return StepChoice(Action.drag(gx, gy, gx + dx, gy + dy), f"{intent.describe()}: "
                          f"{el.describe()}; drag its {'grip' if grips else 'corner'} by "
                          f"({dx:+.0f},{dy:+.0f})", point=(gx, gy), overlay=overlay,
                          target=tuple(float(v) for v in el.box))

    # -- lists and grids reordered by dragging -------------------------------------------
    def _layout(self, parse: ScreenParse) -> tuple[arrange.Layout, list[str]] | None:
        """The items of the list or grid on the page (below the banner), with their texts
        (each item's own text: a mark every item shows alike, a drag handle, is left out)."""
        top = parse.banner[3] if parse.banner is not None else 0
        kinds = ("button", "input", "text", "link")
        layout = arrange.find_layout([e.box for e in parse.elements
                                      if e.kind in kinds and e.box[1] >= top])
        if layout is None:
            return None
        own = arrange.item_text_boxes(parse.image, ink_mask(parse.image), layout.boxes)
        boxes = [b for b in own if b is not None]
        reads = iter(self.text_reader.read(parse.image, boxes) if boxes else [])
        texts = [next(reads)[0] if b is not None else "" for b in own]
        return layout, texts

    def _item_values(self, parse: ScreenParse, layout: arrange.Layout,
                     texts: list[str]) -> list[float | str]:
        """What each item is sorted by: its number when every item shows one, else its text.
        A number is read glyph by glyph where the glyphs read as one (light grey ink counts:
        OCR read ``-2`` as ``22`` and ``-39`` as ``-9`` in a list's small grey font), else by
        OCR with a minus OCR dropped seen in the glyphs."""
        own = arrange.item_text_boxes(parse.image, ink_mask(parse.image), layout.boxes)
        out: list[float | str] = []
        for box, text in zip(own, texts, strict=True):
            n = read_number(text) if re.search(r"\d", text) else None
            glyphs = None
            if box is not None and n is not None:  # (OCR says it is a number at all)
                glyphs = plots.read_label(parse.image, box, ink_grey=200.0)
                if glyphs is None:
                    glyphs = plots.read_label(parse.image, box)
            if glyphs is not None:
                if glyphs != n:
                    logger.info("item %r read %s glyph by glyph", text, glyphs)
                out.append(glyphs)
            elif n is not None:
                lost = n > 0 and box is not None and \
                    numbers.minus_bar(parse.image, box) is not None
                out.append(-n if lost else n)  # (OCR drops a lone minus)
            else:
                return [normalise_text(t) for t in texts]
        return out

    def _reorder(self, intent: Intent, parse: ScreenParse, given: str) -> StepChoice:
        """Reorder a list or grid by dragging its items: one named item to a place
        (``place``), or every item into sorted order, one drag at a time (the item that
        belongs at the first wrong place goes there). Every step reads the items again, so
        a drag that did not take is seen and made again."""
        overlay = parse.to_detections()
        found = self._layout(parse)
        if found is None:
            return self._wait_for(f"{intent.describe()}: no list of items on the screen", overlay)
        layout, texts = found
        where = f"{layout.describe()}: {', '.join(texts)}"
        if self._reorder_seen is not None:
            self._reorder_stuck += tuple(texts) == self._reorder_seen
        if self._reorder_stuck >= 2 or self._reorder_moves > 2 * len(layout):
            self._intents.clear()
            self._reset_reorder()
            return StepChoice(Action("done"), f"gave up: {intent.describe()}: {where}; "
                              "the drags do not reorder it", overlay=overlay)
        if intent.place.startswith("sort:"):
            values = self._item_values(parse, layout, texts)
            move = arrange.next_sort_move(values, intent.place[5:])
            if move is None:
                return self._reorder_done(intent, parse, given, f"{where}: in order")
            src, dst = move
            why = f"{intent.describe()}: {where}; put {texts[src]!r} at place #{dst + 1}"
        else:
            scored = [(text_similarity(t, intent.target), i) for i, t in enumerate(texts)]
            score, src = max(scored)
            if score < self.match_threshold:
                return self._wait_for(f"{intent.describe()}: {where}; none reads "
                                      f"{intent.target!r}", overlay)
            if self._reorder_goal is not None and src == self._reorder_goal:
                return self._reorder_done(intent, parse, given, f"{where}: in place")
            place = arrange.Place.from_spec(intent.place)
            if place.kind == "item" and place.n == 0 and self._reorder_goal is None:
                # a swap: this item to the other's place, then the other to this one's
                other = layout.resolve(place, src, names=texts)
                if other is not None and other != src:
                    self._intents[0] = dataclasses.replace(
                        intent, place=arrange.Place("index", n=other + 1).spec())
                    self._intents.insert(1, dataclasses.replace(
                        intent, target=texts[other], place=arrange.Place("index", n=src + 1).spec()))
                    return self._reorder(self._intents[0], parse, given)
            # (a place relative to the item is worked out once, before it moves)
            dst = self._reorder_goal if self._reorder_goal is not None else \
                layout.resolve(place, src, names=texts)
            if dst is None:
                self._intents.clear()
                return StepChoice(Action("done"), f"gave up: {intent.describe()}: {where}; "
                                  f"no such place for item #{src + 1}", overlay=overlay)
            if dst == src:
                return self._reorder_done(intent, parse, given, f"{where}: already there")
            self._reorder_goal = dst
            why = f"{intent.describe()}: {where}; {texts[src]!r} is item #{src + 1}, goes to #{dst + 1}"
        x1, y1, x2, y2 = layout.boxes[src]
        x, y = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        via, (ex, ey) = layout.drag_path(src, dst)
        self._reorder_moves += 1
        self._reorder_seen = tuple(texts)
        self._waits = 0
        return StepChoice(Action.drag(x, y, ex, ey, via=via),
                          f"{why}: drag it to ({ex:.0f},{ey:.0f})",
                          point=(x, y), overlay=overlay, target=tuple(float(v) for v in layout.boxes[src]))

    def _reorder_done(self, intent: Intent, parse: ScreenParse, given: str, why: str) -> StepChoice:
        self._intents.popleft()
        self._reset_reorder()
        self._waits = 0
        step = self._decide(parse.image, given)
        step.summary = f"{intent.describe()}: {why}; " + step.summary
        return step

    def _draw_through(self, intent: Intent, parse: ScreenParse, top: int,
                      exclude: list[tuple[int, int, int, int]]) -> StepChoice:
        """Draw a vertical or horizontal line through the figure the intent names (the only
        figure when it names none): a drag across its centre, as far each way as the page is
        free (up to a frame, another figure or a widget; at most 40 px)."""
        overlay = parse.to_detections()
        at = self._choose_point(intent, parse)
        if at is None:
            return self._wait_for(f"{intent.describe()}: no such figure on the screen", overlay)
        box, (x, y) = at.element.box, at.element.click_point
        d = (0.0, 1.0) if intent.geometry == "vertical" else (1.0, 0.0)
        back = geometry.free_reach(parse.image, (x, y), (-d[0], -d[1]), top=top, exclude=exclude,
                                   skip=box)
        on = geometry.free_reach(parse.image, (x, y), d, top=top, exclude=exclude, skip=box)
        x1, y1, x2, y2 = x - d[0] * back, y - d[1] * back, x + d[0] * on, y + d[1] * on
        self._intents.popleft()
        self._waits = 0
        return StepChoice(Action.drag(x1, y1, x2, y2), f"{intent.describe()}: through "
                          f"({x:.0f},{y:.0f}) ({at.reason}), {back:.0f} px one way and {on:.0f} "
                          "px the other", point=(x1, y1), overlay=overlay,
                          target=tuple(float(v) for v in box))

    def _draw_shape(self, intent: Intent, parse: ScreenParse, top: int,
                    exclude: list[tuple[int, int, int, int]]) -> StepChoice:
        """Draw a circle, square or triangle by hand: one drag along its outline, closed.
        Around the figure the intent names (a little larger than it), else in the middle of
        the frame drawn on the page (a canvas), else of the free page below the banner; as
        large as the room there allows (``small``: half of it)."""
        overlay = parse.to_detections()
        image = parse.image
        h, w = image.shape[:2]
        if intent.figure is not None:
            at = self._choose_point(intent, parse)
            if at is None:
                return self._wait_for(f"{intent.describe()}: no such figure", overlay)
            box, (cx, cy) = at.element.box, at.element.click_point
            least = max(box[2] - box[0], box[3] - box[1]) / 2.0 + 6.0
            why = f"around {at.reason}"
        else:
            frames = geometry.find_frames(image, top=top, exclude=exclude)
            fx1, fy1, fx2, fy2 = frames[0] if frames else (0, top, w, min(
                [e.box[1] for e in parse.elements if e.box[1] > top] + [h]))
            cx, cy = (fx1 + fx2) / 2.0, (fy1 + fy2) / 2.0
            box = (int(cx), int(cy), int(cx) + 1, int(cy) + 1)
            least = 8.0
            why = f"in the middle of {'the frame ' + str(frames[0]) if frames else 'the page'}"
        room = min(geometry.free_reach(image, (cx, cy), d, top=top, exclude=exclude, skip=box,
                                       limit=60.0, edge=geometry.SCREEN_EDGE)
                   for d in ((1, 0), (-1, 0), (0, 1), (0, -1)))
        r = max(least, room * (0.5 if intent.text in ("small", "little") else 0.85))
        shape = intent.geometry[6:]
        if shape == "circle":
            pts = [(cx + r * math.cos(t), cy + r * math.sin(t))
                   for t in np.linspace(0.0, 2 * math.pi, 25)]
        elif shape == "triangle":
            pts = [(cx + r * math.cos(t), cy + r * math.sin(t))
                   for t in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6, -math.pi / 2)]
        else:  # a square (a rectangle: as wide as tall)
            s = r / math.sqrt(2.0)
            pts = [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s),
                   (cx - s, cy - s)]
        self._intents.popleft()
        self._waits = 0
        (x, y), (ex, ey) = pts[0], pts[-1]
        return StepChoice(Action.drag(x, y, ex, ey, via=tuple(pts[1:-1])),
                          f"{intent.describe()}: {why}, radius {r:.0f} px (room {room:.0f})",
                          point=(x, y), overlay=overlay)

    def _draw_joining(self, intent: Intent, parse: ScreenParse) -> StepChoice:
        """Draw a line joining two figures: a drag from the centre of one to the other (the
        two largest that fit the intent's description)."""
        overlay = parse.to_detections()
        size, colour, what = intent.figure or ("", "", "")
        figs = sorted((f for f in self.figures(parse) if shapes.matches(f, size, colour, what)),
                      key=lambda f: -f.extent)
        if len(figs) < 2:
            return self._wait_for(f"{intent.describe()}: {len(figs)} such figure(s) on the "
                                  "screen", overlay)
        (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = figs[0].box, figs[1].box
        a, b = ((ax1 + ax2) / 2.0, (ay1 + ay2) / 2.0), ((bx1 + bx2) / 2.0, (by1 + by2) / 2.0)
        self._intents.popleft()
        self._waits = 0
        return StepChoice(Action.drag(*a, *b), f"{intent.describe()}: from {figs[0].describe()} "
                          f"to {figs[1].describe()}", point=a, overlay=overlay)

    def _square_corner(self, intent: Intent, parse: ScreenParse, top: int,
                       exclude: list[tuple[int, int, int, int]]) -> StepChoice:
        """Add a point that makes a 90-degree angle with the segment drawn on the page: click a
        point square to it at one end (:func:`geometry.square_points`, both ends' points in
        turn); the page's answer says what happened: a line it draws from the new point to
        that end is done; to the other end: that end is the corner, its points are tried;
        no line at all: the point missed the canvas, the next point is tried
        (:data:`SQUARE_TRIES` clicks at most)."""
        overlay = parse.to_detections()
        image = parse.image
        if self._square is None:
            seg = geometry.longest_segment(image, top=top, exclude=exclude)
            if seg is None:
                return self._wait_for(f"{intent.describe()}: no segment on the screen", overlay)
            ends = geometry.marked_ends(seg, image, top=top, exclude=exclude)
            cands = [(c, p) for c in (0, 1) for p in geometry.square_points(
                ends[c], ends[1 - c], image, top=top, exclude=exclude)]
            return self._square_click(intent, parse, ends, cands, 0, "")
        before, ends, cands, (corner, point), tries = self._square
        changed = np.abs(image.astype(np.int16) - before.astype(np.int16)).max(axis=2) > \
            geometry.STROKE_DIFF
        fits = [geometry.joins(changed, point, e, tol=3) for e in ends]
        joined = int(np.argmax(fits))
        why = (f"{intent.describe()}: the new point's line joins end {joined + 1} "
               f"({fits[0]:.2f} / {fits[1]:.2f} of the way)")
        if max(fits) >= 0.6 and joined == corner:
            cands = []  # done: the corner is where the point was put
        elif max(fits) >= 0.6:
            cands = [c for c in cands if c[0] == joined]  # that end is the corner
        else:
            why = f"{intent.describe()}: no line came (the point missed)"
        if cands and tries < SQUARE_TRIES:
            return self._square_click(intent, parse, ends, cands, tries, why)
        self._square = None
        self._intents.popleft()
        self._waits = 0
        step = self._decide(image, "")
        step.summary = f"{why}; done; " + step.summary
        return step

    def _square_click(self, intent: Intent, parse: ScreenParse,
                      ends: tuple[geometry.Point, geometry.Point],
                      cands: list[tuple[int, geometry.Point]], tries: int, why: str) -> StepChoice:
        overlay = parse.to_detections()
        if not cands:
            self._square = None
            self._intents.popleft()
            return StepChoice(Action("done"), f"{intent.describe()}: no room for the point",
                              overlay=overlay)
        corner, point = cands[0]
        self._square = (parse.image, ends, cands[1:], (corner, point), tries + 1)
        self._waits = 0
        c = ends[corner]
        x, y = point
        return StepChoice(Action.click(x, y), (f"{why}; " if why else "") +
                          f"{intent.describe()}: corner at ({c[0]:.0f},{c[1]:.0f}); click the "
                          f"point square to the segment there ({x:.0f},{y:.0f})",
                          point=(x, y), overlay=overlay)

    def _slide(self, intent: Intent, parse: ScreenParse, given: str) -> StepChoice:
        """Move a slider until the value shown beside it reads the intent's number: focus the
        handle with a click and press the arrow keys as many times as the value is off (the
        value change per press learnt from the last round; later rounds press on, the handle
        keeps the focus); when keys do not move it, drag the handle, a probe first to learn
        the value change per pixel. Each round reads the value again."""
        overlay = parse.to_detections()
        top, exclude = self._drawing_area(parse)
        found = sliders.find_sliders(parse.image, top=top, exclude=exclude)
        want = read_number(intent.text)
        # a focused slider may be drawn inside a focus ring that hides its shape: the one
        # seen before the keys were pressed is still where its value is shown
        slider = found[0] if found else self._slider_seen if self._slides else None
        if slider is None or want is None:
            return self._wait_for(f"{intent.describe()}: no slider on the screen", overlay)
        if self._slider_seen is None:
            self._slider_seen = slider  # (as first seen: not joined to a label, not focused)
        expect = None
        if self._slide_from is not None and not self._slide_drag:
            expect = self._slide_from[0] + self._slide_sign * self._keys_sent * self._slide_rate
        shown = self._slider_value(parse, self._slider_seen, top, expect)
        if shown is None:
            return self._wait_for(f"{intent.describe()}: no value beside the {slider.describe()}",
                                  overlay)
        value = shown
        if value == want:
            self._intents.popleft()
            self._reset_slide()
            self._waits = 0
            done = self._decide(parse.image, given)
            done.summary = f"the slider shows {value:g}; " + done.summary
            return done
        if self._slides >= MAX_SLIDES:
            self._intents.clear()
            return StepChoice(Action("done"), f"gave up: {intent.describe()} still shows "
                                              f"{value:g} after {self._slides} moves",
                              overlay=overlay)
        axis = 1 if slider.vertical else 0
        place = slider.grip[axis]
        if self._slide_from is not None:
            before, at = self._slide_from
            moved = value - before
            if moved == 0 and not self._slide_drag:
                self._slide_drag, self._slide_rate = True, 0.0  # keys do nothing here
            elif moved and self._slide_drag and abs(place - at) >= 1:
                self._slide_rate = abs(moved / (place - at))
            elif moved and not self._slide_drag and self._keys_sent >= 3:
                # a step is learnt from several presses, and only a round one (1, 5, 0.5 ...):
                # a misread or a stop at the end of the scale gives none
                step = abs(moved) / self._keys_sent
                if any(abs(step - r) <= 0.03 * r for r in ROUND_STEPS):
                    self._slide_rate = step
        self._slides += 1
        self._slide_from = (value, place)
        diff = want - value
        x, y = slider.grip
        why = f"{intent.describe()}: {slider.describe()} shows {value:g}"
        if not self._slide_drag:
            n = max(int(round(abs(diff) / self._slide_rate)), 1)
            self._keys_sent, self._slide_sign = n, (1.0 if diff > 0 else -1.0)
            key = ("<ArrowUp>" if diff > 0 else "<ArrowDown>") if slider.vertical else \
                ("<ArrowRight>" if diff > 0 else "<ArrowLeft>")
            if self._slides > 1:  # the handle kept the focus the last round gave it
                return StepChoice(Action.press(key, n), f"{why}; {key} x{n} more", overlay=overlay,
                                  target=tuple(float(v) for v in slider.box))
            self._pending.append(Action.press(key, n))
            return StepChoice(Action.click(x, y), f"{why}; focus its handle, then {key} x{n}",
                              point=(x, y), overlay=overlay,
                              target=tuple(float(v) for v in slider.handle))
        if not found:
            self._intents.clear()
            return StepChoice(Action("done"), f"gave up: {why}; the keys do not move it and "
                              "its handle is not seen to drag it", overlay=overlay)
        # up the screen is up the scale on a vertical slider
        sign = (-1.0 if slider.vertical else 1.0) * (1.0 if diff > 0 else -1.0)
        pixels = abs(diff) / self._slide_rate if self._slide_rate > 0 else PROBE_DRAG
        lo, hi = slider.track
        to = float(np.clip(place + sign * pixels, lo, hi))
        x2, y2 = (x, to) if slider.vertical else (to, y)
        return StepChoice(Action.drag(x, y, x2, y2), f"{why}; the keys do not move it: drag "
                          f"the handle to ({x2:.0f},{y2:.0f})", point=(x, y), overlay=overlay,
                          target=tuple(float(v) for v in slider.handle))

    def _slider_value(self, parse: ScreenParse, slider: sliders.Slider, top: int,
                      expect: float | None) -> float | None:
        """The number shown beside a slider, read by OCR, or None.

        The dark ink around the slider (within :data:`sliders.LABEL_REACH` px, below the
        banner, outside the slider and the labelled widgets) is cut into text runs, each read
        (the parser's elements are not used: it may take a focused handle and the value
        beside it for one text, or the handle for a checkbox). When the last round's presses
        predict a value (``expect``) and the reading differs, the label is read again at
        other zooms and a reading that agrees with the prediction wins (a misread ``11`` is
        not taken for a step backwards). The label is also read glyph by glyph
        (:func:`~lavr.episodes.gui.plots.read_label`): where it gives the prediction, or the
        OCR number with another sign, or a negative number where OCR read a positive one (a
        minus read as a digit: ``-3`` read ``33``), it wins.
        """
        h, w = parse.image.shape[:2]
        reach = sliders.LABEL_REACH
        area = slider.reach
        x1, y1 = max(area[0] - reach, 0), max(area[1] - reach, top)
        x2, y2 = min(area[2] + reach, w), min(area[3] + reach, h)
        ink = ink_mask(parse.image)[y1:y2, x1:x2].copy()
        _, exclude = self._drawing_area(parse)
        # (the slider's box holds all its faint outline; a label may start right after it)
        for b, m in ((area, 0), *((b, 2) for b in exclude)):
            ink[max(b[1] - m - y1, 0):max(b[3] + m - y1, 0),
                max(b[0] - m - x1, 0):max(b[2] + m - x1, 0)] = False
        boxes = [r for r in text_runs(ink, gap=6, offset=(x1, y1)) if r[3] - r[1] >= 5]
        reads = self.text_reader.read(parse.image, boxes) if boxes else []
        labels = [(b, v) for b, (t, _) in zip(boxes, reads, strict=True)
                  if re.search(r"\d", t) and (v := read_number(t)) is not None]
        shown = sliders.value_label(slider, labels)
        if shown is None:
            return None
        box, value = shown
        # the same label read glyph by glyph (a flat bar is a minus): OCR drops a lone minus
        glyphs = plots.read_label(parse.image, box)
        if glyphs is not None and glyphs != value:
            # (a minus the recogniser read as a digit: "-3" read "33", "-10" read "40")
            if glyphs == expect or abs(glyphs) == abs(value) or glyphs < 0 < value:
                return glyphs
        at_zoom = getattr(self.text_reader, "at_zoom", None)
        if expect is not None and value != expect and at_zoom is not None:
            for zoom in (2.0, 4.0):
                ((t, _),) = at_zoom(zoom).read(parse.image, [box])
                again = read_number(t) if re.search(r"\d", t) else None
                logger.info("slider value read %s at %gx zoom (expected %g, first read %g)",
                            again, zoom, expect, value)
                if again == expect:
                    return again
        return value

    # -- colours and counts ------------------------------------------------------
    def _page_swatches(self, parse: ScreenParse) -> list[swatches.Swatch]:
        """Swatches below the instruction banner."""
        return swatches.find_swatches(parse.image, exclude=[parse.banner] if parse.banner else [])

    def _reference_colour(self, word: str) -> tuple[tuple[float, float, float], str] | None:
        """What ``word`` looks like: the swatch of that colour shown in the instruction when
        there is one (its exact pixels), else the word's prototype; with where it came from."""
        if self._banner is not None:
            image, banner = self._banner
            shown = swatches.find_swatches(image, within=banner.banner) if banner.banner else []
            # (no word: the one swatch shown is the colour)
            named = [s for s in shown if nearest_colour_word(s.rgb) == word or
                     (not word and len(shown) == 1)]
            if named:
                return tuple(float(v) for v in named[0].rgb), "the swatch in the instruction"
        rgb = swatches.reference_colour(word)
        return (tuple(float(v) for v in rgb), f'the colour "{word}"') if rgb else None

    def _shade_intents(self, intent: Intent, parse: ScreenParse) -> list[Intent]:
        """One click per swatch on the page that is a shade of the intent's colour."""
        ref = self._reference_colour(intent.colour)
        found = swatches.shades_of(self._page_swatches(parse), ref[0]) if ref else []
        logger.info("%d shades of %s: %s", len(found), intent.colour,
                    ", ".join(s.describe() for s in found))
        return [dataclasses.replace(intent, shades=False, at=s.center) for s in found]

    def _choose_colour(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        """The swatch of the intent's colour (the one at ``intent.at`` when it was located
        before), by perceptual distance to the reference colour."""
        found = self._page_swatches(parse)
        if not found:
            return None
        if intent.at is not None:
            x, y = intent.at
            near = min(found, key=lambda s: np.hypot(s.center[0] - x, s.center[1] - y))
            if np.hypot(near.center[0] - x, near.center[1] - y) > 4:
                return None
            return Choice(self._swatch_element(near), 1.0, f"{near.describe()} located before")
        ref = self._reference_colour(intent.colour)
        if ref is None:
            return None
        ranked = swatches.closest(found, ref[0])
        dist, best = ranked[0]
        runner = ranked[1][0] if len(ranked) > 1 else float("inf")
        return Choice(self._swatch_element(best), max(0.0, 1.0 - dist / 100.0),
                      f"closest to {ref[1]} (Lab distance {dist:.0f}, next {runner:.0f})",
                      sure=runner > dist + 10)

    def _choose_coordinate(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        """The point at ``intent.coord`` in the units of the axes drawn on the page: the
        axes' tick labels (else the marks strung along them at equal steps) map units to
        pixels; the click snaps to the mark there, if any."""
        assert intent.coord is not None
        image = parse.image
        top = parse.banner[3] if parse.banner is not None else 0
        axes = plots.find_axes(image, top=top)
        if axes is None:
            return None
        xs, ys = plots.label_boxes(image, axes, top=top)
        x_labels = [(v, (b[0] + b[2]) / 2.0) for b in xs
                    if (v := plots.read_label(image, b)) is not None]
        y_labels = [(v, (b[1] + b[3]) / 2.0) for b in ys
                    if (v := plots.read_label(image, b)) is not None]
        found = plots.marks(image, top=top)
        x_map = plots.fit_axis(x_labels) or plots.lattice_axis(
            [m.center[0] for m in found if abs(m.center[1] - axes.row) <= 3], axes.col, sign=1.0)
        y_map = plots.fit_axis(y_labels) or plots.lattice_axis(
            [m.center[1] for m in found if abs(m.center[0] - axes.col) <= 3], axes.row, sign=-1.0)
        if x_map is None or y_map is None:
            logger.info("axes at %s but no scale: x labels %s, y labels %s", axes.crossing,
                        x_labels, y_labels)
            return None
        x, y = x_map.pixel(intent.coord[0]), y_map.pixel(intent.coord[1])
        unit = min(abs(x_map.scale), abs(y_map.scale))
        why = f"axes: x from {x_map.how}, y from {y_map.how}"
        if found:
            near = min(found, key=lambda m: np.hypot(m.center[0] - x, m.center[1] - y))
            if np.hypot(near.center[0] - x, near.center[1] - y) <= 0.5 * unit:
                return Choice(ScreenElement("figure", near.box, anchor=near.center), 1.0,
                              f"{why}; the mark at ({x:.0f},{y:.0f})", sure=True)
        box = (int(x) - 2, int(y) - 2, int(x) + 3, int(y) + 3)
        return Choice(ScreenElement("figure", box, anchor=(x, y)), 0.9, f"{why}; no mark there",
                      sure=True)

    @staticmethod
    def _swatch_element(s: swatches.Swatch) -> ScreenElement:
        return ScreenElement("swatch", s.box, fill=s.rgb)

    def _choose_count(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        """The choice that names how many figures fit the intent's description."""
        assert intent.figure is not None
        size, colour, what = intent.figure
        figs = self.figures(parse)
        if intent.part and figs:  # the parts of the one figure: the largest one drawn
            fig = max(figs, key=lambda f: f.extent)
            n = shapes.count_corners(parse.image, fig.box)
        else:
            n = sum(shapes.matches(f, size, colour, what) for f in figs)
        parse = self._read(parse, intent.kinds)
        valued = [(read_number(c.text), c) for c in parse.of_kind(*intent.kinds) if c.text
                  and not any(_overlap(c.box, f.box) for f in figs)]  # figures are no choices
        valued = [(v, c) for v, c in valued if v is not None]
        widgets = [(v, c) for v, c in valued if c.kind != "text"]
        valued = widgets or valued  # a number on a control answers before a number in text
        if not valued:
            return None
        value, best = min(valued, key=lambda t: abs(t[0] - n))
        why = (f"the figure has {n} {intent.part}" if intent.part else
               f"{n} of {len(figs)} figures fit") + ("" if value == n else
                                                     f"; nearest choice {value:g}")
        return Choice(best, 1.0 if value == n else 0.5, why, sure=value == n)

    # -- widget skills -----------------------------------------------------------
    @staticmethod
    def _ident(el: ScreenElement) -> str:
        """What identifies an element across screens: its text, else its kind and place."""
        return el.text.lower() if el.text else GuiAgent._place(el)

    def _area_of(self, el: ScreenElement) -> tuple[int, int, int, int] | None:
        x, y = el.center
        for a in self._widgets.scroll_areas:
            if a[0] <= x < a[2] and a[1] <= y < a[3]:
                return a
        return None

    def _choose_fitting(self, intent: Intent, parse: ScreenParse) -> Choice | None:
        """The first line (reading order) below the field typed into whose text fits the
        intent's start and end: text lines, and lines inside boxes that popped up below the
        field (suggestions); a suggestion may wrap onto a second line."""
        top = self._typed_box[3] - 2 if self._typed_box is not None else 0
        parse = self._read(parse, intent.kinds)
        lines: list[tuple[tuple[int, int, int, int], str, ScreenElement]] = [
            (e.box, e.text, e) for e in parse.of_kind(*intent.kinds) if e.box[1] >= top]
        ink = ink_mask(parse.image)
        for box in [e.box for e in parse.of_kind("input")
                    if e.box[1] >= top and e.box != self._typed_box]:
            x1, y1, x2, y2 = box
            runs = [r for r in text_runs(ink[y1 + 2:y2 - 2, x1 + 2:x2 - 2], gap=8,
                                         offset=(x1 + 2, y1 + 2)) if r[3] - r[1] >= 4]
            texts = self.text_reader.read(parse.image, runs) if runs else []
            for r, (t, c) in zip(runs, texts, strict=True):
                lines.append((r, t, ScreenElement("text", (x1 + 1, r[1] - 1, x2 - 1, r[3] + 1),
                                                  text_boxes=(r,), text=t, text_confidence=c)))
        lines.sort(key=lambda t: (t[0][1], t[0][0]))
        for _, text, el in lines:
            if fits(text, intent.starts, intent.ends):
                return Choice(el, 1.0, f'"{text}" fits')
        for (box, text, el), (nbox, ntext, _) in zip(lines, lines[1:], strict=False):
            # a line that does not start like the others continues the one above
            if 0 <= nbox[1] - box[3] <= WRAP_GAP and not fits(ntext, intent.starts, "") and \
                    fits(f"{text} {ntext}", intent.starts, intent.ends):
                return Choice(el, 1.0, f'"{text} {ntext}" fits (wrapped onto two lines)')
        return None

    def _set_number(self, intent: Intent, parse: ScreenParse,
                    el: ScreenElement) -> tuple[float, float, list[Action]]:
        """Focus a number field and step it with the arrow keys from its shown value."""
        shown = field_content(parse, el.box, self.text_reader)
        now = read_number(shown)
        want = read_number(intent.text)
        x = el.box[0] + min(12.0, el.width / 3)
        y = el.center[1]
        if want is None:
            return x, y, []
        diff = int(round(want - (now if now is not None else 0.0)))
        if diff == 0:
            return x, y, []
        return x, y, [Action.press("<ArrowUp>" if diff > 0 else "<ArrowDown>", abs(diff))]

    def _explore(self, intent: Intent, parse: ScreenParse, image: np.ndarray) -> StepChoice | None:
        """Look for a target that is not on the screen: choose it in a dropdown, scroll a
        list or panel, or open the next section or tree node not opened yet."""
        if intent.op != "click" or not (intent.target or intent.pictured) or self._path:
            return None  # (an item of a menu path appears when its parent is hovered)
        for el in self._submenus(parse, "submenu"):  # a menu item with a submenu: hover it
            self._tried.add(f"submenu:{self._ident(el)}")
            self._hovered = ([e.box for e in parse.elements], el.box, 0)
            x, y = el.click_point
            return StepChoice(Action.hover(x, y), f"{intent.describe()}: not on screen; open "
                              f"the submenu of {el.describe()}", point=(x, y),
                              target=tuple(float(v) for v in el.box))
        # ... a submenu that opens on a click: a menu's row (a button or link that ends with an
        # arrow, "Next >", "Continue >", goes on rather than opens)
        for el in (e for e in self._submenus(parse, "submenu-click") if e.kind == "text"):
            self._tried.add(f"submenu-click:{self._ident(el)}")
            self._opened = True
            x, y = el.click_point
            return StepChoice(Action.click(x, y), f"{intent.describe()}: not on screen; the "
                              f"hover opened nothing: click {el.describe()} to open its "
                              "submenu", point=(x, y), target=tuple(float(v) for v in el.box))
        for el in parse.of_kind("input") if intent.target else ():
            key = f"dropdown:{intent.target}@{el.box}"
            if el.icon == "dropdown" and key not in self._tried:
                self._tried.add(key)
                self._intents.popleft()
                self._pending.extend([Action.type_text(intent.target), Action.press("<Enter>")])
                x, y = el.center
                return StepChoice(Action.click(x, y), f'{intent.describe()}: not on screen; '
                                  f'choose it in the dropdown {el.describe()} by typing it',
                                  point=(x, y), target=tuple(float(v) for v in el.box))
        if self._last_scroll is not None:
            box, direction, before = self._last_scroll
            self._last_scroll = None
            now = image[box[1]:box[3], box[0]:box[2]]
            if now.shape == before.shape and np.array_equal(now, before):
                self._scrolled_out.append((box, direction))  # that end is reached
        if self._scrolled_page and not intent.scope:  # a list of items scrolled before: look below
            top = parse.banner[3] if parse.banner is not None else 0
            step = self._scroll(image, top, f"{intent.describe()}: not on screen",
                                amount=max(SCROLL_STEP, int(0.7 * (image.shape[0] - top))))
            if step is not None:
                return step
        for box in self._widgets.scroll_areas:
            for direction in (1, -1):  # down while content is cut at the bottom, then back up
                if any(_same_column(b, box) and d == direction for b, d in self._scrolled_out):
                    continue
                if direction == 1 and not _cut_at_bottom(image, box):
                    self._scrolled_out.append((box, 1))  # the bottom is in view: only up now
                    continue
                self._last_scroll = (box, direction, image[box[1]:box[3], box[0]:box[2]].copy())
                x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                return StepChoice(Action.scroll(x, y, direction * SCROLL_STEP),
                                  f"{intent.describe()}: not on screen; scroll the list "
                                  f"{'down' if direction > 0 else 'up'} at ({x:.0f},{y:.0f})",
                                  point=(x, y), target=tuple(float(v) for v in box))
        openers = self._openers(parse)
        if any(e.box == self._weak_box for e in openers):
            return None  # the control weakly matched is one of them: it is the target
        for el in openers:
            self._tried.add(self._ident(el))
            x, y = el.click_point
            self._opened = True
            return StepChoice(Action.click(x, y), f"{intent.describe()}: not on screen; open "
                              f"{el.describe()}", point=(x, y),
                              target=tuple(float(v) for v in el.box))
        return None

    def _retry_menu(self, image: np.ndarray) -> bool:
        """The plan ended by clicking a menu item, yet the menu is still open (an item
        with a submenu still shows) and the item clicked is gone (its submenu closed instead
        of taking the click: a choice made in a menu closes it): once, the click's intent is
        planned again (its submenu is opened anew). True when it was."""
        intent, self._menu_click = self._menu_click, None
        if intent is None or self._menu_retried:
            return False
        parse = self.perceive(image)
        if not self._submenus(parse, "menu-open"):
            return False  # the menu closed: the click took
        choice = self.choose(intent, parse)
        if choice is not None and choice.score >= STRICT_MATCH:
            return False  # the item is still there: nothing says the click failed
        self._menu_retried = True
        self._tried = {k for k in self._tried if not k.startswith("submenu")}
        self._intents.append(intent)
        logger.info("the menu is still open without the item clicked: %s again",
                    intent.describe())
        return True

    def _submenus(self, parse: ScreenParse, way: str) -> list[ScreenElement]:
        """Menu items that open a submenu (their label ends with an arrow: ``Playback ›``),
        not opened ``way`` yet (``submenu``: hovered, ``submenu-click``: clicked); the lines
        of a box holding several are read one by one."""
        parse = self._read(parse, ("text", "button", "link"))
        items: list[ScreenElement] = []
        for e in parse.of_kind("text", "button", "link"):
            if len(e.text_boxes) > 1 and re.search(r"\S\s*[>›»▸▶]", e.text):
                lines = self.text_reader.read(parse.image, list(e.text_boxes))
                items.extend(ScreenElement("text", b, text=t, text_boxes=(b,))
                             for b, (t, _) in zip(e.text_boxes, lines, strict=True))
            else:
                items.append(e)
        return [e for e in items if SUBMENU_ARROW.search(e.text) and len(e.text.strip()) > 2
                and f"{way}:{self._ident(e)}" not in self._tried]

    def _choose_pictured(self, parse: ScreenParse) -> Choice | None:
        """The item whose mark looks like the picture set into the instruction (the screen
        the instruction was read on)."""
        if self._banner is None:
            return None
        picture, seen = self._banner
        top = parse.banner[3] if parse.banner is not None else 0
        found = skills.pictured_mark(picture, instruction_lines(seen), parse.image, top=top)
        if found is None:
            return None
        box, score = found
        return Choice(ScreenElement("text", box), score, "its mark looks like the picture in "
                      "the instruction", sure=True)

    def _openers(self, parse: ScreenParse) -> list[ScreenElement]:
        """Elements that open hidden content, not opened yet: tree expanders (a box with a
        plus) and section headers (buttons of one fill and width stacked one above another)."""
        buttons = parse.of_kind("button")
        stacked = {b.box for b in buttons if any(
            o is not b and o.fill == b.fill and abs(o.width - b.width) <= 2 and o.box[1] != b.box[1]
            for o in buttons)}
        expanders = {e.box for e in self._widgets.expanders}
        if stacked or expanders:
            parse = self._read(parse, ("button", "checkbox"))
        # a control a later step of the plan names is that step's target, not a section to open
        now = normalise_text(self._intents[0].target) if self._intents else ""
        named = [i.target for i in list(self._intents)[1:]
                 if i.target and normalise_text(i.target) != now]
        return [e for e in parse.elements
                if (e.box in expanders or (e.kind == "button" and e.box in stacked))
                and self._ident(e) not in self._tried and self._place(e) not in self._tried
                and not (e.text and any(text_similarity(e.text, t) >= self.match_threshold
                                        for t in named))]

    @staticmethod
    def _place(el: ScreenElement) -> str:
        return f"{el.kind}@{el.box[0] // 4},{el.box[1] // 4}"

    @staticmethod
    def _submit_like(el: ScreenElement) -> bool:
        return el.kind == "button" and text_similarity(el.text, "submit") >= 0.8

    def _submit(self, image: np.ndarray) -> StepChoice | None:
        """After the plan, a form still open is submitted with its one Submit button."""
        if self._submitted:
            return None
        parse = self._read(self.perceive(image), ("button",))
        subs = [e for e in parse.of_kind("button") if self._submit_like(e)]
        if len(subs) != 1:
            return None
        self._submitted = True
        x, y = subs[0].click_point
        return StepChoice(Action.click(x, y), f"plan finished; submit the form with "
                          f"{subs[0].describe()}", point=(x, y),
                          target=tuple(float(v) for v in subs[0].box))


def _after_mark(text: str) -> str:
    """The label after a leading mark that OCR read as one or two signs that are not a word
    (``14 Prev``, ``> Play``, ``~1 Next``); ``""`` when the text starts with no such mark."""
    m = re.match(r"\s*(\S{1,2})\s+(\S.*)$", text)
    return m[2] if m and not m[1].isalpha() else ""


def _symbols_named(word: str) -> frozenset[str]:
    """The characters a one-word name stands for: the Unicode character of that name or
    ``<name> sign`` (``plus`` -> ``+``, ``minus`` -> ``−``, with the ASCII ``-`` for the
    latter); empty for other targets."""
    if not re.fullmatch(r"[A-Za-z]{3,}", word.strip()):
        return frozenset()
    out = set()
    for name in (f"{word.strip()} sign", word.strip()):
        try:
            out.add(unicodedata.lookup(name))
        except KeyError:
            continue
    if "\u2212" in out:
        out.add("-")
    return frozenset(c for c in out if len(c) == 1 and not c.isalnum())


def _wrapped_lines(elements: list[ScreenElement]) -> list[ScreenElement]:
    """Text blocks of two or three lines (a long name wrapped): lines read, one right under
    the other (at most 6 px apart) with the same left edge, as one element each."""
    lines = sorted((e for e in elements if e.kind == "text" and e.text), key=lambda e: e.box[1])
    out = []
    for first in lines:
        block = [first]
        for _ in range(2):
            last = block[-1]
            nxt = next((e for e in lines if abs(e.box[0] - last.box[0]) <= 3
                        and 0 <= e.box[1] - last.box[3] <= 6), None)
            if nxt is None:
                break
            block.append(nxt)
            box = _union_box(tuple(e.box for e in block))
            out.append(ScreenElement("text", box, text=" ".join(e.text for e in block),
                                     text_boxes=tuple(b for e in block for b in e.text_boxes),
                                     text_confidence=min(e.text_confidence for e in block)))
    return out


def _sign_free_test(test: str, value: float | None) -> str:
    """A test on a number whose bound was read with a currency sign taken for a leading
    ``5`` (``<549.60`` for ``less than $49.60``): when the bound is five times the number
    watched or more and the bound without that ``5`` is of its size, the bound without it."""
    m = re.fullmatch(r"(>=|<=|==|>|<)5(\d+(?:\.\d+)?)", test)
    if m is None or value is None or value <= 0:
        return test
    bound, rest = float(m[0].lstrip("<>=")), float(m[2])
    if bound >= 5 * value and 0.5 * value <= rest <= 2 * value:
        return f"{m[1]}{m[2]}"
    return test


def _test_side(test: str) -> int:
    """+1 for a test a number passes by being small (``<5``), -1 by being large (``>5``), else
    0 (``odd``, ``==4``): the way a margin is added to the number before it is tested."""
    return 1 if test.startswith("<") else -1 if test.startswith(">") else 0


def _plain_number(text: str) -> bool:
    """Whether a text is one number and nothing else (``27``, ``-3 =``): no calculation."""
    return re.fullmatch(r"\s*[-+]?\s*[\dOolISs]+(?:[.,]\d+)?\s*=?\s*\??\s*", text) is not None


def _masked(shown: str) -> bool:
    """A field's text is a segmented mask (``--:-- --``, ``mm/dd/yyyy``), not free text."""
    return bool(re.search(r"-\s*-|\b[mdy]{2}\b|:", shown, flags=re.IGNORECASE))


def _key(el: ScreenElement) -> tuple[int, int]:
    x, y = el.center
    return int(x) // 4, int(y) // 4


#: Letters whose capital is drawn unlike the small letter (``f``/``F``): a word whose first
#: letter is such a one in the other case is another word form (``Faucibus`` is not ``faucibus``).
_CASE_SHAPED = frozenset("abdefghmnqrt")
#: A score kept for a match whose first letter is in the other case: below a strong match, so
#: that what else the page hides is looked at first, but still a match.
CASE_SLIP = 0.79


def _case_fit(seen: str, wanted: str) -> float:
    """1.0, or :data:`CASE_SLIP` when the first letters of ``seen`` and ``wanted`` are the same
    letter in different cases and that letter's cases look different."""
    a = next((ch for ch in seen if ch.isalnum()), "")
    b = next((ch for ch in wanted if ch.isalnum()), "")
    if a and b and a != b and a.lower() == b.lower() and a.lower() in _CASE_SHAPED:
        return CASE_SLIP
    return 1.0


def _names_word(seen: str, word: str) -> float:
    """How well a word read on the screen spells ``word``: OCR-tolerant for words of four
    letters or more; a shorter word must read exactly (``id`` is not ``rid``)."""
    if len(word) >= 4:
        return text_similarity(seen, word)
    return 1.0 if normalise_text(seen) == normalise_text(word) else 0.0


def _row_label(cells: list[tuple[tuple[int, int, int, int], str]],
               box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The box of the text cell right left of ``box`` on its row (a field's label drawn before
    it, at most :data:`lavr.episodes.gui.reading.LABEL_LEFT` px away), or None."""
    x1, y1, x2, y2 = box
    left = [b for b, _ in cells if b[2] <= x1 + 2 and x1 - b[2] <= LABEL_LEFT and
            min(b[3], y2) - max(b[1], y1) >= 0.5 * min(b[3] - b[1], y2 - y1)]
    return max(left, key=lambda b: b[2]) if left else None


def _word_cover(text: str, target: str) -> float:
    """Fraction of the target's words that some word of ``text`` spells (similarity >= 0.8)."""
    want = target.split()
    have = text.split()
    if not want or not have:
        return 0.0
    hit = sum(max(text_similarity(h, w) for h in have) >= 0.8 for w in want)
    return hit / len(want)
