"""Pure operations on :class:`Detections`: count, filter, select, spatial relations.

Each operation is a plain function (:func:`count`, :func:`filter_detections`,
:func:`select`, :func:`relation`) that the matching tool calls. None of them
looks at pixels.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from lavr.tools.base import MAX_STEP_ID, DerivedTool, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.detections import Detections
from lavr.tools.errors import ToolError
from lavr.tools.pixels import format_box
from lavr.tools.vocab import IRREGULAR_PLURALS, colour_name, plural

logger = logging.getLogger(__name__)

Which = Literal["largest", "smallest", "leftmost", "rightmost", "topmost", "bottommost",
                "most_confident"]
RelationName = Literal["left_of", "right_of", "above", "below", "inside", "overlaps", "nearest"]

#: Share of a's box that must lie in b's box for "inside".
INSIDE_FRACTION = 0.9
_RELATION_WORDS = {"left_of": "is left of", "right_of": "is right of", "above": "is above",
                   "below": "is below", "inside": "is inside", "overlaps": "overlaps"}
_SHOWN = 5


# -- labels ----------------------------------------------------------------------
def _singular_forms(label: str) -> set[str]:
    """Lower-cased forms a label may have in the singular (last word only)."""
    words = label.strip().lower().replace("_", " ").replace("-", " ").split()
    if not words:
        return {""}
    head, last = " ".join(words[:-1]), words[-1]
    forms = {last}  # lenient: every way the word could drop a plural ending
    if last in IRREGULAR_PLURALS:
        forms.add(IRREGULAR_PLURALS[last])
    if last.endswith("ies") and len(last) > 3:
        forms.add(last[:-3] + "y")
    if last.endswith("es") and len(last) > 2:
        forms.add(last[:-2])
    if last.endswith("s") and not last.endswith("ss") and len(last) > 1:
        forms.add(last[:-1])
    return {f"{head} {f}".strip() for f in forms}


def same_label(a: str, b: str) -> bool:
    """Whether two labels name the same class, ignoring case, ``_``/``-`` and plurals.

    ``same_label("Circles", "circle")``, ``same_label("boxes", "box")`` and
    ``same_label("people", "person")`` are true. Synonyms ("car" / "automobile")
    are not handled here.
    """
    return bool(_singular_forms(a) & _singular_forms(b))


# -- count and filter --------------------------------------------------------------
def count(dets: Detections) -> int:
    """The number of detections."""
    return len(dets)


def label_breakdown(dets: Detections) -> str:
    """``"circle"`` when all labels agree, else ``"2 circle, 1 square"``; ``""`` when empty."""
    counts = Counter(str(label) for label in dets.label)
    if len(counts) <= 1:
        return next(iter(counts), "")
    return ", ".join(f"{n} {label}" for label, n in counts.most_common())


def filter_detections(dets: Detections, *, label: str | None = None, colour: str | None = None,
                      text: str | None = None, min_area: float | None = None,
                      max_area: float | None = None) -> Detections:
    """Keep the detections that match every given condition.

    Args:
        dets: Input detections.
        label: Class name, matched with :func:`same_label`.
        colour: Colour name (needs ``data["colour"]`` from the colour tool);
            case-insensitive, ``gray`` = ``grey``.
        text: Case-insensitive substring of the OCR ``text``.
        min_area: Smallest area kept, in pixels (mask area when masks exist).
        max_area: Largest area kept, in pixels.

    Returns:
        A new :class:`Detections` (possibly empty).

    Raises:
        ToolError: ``colour`` without colour data, ``text`` without OCR text,
            or ``min_area > max_area``.
    """
    if min_area is not None and max_area is not None and min_area > max_area:
        raise ToolError("filter", f"min_area {min_area} is larger than max_area {max_area}")
    keep = np.ones(len(dets), dtype=bool)
    if label is not None:
        keep &= np.array([same_label(str(x), label) for x in dets.label], dtype=bool)
    if colour is not None:
        if "colour" not in dets.data:
            raise ToolError("filter", "these detections have no colours: run the colour tool "
                                      "on them first, then filter its result")
        want = colour_name(colour)
        keep &= np.array([colour_name(str(c)) == want for c in dets.data["colour"]], dtype=bool)
    if text is not None:
        if dets.text is None:
            raise ToolError("filter", "these detections have no text: filter by text works on "
                                      "the result of the ocr tool")
        needle = text.strip().lower()
        keep &= np.array([needle in str(t).lower() for t in dets.text], dtype=bool)
    if min_area is not None:
        keep &= dets.area >= min_area
    if max_area is not None:
        keep &= dets.area <= max_area
    return dets[keep]


# -- select ----------------------------------------------------------------------
def _select_index(dets: Detections, which: str) -> int:
    keys: dict[str, tuple[np.ndarray, bool]] = {
        "largest": (dets.area, True), "smallest": (dets.area, False),
        "leftmost": (dets.center[:, 0], False), "rightmost": (dets.center[:, 0], True),
        "topmost": (dets.center[:, 1], False), "bottommost": (dets.center[:, 1], True),
        "most_confident": (dets.confidence, True),
    }
    if which not in keys:
        raise ToolError("select", f"which must be one of {sorted(keys)}, got {which!r}")
    values, biggest = keys[which]
    return int(np.argmax(values) if biggest else np.argmin(values))


def select(dets: Detections, which: Which) -> Detections:
    """The one detection that is largest, leftmost, most confident, ...

    Positions compare box centres (image y grows downwards); sizes compare
    :attr:`Detections.area`; ties go to the earlier detection.

    Raises:
        ToolError: ``dets`` is empty, or ``which`` is unknown.
    """
    if len(dets) == 0:
        raise ToolError("select", "no objects to select from")
    return dets[_select_index(dets, which)]


# -- relation --------------------------------------------------------------------
@dataclass(frozen=True)
class RelationResult:
    """The outcome of :func:`relation`.

    Attributes:
        value: A bool for the spatial relations; for ``nearest`` a dict with
            ``index``, ``description``, ``box`` and ``distance`` (pixels).
        text: The fact in words, with boxes.
        boxes: The boxes involved, XYXY pixels (a's first).
    """

    value: Any
    text: str
    boxes: list[list[float]] = field(default_factory=list)


def _pick(dets: Detections, name: str) -> tuple[int, str]:
    """Index of the most confident detection, and a note when there were several."""
    if len(dets) == 0:
        raise ToolError("relation", f"{name} has no objects")
    i = int(np.argmax(dets.confidence))
    note = f"{name} has {len(dets)} objects, used the most confident" if len(dets) > 1 else ""
    return i, note


def _thing(dets: Detections, i: int) -> str:
    return f"{dets.describe(i)} {format_box(dets.xyxy[i])}"


def _inside_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Share of box ``a``'s area that lies in box ``b``."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    return float(iw * ih / area) if area > 0 else 0.0


def _holds(name: str, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether relation ``name`` holds between boxes ``a`` and ``b`` (XYXY)."""
    ca, cb = (a[:2] + a[2:]) / 2, (b[:2] + b[2:]) / 2
    if name == "left_of":
        return bool(ca[0] < cb[0])
    if name == "right_of":
        return bool(ca[0] > cb[0])
    if name == "above":
        return bool(ca[1] < cb[1])
    if name == "below":
        return bool(ca[1] > cb[1])
    if name == "inside":
        return _inside_fraction(a, b) >= INSIDE_FRACTION
    if name == "overlaps":
        return _inside_fraction(a, b) > 0
    raise ToolError("relation", f"unknown relation {name!r}, expected one of "
                                f"{sorted([*_RELATION_WORDS, 'nearest'])}")


def _nearest(a: Detections, b: Detections, b_name: str) -> RelationResult:
    j, note = _pick(b, b_name)
    target = b.xyxy[j]
    dist = np.linalg.norm(a.center - b.center[j], axis=1)
    same = np.all(np.isclose(a.xyxy, target), axis=1)
    if same.any() and not same.all():
        dist = np.where(same, np.inf, dist)  # a and b overlap as sets: skip b's object itself
    i = int(np.argmin(dist))
    value = {"index": i, "description": a.describe(i),
             "box": [round(float(v), 1) for v in a.xyxy[i]], "distance": round(float(dist[i]), 1)}
    text = (f"relation: nearest to {_thing(b, j)} is {_thing(a, i)} "
            f"(index {i} of {len(a)}, {dist[i]:.0f} px between centres)")
    if note:
        text += f" ({note})"
    return RelationResult(value, text, [a.xyxy[i].tolist(), target.tolist()])


def relation(a: Detections, b: Detections, name: RelationName, *, a_name: str = "a",
             b_name: str = "b") -> RelationResult:
    """Decide a spatial relation between the objects of ``a`` and ``b``.

    ``left_of``/``right_of``/``above``/``below`` compare box centres (image y
    grows downwards); ``inside`` means at least 90% of a's box lies in b's box;
    ``overlaps`` means the boxes share some area. When ``a`` or ``b`` holds
    several objects, the most confident of each is used and the text says so.
    ``nearest`` returns the object of ``a`` whose centre is nearest to the
    centre of b's most confident object.

    Args:
        a: First detections.
        b: Second detections.
        name: The relation.
        a_name: How to call ``a`` in errors (e.g. its step id).
        b_name: How to call ``b`` in errors.

    Raises:
        ToolError: ``a`` or ``b`` is empty (naming which), or unknown relation.
    """
    if name == "nearest":
        if len(a) == 0:
            raise ToolError("relation", f"{a_name} has no objects")
        return _nearest(a, b, b_name)
    i, note_a = _pick(a, a_name)
    j, note_b = _pick(b, b_name)
    holds = _holds(name, a.xyxy[i], b.xyxy[j])
    text = (f"relation: {_thing(a, i)} {_RELATION_WORDS[name]} {_thing(b, j)} → "
            f"{'yes' if holds else 'no'}")
    notes = "; ".join(n for n in (note_a, note_b) if n)
    if notes:
        text += f" ({notes})"
    return RelationResult(holds, text, [a.xyxy[i].tolist(), b.xyxy[j].tolist()])


# -- tools -----------------------------------------------------------------------
def _listing(dets: Detections) -> str:
    shown = ", ".join(_thing(dets, i) for i in range(min(len(dets), _SHOWN)))
    more = f" and {len(dets) - _SHOWN} more" if len(dets) > _SHOWN else ""
    return shown + more


def _boxes(dets: Detections) -> list[list[float]]:
    return [[round(float(v), 1) for v in b] for b in dets.xyxy[:_SHOWN]]


class _SourceArgs(ToolArgs):
    source: str = Field(max_length=MAX_STEP_ID, description="step id whose detections to use")


class CountTool(DerivedTool):
    """Count the objects of an earlier step."""

    name: ClassVar[str] = "count"
    description: ClassVar[str] = "Count the objects found by an earlier step."
    Args: ClassVar[type[ToolArgs]] = _SourceArgs

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``How many circles are there?``"""
        return f"How many {plural(target) or 'objects'} are there?"

    def run(self, args: _SourceArgs, ctx: ToolContext) -> ToolResult:
        """Value is the count."""
        dets = ctx.detections(args.source, tool=self.name)
        n = count(dets)
        labels = label_breakdown(dets)
        summary = f"count: {n}" + (f" ({labels})" if labels else "")
        return ToolResult(summary=summary, value=n, boxes=_boxes(dets))


class FilterArgs(_SourceArgs):
    """Conditions; every given one must hold."""

    label: str | None = Field(None, max_length=60, description="class name (plurals accepted)")
    colour: str | None = Field(None, max_length=30,
                               description="colour name; needs the colour tool's output")
    text: str | None = Field(None, max_length=200,
                             description="case-insensitive substring of OCR text")
    min_area: float | None = Field(None, ge=0, description="pixels")
    max_area: float | None = Field(None, ge=0, description="pixels")


class FilterTool(DerivedTool):
    """Keep the objects of an earlier step that match a label, colour, text or area range."""

    name: ClassVar[str] = "filter"
    description: ClassVar[str] = (
        "Keep the objects of an earlier step that match a label, colour, OCR text substring "
        "and/or area range (pixels).")
    Args: ClassVar[type[ToolArgs]] = FilterArgs

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``Which of them are red circles?`` (with the text, when one is asked for)."""
        words = " ".join(str(args[k]) for k in ("colour", "label") if args.get(k))
        words = plural(words) if args.get("label") else words
        if args.get("text"):
            words = (words + f" with the text {args['text']!r}").strip()
        return f"Which of them are {words}?" if words else "Which of them match?"

    def run(self, args: FilterArgs, ctx: ToolContext) -> ToolResult:
        """New detections; value is how many were kept."""
        dets = ctx.detections(args.source, tool=self.name)
        conds = args.model_dump(exclude={"source"}, exclude_none=True)
        kept = filter_detections(dets, **conds)
        what = ", ".join(f"{k}={v}" for k, v in conds.items()) or "no conditions"
        summary = f"filter: kept {len(kept)} of {len(dets)} ({what})"
        if len(kept):
            summary += f": {_listing(kept)}"
        return ToolResult(summary=summary, value=len(kept),
                          artifact_id=self.store_detections(kept, ctx), boxes=_boxes(kept))


class SelectArgs(_SourceArgs):
    which: Which


class SelectTool(DerivedTool):
    """Pick one object of an earlier step by size, position or confidence."""

    name: ClassVar[str] = "select"
    description: ClassVar[str] = (
        "Pick one object of an earlier step: largest, smallest, leftmost, rightmost, topmost, "
        "bottommost or most_confident.")
    Args: ClassVar[type[ToolArgs]] = SelectArgs

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``Which one is the largest?``"""
        return f"Which one is the {args.get('which', 'chosen one')}?"

    def run(self, args: SelectArgs, ctx: ToolContext) -> ToolResult:
        """Detections of one; value is its description."""
        dets = ctx.detections(args.source, tool=self.name)
        one = select(dets, args.which)
        return ToolResult(
            summary=f"select: {args.which.replace('_', ' ')} of {len(dets)} is {_thing(one, 0)}",
            value=one.describe(0), artifact_id=self.store_detections(one, ctx), boxes=_boxes(one))


class RelationArgs(ToolArgs):
    a: str = Field(max_length=MAX_STEP_ID, description="step id of the first objects")
    b: str = Field(max_length=MAX_STEP_ID, description="step id of the second objects")
    relation: RelationName


class RelationTool(DerivedTool):
    """Check a spatial relation between the objects of two earlier steps."""

    name: ClassVar[str] = "relation"
    description: ClassVar[str] = (
        "Check a spatial relation between the objects of steps a and b (left_of, right_of, "
        "above, below, inside, overlaps → yes/no), or find the object of a nearest to b.")
    Args: ClassVar[type[ToolArgs]] = RelationArgs
    refs: ClassVar[tuple[str, ...]] = ("a", "b")

    def sub_question(self, args: Mapping[str, Any], *, target: str) -> str:
        """``Is the square left of the circle?`` (``target``: ``square/circle``)."""
        rel = str(args.get("relation", "related to")).replace("_", " ")
        parts = [p.strip() for p in (target or "").split("/")]
        if len(parts) == 2 and all(parts):
            return f"Is the {parts[0]} {rel} the {parts[1]}?"
        return f"Is the first {rel} the second?"

    def run(self, args: RelationArgs, ctx: ToolContext) -> ToolResult:
        """Value is a bool, or for ``nearest`` the index and description of the object."""
        a = ctx.detections(args.a, tool=self.name)
        b = ctx.detections(args.b, tool=self.name)
        res = relation(a, b, args.relation, a_name=f"a (step {args.a!r})",
                       b_name=f"b (step {args.b!r})")
        return ToolResult(summary=res.text, value=res.value,
                          boxes=[[round(float(v), 1) for v in box] for box in res.boxes])


TOOLS: list[Tool] = [CountTool(), FilterTool(), SelectTool(), RelationTool()]
