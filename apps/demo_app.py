"""The Gradio demo: a multimodal chat that shows the agent think, step by step.

Every graph step (plan, tool calls, decisions, refine, check) arrives as a
collapsible chat message with a title, a status and a duration while the run
is in progress; the answer follows as a normal message with its evidence. The
picture on the right shows the boxes, masks and OCR regions of the answer or of
any single step. Each browser session is one checkpointer thread, so follow-up
questions reuse the image, the cached expert results and the history.

Import this module only where Gradio is wanted (``lavr demo``): importing
:mod:`lavr.agents` never imports Gradio.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio.components.annotated_image import AnnotatedImageData, Annotation
from gradio.data_classes import FileData
from PIL import Image

from lavr.agents import AgentResult, PlanReview, SessionStore, StepEvent, VisualAgent
from lavr.apps import demo_render as render
from lavr.core_model.errors import InputError, LavrError
from lavr.planners.errors import PlanValidationError
from lavr.tools.base import ArtifactStore, ExpertPool, ResultCache
from lavr.tools.detections import Detections

logger = logging.getLogger(__name__)

#: Largest accepted upload.
MAX_FILE_SIZE = "10mb"
#: Questions answered at the same time (the rest wait in the queue).
CONCURRENCY = 2
#: Longest the queue may grow before new requests are turned away.
MAX_QUEUE = 32
#: Seconds a browser session's state is kept after its last use.
STATE_TTL = 3 * 3600

_CSS = """
#evidence img { object-fit: contain; }
footer { display: none !important; }
"""


def _cached_png(cache_dir: str, image: Image.Image) -> str:
    """Write ``image`` as PNG under ``cache_dir``, named by content, once and atomically."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    data = buf.getvalue()
    folder = Path(cache_dir) / "lavr" / hashlib.sha256(data).hexdigest()[:32]
    path = folder / "image.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return str(path)


def _stable_postprocess(component: gr.AnnotatedImage, value: render.Annotated | None
                        ) -> AnnotatedImageData | None:
    """``(HxWx3 uint8 image, [(XYXY box or HxW mask in 0..1, label), ...])`` to picture files.

    Boxes are drawn as the stock component draws them (a 3-pixel border over a
    half-transparent fill, red, tinted per overlay by the frontend).
    """
    if value is None:
        return None
    image, items = value
    h, w = image.shape[:2]
    sections = []
    for mask, label in items:
        if isinstance(mask, np.ndarray):
            alpha = np.clip(mask.astype(np.float32), 0.0, 1.0)
        else:
            alpha = np.zeros((h, w), np.float32)
            x1, y1, x2, y2 = mask
            b = 3
            alpha[y1:y2, x1:x2] = 0.5
            alpha[y1:y2, x1:x1 + b] = alpha[y1:y2, max(x2 - b, x1):x2] = 1.0
            alpha[y1:y1 + b, x1:x2] = alpha[max(y2 - b, y1):y2, x1:x2] = 1.0
        rgba = np.zeros((h, w, 4), np.uint8)
        rgba[..., 0] = np.where(alpha > 0, 255, 0)
        rgba[..., 3] = (alpha * 255).astype(np.uint8)
        mask_file = _cached_png(component.GRADIO_CACHE, Image.fromarray(rgba))
        sections.append(Annotation(image=FileData(path=mask_file), label=label))
    base = FileData(path=_cached_png(component.GRADIO_CACHE, Image.fromarray(image)))
    return AnnotatedImageData(image=base, annotations=sections)


def evidence_image(**kwargs: Any) -> gr.AnnotatedImage:
    """A ``gr.AnnotatedImage`` whose picture files are written once, atomically.

    The stock component rewrites its content-addressed cache files in place on
    every update, so while a run streams the browser can fetch a half-written
    overlay and lose a box. This instance writes each file under a temporary
    name and renames it, and never rewrites it. (An instance attribute, not a
    subclass: Gradio writes a ``.pyi`` beside the source of every component subclass.)
    """
    component = gr.AnnotatedImage(**kwargs)
    component.postprocess = functools.partial(  # type: ignore[method-assign]
        _stable_postprocess, component)
    return component


@dataclass(frozen=True)
class ModelChoice:
    """A model the operator offers in the demo; web clients pick it by :attr:`name`.

    Attributes:
        name: What the settings panel and the API show (never a URL).
        spec: The model string (``rule``, ``gemma``, ``openai:<model>@<url>``...).
        options: Backend options (``timeout``, ``max_new_tokens``...).
        roles: What the model does (None: all roles).
        retries: Re-asks after an unusable reply.
    """

    name: str
    spec: str
    options: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] | None = None
    retries: int = 2


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def model_choice(text: str) -> ModelChoice:
    """``NAME=SPEC`` or ``SPEC`` (named after the spec without its URL) as a :class:`ModelChoice`.

    Raises:
        InputError: A bad model string.
    """
    from lavr.core_model.select import parse_model_spec

    name, sep, spec = text.partition("=")
    if not sep or not _NAME.match(name.strip()):
        name, spec = "", text
    parsed = parse_model_spec(spec.strip())
    if not name:
        name = parsed.backend if parsed.backend in ("rule", "gemma") \
            else f"{parsed.backend}:{parsed.target}"
    return ModelChoice(name=name.strip(), spec=str(parsed))


@dataclass(frozen=True)
class Offer:
    """What web clients may choose from: set by the operator, checked on the server.

    A browser (or any API client) picks a model and a detector by name from
    these lists; it never supplies a model string, a URL or a weights path.

    Attributes:
        models: Models by name; the first is the default.
        detectors: Detector names.
        max_steps: Largest step budget a client may ask for.
    """

    models: dict[str, ModelChoice]
    detectors: list[str]
    max_steps: int = 30

    @classmethod
    def build(cls, models: list[ModelChoice] | None = None, *,
              detectors: list[str] | None = None, max_steps: int = 30) -> Offer:
        """An offer from the operator's models (default: ``rule``) and detectors
        (default: ``auto`` and every detector whose weights are here).

        Raises:
            InputError: Two models with one name.
        """
        chosen: dict[str, ModelChoice] = {}
        for m in models or [ModelChoice("rule", "rule")]:
            if m.name in chosen:
                raise InputError(f"two demo models are named {m.name!r}; name them with "
                                 "--model NAME=SPEC")
            chosen[m.name] = m
        return cls(chosen, list(detectors or detector_choices()), max_steps)

    def settings(self, *, detector: str | None, max_steps: Any, verify: Any, review_plan: Any,
                 model: str | None, cot: str | None, icl: Any) -> Settings:
        """Check a client's choices against the offer.

        Raises:
            InputError: A value that is not on offer (one line naming it and what is).
        """
        model = model or next(iter(self.models))
        if model not in self.models:
            raise InputError(f"unknown model {_shown(model)}; this demo offers: "
                             + ", ".join(self.models))
        detector = detector or "auto"
        if detector not in self.detectors:
            raise InputError(f"unknown detector {_shown(detector)}; this demo offers: "
                             + ", ".join(self.detectors))
        if (cot or "off") not in ("off", "chain", "tree"):
            raise InputError(f"chain of thought must be off, chain or tree, not {_shown(cot)}")
        try:
            steps, k = int(max_steps if max_steps is not None else 12), int(icl or 0)
        except (TypeError, ValueError) as exc:
            raise InputError("the step budget and the number of in-context examples must "
                             "be whole numbers") from exc
        if not 1 <= steps <= self.max_steps or not 0 <= k <= 8:
            raise InputError(f"the step budget must be 1-{self.max_steps} and in-context "
                             "examples 0-8")
        return Settings(detector=detector, max_steps=steps, verify=bool(verify),
                        review_plan=bool(review_plan), model=model, cot=cot or "off", icl=k)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…'"


@dataclass(frozen=True)
class Settings:
    """What the settings panel chose for one question (checked by :meth:`Offer.settings`).

    Attributes:
        detector: Detector name (``auto``, ``shapes``, ...).
        max_steps: Tool-call budget.
        verify: Whether the check/correction node runs.
        review_plan: Pause after planning for the user's approval.
        model: Name of one of the offered models.
        cot: Chain-of-thought mode, ``off``, ``chain`` or ``tree``.
        icl: Number of in-context demos.
    """

    detector: str = "auto"
    max_steps: int = 12
    verify: bool = True
    review_plan: bool = False
    model: str = "rule"
    cot: str = "off"
    icl: int = 0


@dataclass
class ChatState:
    """One browser session: its thread, messages, pictures and a paused run.

    Attributes:
        thread_id: Checkpointer thread of this browser session.
        messages: The chat as shown (Gradio messages format).
        pictures: ``AnnotatedImage`` values by picture-choice label.
        has_image: Whether the thread has an image to ask about again.
        paused: Settings of the run waiting for plan approval, if any.
        plan_shown: The plan JSON shown for approval (to tell an edit from none).
    """

    thread_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    messages: list[dict[str, Any]] = field(default_factory=list)
    pictures: dict[str, render.Annotated] = field(default_factory=dict)
    has_image: bool = False
    paused: Settings | None = None
    plan_shown: str = ""


@dataclass(frozen=True)
class Example:
    """A bundled example: an image file and a question about it."""

    image: Path
    question: str


def detector_choices() -> list[str]:
    """``auto`` and every detector whose weights are on this machine."""
    from lavr.tools.detect import list_detectors

    return ["auto"] + [d["name"] for d in list_detectors() if d["present"]]


class AgentPool:
    """One :class:`VisualAgent` per (detector, verify, model), all sharing one session
    store, expert pool, result cache and artifact store.

    Args:
        sessions: Where the threads live (SQLite file or in memory).
        offer: The models and detectors on offer.
        memory_budget_mb: Unload least-recently-used experts beyond this.
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    def __init__(self, sessions: SessionStore, offer: Offer, *,
                 memory_budget_mb: float | None = None, device: str = "auto") -> None:
        self.sessions = sessions
        self.offer = offer
        self.device = device
        self.experts = ExpertPool(memory_budget_mb)
        self.cache = ResultCache()
        self.artifacts = ArtifactStore()
        self._agents: dict[tuple[str, bool, str], VisualAgent] = {}
        self._lock = threading.Lock()

    def get(self, settings: Settings) -> VisualAgent:
        """The agent for these settings (made on first use)."""
        key = (settings.detector, settings.verify, settings.model)
        with self._lock:
            agent = self._agents.get(key)
            if agent is None:
                choice = self.offer.models[settings.model]
                agent = VisualAgent(detector=settings.detector, verify=settings.verify,
                                    max_steps=settings.max_steps, device=self.device,
                                    sessions=self.sessions, model=choice.spec,
                                    model_options=dict(choice.options),
                                    model_roles=list(choice.roles) if choice.roles else None,
                                    model_retries=choice.retries)
                agent.context.experts = self.experts
                agent.context.cache = self.cache
                agent.context.artifacts = self.artifacts
                self._agents[key] = agent
            return agent


#: The starter examples shipped inside the package (present in a wheel install too).
PACKAGED_EXAMPLES = Path(__file__).resolve().parent / "data" / "examples" / "examples.json"


def find_examples(path: str | Path | None = None) -> list[Example]:
    """The examples of an ``examples.json`` whose image files exist.

    Args:
        path: A JSON list of ``{"image", "question"}``; image paths are relative to
            the file's folder (or its parent, as in the repository's ``examples/``).
            By default the starter examples shipped with the package.

    Raises:
        InputError: ``path`` is missing, not such a list, or names no existing image.
    """
    file = Path(path).expanduser() if path else PACKAGED_EXAMPLES
    try:
        items = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"examples file {file} does not exist") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"examples file {file} is not readable JSON: {exc}") from exc
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("image"), str)
            and isinstance(i.get("question"), str) for i in items):
        raise InputError(f"examples file {file} must be a JSON list of "
                         '{"image": PATH, "question": TEXT}')
    found = []
    for item in items:
        image = Path(item["image"]).expanduser()
        where = [image] if image.is_absolute() else [file.parent / image,
                                                     file.parent.parent / image]
        hit = next((p for p in where if p.is_file()), None)
        if hit is None:
            logger.warning("example image %s not found; skipped", item["image"])
            continue
        found.append(Example(hit.resolve(), item["question"]))
    if not found:
        raise InputError(f"examples file {file} names no existing image")
    return found


def stage_examples(examples: list[Example], folder: Path | None = None) -> list[Example]:
    """Copy the example images, and nothing else, into a folder of their own.

    The demo serves examples from this copy, so nothing beside an example image
    in its original folder is ever reachable from the browser.

    Args:
        examples: The examples (any folders).
        folder: Where to copy (default: a new temporary folder).
    """
    folder = folder or Path(tempfile.mkdtemp(prefix="lavr-demo-examples-"))
    staged, copies = [], {}
    for ex in examples:
        if ex.image not in copies:
            target = folder / f"{len(copies)}{ex.image.suffix.lower()}"
            shutil.copyfile(ex.image, target)
            copies[ex.image] = target
        staged.append(Example(copies[ex.image], ex.question))
    return staged


def image_problem(path: str | Path) -> str | None:
    """Why an uploaded file cannot be used as an image (None when it can).

    The check reads the file's content (Pillow), not its name or the browser's word.
    """
    try:
        with Image.open(path) as img:
            img.verify()
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is refused
        return ("The uploaded file is not an image. Upload a picture (PNG, JPEG, WebP, "
                "BMP or GIF).")
    return None


def scrub_paths(text: str, paths: list[str]) -> str:
    """``text`` with server-side upload paths replaced by "the uploaded image"."""
    for p in sorted(filter(None, paths), key=len, reverse=True):
        text = text.replace(p, "the uploaded image")
    folders = {tempfile.gettempdir(), os.environ.get("GRADIO_TEMP_DIR", "")}
    for folder in filter(None, folders):
        text = re.sub(re.escape(folder.rstrip("/")) + r"/[^\s'\"]+", "the uploaded image", text)
    return text


class DemoApp:
    """The demo's handlers, around one :class:`AgentPool`.

    Args:
        pool: Agents for every combination of settings.
        examples: Example images and questions.
    """

    def __init__(self, pool: AgentPool, examples: list[Example]) -> None:
        self.pool = pool
        self.examples = examples

    # -- views --------------------------------------------------------------------------
    def _view(self, state: ChatState, *, picture: str | None = None, busy: bool = False,
              review: PlanReview | None = None, keep_review: bool = False) -> tuple[Any, ...]:
        """Outputs: chatbot, textbox, picture, picture choice, plan editor, review box, state."""
        choices = list(state.pictures)
        shown = picture if picture in state.pictures else (choices[-1] if choices else None)
        if review is not None:
            plan_update = gr.update(value=state.plan_shown)
            review_update = gr.update(visible=True)
        elif keep_review:
            plan_update, review_update = gr.update(), gr.update(visible=True)
        else:
            plan_update, review_update = gr.update(), gr.update(visible=False)
        return (list(state.messages),
                gr.update(value=None, interactive=not busy),
                state.pictures.get(shown) if shown else None,
                gr.update(choices=choices, value=shown),
                plan_update, review_update, state)

    @staticmethod
    def _drop_pending(state: ChatState) -> None:
        state.messages = [m for m in state.messages
                          if (m.get("metadata") or {}).get("status") != "pending"]

    def _fail(self, state: ChatState, text: str) -> tuple[Any, ...]:
        self._drop_pending(state)
        state.messages.append(render.error_message(text))
        return self._view(state)

    # -- handlers -----------------------------------------------------------------------
    def ask(self, message: dict[str, Any] | None, state: ChatState | None, detector: str,
            max_steps: float, verify: bool, review_plan: bool, model: str | None = None,
            cot: str | None = "off", icl: float | None = 0) -> Iterator[tuple[Any, ...]]:
        """Answer a question (with a new image, or about the session's image), streaming."""
        state = state or ChatState()
        message = message or {}
        question = str(message.get("text") or "").strip()
        files = [f for f in (message.get("files") or []) if f]
        if files:
            state.messages.append({"role": "user", "content": {"path": str(files[-1])}})
        if question:
            state.messages.append({"role": "user", "content": question})
        try:
            settings = self.pool.offer.settings(
                detector=detector, max_steps=max_steps, verify=verify, review_plan=review_plan,
                model=model, cot=cot, icl=icl)
        except InputError as exc:
            yield self._fail(state, str(exc))
            return
        if not question:
            yield self._fail(state, "Type a question about the image.")
            return
        if not files and not state.has_image:
            yield self._fail(state, "Drop an image first (or click an example below).")
            return
        if files and (problem := image_problem(files[-1])):
            yield self._fail(state, problem)
            return
        state.paused = None
        try:
            agent = self.pool.get(settings)
            events = agent.stream(files[-1] if files else None, question,
                                  thread_id=state.thread_id, max_steps=settings.max_steps,
                                  review_plan=settings.review_plan, cot=settings.cot,
                                  icl=settings.icl)
            yield from self._play(state, agent, events, settings, image_given=bool(files))
        except Exception as exc:  # noqa: BLE001 - shown in the chat, never a broken page
            yield self._error(state, exc, uploads=[str(f) for f in files])

    def approve(self, plan_text: str, state: ChatState | None) -> Iterator[tuple[Any, ...]]:
        """Run the paused plan, as shown or as edited in the plan editor."""
        state = state or ChatState()
        if state.paused is None:
            yield self._fail(state, "No plan is waiting for approval.")
            return
        settings = state.paused
        edited = self._edited(plan_text, state.plan_shown)
        try:
            agent = self.pool.get(settings)
            events = agent.resume(state.thread_id, plan=edited)
            first = next(events)  # validates the edited plan before anything runs
        except PlanValidationError as exc:
            self._drop_pending(state)
            state.messages.append(render.error_message(f"That plan cannot run: {exc}. "
                                                       "Fix it and press Run again."))
            state.messages.append(render.review_message())
            yield self._view(state, keep_review=True)
            return
        except Exception as exc:  # noqa: BLE001 - shown in the chat, never a broken page
            state.paused = None
            yield self._error(state, exc)
            return
        state.paused = None

        def chained() -> Iterator[Any]:
            yield first
            yield from events

        try:
            yield from self._play(state, agent, chained(), settings, image_given=False)
        except Exception as exc:  # noqa: BLE001 - shown in the chat, never a broken page
            yield self._error(state, exc)

    def cancel(self, state: ChatState | None) -> tuple[Any, ...]:
        """Discard the paused plan."""
        state = state or ChatState()
        state.paused = None
        self._drop_pending(state)
        state.messages.append({"role": "assistant",
                               "content": "Plan discarded. Ask again when you are ready."})
        return self._view(state)

    def show(self, choice: str | None, state: ChatState | None) -> Any:
        """The picture of one step (or of the answer's evidence)."""
        if not state or not choice:
            return None
        return state.pictures.get(choice)

    def new_conversation(self) -> tuple[Any, ...]:
        """Forget this browser session's conversation (a new thread)."""
        return self._view(ChatState())

    # -- streaming ----------------------------------------------------------------------
    @staticmethod
    def _edited(plan_text: str, shown: str) -> str | None:
        """The edited plan text, or None when it is what was shown."""
        try:
            if json.loads(plan_text) == json.loads(shown):
                return None
        except (json.JSONDecodeError, TypeError):
            pass
        return plan_text

    def _play(self, state: ChatState, agent: VisualAgent, events: Iterator[Any],
              settings: Settings, *, image_given: bool) -> Iterator[tuple[Any, ...]]:
        """Turn agent events into chat updates as they arrive."""
        state.messages.append(render.pending_message("Reading the image…"))
        if image_given:
            state.pictures = {}
        yield self._view(state, busy=True)
        image: np.ndarray | None = None
        shown: str | None = None
        for event in events:
            self._drop_pending(state)
            if isinstance(event, StepEvent):
                if event.node == "ingest" and event.update.get("image_id"):
                    image = agent.context.artifacts.get(event.update["image_id"])
                    state.has_image = True
                    state.pictures = {}
                shown = self._step_pictures(state, agent, event, image) or shown
                state.messages.extend(render.event_messages(event))
                state.messages.append(render.pending_message(render.next_work(event)))
                yield self._view(state, picture=shown, busy=True)
            elif isinstance(event, PlanReview):
                state.paused = settings
                state.plan_shown = json.dumps(event.plan, indent=2)
                state.messages.append(render.review_message())
                yield self._view(state, picture=shown, review=event)
                return
            elif isinstance(event, AgentResult):
                state.has_image = True
                state.pictures = render.result_pictures(event)
                state.messages.append(render.answer_message(event))
                yield self._view(state, picture=render.ANSWER_CHOICE)
                return
        yield self._view(state)  # pragma: no cover - the agent always ends with a result

    @staticmethod
    def _step_pictures(state: ChatState, agent: VisualAgent, event: StepEvent,
                       image: np.ndarray | None) -> str | None:
        """Add the pictures of the tool steps in ``event``; returns the last label added."""
        if image is None:
            return None
        label = None
        for rec in event.records:
            aid = rec.get("artifact_id")
            if event.node != "tool" or not aid or aid not in agent.context.artifacts:
                continue
            dets = agent.context.artifacts.get(aid)
            if isinstance(dets, Detections):
                label = render.step_choice(rec, len(dets))
                state.pictures[label] = render.annotations(image, dets,
                                                           prefix=f"{rec.get('step')}: ")
        return label

    def _error(self, state: ChatState, exc: Exception, *, uploads: list[str] | None = None
               ) -> tuple[Any, ...]:
        if isinstance(exc, LavrError):
            return self._fail(state, scrub_paths(str(exc), uploads or []))
        logger.exception("demo request failed")
        return self._fail(state, "Internal error: "
                          + scrub_paths(f"{type(exc).__name__}: {exc}", uploads or []))


def build_demo(*, sessions: SessionStore | str | Path | None = None,
               examples: list[Example] | None = None, models: list[ModelChoice] | None = None,
               default_detector: str = "auto", max_steps: int = 12,
               memory_budget_mb: float | None = None, device: str = "auto") -> gr.Blocks:
    """The demo's page.

    Args:
        sessions: Session store or SQLite path for the threads (in memory by default;
            a file keeps conversations across restarts of the demo).
        examples: Example images and questions (the packaged starter examples by
            default); they are served from a copy of their own (:func:`stage_examples`).
        models: The models web clients may pick, by name (default: ``rule`` only);
            the first is selected at start.
        default_detector: Detector selected at start (offered beside the installed ones).
        max_steps: Step budget selected at start.
        memory_budget_mb: Unload least-recently-used experts beyond this.
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        The ``gr.Blocks``; call :func:`launch` (or ``.queue().launch()``) on it.
    """
    store = sessions if isinstance(sessions, SessionStore) else SessionStore(sessions or ":memory:")
    detectors = detector_choices()
    if default_detector not in detectors:
        detectors.append(default_detector)
    offer = Offer.build(models, detectors=detectors)
    staged = stage_examples(examples if examples is not None else find_examples())
    app = DemoApp(AgentPool(store, offer, memory_budget_mb=memory_budget_mb, device=device),
                  staged)
    with gr.Blocks(title="lavr: visual reasoning with vision experts") as demo:
        gr.Markdown("## lavr: ask about an image, watch the agent reason\n"
                    "Drop an image (or pick an example), ask a question, and follow the plan, "
                    "every expert call and the decisions. Ask a follow-up without a new image "
                    "to talk about the same picture.")
        state = gr.State(None, time_to_live=STATE_TTL)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Reasoning", height=560, elem_id="chat",
                                     feedback_options=None, buttons=["copy_all"],
                                     placeholder="The plan, tool calls and decisions "
                                                 "appear here as they happen.")
                textbox = gr.MultimodalTextbox(
                    file_types=["image"], file_count="single", sources=["upload"],
                    placeholder="Drop an image and ask a question…", show_label=False,
                    elem_id="ask", autofocus=True)
                with gr.Group(visible=False, elem_id="review") as review_box:
                    plan_code = gr.Code(label="Plan (edit the JSON, then approve)",
                                        language="json", interactive=True, elem_id="plan")
                    with gr.Row():
                        approve_btn = gr.Button("Run this plan", variant="primary",
                                                elem_id="approve")
                        cancel_btn = gr.Button("Discard", elem_id="discard")
            with gr.Column(scale=2):
                picture = evidence_image(label="Evidence", elem_id="evidence", height=420)
                pick = gr.Radio(label="Show the evidence of", choices=[], elem_id="pick")
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    detector = gr.Dropdown(detectors, value=default_detector, label="Detector")
                    budget = gr.Slider(1, offer.max_steps, value=max_steps, step=1, label="Step budget")
                    verify = gr.Checkbox(True, label="Check and correct the answer")
                    review = gr.Checkbox(False, label="Approve the plan before it runs")
                    model = gr.Dropdown(list(offer.models), value=next(iter(offer.models)),
                                        label="Model", info="the models this server offers")
                    cot = gr.Radio(["off", "chain", "tree"], value="off",
                                   label="Chain of thought")
                    icl = gr.Slider(0, 8, value=0, step=1, label="In-context examples (k)")
                new_btn = gr.Button("New conversation", elem_id="new")
        outputs = [chatbot, textbox, picture, pick, plan_code, review_box, state]
        inputs = [textbox, state, detector, budget, verify, review, model, cot, icl]
        textbox.submit(app.ask, inputs, outputs, api_name="ask")
        if app.examples:
            ex = gr.Examples(
                [[{"text": e.question, "files": [str(e.image)]}] for e in app.examples],
                inputs=[textbox], label="Examples (one click asks)",
                example_labels=[f"{e.question} ({e.image.name})" for e in app.examples])
            ex.load_input_event.then(app.ask, inputs, outputs, api_visibility="private")
        approve_btn.click(app.approve, [plan_code, state], outputs, api_name="approve")
        cancel_btn.click(app.cancel, [state], outputs, api_name="discard")
        pick.change(app.show, [pick, state], [picture], api_visibility="private")
        new_btn.click(app.new_conversation, None, outputs, api_name="new_conversation")
    demo.lavr_app = app  # type: ignore[attr-defined]  # handy in tests and notebooks
    return demo


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = None,
           concurrency: int = CONCURRENCY, max_file_size: str | int = MAX_FILE_SIZE,
           prevent_thread_lock: bool = False, allowed_paths: list[str] | None = None
           ) -> Any:
    """Queue (bounded concurrency and length) and serve ``demo`` locally, offline.

    Returns:
        What ``gr.Blocks.launch`` returns (app, local URL, share URL).
    """
    demo.queue(default_concurrency_limit=concurrency, max_size=MAX_QUEUE)
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    return demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                       max_file_size=max_file_size, prevent_thread_lock=prevent_thread_lock,
                       allowed_paths=list(allowed_paths or []), show_error=True,
                       ssr_mode=False, theme=theme, css=_CSS, quiet=True)
