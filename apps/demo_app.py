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
import inspect
import io
import json
import logging
import os
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
from lavr.core_model.errors import LavrError
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
class Settings:
    """What the settings panel chooses for one question.

    Attributes:
        detector: Detector name (``auto``, ``shapes``, ...).
        max_steps: Tool-call budget.
        verify: Whether the check/correction node runs.
        review_plan: Pause after planning for the user's approval.
        model: Model backend (only when :class:`VisualAgent` accepts ``model=``).
        cot: Chain-of-thought mode, ``off``, ``chain`` or ``tree`` (when supported).
        icl: Number of in-context demos (when supported).
    """

    detector: str = "auto"
    max_steps: int = 12
    verify: bool = True
    review_plan: bool = False
    model: str | None = None
    cot: str = "off"
    icl: int = 0

    def reasoning_kwargs(self) -> dict[str, Any]:
        """``cot`` / ``icl`` arguments for ``VisualAgent.stream``, where it takes them."""
        return {"cot": self.cot, "icl": self.icl} if accepts_reasoning() else {}


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


def accepts_model() -> bool:
    """Whether this :class:`VisualAgent` takes a ``model=`` backend argument."""
    return "model" in inspect.signature(VisualAgent.__init__).parameters


def accepts_reasoning() -> bool:
    """Whether ``VisualAgent.stream`` takes per-question ``cot=`` and ``icl=`` options."""
    params = inspect.signature(VisualAgent.stream).parameters
    return "cot" in params and "icl" in params


def model_choices() -> list[str]:
    """``default`` (the agent's own choice) and the model strings that need no argument;
    any other model string (``openai:<model>@<url>``, ``transformers:<id>``) can be typed."""
    return ["default", "rule", "gemma"]


def detector_choices() -> list[str]:
    """``auto`` and every detector whose weights are on this machine."""
    from lavr.tools.detect import list_detectors

    return ["auto"] + [d["name"] for d in list_detectors() if d["present"]]


class AgentPool:
    """One :class:`VisualAgent` per (detector, verify, model), all sharing one session
    store, expert pool, result cache and artifact store.

    Args:
        sessions: Where the threads live (SQLite file or in memory).
        memory_budget_mb: Unload least-recently-used experts beyond this.
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    def __init__(self, sessions: SessionStore, *, memory_budget_mb: float | None = None,
                 device: str = "auto") -> None:
        self.sessions = sessions
        self.device = device
        self.experts = ExpertPool(memory_budget_mb)
        self.cache = ResultCache()
        self.artifacts = ArtifactStore()
        self._agents: dict[tuple[str, bool, str | None], VisualAgent] = {}
        self._lock = threading.Lock()

    def get(self, settings: Settings) -> VisualAgent:
        """The agent for these settings (made on first use)."""
        key = (settings.detector, settings.verify, settings.model)
        with self._lock:
            agent = self._agents.get(key)
            if agent is None:
                extra: dict[str, Any] = {}
                if settings.model and accepts_model():
                    extra["model"] = settings.model
                agent = VisualAgent(detector=settings.detector, verify=settings.verify,
                                    max_steps=settings.max_steps, device=self.device,
                                    sessions=self.sessions, **extra)
                agent.context.experts = self.experts
                agent.context.cache = self.cache
                agent.context.artifacts = self.artifacts
                self._agents[key] = agent
            return agent


def find_examples(path: str | Path | None = None) -> list[Example]:
    """The bundled examples whose image files exist.

    Args:
        path: An ``examples.json``; by default ``./examples/examples.json``, then
            the one beside the source tree. Without any, two scenes are rendered
            with :func:`lavr.tools.synthetic.render_scene`.
    """
    candidates = [Path(path)] if path else [
        Path.cwd() / "examples" / "examples.json",
        Path(__file__).resolve().parents[1] / "examples" / "examples.json"]
    for file in candidates:
        if not file.is_file():
            continue
        found = []
        for item in json.loads(file.read_text(encoding="utf-8")):
            image = Path(item["image"])
            if not image.is_absolute():
                image = file.parent.parent / image
            if image.is_file():
                found.append(Example(image.resolve(), item["question"]))
        if found:
            return found
    if path:
        logger.warning("no usable examples in %s", path)
    return rendered_examples(Path(tempfile.mkdtemp(prefix="lavr-examples-")))


def rendered_examples(folder: Path) -> list[Example]:
    """Render two example scenes into ``folder`` (when no bundled examples are found)."""
    from lavr.tools.synthetic import render_scene

    folder.mkdir(parents=True, exist_ok=True)
    shapes = render_scene(np.random.default_rng(3), width=480, height=360, n_objects=4)
    sign = render_scene(np.random.default_rng(5), width=480, height=320, n_objects=0,
                        text="OPEN DAILY")
    out = []
    for name, scene, question in (("shapes.png", shapes, "How many circles are there?"),
                                  ("sign.png", sign, "What does the sign say?")):
        Image.fromarray(scene.image).save(folder / name)
        out.append(Example(folder / name, question))
    return out


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
        settings = Settings(detector=detector or "auto", max_steps=max(1, int(max_steps or 12)),
                            verify=bool(verify), review_plan=bool(review_plan),
                            model=(model or None) if model != "default" else None,
                            cot=cot or "off", icl=max(0, int(icl or 0)))
        if files:
            state.messages.append({"role": "user", "content": {"path": str(files[-1])}})
        if question:
            state.messages.append({"role": "user", "content": question})
        if not question:
            yield self._fail(state, "Type a question about the image.")
            return
        if not files and not state.has_image:
            yield self._fail(state, "Drop an image first (or click an example below).")
            return
        state.paused = None
        try:
            agent = self.pool.get(settings)
            events = agent.stream(files[-1] if files else None, question,
                                  thread_id=state.thread_id, max_steps=settings.max_steps,
                                  review_plan=settings.review_plan,
                                  **settings.reasoning_kwargs())
            yield from self._play(state, agent, events, settings, image_given=bool(files))
        except Exception as exc:  # noqa: BLE001 - shown in the chat, never a broken page
            yield self._error(state, exc)

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

    def _error(self, state: ChatState, exc: Exception) -> tuple[Any, ...]:
        if isinstance(exc, LavrError):
            return self._fail(state, str(exc))
        logger.exception("demo request failed")
        return self._fail(state, f"Internal error: {type(exc).__name__}: {exc}")


def build_demo(*, sessions: SessionStore | str | Path | None = None,
               examples: list[Example] | None = None, default_detector: str = "auto",
               max_steps: int = 12, memory_budget_mb: float | None = None,
               device: str = "auto") -> gr.Blocks:
    """The demo's page.

    Args:
        sessions: Session store or SQLite path for the threads (in memory by default;
            a file keeps conversations across restarts of the demo).
        examples: Example images and questions (found with :func:`find_examples` by default).
        default_detector: Detector selected at start.
        max_steps: Step budget selected at start.
        memory_budget_mb: Unload least-recently-used experts beyond this.
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        The ``gr.Blocks``; call :func:`launch` (or ``.queue().launch()``) on it.
    """
    store = sessions if isinstance(sessions, SessionStore) else SessionStore(sessions or ":memory:")
    app = DemoApp(AgentPool(store, memory_budget_mb=memory_budget_mb, device=device),
                  examples if examples is not None else find_examples())
    detectors = detector_choices()
    if default_detector not in detectors:
        detectors.append(default_detector)
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
                    budget = gr.Slider(1, 30, value=max_steps, step=1, label="Step budget")
                    verify = gr.Checkbox(True, label="Check and correct the answer")
                    review = gr.Checkbox(False, label="Approve the plan before it runs")
                    model = gr.Dropdown(model_choices(), value="default", label="Model backend",
                                        allow_custom_value=True, visible=accepts_model(),
                                        info="rule, gemma, openai:<model>@<url>, "
                                             "transformers:<id>")
                    cot = gr.Radio(["off", "chain", "tree"], value="off",
                                   label="Chain of thought", visible=accepts_reasoning())
                    icl = gr.Slider(0, 8, value=0, step=1, label="In-context examples (k)",
                                    visible=accepts_reasoning())
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
    app: DemoApp | None = getattr(demo, "lavr_app", None)
    paths = list(allowed_paths or [])
    if app is not None:
        paths += sorted({str(e.image.parent) for e in app.examples})
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    return demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                       max_file_size=max_file_size, prevent_thread_lock=prevent_thread_lock,
                       allowed_paths=paths, show_error=True, ssr_mode=False, theme=theme,
                       css=_CSS, quiet=True)
