"""The five stages end to end: :class:`Corrector` (which runs the verification subgraph,
:mod:`lavr.agents.verify.subgraph`) and :class:`CorrectionResult`."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args

import numpy as np
from PIL import Image

from lavr.agents.state import AgentContext
from lavr.agents.verify.correct import (
    LLMCorrector,
    RuleCorrector,
    answer_like,
    bare_polar,
    proposition_holds,
)
from lavr.agents.verify.extract import Extractor, LLMExtractor, RuleExtractor
from lavr.agents.verify.steps import ContextSteps, vqa_through
from lavr.agents.verify.subgraph import CheckContext, CheckState, run_check
from lavr.agents.verify.types import Answer, Claim, Concept, Question, UnverifiablePolicy
from lavr.agents.verify.validate import ExpertValidator, VisualKnowledge, VQAFunction
from lavr.core_model.errors import InputError
from lavr.core_model.messages import Message
from lavr.core_model.model import MultimodalModel
from lavr.tools.base import ArtifactStore
from lavr.tools.detections import Detections
from lavr.tools.draw import draw_detections
from lavr.tools.evidence import Evidence

logger = logging.getLogger(__name__)

#: Longest text accepted for correction, in characters.
MAX_TEXT_CHARS = 20_000
#: What the corrected text says when no sentence survives.
NOTHING_LEFT = "(Nothing in the text could be confirmed by the vision experts.)"


@dataclass
class CheckResult:
    """Stages 1–4 on one text: what it claims and whether the image supports it."""

    concepts: list[Concept]
    questions: list[Question]
    answers: list[Answer]
    knowledge: VisualKnowledge
    claims: list[Claim]

    @property
    def refuted(self) -> list[Claim]:
        """The refuted claims."""
        return [k for k in self.claims if k.verdict == "refuted"]


@dataclass
class CorrectionResult:
    """A corrected text with the claims checked on the way.

    Attributes:
        original: The text as given.
        corrected: The text after correction (refuted claims removed or fixed,
            supported objects with inline normalised boxes).
        claims: Every claim with its verdict, evidence ids and boxes.
        concepts: Stage-1 concepts.
        questions: Stage-2 questions.
        answers: Stage-3 answers.
        evidence: The tool steps (and other looks at the image) behind the answers.
        image: The ``HxWx3 uint8 RGB`` image checked.
        mode: ``rule`` or ``llm``.
        policy: Unverifiable-claim policy used.
        notes: Things worth knowing (LLM fallbacks, ...).
        seconds: Wall time.
    """

    original: str
    corrected: str
    claims: list[Claim]
    concepts: list[Concept]
    questions: list[Question]
    answers: list[Answer]
    evidence: list[Evidence]
    image: np.ndarray
    mode: str = "rule"
    policy: str = "mark"
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether correction changed the text."""
        return self.corrected != self.original

    @property
    def counts(self) -> dict[str, int]:
        """Claims per verdict."""
        c = Counter(k.verdict for k in self.claims)
        return {v: c.get(v, 0) for v in ("supported", "refuted", "unverifiable")}

    def summary(self) -> str:
        """One line: ``4 claims: 3 supported, 1 refuted, 0 unverifiable; text corrected``."""
        c = self.counts
        if not self.claims:
            return "no checkable claims; text unchanged" if not self.changed else \
                "no checkable claims"
        what = "text corrected" if self.changed else "text unchanged"
        if self.changed and not c["refuted"] and not c["unverifiable"]:
            what = "boxes attached"
        return (f"{len(self.claims)} claim(s): {c['supported']} supported, {c['refuted']} refuted, "
                f"{c['unverifiable']} unverifiable; {what}")

    def annotated_image(self) -> Image.Image:
        """The image with each claim's boxes drawn and captioned ``k1 supported`` etc."""
        boxes, captions = [], []
        for k in self.claims:
            for b in k.boxes[:6]:
                boxes.append(b)
                captions.append(f"{k.id} {k.verdict}")
        if not boxes:
            return Image.fromarray(self.image)
        dets = Detections(np.asarray(boxes, np.float32), np.ones(len(boxes), np.float32),
                          captions)
        return draw_detections(self.image, dets, captions=captions)

    def save_annotated(self, path: str | Path) -> Path:
        """Write :meth:`annotated_image` to ``path`` (format from the suffix)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.annotated_image().save(path)
        return path

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``original``, ``corrected``, ``changed``, ``claims``, ``counts`` ..."""
        return {
            "original": self.original,
            "corrected": self.corrected,
            "changed": self.changed,
            "mode": self.mode,
            "policy": self.policy,
            "counts": self.counts,
            "claims": [k.public() for k in self.claims],
            "questions": [{"id": q.id, "kind": q.kind, "text": q.text} for q in self.questions],
            "evidence": [e.to_record() for e in self.evidence],
            "notes": self.notes,
            "image": {"width": int(self.image.shape[1]), "height": int(self.image.shape[0])},
            "seconds": round(self.seconds, 3),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent, default=str)


class Corrector:
    """Woodpecker-style correction: extract → question → validate → claim → correct.

    Args:
        validator: Answers questions with experts (a default :class:`ExpertValidator`).
        extractor: Stage 1 (rule mode by default).
        policy: Unverifiable claims: ``keep``, ``mark`` or ``remove``.
        attach_boxes: Attach normalised boxes inline to supported objects.
        rewriter: ``prompt -> reply`` text model for LLM-mode correction; None
            uses rule mode.
        max_rewrites: LLM rewrites tried before falling back to rule mode.
    """

    def __init__(self, *, validator: ExpertValidator | None = None,
                 extractor: Extractor | None = None,
                 policy: UnverifiablePolicy = "mark", attach_boxes: bool = True,
                 rewriter: Callable[[str], str] | None = None, max_rewrites: int = 1) -> None:
        self.validator = validator or ExpertValidator()
        self.extractor = extractor or RuleExtractor()
        self.rule = RuleCorrector(policy=policy, attach_boxes=attach_boxes)
        self.llm = LLMCorrector(rewriter, policy=policy) if rewriter is not None else None
        self.policy = policy
        self.max_rewrites = max_rewrites

    @classmethod
    def from_model(cls, generate: Callable[[str], str], *,
                   validator: ExpertValidator | None = None, policy: UnverifiablePolicy = "mark",
                   attach_boxes: bool = True, max_rewrites: int = 1) -> Corrector:
        """LLM mode for stages 1 and 5 with a ``prompt -> reply`` model."""
        return cls(extractor=LLMExtractor(generate), rewriter=generate, validator=validator,
                   policy=policy, attach_boxes=attach_boxes, max_rewrites=max_rewrites)

    @property
    def mode(self) -> str:
        """``llm`` when a rewriter is set, else ``rule``."""
        return "llm" if self.llm is not None else "rule"

    def check(self, image: np.ndarray, text: str, *, extractor: Extractor | None = None,
              direct: bool = False) -> CheckResult:
        """Stages 1–4 (the subgraph up to ``claims``): the claims ``text`` makes and their
        verdicts (``direct``: walked in plain Python, see
        :func:`~lavr.agents.verify.subgraph.run_check`)."""
        ctx = CheckContext(self, image, extractor or self.extractor, direct=direct)
        return _checked(run_check(ctx, text, fix=False))

    def correct(self, image: np.ndarray, text: str, *, question: str | None = None,
                direct: bool = False) -> CorrectionResult:
        """Check ``text`` against ``image`` and correct it (the whole subgraph).

        Args:
            image: ``HxWx3 uint8 RGB``.
            text: Any text about the image (an MLLM's answer, a caption, ...).
            question: The question ``text`` answers, when there is one (a yes/no
                answer is then made to agree with what the experts found; a bare
                "Yes." / "No." has the question's claims checked instead).
            direct: Walk the subgraph's nodes in plain Python instead of invoking
                LangGraph (the main graph's plain runner does; same nodes, same result).

        Raises:
            InputError: ``text`` is not a string or is too long.
        """
        if not isinstance(text, str):
            raise InputError(f"text must be a string, got {type(text).__name__}")
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"text is {len(text)} characters long; the limit is "
                             f"{MAX_TEXT_CHARS}")
        t0 = time.perf_counter()
        said = bare_polar(text) if question else None
        ctx = CheckContext(self, image, self.extractor, question=question, said=said,
                           direct=direct)
        out = run_check(ctx, text if said is None else str(question), answer=text)
        checked = _checked(out)
        return CorrectionResult(
            original=text, corrected=out["corrected"], claims=checked.claims,
            concepts=checked.concepts, questions=checked.questions, answers=checked.answers,
            evidence=list(checked.knowledge.evidence), image=image,
            mode="rule" if said is not None else self.mode, policy=self.policy,
            notes=list(out.get("notes") or []), seconds=time.perf_counter() - t0)

    def fix(self, state: CheckState, ctx: CheckContext) -> dict[str, Any]:
        """Stage 5 (the subgraph's ``correct`` node): ``corrected`` and ``notes``.

        A bare "Yes." / "No." answer gets the yes/no the question's claims imply
        (unchanged when they decide nothing); any other text has refuted claims
        removed or fixed (rule mode, or an LLM rewrite that a re-check accepts).
        """
        text, concepts, claims = state["answer"], state["concepts"], state["claims"]
        if ctx.said is not None:
            holds = proposition_holds(concepts, claims)
            corrected = text if holds is None or holds == (ctx.said == "yes") else \
                answer_like(text, holds)
            return {"corrected": corrected,
                    "notes": [f"a bare {ctx.said!r} answer: checked the question's claims "
                              f"instead"]}
        notes: list[str] = []
        corrected = self.rule.correct(text, concepts, claims, question=ctx.question)
        if self.llm is not None and (any(k.verdict == "refuted" for k in claims) or (
                self.policy != "keep" and any(k.verdict == "unverifiable" for k in claims))):
            corrected = self._llm_correct(ctx.image, text, _checked(state), corrected, notes,
                                          direct=ctx.direct)
        if text.strip() and not corrected.strip():
            corrected = NOTHING_LEFT
        return {"corrected": corrected, "notes": notes}

    def _llm_correct(self, image: np.ndarray, text: str, checked: CheckResult, fallback: str,
                     notes: list[str], *, direct: bool = False) -> str:
        """The model's rewrite if a re-check finds nothing refuted in it, else ``fallback``."""
        if self.llm is None:
            return fallback
        feedback = ""
        for attempt in range(self.max_rewrites + 1):
            rewrite = self.llm.correct(text, checked.claims, feedback=feedback)
            if not rewrite.strip():
                feedback = "the rewrite was empty"
                continue
            recheck = self.check(image, rewrite, extractor=RuleExtractor(), direct=direct)
            if not recheck.refuted:
                notes.append(f"LLM rewrite accepted after {attempt + 1} attempt(s); the "
                             f"re-check found nothing refuted")
                return rewrite
            feedback = "it still claims " + "; ".join(k.text for k in recheck.refuted)
            logger.info("LLM rewrite rejected: %s", feedback)
        notes.append(f"LLM rewrite rejected ({feedback}); used rule-mode correction")
        return fallback


def _checked(state: CheckState) -> CheckResult:
    return CheckResult(state["concepts"], state["questions"], state["answers"],
                       state["knowledge"], state["claims"])


def ocr_lines_from_evidence(evidence: list[Evidence], artifacts: ArtifactStore, *,
                            readers: Collection[str]) -> Detections | None:
    """Every text line the agent's reading steps read (None when none ran).

    Args:
        evidence: The run's evidence.
        artifacts: Where its detections are.
        readers: Names of the tools that read text (the registry's tools answering ``read``).
    """
    found = []
    for rec in evidence:
        if rec.tool not in readers or rec.failed or not rec.artifact_id:
            continue
        obj = artifacts.find_detections(rec.artifact_id)
        if obj is not None and obj.text is not None:
            found.append(obj)
    if not found:
        return None
    merged = Detections.merge(found)
    return merged if merged.text is not None else None


#: Scripted-model task names of the LLM-mode stages.
EXTRACT_TASK = "verify_extract"
CORRECT_TASK = "verify_correct"
#: A multimodal model, or a ``prompt -> reply`` function.
TextModelLike = MultimodalModel | Callable[[str], str]


def as_text_model(model: TextModelLike, *, task: str = CORRECT_TASK,
                  max_new_tokens: int = 512) -> Callable[[str], str]:
    """``prompt -> reply`` from a :class:`~lavr.core_model.model.MultimodalModel` or a callable."""
    if not isinstance(model, MultimodalModel):
        if not callable(model):
            raise InputError(f"expected a model or a prompt -> reply function, got "
                             f"{type(model).__name__}")
        return model

    def generate(prompt: str) -> str:
        return model.generate([Message.user(prompt)], task=task, max_new_tokens=max_new_tokens)
    return generate


def corrector_for_context(context: AgentContext, *, evidence: list[Evidence] | None = None,
                          image_id: str | None = None, image_hash: str | None = None,
                          validator: ExpertValidator | None = None,
                          policy: UnverifiablePolicy | None = None,
                          attach_boxes: bool | None = None, vqa: VQAFunction | None = None,
                          model: TextModelLike | None = None) -> Corrector:
    """A :class:`Corrector` whose tool steps run on an agent's context.

    The questions' tool steps run like the agent's own plan steps: the agent's
    registry (no ``detect`` tool: object claims are unverifiable), result cache,
    artifact store, experts and settings (``detector``, ``device``, ...). When the
    agent's multimodal model sees images and the registry has ``vqa``, the model
    answers what the experts cannot. Settings read: ``detector``, ``verify_policy``,
    ``verify_attach_boxes``.

    Args:
        context: The agent's context.
        evidence: The run's evidence records; OCR lines in them are reused.
        image_id: Id of the run's image in ``context.artifacts`` (with ``image_hash``),
            so it is neither stored nor hashed again.
        image_hash: Content hash of that image.
        validator: A validator to share (another corrector's): what its experts saw
            on the image is reused.
        policy: Overrides ``verify_policy``.
        attach_boxes: Overrides ``verify_attach_boxes``.
        vqa: Overrides the agent's model for what the experts cannot answer.
        model: A model (or ``prompt -> reply`` function) for LLM-mode extraction
            and rewriting. None: rule mode.
    """
    settings = context.settings
    if validator is None:
        registry = context.registry
        steps = ContextSteps(context, image_id=image_id, image_hash=image_hash)
        seeing = context.model is not None and context.model.sees_images
        if vqa is None and seeing and steps.offers("vqa"):
            vqa = vqa_through(steps)
        ocr_lines = ocr_lines_from_evidence(evidence or [], context.artifacts, readers={
            t.name for t in registry.answering("read")})
        validator = ExpertValidator(steps, detector=str(settings.get("detector") or "auto"),
                                    vqa=vqa, ocr_lines=ocr_lines)
    raw = policy or settings.get("verify_policy") or "mark"
    if raw not in get_args(UnverifiablePolicy):
        raise InputError(f"verify_policy must be keep, mark or remove, got {raw!r}")
    pol = cast(UnverifiablePolicy, raw)
    attach = bool(settings.get("verify_attach_boxes", True)) if attach_boxes is None \
        else attach_boxes
    if model is not None:
        return Corrector(validator=validator, policy=pol, attach_boxes=attach,
                         extractor=LLMExtractor(as_text_model(model, task=EXTRACT_TASK)),
                         rewriter=as_text_model(model, task=CORRECT_TASK))
    return Corrector(validator=validator, policy=pol, attach_boxes=attach)
