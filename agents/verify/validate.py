"""Stage 3 — visual knowledge validation: answer the questions with vision experts.

:class:`ExpertValidator` gathers :class:`VisualKnowledge` — detected objects
(with colours from the colour expert) and OCR text lines — running each
expert at most once per image, then :func:`answer_questions` answers every
question from that knowledge: counts and existence from the detector, colours
from the colour expert, text from OCR, relations from boxes. Questions no
expert can answer (e.g. COCO classes when ``yolo11n.pt`` is missing) are
``unavailable``, unless a VQA function is given: then the multimodal model is
asked, on a crop where there is one.

The same :func:`answer_questions` runs on ground-truth knowledge in the
evaluation suites, so expert answers and ground truth are read alike.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from lavr.agents.verify.text import NUMBER_WORDS, similarity
from lavr.agents.verify.types import Answer, ObjectQuery, Question
from lavr.planners.plan import Step
from lavr.tools.base import ExpertPool
from lavr.tools.detect import coverage, is_detector_name
from lavr.tools.detections import Detections
from lavr.tools.evidence import Evidence as StepEvidence
from lavr.tools.evidence import ToolResult
from lavr.tools.ocr import RETRY_ZOOM as OCR_RETRY_ZOOM
from lavr.tools.ops import relation as box_relation
from lavr.tools.ops import select
from lavr.tools.vocab import COLOUR_WORDS

if TYPE_CHECKING:
    from lavr.agents.verify.steps import ToolSteps

logger = logging.getLogger(__name__)

#: What a stage-3 step finds for the questions: objects, their colours, or text.
Finding = Literal["objects", "colours", "text"]

#: ``vqa(image, question) -> answer``: a multimodal model asked about an ``HxWx3`` image.
VQAFunction = Callable[[np.ndarray, str], str]
#: Opposite relation on the same axis (what holds when a claim is refuted).
OPPOSITE = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}
#: Relations closer than this many pixels (centre to centre, along the axis) are undecidable.
RELATION_MARGIN_PX = 3.0
#: OCR is read again at this zoom when the first pass finds nothing.
#: Padding around a box cropped for VQA, as a fraction of its size.
CROP_PAD = 0.15
#: Detections scoring below this are uncertain: a claim they could make true or
#: false is unverifiable rather than refuted.
SURE_CONFIDENCE = 0.85
#: A detection at least this much inside another of the same class and colour,
#: and less confident, is a duplicate of it.
DUPLICATE_INSIDE = 0.85


@dataclass
class VisualKnowledge:
    """What the experts saw: the knowledge base questions are answered from.

    Attributes:
        objects: Detected objects (XYXY pixels); ``data["colour"]`` when colours
            were named.
        lines: OCR text lines, or None when OCR did not run.
        image_size: ``(width, height)`` in pixels.
        unavailable: Class → why no detector could look for it.
        everything_reason: Why "all objects" counts are incomplete (a closed
            detector's weights are missing), else None.
        colour_reason: Why colours are unknown, else None.
        ocr_reason: Why OCR could not run, else None.
        evidence: The expert calls made.
        object_evidence: Evidence ids behind ``objects`` (detector, colour).
        ocr_evidence: Evidence ids behind ``lines``.
    """

    objects: Detections
    lines: Detections | None = None
    image_size: tuple[int, int] = (1, 1)
    unavailable: dict[str, str] = field(default_factory=dict)
    everything_reason: str | None = None
    colour_reason: str | None = None
    ocr_reason: str | None = None
    evidence: list[StepEvidence] = field(default_factory=list)
    object_evidence: list[str] = field(default_factory=list)
    ocr_evidence: list[str] = field(default_factory=list)

    def add_evidence(self, tool: str, summary: str, *, boxes: Sequence[Sequence[float]] = (),
                     error: str | None = None) -> str:
        """Record what was looked at without a tool step (ground truth, lines the run
        read, a VQA reply); returns its id (``e1``, ``e2`` ...)."""
        eid = f"e{len(self.evidence) + 1}"
        if error is not None:
            self.evidence.append(StepEvidence.failure(eid, tool, {}, error))
        else:
            self.evidence.append(StepEvidence.success(eid, tool, {}, ToolResult(
                summary=summary, boxes=[[round(float(v), 1) for v in b] for b in boxes])))
        return eid

    def add_step(self, rec: StepEvidence) -> str:
        """Record a tool step's evidence; returns its step id."""
        self.evidence.append(rec)
        return rec.step_id

    @property
    def colours(self) -> list[str] | None:
        """Colour of every object, or None when colours were not named."""
        col = self.objects.data.get("colour")
        return None if col is None else [str(c) for c in col]


# -- answering from knowledge ------------------------------------------------------------------
def _boxes(dets: Detections) -> list[list[float]]:
    return [[round(float(v), 1) for v in b] for b in dets.xyxy]


def _match(query: ObjectQuery, kb: VisualKnowledge, *,
           use_colour: bool = True) -> tuple[Detections | None, str]:
    """Objects matching ``query`` (None + reason when the experts cannot tell)."""
    labels = [query.label] if query.label else list(query.labels)
    for label in labels:
        if label in kb.unavailable:
            return None, kb.unavailable[label]
    if not labels and kb.everything_reason:
        return None, kb.everything_reason
    dets = kb.objects
    if labels:
        wanted = {lab.lower() for lab in labels}
        dets = dets[np.array([str(x).lower() in wanted for x in dets.label], dtype=bool)]
    if use_colour and query.colour:
        colours = dets.data.get("colour")
        if colours is None:
            return None, kb.colour_reason or "colours were not named"
        dets = dets[np.array([str(c) == query.colour for c in colours], dtype=bool)]
    if query.qualifier and len(dets):
        dets = select(dets, query.qualifier)
    return dets, ""


def _by_colour(query: ObjectQuery, kb: VisualKnowledge) -> dict[str, int]:
    dets, _ = _match(query.model_copy(update={"colour": None, "qualifier": None}), kb)
    if dets is None or "colour" not in dets.data:
        return {}
    return dict(Counter(str(c) for c in dets.data["colour"]).most_common())


def _occluded(dets: Detections, i: int) -> bool:
    """Whether detection ``i``'s box meets another detection's box."""
    a = dets.xyxy[i]
    return any(_inside_fraction(a, dets.xyxy[j]) > 0 for j in range(len(dets)) if j != i)


def _misread_risk(dets: Detections, i: int, kb: VisualKnowledge) -> bool:
    """Whether detection ``i`` may be another shape misread: it touches an object of
    another class (a shape partly hidden by a different one can look like a third).

    Known objects (confidence 1, e.g. ground truth) are never at risk.
    """
    if dets.confidence[i] >= 1.0:
        return False
    a, label = dets.xyxy[i], str(dets.label[i])
    objs = kb.objects
    return any(_inside_fraction(a, objs.xyxy[j]) > 0 and str(objs.label[j]) != label
               for j in range(len(objs)))


def _confusable(query: ObjectQuery, kb: VisualKnowledge) -> int:
    """Uncertain detections of another class that may be the queried object misread.

    A detection counts when it is uncertain (below :data:`SURE_CONFIDENCE`),
    touches another object (occlusion is what makes shapes ambiguous) and, when
    a colour is asked for, has that colour.
    """
    labels = {x.lower() for x in ([query.label] if query.label else query.labels)}
    if not labels:
        return 0
    dets = kb.objects
    colours = dets.data.get("colour")
    n = 0
    for i in range(len(dets)):
        if str(dets.label[i]).lower() in labels or dets.confidence[i] >= SURE_CONFIDENCE:
            continue
        if query.colour and (colours is None or str(colours[i]) != query.colour):
            continue
        n += int(_occluded(dets, i))
    return n


def _answer_count(q: Question, kb: VisualKnowledge) -> Answer:
    assert_subject(q)
    dets, reason = _match(q.subject, kb)
    if dets is None:
        return Answer(question=q.id, status="unavailable", note=reason)
    # a confident detection touching a different shape may still be a misread under
    # occlusion: it does not make a smaller count impossible
    sure = sum(1 for i in range(len(dets))
               if dets.confidence[i] >= SURE_CONFIDENCE and not _misread_risk(dets, i, kb))
    return Answer(question=q.id, value=len(dets), low=sure,
                  high=len(dets) + _confusable(q.subject, kb), boxes=_boxes(dets),
                  by_colour=_by_colour(q.subject, kb), evidence=list(kb.object_evidence),
                  source="detector")


def _answer_attribute(q: Question, kb: VisualKnowledge) -> Answer:
    assert_subject(q)
    dets, reason = _match(q.subject, kb)
    if dets is None:
        return Answer(question=q.id, status="unavailable", note=reason)
    colours = dets.data.get("colour")
    if colours is None:
        return Answer(question=q.id, status="unavailable",
                      note=kb.colour_reason or "colours were not named")
    return Answer(question=q.id, value=[str(c) for c in colours], boxes=_boxes(dets),
                  evidence=list(kb.object_evidence), source="colour")


def _candidates(lines: list[str]) -> list[str]:
    """Lines, consecutive pairs joined, and all lines joined: what a quote may match."""
    out = list(lines)
    out += [f"{a} {b}" for a, b in zip(lines, lines[1:], strict=False)]
    if len(lines) > 2:
        out.append(" ".join(lines))
    return out


def _answer_text(q: Question, kb: VisualKnowledge) -> Answer:
    if kb.lines is None:
        return Answer(question=q.id, status="unavailable", note=kb.ocr_reason or "OCR did not run")
    texts = [str(t) for t in (kb.lines.text if kb.lines.text is not None else [])]
    if not texts:
        return Answer(question=q.id, value=[], evidence=list(kb.ocr_evidence), source="ocr",
                      similarity=0.0, note="no text was read")
    quoted = q.quoted or ""
    cands = _candidates(texts)
    scores = [similarity(quoted, c) for c in cands]
    best = int(np.argmax(scores))
    line_idx = [i for i, t in enumerate(texts) if t in cands[best]] or [0]
    boxes = _boxes(kb.lines[np.array(line_idx)]) if best >= len(texts) else \
        _boxes(kb.lines[best])
    return Answer(question=q.id, value=texts, best=cands[best], similarity=round(scores[best], 3),
                  boxes=boxes, evidence=list(kb.ocr_evidence), source="ocr")


def _axis_gap(name: str, a: np.ndarray, b: np.ndarray) -> float:
    axis = 0 if name in ("left_of", "right_of") else 1
    return abs(float((a[axis] + a[axis + 2]) / 2 - (b[axis] + b[axis + 2]) / 2))


def _answer_relation(q: Question, kb: VisualKnowledge) -> Answer:
    assert_subject(q)
    if q.target is None or q.relation is None:
        raise ValueError(f"relation question {q.id} needs a target and a relation")
    a, reason_a = _match(q.subject, kb)
    b, reason_b = _match(q.target, kb)
    if a is None or b is None:
        return Answer(question=q.id, status="unavailable", note=reason_a or reason_b)
    if len(a) == 0 or len(b) == 0:
        missing = q.subject if len(a) == 0 else q.target
        return Answer(question=q.id, value=None, note=f"no {missing.describe()} was found",
                      evidence=list(kb.object_evidence), source="relation")
    pairs = [(i, j) for i in range(len(a)) for j in range(len(b))
             if not np.allclose(a.xyxy[i], b.xyxy[j])]
    if not pairs:
        return Answer(question=q.id, value=None, note="both descriptions fit the same object",
                      source="relation")
    holding, decidable = [], []
    for i, j in pairs:
        if q.relation in OPPOSITE and _axis_gap(q.relation, a.xyxy[i], b.xyxy[j]) < \
                RELATION_MARGIN_PX:
            continue
        decidable.append((i, j))
        if box_relation(a[i], b[j], q.relation).value:
            holding.append((i, j))
    if not decidable:
        return Answer(question=q.id, value=None, note="the objects are level on that axis",
                      source="relation")
    if holding and len(holding) < len(decidable):
        # "the circle" with several circles: true for some pairs, false for others
        return Answer(question=q.id, value=None, source="relation",
                      note=f"it holds for {len(holding)} of {len(decidable)} pairs of such "
                           "objects, so which ones are meant decides it")
    i, j = holding[0] if holding else decidable[0]
    truth = None
    if not holding and q.relation in OPPOSITE:
        truth = OPPOSITE[q.relation]
    return Answer(question=q.id, value=bool(holding), truth=truth,
                  boxes=[_boxes(a[i])[0], _boxes(b[j])[0]], evidence=list(kb.object_evidence),
                  source="relation")


def assert_subject(q: Question) -> None:
    """Raise ValueError when an object question has no subject (a bug upstream)."""
    if q.subject is None:
        raise ValueError(f"{q.kind} question {q.id} has no subject")


def answer_question(q: Question, kb: VisualKnowledge) -> Answer:
    """Answer one question from the knowledge base (pure: no experts run)."""
    if q.kind in ("count", "existence"):
        return _answer_count(q, kb)
    if q.kind == "attribute":
        return _answer_attribute(q, kb)
    if q.kind == "text":
        return _answer_text(q, kb)
    return _answer_relation(q, kb)


# -- VQA fallback ------------------------------------------------------------------------------
def _crop(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    dx, dy = (x2 - x1) * CROP_PAD, (y2 - y1) * CROP_PAD
    xa, ya = max(0, int(x1 - dx)), max(0, int(y1 - dy))
    xb, yb = min(w, int(np.ceil(x2 + dx))), min(h, int(np.ceil(y2 + dy)))
    return image[ya:yb, xa:xb] if xb > xa and yb > ya else image


def parse_yes_no(reply: str) -> bool | None:
    """``"Yes, ..."`` → True, ``"No"`` → False, anything else → None."""
    m = re.match(r"\W*(yes|no)\b", reply.strip().lower())
    return None if m is None else m.group(1) == "yes"


def parse_count(reply: str) -> int | None:
    """The first number in a reply (digits or words), else None."""
    for tok in re.findall(r"[a-z]+|\d+", reply.lower()):
        if tok.isdigit():
            return int(tok)
        if tok in NUMBER_WORDS:
            return NUMBER_WORDS[tok]
    return None


def parse_colour(reply: str) -> str | None:
    """The first colour word in a reply, canonical (``gray`` → ``grey``), else None."""
    for tok in re.findall(r"[a-z]+", reply.lower()):
        if tok in COLOUR_WORDS:
            return COLOUR_WORDS[tok]
    return None


def ask_vqa(q: Question, kb: VisualKnowledge, image: np.ndarray, vqa: VQAFunction) -> Answer | None:
    """Ask a multimodal model what the experts could not answer; None if unusable.

    Existence and count questions go to the whole image; colour questions go
    to a crop of each object the detector found (when it could find them).
    """
    try:
        if q.kind in ("existence", "count"):
            prompt = q.text + (" Answer with a number." if q.kind == "count" else
                               " Answer yes or no.")
            reply = vqa(image, prompt)
            value = parse_count(reply) if q.kind == "count" else parse_yes_no(reply)
            if value is None:
                return None
            eid = kb.add_evidence("vqa", f"vqa: {prompt} → {reply.strip()[:80]}")
            return Answer(question=q.id, value=int(value), evidence=[eid], source="vqa")
        if q.kind == "attribute" and q.subject is not None:
            dets, _ = _match(q.subject, kb, use_colour=False)
            if dets is None or len(dets) == 0:
                return None
            colours = []
            for box in dets.xyxy:
                reply = vqa(_crop(image, box), "What colour is this object? Answer with one word.")
                colour = parse_colour(reply)
                if colour is None:
                    return None
                colours.append(colour)
            eid = kb.add_evidence("vqa", f"vqa: colours of {len(dets)} crop(s) → "
                                         f"{', '.join(colours)}", boxes=dets.xyxy.tolist())
            return Answer(question=q.id, value=colours, boxes=_boxes(dets), evidence=[eid],
                          source="vqa")
    except Exception as exc:  # noqa: BLE001 - a model failure leaves the question unavailable
        logger.warning("VQA failed on %r: %s", q.text, exc)
    return None


def answer_questions(questions: list[Question], kb: VisualKnowledge, *,
                     image: np.ndarray | None = None, vqa: VQAFunction | None = None) -> list[Answer]:
    """Answer every question from ``kb``; unavailable ones go to ``vqa`` when given."""
    out = []
    for q in questions:
        ans = answer_question(q, kb)
        if ans.status == "unavailable" and vqa is not None and image is not None:
            ans = ask_vqa(q, kb, image, vqa) or ans
        out.append(ans)
    return out


# -- gathering knowledge with experts ----------------------------------------------------------
def _needed_labels(questions: list[Question]) -> tuple[list[str], bool, bool]:
    """Classes to detect, whether "all objects" are needed, whether colours are."""
    labels: list[str] = []
    everything = False
    for q in questions:
        for query in (q.subject, q.target):
            if query is None:
                continue
            if query.label:
                labels.append(query.label)
            elif query.labels:
                labels.extend(query.labels)
            else:
                everything = True
    # colours also serve count questions: they suggest fixes ("a green circle" → "a red circle")
    return list(dict.fromkeys(labels)), everything, bool(labels) or everything


class ExpertValidator:
    """Answers verification questions with the agent's tools: ``detect``, ``colour``, ``ocr``.

    The questions become tool steps run by the graph's own tool execution
    (:class:`~lavr.agents.verify.steps.ToolSteps`): the registry's tools with the run's
    result cache, artifact store and experts, so what the run already computed on the
    image is read back, not computed again.

    Args:
        steps: Runs the tool steps (an agent's :class:`~lavr.agents.verify.steps.ContextSteps`);
            None: a standalone context with the built-in tools, ``detector``, ``device``
            and ``experts``, and a result cache of its own.
        detector: ``auto``, a detector name or a ``.pt`` path (which detectors to ask).
        device: ``auto``, ``cpu`` or ``cuda`` (standalone context only).
        experts: Pool the models load into (standalone context only).
        min_confidence: Detector score threshold (uncertain detections matter: they make
            claims unverifiable rather than refuted).
        vqa: ``vqa(image, question) -> answer`` for what the experts cannot answer.
        ocr_lines: Text lines already read (e.g. by the agent's own OCR steps);
            when given, OCR is not run again.
    """

    def __init__(self, steps: ToolSteps | None = None, *, detector: str = "auto",
                 device: str = "auto", experts: ExpertPool | None = None,
                 min_confidence: float = 0.25, vqa: VQAFunction | None = None,
                 ocr_lines: Detections | None = None) -> None:
        if steps is None:
            from lavr.agents.verify.steps import standalone_steps

            steps = standalone_steps(detector=detector, device=device, experts=experts)
        self.steps = steps
        self.detector = detector
        self.min_confidence = min_confidence
        self.vqa = vqa
        self.ocr_lines = ocr_lines
        #: Every tool step run, in order.
        self.ran: list[StepEvidence] = []
        #: The last image checked and what the experts saw on it, by what was asked.
        self._seen: tuple[np.ndarray, dict[tuple[Any, ...], VisualKnowledge]] | None = None

    def knowledge(self, image: np.ndarray, questions: list[Question]) -> VisualKnowledge:
        """Run the tool steps the questions need, once each (:meth:`recall`, else
        :meth:`plan` and :meth:`gather`).

        Args:
            image: ``HxWx3 uint8 RGB``.
            questions: Stage-2 questions.
        """
        known = self.recall(image, questions)
        return known if known is not None else self.gather(image, questions,
                                                           self.plan(questions))

    @staticmethod
    def _needs(questions: list[Question]) -> tuple[Any, ...]:
        labels, everything, need_colours = _needed_labels(questions)
        return (tuple(labels), everything, need_colours, any(q.kind == "text" for q in questions))

    def _seen_on(self, image: np.ndarray) -> dict[tuple[Any, ...], VisualKnowledge]:
        if self._seen is None or self._seen[0] is not image:
            self._seen = (image, {})
        return self._seen[1]

    @staticmethod
    def _copy(kb: VisualKnowledge) -> VisualKnowledge:
        # answering may add evidence (VQA): each caller gets its own lists
        return dataclasses.replace(kb, unavailable=dict(kb.unavailable),
                                   evidence=list(kb.evidence),
                                   object_evidence=list(kb.object_evidence),
                                   ocr_evidence=list(kb.ocr_evidence))

    def recall(self, image: np.ndarray, questions: list[Question]) -> VisualKnowledge | None:
        """What the experts saw on ``image`` for questions needing the same experts, else None.

        Questions about the same image that need the same experts (the same answer in
        two styles, a rewrite checked again) reuse what the experts saw.
        """
        known = self._seen_on(image).get(self._needs(questions))
        return None if known is None else self._copy(known)

    def plan(self, questions: list[Question]) -> StepPlan:
        """The tool steps that answer ``questions`` (:func:`plan_steps`; nothing runs)."""
        return plan_steps(questions, offers=self.steps.offers, new_id=self.steps.new_id,
                          detector=self.detector, min_confidence=self.min_confidence,
                          read=self.ocr_lines is None)

    def gather(self, image: np.ndarray, questions: list[Question],
               plan: StepPlan) -> VisualKnowledge:
        """Run ``plan``'s tool steps on ``image`` and keep what they saw (for :meth:`recall`)."""
        kb = self._seen_on(image)[self._needs(questions)] = self._run_plan(image, plan)
        return self._copy(kb)

    def _run_plan(self, image: np.ndarray, plan: StepPlan) -> VisualKnowledge:
        done: dict[str, StepEvidence] = {}
        for step in plan.steps:
            src = step.args.get("source")
            if src is not None and (src not in done or done[src].failed):
                continue  # nothing to name the colours of
            done[step.id] = self._run(image, step, [done[src]] if src else [])
            # nothing read: small text may need a zoomed read (added to the plan)
            plan.read_again(step, done[step.id], self.steps.new_id)
        kb = VisualKnowledge(objects=Detections.empty(),
                             image_size=(int(image.shape[1]), int(image.shape[0])))
        plan.fill(kb, done, self.steps.detections)
        if self.ocr_lines is not None and plan.text:
            kb.lines = self.ocr_lines
            texts = [str(t) for t in (self.ocr_lines.text if self.ocr_lines.text is not None else [])]
            kb.ocr_evidence.append(kb.add_evidence(
                "ocr", "ocr (from the answer's evidence): " +
                (", ".join(f'"{t}"' for t in texts) or "no text"),
                boxes=self.ocr_lines.xyxy.tolist()))
        return kb

    def answer(self, image: np.ndarray, questions: list[Question],
               kb: VisualKnowledge) -> list[Answer]:
        """Answer ``questions`` from ``kb``; what it cannot tell goes to the VQA model."""
        return answer_questions(questions, kb, image=image, vqa=self.vqa)

    def validate(self, image: np.ndarray,
                 questions: list[Question]) -> tuple[list[Answer], VisualKnowledge]:
        """Answer ``questions`` about ``image``: ``(answers, knowledge)``."""
        kb = self.knowledge(image, questions)
        return self.answer(image, questions, kb), kb

    def _run(self, image: np.ndarray, step: Step, inputs: list[StepEvidence]) -> StepEvidence:
        rec = self.steps.run(image, step, inputs=inputs)
        self.ran.append(rec)
        return rec


@dataclass
class StepPlan:
    """Stage 3's tool steps for a set of questions, before they run (:func:`plan_steps`).

    Attributes:
        steps: In order: ``detect`` steps (one per detector), a ``colour`` step on each
            (its ``source`` is the ``detect`` step), an ``ocr`` step.
        finds: Step id → what the step finds for the questions (``objects``, their
            ``colours`` or ``text``), set when the step is added (:meth:`add`).
        covers: ``detect`` step id → the asked labels it looks for (unavailable if it fails).
        everything: Whether every object is asked about.
        colours: Whether ``colour`` steps name the colours of what ``detect`` finds.
        text: Whether text is asked about.
        unavailable: Label → why no step can look for it.
        everything_reason: Why every object cannot be counted, else None.
        colour_reason: Why no step can name colours, else None.
        ocr_reason: Why no step can read text, else None.
    """

    steps: list[Step] = field(default_factory=list)
    finds: dict[str, Finding] = field(default_factory=dict)
    covers: dict[str, list[str]] = field(default_factory=dict)
    everything: bool = False
    colours: bool = False
    text: bool = False
    unavailable: dict[str, str] = field(default_factory=dict)
    everything_reason: str | None = None
    colour_reason: str | None = None
    ocr_reason: str | None = None

    def add(self, step: Step, finds: Finding) -> Step:
        """Append ``step``, which finds ``finds`` for the questions."""
        self.steps.append(step)
        self.finds[step.id] = finds
        return step

    def read_again(self, step: Step, rec: StepEvidence,
                   new_id: Callable[[], str]) -> Step | None:
        """Add a zoomed read when a whole-image text step at 1x read nothing; else None."""
        if self.finds.get(step.id) != "text" or step.args or not rec.ok or rec.value:
            return None
        return self.add(Step(id=new_id(), tool=step.tool, args={"zoom": OCR_RETRY_ZOOM},
                             why=f"verify: nothing read at 1x; read again at {OCR_RETRY_ZOOM}x"),
                        "text")

    def fill(self, kb: VisualKnowledge, done: dict[str, StepEvidence],
             detections: Callable[[StepEvidence], Detections | None]) -> None:
        """Write what the steps in ``done`` found (and what none could tell) into ``kb``."""
        kb.unavailable.update(self.unavailable)
        kb.everything_reason = self.everything_reason
        kb.colour_reason = self.colour_reason
        kb.ocr_reason = self.ocr_reason
        found, named, colour_failed = [], [], False
        for step in self.steps:
            rec = done.get(step.id)
            if rec is None:
                continue
            finds = self.finds.get(step.id)
            if finds == "objects":
                kb.object_evidence.append(kb.add_step(rec))
                if rec.failed:
                    reason = _reason(rec)
                    logger.info("%s unavailable for verification: %s", step.args, reason)
                    kb.unavailable.update(dict.fromkeys(self.covers[step.id], reason))
                    if self.everything:
                        kb.everything_reason = reason
                else:
                    found.append(rec)
            elif finds == "colours":
                kb.object_evidence.append(kb.add_step(rec))
                colour_failed = colour_failed or rec.failed
                if rec.failed:
                    kb.colour_reason = _reason(rec)
                named.append(rec)
            elif finds == "text":
                kb.ocr_evidence.append(kb.add_step(rec))
                lines = detections(rec) if rec.ok else None
                kb.lines = lines
                if lines is None:
                    kb.ocr_reason = _reason(rec) if rec.failed else "OCR gave no lines"
        if self.colours and not colour_failed:
            merged = Detections.merge(d for d in map(detections, named) if d is not None)
            kb.objects = drop_nested_duplicates(
                merged if len(merged) else merged.with_data("colour", []))
        else:
            kb.objects = Detections.merge(d for d in map(detections, found) if d is not None)


def plan_steps(questions: list[Question], *, offers: Callable[[str], bool],
               new_id: Callable[[], str], detector: str = "auto",
               min_confidence: float = 0.25, read: bool = True) -> StepPlan:
    """The tool steps that answer ``questions`` (stage 3's plan; nothing runs here).

    Objects: one ``detect`` step per detector that can look for the classes asked
    about (:func:`lavr.tools.detect.coverage`; a closed-vocabulary detector is asked
    for everything it knows, so a shape hidden by another class is seen), at
    ``min_confidence`` (uncertain detections make claims unverifiable, not refuted),
    and a ``colour`` step on each. Text: an ``ocr`` step, unless ``read`` is False
    (the lines are known). A tool the agent does not offer leaves what it would have
    told unavailable.

    Args:
        questions: Stage-2 questions.
        offers: Whether the agent offers a tool.
        new_id: Gives each step its id.
        detector: ``auto``, a detector name or a ``.pt`` path.
        min_confidence: The ``detect`` steps' score threshold.
        read: Whether text is to be read (False: lines read before are used).
    """
    labels, everything, need_colours = _needed_labels(questions)
    plan = StepPlan(everything=everything, text=any(q.kind == "text" for q in questions))
    if (labels or everything) and not offers("detect"):
        reason = "no detector is available to this agent"
        plan.unavailable.update(dict.fromkeys(labels, reason))
        plan.everything_reason = reason
    elif labels or everything:
        cover = coverage(labels, everything=everything, detector=detector)
        plan.unavailable.update(cover.unavailable)
        plan.everything_reason = cover.everything_reason
        detects = []
        for name, wanted in cover.groups.items():
            args: dict[str, Any] = {"labels": wanted, "min_confidence": min_confidence}
            if is_detector_name(name):  # else a weights file the agent's settings name
                args["detector"] = name
            step = plan.add(Step(id=new_id(), tool="detect", args=args,
                                 why=f"verify: the objects {name} can find"), "objects")
            plan.covers[step.id] = cover.labels_of(name, labels)
            detects.append(step)
        if need_colours and not offers("colour"):
            plan.colour_reason = "no colour expert is available to this agent"
        elif need_colours:
            plan.colours = True
            for d in detects:
                plan.add(Step(id=new_id(), tool="colour", args={"source": d.id},
                              why=f"verify: the colours of {d.id}'s objects"), "colours")
    if plan.text and read and not offers("ocr"):
        plan.ocr_reason = "no OCR expert is available to this agent"
    elif plan.text and read:
        plan.add(Step(id=new_id(), tool="ocr", args={}, why="verify: the text in the image"),
                 "text")
    return plan


def _reason(rec: StepEvidence) -> str:
    """Why a step failed, without the ``tool: `` its error starts with."""
    return (rec.error or f"{rec.tool} gave no result").removeprefix(f"{rec.tool}: ")


def drop_nested_duplicates(dets: Detections) -> Detections:
    """Drop detections lying mostly inside a more confident one of the same class and colour.

    Non-maximum suppression keeps a small box inside a large one (low IoU); two
    objects of one class and colour nested like that are almost always one
    object found twice.
    """
    if len(dets) < 2 or "colour" not in dets.data:
        return dets
    keep = np.ones(len(dets), dtype=bool)
    order = np.argsort(-dets.confidence)
    for rank, i in enumerate(order):
        for j in order[:rank]:
            if not keep[j] or dets.label[i] != dets.label[j] or \
                    dets.data["colour"][i] != dets.data["colour"][j]:
                continue
            if _inside_fraction(dets.xyxy[i], dets.xyxy[j]) >= DUPLICATE_INSIDE:
                keep[i] = False
                break
    return dets[keep]


def _inside_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Share of box ``a`` inside box ``b``."""
    iw = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    ih = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    area = max(0.0, float(a[2] - a[0])) * max(0.0, float(a[3] - a[1]))
    return iw * ih / area if area > 0 else 0.0


def knowledge_from_objects(objects: Sequence[tuple[str, str, Sequence[float]]],
                           texts: Sequence[tuple[str, Sequence[float]]] = (), *,
                           image_size: tuple[int, int], source: str = "scene") -> VisualKnowledge:
    """Knowledge from known objects and text (ground truth, or another system's output).

    Args:
        objects: ``(label, colour, xyxy)`` per object, XYXY pixels.
        texts: ``(text, xyxy)`` per text line.
        image_size: ``(width, height)``.
        source: Evidence tool name.
    """
    if objects:
        dets = Detections(np.asarray([o[2] for o in objects], np.float32),
                          np.ones(len(objects), np.float32), [o[0] for o in objects],
                          data={"colour": [o[1] for o in objects]})
    else:
        dets = Detections.empty().with_data("colour", [])
    lines = Detections(np.asarray([t[1] for t in texts], np.float32).reshape(-1, 4),
                       np.ones(len(texts), np.float32), ["text"] * len(texts),
                       text=[t[0] for t in texts])
    kb = VisualKnowledge(objects=dets, lines=lines, image_size=image_size)
    oid = kb.add_evidence(source, f"{source}: {len(dets)} object(s)", boxes=dets.xyxy.tolist())
    tid = kb.add_evidence(source, f"{source}: {len(texts)} text line(s)",
                          boxes=lines.xyxy.tolist())
    kb.object_evidence.append(oid)
    kb.ocr_evidence.append(tid)
    return kb



def describe_knowledge(kb: VisualKnowledge) -> dict[str, Any]:
    """JSON-able summary of a knowledge base (for traces and the CLI)."""
    return {
        "objects": kb.objects.to_records(),
        "text": [] if kb.lines is None or kb.lines.text is None else [str(t) for t in kb.lines.text],
        "unavailable": dict(kb.unavailable),
        "evidence": [e.to_record() for e in kb.evidence],
    }
