"""The Gradio demo: a multimodal chat that shows the agent think, step by step.

Every graph step (plan, tool calls, decisions, refine, check) arrives as a
collapsible chat message with a title, a status and a duration while the run
is in progress; the answer follows as a normal message with its evidence, and
as data (answer, evidence, boxes) beside the chat. The picture on the right
outlines the boxes, masks and OCR regions of the answer or of any single step
(outlines and labels only: the objects keep their colours). Each browser
session is one checkpointer thread, so follow-up questions reuse the image,
the cached expert results and the history.

One run per conversation at a time: the run happens in a worker thread, send
and the examples are disabled while it goes, and Stop ends it at once in the
page and cancels it in the worker: a tool step in progress is no longer waited
for (its expert stops at its next cooperative check), no later model or expert
starts, and a model call in flight drops its connection.

Import this module only where Gradio is wanted (``lavr demo``): importing
:mod:`lavr.agents` never imports Gradio.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from lavr.agents import AgentResult, PlanReview, SessionStore, StepEvent, VisualAgent
from lavr.apps import demo_render as render
from lavr.apps.demo_config import (
    PACKAGED_EXAMPLES,
    Example,
    ModelChoice,
    Offer,
    Settings,
    detector_choices,
    experts_line,
    find_examples,
    image_problem,
    model_choice,
    scrub_paths,
    stage_examples,
)
from lavr.apps.demo_episodes import add_episode_panel
from lavr.core_model.errors import InputError, LavrError
from lavr.planners.errors import PlanValidationError
from lavr.tools.base import ArtifactStore, ExpertPool, ResultCache
from lavr.tools.detections import Detections

__all__ = ["PACKAGED_EXAMPLES", "AgentPool", "ChatState", "DemoApp", "Example", "ModelChoice",
           "Offer", "Run", "Settings", "build_demo", "find_examples", "launch", "model_choice",
           "stage_examples"]

logger = logging.getLogger(__name__)

#: Largest accepted upload.
MAX_FILE_SIZE = "10mb"
#: Questions answered at the same time (the rest wait in the queue).
CONCURRENCY = 2
#: Longest the queue may grow before new requests are turned away.
MAX_QUEUE = 32
#: Seconds a browser session's state is kept after its last use.
STATE_TTL = 3 * 3600
#: How often a waiting handler looks for Stop, in seconds.
POLL = 0.1
#: Shortest time between two streamed updates of the page, in seconds: steps that
#: finish faster than this arrive together (the browser redraws the chat less often).
MIN_UPDATE = 0.25

#: Brings the plan editor (and its errors) into view when it is open.
_SHOW_REVIEW = """() => {
  let tries = 0;
  const show = () => {
    const box = document.querySelector('#review');
    if (box && box.offsetParent !== null)
      requestAnimationFrame(() => box.scrollIntoView({block: 'nearest'}));
    else if (tries++ < 20) setTimeout(show, 50);  // the update may still be on its way
  };
  show();
}"""

_CSS = """
#evidence img { object-fit: contain; }
.lavr-busy { pointer-events: none; opacity: 0.45; }
#plan-error:empty { display: none; }
footer { display: none !important; }
"""


def _lenient_radio(**kwargs: Any) -> gr.Radio:
    """A ``gr.Radio`` whose value is passed through even when the server's copy of its
    choices is behind the page's (the handler ignores unknown values instead of the
    component raising an error toast)."""
    radio = gr.Radio(**kwargs)
    radio.preprocess = lambda payload: payload  # type: ignore[method-assign]
    return radio


@dataclass
class ChatState:
    """One browser session: its thread, messages, pictures and a paused run.

    Attributes:
        thread_id: Checkpointer thread of this browser session.
        messages: The chat as shown (Gradio messages format).
        pictures: Evidence pictures by picture-choice label.
        shown: The picture choice on display.
        has_image: Whether the thread has an image to ask about again.
        paused: Settings of the run waiting for plan approval, if any.
        plan_shown: The plan JSON shown for approval (to tell an edit from none).
        plan_error: Why the edited plan cannot run (shown beside the editor).
        answer: The last run's answer as data (see :func:`demo_render.structured_answer`).
    """

    thread_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    messages: list[dict[str, Any]] = field(default_factory=list)
    pictures: dict[str, render.Picture] = field(default_factory=dict)
    shown: str | None = None
    has_image: bool = False
    paused: Settings | None = None
    plan_shown: str = ""
    plan_error: str = ""
    answer: dict[str, Any] = field(default_factory=dict)

    def show(self, label: str | None) -> None:
        """Put picture ``label`` on display (when it exists)."""
        if label in self.pictures:
            self.shown = label


class RunStopped(Exception):
    """The user pressed Stop."""


class Run:
    """One agent run in a worker thread that Stop ends.

    The handler reads events with :meth:`events`; :meth:`stop` makes it raise
    :class:`RunStopped` within :data:`POLL` seconds, and cancels the agent's run
    (``stream(cancel=...)``): a tool step in progress is no longer waited for, and
    the worker closes the agent's stream at its next event, so no later node starts
    an expert or a model.
    """

    def __init__(self) -> None:
        self.stop_requested = threading.Event()
        self.finished = threading.Event()
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self, make: Callable[[], Iterator[Any]]) -> None:
        """Run ``make()`` (an agent event iterator) in a worker thread."""
        self._thread = threading.Thread(target=self._work, args=(make,), daemon=True,
                                        name="lavr-demo-run")
        self._thread.start()

    def _work(self, make: Callable[[], Iterator[Any]]) -> None:
        try:
            events = make()
            try:
                for event in events:
                    self._queue.put(("event", event))
                    if self.stop_requested.is_set():
                        break
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, shown in the chat
            self._queue.put(("error", exc))
        finally:
            self._queue.put(("done", None))
            self.finished.set()

    def events(self) -> Iterator[Any]:
        """The run's events as they come, and None every :data:`POLL` seconds without one;
        raises the run's error, or :class:`RunStopped`."""
        while True:
            if self.stop_requested.is_set():
                raise RunStopped
            try:
                kind, value = self._queue.get(timeout=POLL)
            except queue.Empty:
                yield None
                continue
            if kind == "event":
                yield value
            elif kind == "error":
                raise value
            else:
                return

    def stop(self) -> None:
        """End the run: the reader at once, the worker after the node in progress."""
        self.stop_requested.set()
        if self._thread is None:
            self.finished.set()

    def wait_finished(self, stop: threading.Event) -> bool:
        """Wait for the worker to end (True), unless ``stop`` is set first (False)."""
        while not self.finished.wait(POLL):
            if stop.is_set():
                return False
        return True


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

    def forget(self, thread_id: str) -> None:
        """Delete a conversation's checkpoints (its messages and image reference)."""
        try:
            self.sessions.checkpointer.delete_thread(thread_id)
        except Exception:  # noqa: BLE001 - a fresh thread is used either way
            logger.warning("could not delete conversation %s", thread_id, exc_info=True)


@dataclass
class View:
    """What one handler step shows; :meth:`DemoApp.ui` / :meth:`DemoApp.api` turn it into
    the outputs of the page's events or of the API's.

    Attributes:
        state: The conversation.
        busy: A run is going (send, examples disabled; Stop enabled).
        review: The plan editor is open.
        plan: New text for the plan editor (None: leave it).
        refused: Why nothing changes (a second run while one goes): a warning in the
            page, an error for API clients.
    """

    state: ChatState
    busy: bool = False
    review: bool = False
    plan: str | None = None
    refused: str | None = None


class DemoApp:
    """The demo's handlers, around one :class:`AgentPool`.

    Args:
        pool: Agents for every combination of settings.
        examples: Example images and questions.
    """

    def __init__(self, pool: AgentPool, examples: list[Example]) -> None:
        self.pool = pool
        self.examples = examples
        #: Where evidence pictures are written (the page's picture component's cache).
        self.cache_dir = os.path.join(tempfile.gettempdir(), "lavr-demo")
        #: Shortest time between two streamed updates (see :data:`MIN_UPDATE`).
        self.min_update = MIN_UPDATE
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    # -- views --------------------------------------------------------------------------
    @functools.lru_cache(maxsize=64)  # noqa: B019 - pictures are immutable, few and small
    def _png(self, picture: render.Picture) -> str:
        return render.cached_png(self.cache_dir, picture.render())

    def picture(self, state: ChatState) -> str | None:
        """The PNG file of the picture on display (None when there is none)."""
        pic = state.pictures.get(state.shown or "")
        return self._png(pic) if pic is not None else None

    def ui(self, view: View, n: int) -> tuple[Any, ...]:
        """Outputs of the page's events: chatbot, textbox, picture, picture choice,
        answer data, review box, plan editor, plan error, stop button, examples, state."""
        if view.refused:
            gr.Warning(view.refused)
            return tuple(gr.update() for _ in range(n))
        state = view.state
        out = (list(state.messages),
               gr.update(value={"text": "", "files": []}, interactive=not view.busy),
               self.picture(state),
               gr.update(choices=list(state.pictures), value=state.shown),
               state.answer or None,
               gr.update(visible=view.review),
               gr.update(value=view.plan) if view.plan is not None else gr.update(),
               state.plan_error,
               gr.update(interactive=view.busy),
               gr.update(elem_classes=["lavr-busy"] if view.busy else []),
               state)
        return out[:n]

    def api(self, view: View) -> tuple[Any, ...]:
        """Outputs of the API's events: chat, answer data, evidence picture, state."""
        if view.refused:
            raise gr.Error(view.refused)
        state = view.state
        return list(state.messages), state.answer or None, self.picture(state), state

    @staticmethod
    def _drop_pending(state: ChatState) -> None:
        state.messages = [m for m in state.messages
                          if (m.get("metadata") or {}).get("status") != "pending"]

    def _fail(self, state: ChatState, text: str) -> View:
        self._drop_pending(state)
        state.messages.append(render.error_message(text))
        state.answer = render.status_answer("error", error=text)
        return View(state)

    # -- one run per conversation -------------------------------------------------------
    def _claim(self, state: ChatState) -> tuple[Run, Run | None] | None:
        """A new run slot for the conversation, and the stopped run still finishing (if any);
        None while another run of the conversation is going."""
        with self._lock:
            previous = self._runs.get(state.thread_id)
            if previous is not None and not previous.finished.is_set():
                if not previous.stop_requested.is_set():
                    return None
            else:
                previous = None
            run = Run()
            self._runs[state.thread_id] = run
            return run, previous

    def _release(self, state: ChatState, run: Run) -> None:
        run.stop()  # no-op for a run that ended; ends the worker of one the page left
        with self._lock:
            if self._runs.get(state.thread_id) is run and run.finished.is_set():
                del self._runs[state.thread_id]

    def running(self) -> dict[str, Run]:
        """The runs whose worker has not ended yet, by conversation thread."""
        with self._lock:
            return {t: r for t, r in self._runs.items() if not r.finished.is_set()}

    @staticmethod
    def _refuse(state: ChatState) -> View:
        return View(state, refused="Still answering the last question: wait for it, "
                                   "or press Stop.")

    # -- handlers -----------------------------------------------------------------------
    def ask(self, message: dict[str, Any] | None, state: ChatState | None, detector: str,
            max_steps: float, verify: bool, review_plan: bool, model: str,
            cot: str, icl: str | float | None) -> Iterator[View]:
        """Answer a question (with a new image, or about the session's image), streaming."""
        state = state or ChatState()
        yield from self._claimed(state, lambda run, previous: self._ask(
            run, previous, message or {}, state, detector=detector, max_steps=max_steps,
            verify=verify, review_plan=review_plan, model=model, cot=cot, icl=icl))

    def _claimed(self, state: ChatState,
                 work: Callable[[Run, Run | None], Iterator[View]]) -> Iterator[View]:
        """Run ``work`` holding the session's run slot (refused while another run holds it)."""
        claimed = self._claim(state)
        if claimed is None:
            yield self._refuse(state)
            return
        run, previous = claimed
        try:
            yield from work(run, previous)
        finally:
            self._release(state, run)

    def _ask(self, run: Run, previous: Run | None, message: dict[str, Any], state: ChatState,
             **choices: Any) -> Iterator[View]:
        question = str(message.get("text") or "").strip()
        files = [str(f) for f in (message.get("files") or []) if f]
        state.messages = render.compact_steps(state.messages)
        if files:
            state.messages.append({"role": "user", "content": {"path": files[-1]}})
        if question:
            state.messages.append({"role": "user", "content": question})
        try:
            settings = self.pool.offer.settings(**choices)
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
        state.paused, state.plan_error = None, ""
        if files:  # the picture at once, before any expert runs
            with Image.open(files[-1]) as img:
                state.pictures = {render.IMAGE_CHOICE: render.Picture(
                    _display_pixels(img))}
            state.shown = render.IMAGE_CHOICE
        state.answer = render.status_answer("running", question=question)
        if previous is not None:
            state.messages.append(render.pending_message(
                "Waiting for the stopped run to finish its step…"))
            yield View(state, busy=True)
            if not previous.wait_finished(run.stop_requested):
                yield self._stopped(state)
                return
            self._drop_pending(state)
        agent = self.pool.get(settings)
        run.start(lambda: agent.stream(files[-1] if files else None, question,
                                       thread_id=state.thread_id, max_steps=settings.max_steps,
                                       review_plan=settings.review_plan, cot=settings.cot,
                                       icl=settings.icl, cancel=run.stop_requested))
        yield from self._play(state, agent, run, settings, uploads=files)

    def approve(self, plan_text: str, state: ChatState | None) -> Iterator[View]:
        """Run the paused plan, as shown or as edited in the plan editor."""
        state = state or ChatState()
        yield from self._claimed(state, lambda run, _: self._approve(run, plan_text, state))

    def _approve(self, run: Run, plan_text: str, state: ChatState) -> Iterator[View]:
        if state.paused is None:
            yield self._fail(state, "No plan is waiting for approval.")
            return
        settings = state.paused
        edited = self._edited(plan_text, state.plan_shown)
        agent = self.pool.get(settings)
        try:
            events = agent.resume(state.thread_id, plan=edited, cancel=run.stop_requested)
            first = next(events)  # validates the edited plan before anything runs
        except PlanValidationError as exc:
            state.plan_error = f"{render.WARNING_SIGN} That plan cannot run: {exc}"
            state.answer = {**state.answer, "error": f"That plan cannot run: {exc}"}
            yield View(state, review=True)
            return
        except Exception as exc:  # noqa: BLE001 - shown in the chat, never a broken page
            state.paused = None
            yield self._error(state, exc)
            return
        state.paused, state.plan_error = None, ""

        def chained() -> Iterator[Any]:
            yield first
            yield from events

        run.start(chained)
        yield from self._play(state, agent, run, settings, uploads=[])

    def discard(self, state: ChatState | None) -> View:
        """Discard the paused plan."""
        state = state or ChatState()
        state.paused, state.plan_error = None, ""
        self._drop_pending(state)
        state.messages.append({"role": "assistant",
                               "content": "Plan discarded. Ask again when you are ready."})
        state.answer = render.status_answer("discarded")
        return View(state)

    def stop(self, state: ChatState | None) -> None:
        """Stop the conversation's run (its handler shows "Stopped" within a moment)."""
        if state is None:
            return
        with self._lock:
            run = self._runs.get(state.thread_id)
        if run is not None:
            run.stop()

    def show(self, choice: str | None, state: ChatState | None) -> Any:
        """The picture of one step (or of the answer's evidence); unknown choices change nothing."""
        if state is None or not isinstance(choice, str) or choice not in state.pictures:
            return gr.update()
        state.shown = choice
        return self.picture(state)

    def new_conversation(self, state: ChatState | None) -> View:
        """Forget this browser session's conversation: stop its run, delete its thread, and
        start a new one (no history, no image)."""
        if state is not None:
            self.stop(state)
            with self._lock:
                run = self._runs.get(state.thread_id)
            if run is None or run.finished.is_set():
                self.pool.forget(state.thread_id)
        return View(ChatState())

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

    def _stopped(self, state: ChatState) -> View:
        self._drop_pending(state)
        state.messages.append({"role": "assistant", "content": "Stopped.",
                               "metadata": {"title": f"{render.WARNING_SIGN} Stopped",
                                            "status": "done"}})
        state.paused = None
        state.answer = render.status_answer("stopped")
        return View(state)

    def _play(self, state: ChatState, agent: VisualAgent, run: Run, settings: Settings, *,
              uploads: list[str]) -> Iterator[View]:
        """Turn the run's events into chat updates as they arrive."""
        state.messages.append(render.pending_message("Reading the image…"))
        yield View(state, busy=True)
        image = None
        last, dirty = time.monotonic(), False
        try:
            for event in run.events():
                if event is None or isinstance(event, StepEvent):
                    if event is not None:
                        image = self._add_step(state, agent, event, image)
                        dirty = True
                    if dirty and time.monotonic() - last >= self.min_update:
                        last, dirty = time.monotonic(), False
                        yield View(state, busy=True)
                    continue
                self._drop_pending(state)
                if isinstance(event, PlanReview):
                    state.paused = settings
                    state.plan_shown = json.dumps(event.plan, indent=2)
                    state.messages.append(render.review_message())
                    state.answer = render.status_answer("waiting for plan approval",
                                                        question=event.question,
                                                        plan=event.plan)
                    yield View(state, review=True, plan=state.plan_shown)
                    return
                elif isinstance(event, AgentResult):
                    state.has_image = True
                    state.pictures = render.result_pictures(event)
                    state.shown = render.ANSWER_CHOICE
                    state.messages.append(render.answer_message(event))
                    state.answer = render.structured_answer(event)
                    yield View(state)
                    return
        except RunStopped:
            yield self._stopped(state)
            return
        except Exception as exc:  # noqa: BLE001 - shown in the chat, never a broken page
            yield self._error(state, exc, uploads=uploads)
            return
        yield View(state)  # pragma: no cover - the agent always ends with a result

    def _add_step(self, state: ChatState, agent: VisualAgent, event: StepEvent,
                  image: Any) -> Any:
        """Put one node's messages and pictures in the chat; returns the run's image."""
        self._drop_pending(state)
        if event.node == "ingest" and event.update.get("image_id"):
            image = agent.context.artifacts.get(event.update["image_id"])
            state.has_image = True
            state.pictures = {render.IMAGE_CHOICE: render.Picture(image)}
            state.show(render.IMAGE_CHOICE)
        state.show(self._step_pictures(state, agent, event, image))
        state.messages.extend(render.event_messages(event))
        state.messages.append(render.pending_message(render.next_work(event)))
        return image

    @staticmethod
    def _step_pictures(state: ChatState, agent: VisualAgent, event: StepEvent,
                       image: Any) -> str | None:
        """Add the pictures of the tool steps in ``event``; returns the last label added."""
        if image is None:
            return None
        label = None
        for rec in event.records:
            aid = rec.artifact_id
            if event.node != "tool" or not aid or aid not in agent.context.artifacts:
                continue
            dets = agent.context.artifacts.get(aid)
            if isinstance(dets, Detections):
                label = render.step_choice(rec.step, rec.tool, len(dets))
                state.pictures[label] = render.Picture(image, dets)
        return label

    def _error(self, state: ChatState, exc: BaseException, *, uploads: list[str] | None = None
               ) -> View:
        if isinstance(exc, LavrError):
            return self._fail(state, scrub_paths(str(exc), uploads or []))
        logger.error("demo request failed", exc_info=exc)
        return self._fail(state, "Internal error: "
                          + scrub_paths(f"{type(exc).__name__}: {exc}", uploads or []))


def _display_pixels(img: Image.Image) -> Any:
    """An uploaded picture as ``HxWx3 uint8 RGB`` for display (EXIF rotation applied)."""
    import numpy as np
    from PIL import ImageOps

    return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


def _outputs(handler: Callable[..., Iterator[View]], convert: Callable[[View], tuple[Any, ...]]
             ) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """``handler`` with its views converted to one event's outputs (signature kept: Gradio
    names the API's parameters after it)."""

    @functools.wraps(handler)
    def run(*args: Any) -> Iterator[tuple[Any, ...]]:
        for view in handler(*args):
            yield convert(view)

    return run


def _output(handler: Callable[..., View], convert: Callable[[View], tuple[Any, ...]]
            ) -> Callable[..., tuple[Any, ...]]:
    @functools.wraps(handler)
    def run(*args: Any) -> tuple[Any, ...]:
        return convert(handler(*args))

    return run


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
        gr.Markdown(experts_line(), elem_id="experts")
        state = gr.State(None, time_to_live=STATE_TTL)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Reasoning", height=520, elem_id="chat",
                                     feedback_options=None, buttons=["copy_all"],
                                     placeholder="The plan, tool calls and decisions "
                                                 "appear here as they happen.")
                textbox = gr.MultimodalTextbox(
                    file_types=["image"], file_count="single", sources=["upload"],
                    placeholder="Drop an image and ask a question…", label="Question",
                    show_label=False, elem_id="ask", autofocus=True)
                with gr.Row():
                    stop_btn = gr.Button("Stop", variant="stop", interactive=False,
                                         elem_id="stop", size="sm")
                    new_btn = gr.Button("New conversation", elem_id="new", size="sm")
                ex = gr.Examples(
                    [[{"text": e.question, "files": [str(e.image)]}] for e in app.examples],
                    inputs=[textbox], label="Examples (one click asks)",
                    example_labels=[e.question for e in app.examples])
            with gr.Column(scale=2):
                with gr.Group(visible=False, elem_id="review") as review_box:
                    plan_error = gr.Markdown("", elem_id="plan-error")
                    plan_code = gr.Code(label="Plan (edit the JSON, then approve)",
                                        language="json", interactive=True, elem_id="plan",
                                        max_lines=14)
                    with gr.Row():
                        approve_btn = gr.Button("Run this plan", variant="primary",
                                                elem_id="approve")
                        discard_btn = gr.Button("Discard", elem_id="discard")
                picture = gr.Image(label="Evidence", elem_id="evidence", height=400,
                                   type="filepath", interactive=False,
                                   buttons=["download", "fullscreen"])
                pick = _lenient_radio(label="Show the evidence of", choices=[],
                                      elem_id="pick")
                answer = gr.JSON(label="Answer", elem_id="answer", open=False)
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    detector = gr.Dropdown(detectors, value=default_detector, label="Detector")
                    budget = gr.Slider(1, offer.max_steps, value=max_steps, step=1,
                                       label="Step budget")
                    verify = gr.Checkbox(True, label="Check and correct the answer")
                    review = gr.Checkbox(False, label="Approve the plan before it runs")
                    model = gr.Dropdown(list(offer.models), value=next(iter(offer.models)),
                                        label="Model", info="the models this server offers")
                    cot = gr.Radio(["off", "chain", "tree"], value="off",
                                   label="Chain of thought")
                    icl = gr.Dropdown(["auto", *range(9)], value="auto",
                                      label="In-context examples (k)",
                                      info="auto: 6 for a model, none for the rules")
        episodes = add_episode_panel()
        ui_out = [chatbot, textbox, picture, pick, answer, review_box, plan_code, plan_error,
                  stop_btn, ex.dataset, state]
        api_out = [chatbot, answer, picture, state]
        asked = [textbox, state, detector, budget, verify, review, model, cot, icl]
        n = len(ui_out)

        def to_ui(view: View) -> tuple[Any, ...]:
            return app.ui(view, n)

        def private(name: str) -> dict[str, Any]:  # page events, not part of the API
            return {"api_visibility": "private", "api_name": f"page_{name}"}

        for event in (
                textbox.submit(_outputs(app.ask, to_ui), asked, ui_out, **private("ask")),
                ex.load_input_event.then(_outputs(app.ask, to_ui), asked, ui_out,
                                         **private("example")),
                approve_btn.click(_outputs(app.approve, to_ui), [plan_code, state], ui_out,
                                  **private("approve"))):
            event.then(None, js=_SHOW_REVIEW)
        discard_btn.click(_output(app.discard, to_ui), [state], ui_out, **private("discard"))
        new_btn.click(_output(app.new_conversation, to_ui), [state], ui_out, **private("new"))
        chatbot.clear(_output(app.new_conversation, to_ui), [state], ui_out,
                      **private("clear"))
        stop_btn.click(app.stop, [state], None, queue=False, **private("stop"))
        pick.input(app.show, [pick, state], [picture], **private("show"))
        # the API: the same handlers, with named outputs (chat, answer data, picture)
        with gr.Row(visible=False):
            api_ask, api_approve, api_discard, api_stop, api_new = (
                gr.Button(visible=False) for _ in range(5))
        api_ask.click(_outputs(app.ask, app.api), asked, api_out, api_name="ask")
        api_approve.click(_outputs(app.approve, app.api), [plan_code, state], api_out,
                          api_name="approve")
        api_discard.click(_output(app.discard, app.api), [state], api_out, api_name="discard")
        api_stop.click(app.stop, [state], None, queue=False, api_name="stop")
        api_new.click(_output(app.new_conversation, app.api), [state], api_out,
                      api_name="new_conversation")
    app.cache_dir = picture.GRADIO_CACHE
    episodes.cache_dir = picture.GRADIO_CACHE
    demo.lavr_episodes = episodes  # type: ignore[attr-defined]
    demo.lavr_app = app  # type: ignore[attr-defined]  # handy in tests and notebooks
    return demo


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = None,
           concurrency: int = CONCURRENCY, max_file_size: str | int = MAX_FILE_SIZE,
           prevent_thread_lock: bool = False, allowed_paths: list[str] | None = None
           ) -> Any:
    """Queue (bounded concurrency and length) and serve ``demo`` locally, offline.

    Uploads pass :class:`~lavr.apps.demo_uploads.UploadGuard` first: only images up
    to ``max_file_size`` reach Gradio (Gradio's own limit applies too).

    Returns:
        What ``gr.Blocks.launch`` returns (app, local URL, share URL).

    Raises:
        InputError: ``max_file_size`` is not a size.
    """
    from starlette.middleware import Middleware

    from lavr.apps.demo_uploads import UploadGuard, parse_size

    try:
        limit = parse_size(max_file_size)
    except ValueError as exc:
        raise InputError(f"--max-file-size: {exc}") from exc
    demo.queue(default_concurrency_limit=concurrency, max_size=MAX_QUEUE)
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    return demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                       max_file_size=max_file_size, prevent_thread_lock=prevent_thread_lock,
                       allowed_paths=list(allowed_paths or []), show_error=True,
                       ssr_mode=False, theme=theme, css=_CSS, quiet=True,
                       # no static-file worker processes: uploads must pass the guard
                       num_workers=0,
                       app_kwargs={"middleware": [Middleware(UploadGuard, max_bytes=limit)]})
