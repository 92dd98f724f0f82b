"""The public Python API: :class:`VisualAgent`."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from langgraph.types import Overwrite
from pydantic import ValidationError

from lavr.agents.graph import compile_graph, run_direct
from lavr.agents.nodes import recursion_limit
from lavr.agents.result import AgentResult, PlanReview, StepEvent, StreamEvent
from lavr.agents.session import SessionError, SessionStore
from lavr.agents.settings import DEFAULT_DEADLINE, MAX_STEPS_LIMIT, RunSettings
from lavr.agents.state import AgentContext
from lavr.agents.verify.pipeline import CorrectionResult
from lavr.core_model import deadline
from lavr.core_model.config import DEFAULT_MAX_STEPS, load_config
from lavr.core_model.errors import InputError, SettingsError
from lavr.core_model.images import ImageLike, image_hash, load_image
from lavr.core_model.model import MultimodalModel
from lavr.planners.cot import CotOptions
from lavr.planners.demos.embed import TextEmbedder
from lavr.planners.demos.select import IclOptions
from lavr.planners.demos.store import DemoStore
from lavr.planners.errors import PlanValidationError
from lavr.planners.plan import Plan, validate_plan
from lavr.planners.reasoning import ReasoningSetup
from lavr.planners.roles.assign import build_roles
from lavr.planners.roles.protocols import Planner, SimplePlanner, as_planner
from lavr.planners.roles.rule_refiner import ANSWER_STYLES
from lavr.tools.base import ArtifactStore, ExpertPool, ResultCache
from lavr.tools.registry import ToolRegistry, default_registry
from lavr.tools.trace import TraceEvent, events

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

logger = logging.getLogger(__name__)

#: Longest accepted question, in characters.
MAX_QUESTION_CHARS = 2000


def clean_question(question: str) -> str:
    """Strip a question and check it is usable.

    Raises:
        InputError: Empty, not text, or longer than :data:`MAX_QUESTION_CHARS`.
    """
    if not isinstance(question, str):
        raise InputError(f"question must be text, got {type(question).__name__}")
    if not question.isprintable():
        question = "".join(ch if ch.isprintable() else " " for ch in question)
    q = " ".join(question.split())
    if not q:
        raise InputError("question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"question is {len(q)} characters long; the limit is "
                         f"{MAX_QUESTION_CHARS}")
    return q


def check_max_steps(value: Any) -> int:
    """A per-call tool-call budget: a whole number from 1 to :data:`MAX_STEPS_LIMIT`.

    Raises:
        SettingsError: Not an ``int`` (``"3"``, ``3.0`` and ``True`` are refused) or out of range.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise SettingsError("max_steps", value, f"expected a whole number from 1 to "
                            f"{MAX_STEPS_LIMIT} (got {type(value).__name__})")
    if not 1 <= value <= MAX_STEPS_LIMIT:
        raise SettingsError("max_steps", value, f"expected a whole number from 1 to "
                            f"{MAX_STEPS_LIMIT}")
    return value


class VisualAgent:
    """Answers questions about images with vision experts, through the LangGraph graph.

    Args:
        detector: Detector name (``auto``, ``shapes``, ``coco``, ``yolo-world``,
            ``yoloe`` or a ``.pt`` path).
        max_steps: Tool-call budget per question.
        verify: Whether the verify node runs after refine.
        planner: Controller with a ``plan(question) -> Plan`` method (rule planner by default).
        registry: Tools (all built-ins by default).
        checkpointer: A LangGraph checkpointer (e.g. ``InMemorySaver``) for threads.
        sessions: A :class:`SessionStore` or SQLite path: persistent conversations
            (checkpoints and thread images) that survive the process. Excludes
            ``checkpointer``.
        memory_budget_mb: Unload least-recently-used experts beyond this estimate.
        device: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``.
        model: The MLLM: a model string (``rule``, ``transformers:<id-or-path>``,
            ``gguf:<path>``, ``gemma``, ``openai:<model>@<base_url>``) or a
            :class:`~lavr.core_model.model.MultimodalModel`; None for rules only.
        model_roles: What the model does: any of ``plan``, ``decide``, ``refine``,
            ``vqa`` (default all); the other roles stay with the rules.
        model_options: Backend options for a model string (``timeout``, ``dtype``...).
        model_retries: Re-asks after an unusable model reply before the rule fallback.
        cot: Default chain-of-thought: ``off``, ``chain``, ``tree`` or
            :class:`~lavr.planners.cot.CotOptions` (per call: ``run(cot=...)``).
        cot_steps: Fixed chain length (at most N reasoning steps and tool calls);
            None is adaptive.
        icl: Default in-context demos: a number ``k``, a dict or
            :class:`~lavr.planners.demos.select.IclOptions` (per call:
            ``run(icl=...)``); 0 shows none. None: six demos for a controller that
            reads demos (a model), none for the rules.
        demos: Demo store: ``builtin`` (the built-in plan demos, the default),
            ``starter`` (the starter bank of demos with images) or a folder.
        embedder: Text embedder for demo retrieval (``minilm``, ``hashing`` or an
            object; default MiniLM when installed).
        answer_cache: :meth:`run` answers a repeated question (same image
            content, question, budget and options; not on a conversation thread)
            from the result cache; its trace ends with a ``cache`` record.
            :meth:`stream` always runs the graph.
        allow_url: Fetch images given as ``http(s)://`` URLs (public addresses only,
            20 MB and 20 s at most); off by default: images are files, bytes or arrays.
        deadline: Whole-run deadline in seconds (default 600): past it no model or
            expert is asked any more and the answer is written from the evidence so
            far (the trace says so); model calls never outlive it.

    Raises:
        SettingsError: A bad setting (type, range, a device this machine lacks, a
            detector that cannot load, an unusable sessions file), before anything runs.
        ModelConfigError: A bad model string, role or backend option.
        style: Answer style of ``result.answer``: ``plain`` (what a person would
            write; the evidence stays in ``result.cited`` and the boxes) or
            ``grounded`` (step-id citations and pixel boxes in the text). Both
            texts are always in ``result.answers``.
    """

    def __init__(self, *, detector: str = "auto", max_steps: int = DEFAULT_MAX_STEPS,
                 verify: bool = True, planner: Planner | SimplePlanner | None = None,
                 registry: ToolRegistry | None = None,
                 checkpointer: BaseCheckpointSaver | None = None, memory_budget_mb: float | None = None,
                 device: str = "auto", sessions: SessionStore | str | Path | None = None,
                 model: str | MultimodalModel | None = None,
                 model_roles: str | Sequence[str] | None = None,
                 model_options: dict[str, Any] | None = None, model_retries: int = 2,
                 cot: CotOptions | str | dict[str, Any] = "off", cot_steps: int | None = None,
                 icl: IclOptions | int | dict[str, Any] | None = None,
                 demos: DemoStore | str | Path | None = None,
                 embedder: TextEmbedder | str | None = None,
                 deadline: float = DEFAULT_DEADLINE, answer_cache: bool = True,
                 allow_url: bool = False, style: str = "plain") -> None:
        if style not in ANSWER_STYLES:
            raise SettingsError(f"style must be one of {', '.join(ANSWER_STYLES)}, got {style!r}")
        #: The validated settings (raises SettingsError for a bad one, before anything loads).
        self.settings = RunSettings.checked(
            detector=detector, max_steps=max_steps, verify=verify, device=device,
            deadline=deadline, model_retries=model_retries, memory_budget_mb=memory_budget_mb,
            sessions=None if isinstance(sessions, SessionStore) else sessions)
        if sessions is not None and checkpointer is not None:
            raise InputError("give sessions= or checkpointer=, not both")
        _check_objects(registry=registry, planner=planner, checkpointer=checkpointer,
                       demos=demos, embedder=embedder)
        if model_options is not None and not isinstance(model_options, dict):
            raise SettingsError("model_options", model_options, "expected a dict of backend "
                                "options such as {'timeout': 60}")
        self.sessions = sessions if isinstance(sessions, SessionStore) or sessions is None \
            else SessionStore(self.settings.sessions or sessions)
        self._store_lock = threading.Lock()
        if self.sessions is not None:
            checkpointer = self.sessions.checkpointer
        registry = registry or default_registry()
        roles = build_roles(model, registry, roles=model_roles, retries=model_retries,
                            options=model_options)
        #: The model in use (None: rules only).
        self.model = roles.model
        controller = roles.planner if planner is None else as_planner(planner)
        self.context = AgentContext(
            registry=registry,
            # with a sessions file, finished steps' detections outlive the process (resume)
            artifacts=ArtifactStore(backing=None if self.sessions is None
                                    or self.sessions.in_memory else self.sessions),
            experts=ExpertPool(memory_budget_mb), cache=ResultCache(),
            planner=controller,
            decider=roles.decider, refiner=roles.refiner, reasoner=roles.reasoner,
            settings={"detector": detector, "device": device},
            verify=verify, model=roles.tool_model,
            reasoning=ReasoningSetup(
                store=demos, embedder=embedder,
                icl=IclOptions.default_for(reads_demos=controller.reads_demos)), style=style,
            # finished tool steps are journaled in the sessions file: a resume never re-runs one
            journal=None if self.sessions is None or self.sessions.in_memory else self.sessions)
        defaults = _reasoning_options(self.context.reasoning, cot, cot_steps, icl)
        self.context.reasoning.cot = CotOptions.model_validate(defaults["cot"])
        self.context.reasoning.icl = IclOptions.model_validate(defaults["icl"])
        #: Whether http(s) image URLs are fetched (public addresses only, capped).
        self.allow_url = bool(allow_url)
        self.max_steps = self.settings.max_steps
        #: Whole-run deadline in seconds.
        self.deadline = self.settings.deadline
        #: Whether a repeated question (same image content, question and options, no
        #: thread) is answered from the result cache instead of running the graph again.
        self.answer_cache = answer_cache
        self.checkpointer = checkpointer
        self.graph = compile_graph(checkpointer=checkpointer)

    @classmethod
    def from_config(cls, path: str | Path | None = None, **overrides: Any) -> VisualAgent:
        """An agent set up from ``lavr.toml`` (``path``, ``$LAVR_CONFIG`` or ``./lavr.toml``).

        ``overrides`` are constructor arguments that win over the file.

        Raises:
            ConfigError: A missing or invalid config file.
        """
        cfg = load_config(path)
        kwargs: dict[str, Any] = {**cfg.agent.model_dump(), "model": cfg.model.spec,
                                  "model_roles": cfg.model.roles,
                                  "model_options": cfg.model.options,
                                  "model_retries": cfg.model.retries}
        kwargs.update(overrides)
        return cls(**kwargs)

    def fork(self) -> VisualAgent:
        """This agent with its own artifact store; experts, caches, models, graph and
        settings are shared.

        Runs of a fork keep their pixels and detections in the fork's store, so a
        long job (``lavr batch``, a server) that drops each fork after its question
        frees them; cached expert results are still shared.
        """
        clone = copy.copy(self)
        clone.context = dataclasses.replace(self.context, artifacts=ArtifactStore())
        return clone

    def _session_store(self) -> SessionStore:
        """Thread images: the ``sessions`` store, else an in-memory one made on first use."""
        with self._store_lock:  # concurrent first runs must not make two stores
            if self.sessions is None:
                self.sessions = SessionStore(":memory:")
            return self.sessions

    def _inputs(self, image: ImageLike | None, question: str, max_steps: int | None,
                cfg: dict[str, Any], reasoning: dict[str, Any] | None = None) -> dict[str, Any]:
        q = clean_question(question)
        options = _reasoning_options(self.context.reasoning, **(reasoning or {}))
        budget = self.max_steps if max_steps is None else check_max_steps(max_steps)
        if options["cot"]["mode"] != "off" and options["cot"]["steps"] is not None:
            budget = min(budget, options["cot"]["steps"])  # fixed length caps the tool calls
        thread_id = cfg.get("configurable", {}).get("thread_id")
        if image is None:
            if thread_id is None:
                raise InputError("an image is needed (or, with a checkpointer, the thread_id of "
                                 "a conversation that has one)")
            arr = self._session_store().thread_image(thread_id)
        else:
            arr = load_image(image, allow_url=self.allow_url)
            if arr is image:  # the caller's own array: the run and its caches keep a copy
                arr = arr.copy()  # (~30 µs for 320x320), so reusing the buffer changes nothing
                arr.flags.writeable = False
        # Evidence and trace have append reducers: a new question on a thread starts them anew.
        inputs: dict[str, Any] = {
            "question": q, "max_steps": budget,
            "evidence": Overwrite([]), "trace": Overwrite([]), "stop_reason": "", "answer": "",
            "answers": {}, "cited": [], "reasoning_options": options, "demos": [], "cot": {},
            "run_id": uuid.uuid4().hex}
        if thread_id is None:
            inputs["image_ref"] = self.context.artifacts.put(arr, prefix="raw")
            return inputs
        store = self._session_store()
        digest = store.put_image(arr)
        store.attach(thread_id, digest)
        snap = self.graph.get_state(cfg)
        prev = snap.values
        if _in_progress(snap) and prev.get("run_id"):  # a new question replaces an unfinished run
            self._forget_steps(prev["run_id"])
        if prev.get("answer"):
            inputs["history"] = [{"question": prev.get("question", ""),
                                  "answer": prev["answer"],
                                  "cited": list(prev.get("cited", [])),
                                  "image_hash": prev.get("image_hash", "")}]
        # On a thread the image is named by its content, which the sessions file already
        # holds: a run killed before ingest (even right after its input was saved, before
        # any node ran) resumes in a new process and finds its image there.
        inputs["image_ref"] = self.context.artifacts.put(arr, key=f"img_{digest}")
        inputs["image_ref_hash"] = digest
        return inputs

    def _config(self, thread_id: str | None, max_steps: int | None = None) -> dict[str, Any]:
        cfg: dict[str, Any] = {"recursion_limit": recursion_limit(max_steps or self.max_steps)}
        if self.checkpointer is not None:
            cfg["configurable"] = {"thread_id": thread_id or uuid.uuid4().hex}
        return cfg

    def run(self, image: ImageLike | None, question: str, *, max_steps: int | None = None,
            thread_id: str | None = None, cot: CotOptions | str | dict[str, Any] | None = None,
            cot_steps: int | None = None, icl: IclOptions | int | dict[str, Any] | None = None
            ) -> AgentResult:
        """Answer ``question`` about ``image``.

        Args:
            image: Path, bytes, PIL image or ``HxWx3`` array; None continues the
                thread's image (needs a checkpointer and ``thread_id``).
            question: The question (at most :data:`MAX_QUESTION_CHARS` characters).
            max_steps: Override the tool-call budget for this question.
            thread_id: Checkpointer thread (with a checkpointer): earlier turns of
                the thread become ``history``.
            cot: Chain-of-thought for this question: ``off``, ``chain``, ``tree``
                or options (None: the agent's default); the chain or tree is
                ``result.reasoning``.
            cot_steps: Fixed length for this question (None: the agent's default).
            icl: In-context demos for this question: ``k``, a dict or options
                (None: the agent's default); the chosen demos are ``result.demos``.

        Raises:
            InputError: Bad image, question or options (``ImageError`` for images,
                ``SessionError`` for a thread without an image).
        """
        if self.checkpointer is None:
            return self._run_direct(image, question, max_steps=max_steps, cot=cot,
                                    cot_steps=cot_steps, icl=icl)
        result: AgentResult | None = None
        for event in self.stream(image, question, max_steps=max_steps, thread_id=thread_id,
                                 cot=cot, cot_steps=cot_steps, icl=icl):
            if isinstance(event, AgentResult):
                result = event
        if result is None:  # pragma: no cover - stream always ends with a result
            raise RuntimeError("the graph stream ended without a result")
        return result

    def _run_direct(self, image: ImageLike | None, question: str, *, max_steps: int | None,
                    cot: CotOptions | str | dict[str, Any] | None, cot_steps: int | None,
                    icl: IclOptions | int | dict[str, Any] | None) -> AgentResult:
        """:meth:`run` without a checkpointer: the graph's nodes run in plain Python
        (:func:`~lavr.agents.graph.run_direct`), and with ``answer_cache`` a repeat
        question is answered from the result cache."""
        cfg = self._config(None)
        inputs = self._inputs(image, question, max_steps, cfg,
                              {"cot": cot, "cot_steps": cot_steps, "icl": icl})
        key = self._answer_key(inputs) if self.answer_cache else None
        if key is not None:
            hit = self.context.cache.get(key)
            if hit is not None:
                self.context.artifacts.discard(inputs["image_ref"])
                return _reused(hit)
        try:
            with deadline.deadline_scope(self.deadline, "the run"):
                state = run_direct(inputs, self.context,
                                   max_supersteps=recursion_limit(inputs["max_steps"]))
        finally:
            # Without a checkpoint nothing reads the raw image again (ingest stored the
            # normalised one under its content hash): dropping it keeps the store from
            # holding every question's pixels, and lets the next image reuse the memory.
            self.context.artifacts.discard(inputs["image_ref"])
        result = self._result(state, None)
        if key is not None:
            self.context.cache.put(key, _memo(result))
        return result

    def correct(self, image: ImageLike, text: str, *, policy: str | None = None,
                attach_boxes: bool | None = None, mode: str = "rule",
                question: str | None = None) -> CorrectionResult:
        """Check any text about ``image`` claim by claim with this agent's experts and correct it.

        Woodpecker-style: concepts are extracted, turned into questions, answered
        by the detector, colour expert and OCR, and the text is rewritten —
        refuted claims removed or fixed, supported objects given inline boxes.

        Args:
            image: Path, bytes, PIL image or ``HxWx3`` array.
            text: An MLLM's answer, a caption, ... (at most 20,000 characters).
            policy: Unverifiable claims: ``keep``, ``mark`` (default) or ``remove``.
            attach_boxes: Attach ``entity([x1, y1, x2, y2])`` boxes (default True).
            mode: ``rule`` (no model needed) or ``llm``: this agent's model
                extracts the claims and rewrites the text; the rewrite is
                re-checked and replaced by the rule correction if still wrong.
            question: The question ``text`` answers, when there is one: a yes/no
                answer then gets the yes/no the experts' verdict on what the
                question asks implies (a bare "Yes." or "No." included).

        Raises:
            InputError: Bad image, text or mode, or ``llm`` mode without a model.
        """
        from lavr.agents.verify.pipeline import corrector_for_context

        if mode not in ("rule", "llm"):
            raise InputError(f"mode must be rule or llm, got {mode!r}")
        if mode == "llm" and self.model is None:
            raise InputError("LLM-mode correction needs a model: VisualAgent(model=...)")
        arr = load_image(image, allow_url=self.allow_url)
        corrector = corrector_for_context(
            self.context, policy=policy, attach_boxes=attach_boxes,  # type: ignore[arg-type]
            model=self.model if mode == "llm" else None)
        return corrector.correct(arr, text, question=question)

    def chat(self, image: ImageLike | None, question: str, *, thread_id: str,
             max_steps: int | None = None, cot: CotOptions | str | dict[str, Any] | None = None,
             cot_steps: int | None = None, icl: IclOptions | int | dict[str, Any] | None = None
             ) -> AgentResult:
        """One turn of a multi-turn conversation on a checkpointer thread.

        The first turn needs an image; later turns may pass None to ask about
        the same image again (re-attached from the session store, also in a new
        process when the agent was made with ``sessions=PATH``). Expert results
        are reused from the cache; earlier turns are in ``result.history``.

        Raises:
            InputError: No checkpointer, bad input, or no image for a new thread.
        """
        if self.checkpointer is None:
            raise InputError("chat() needs persistent threads: VisualAgent(sessions='chats.sqlite')"
                             " or VisualAgent(checkpointer=...)")
        return self.run(image, question, max_steps=max_steps, thread_id=thread_id, cot=cot,
                        cot_steps=cot_steps, icl=icl)

    def stream(self, image: ImageLike | None, question: str, *, max_steps: int | None = None,
               thread_id: str | None = None, review_plan: bool = False,
               cot: CotOptions | str | dict[str, Any] | None = None,
               cot_steps: int | None = None, icl: IclOptions | int | dict[str, Any] | None = None,
               cancel: threading.Event | None = None) -> Iterator[StreamEvent]:
        """Yield a :class:`StepEvent` as each node finishes, then the :class:`AgentResult`.

        Args:
            image: As for :meth:`run`.
            question: As for :meth:`run`.
            max_steps: As for :meth:`run`.
            thread_id: As for :meth:`run`.
            review_plan: Pause after planning (human in the loop; needs a
                checkpointer): the last event is then a :class:`PlanReview`
                instead of the result; continue with :meth:`resume`.
            cot: As for :meth:`run`.
            cot_steps: As for :meth:`run`.
            icl: As for :meth:`run`.
            cancel: Stops the run when set, from any thread (Stop): a tool step in
                progress is no longer waited for, no model or expert starts, and the
                answer is written from the evidence so far. Closing the stream early
                does the same.
        """
        if review_plan and self.checkpointer is None:
            raise InputError("plan review needs a checkpointer: VisualAgent(sessions=...) or "
                             "VisualAgent(checkpointer=...)")
        cfg = self._config(thread_id)
        with self._lease(thread_id):
            inputs = self._inputs(image, question, max_steps, cfg,
                                  {"cot": cot, "cot_steps": cot_steps, "icl": icl})
            cfg["recursion_limit"] = recursion_limit(inputs["max_steps"])
            yield from self._drive(inputs, cfg, review_plan=review_plan, cancel=cancel)

    def _lease(self, thread_id: str | None) -> contextlib.AbstractContextManager[None]:
        """One run at a time on a named thread (queue, or ``SessionBusyError``)."""
        if thread_id is None or self.checkpointer is None:
            return contextlib.nullcontext()
        return self._session_store().lease(thread_id)

    def _answer_key(self, inputs: dict[str, Any]) -> str:
        """Result-cache key of a whole answer: image content, question, budget, options."""
        image = self.context.artifacts.get(inputs["image_ref"])
        inputs["image_ref_hash"] = digest = image_hash(image)  # ingest reuses it
        return ResultCache.key(digest, "agent.answer", {
            "question": inputs["question"], "max_steps": inputs["max_steps"],
            "reasoning": inputs["reasoning_options"], "verify": self.context.verify,
            "settings": self.context.settings, "style": self.context.style})

    def resume(self, thread_id: str, *, plan: Plan | dict[str, Any] | str | None = None,
               cancel: threading.Event | None = None) -> Iterator[StreamEvent]:
        """Continue a thread's unfinished run from its last checkpoint.

        The run was paused by ``review_plan`` (then ``plan`` may edit it) or
        interrupted: the process was killed, crashed or lost power. Tool steps
        that finished before the interruption are not run again; with a
        sessions file their detections are read back from it, also in a new
        process.

        Args:
            thread_id: The thread (from :class:`PlanReview`, or the one asked on).
            plan: An edited plan (``Plan``, its dict or JSON text); None keeps
                the plan as it stands.
            cancel: As for :meth:`stream`.

        Raises:
            SessionError: The thread has no unfinished run.
            SessionBusyError: Another run holds the thread beyond the busy timeout.
            PlanValidationError: The edited plan is not valid for this agent's tools.
        """
        if self.checkpointer is None:
            raise InputError("resume() needs a checkpointer")
        cfg = self._config(thread_id)
        with self._lease(thread_id):
            snap = self.graph.get_state(cfg)
            cfg["recursion_limit"] = recursion_limit(int(snap.values.get("max_steps")
                                                         or self.max_steps))
            if not _in_progress(snap):
                raise SessionError(thread_id, f"conversation {thread_id!r} has no unfinished "
                                   "run to resume (none paused for plan approval or interrupted)")
            values = dict(snap.values)
            self._reattach(thread_id, values)
            if plan is not None:
                checked = self._checked_plan(plan)
                steps = ", ".join(f"{s['id']}={s['tool']}" for s in checked["steps"]) or \
                    "no steps"
                rec = TraceEvent("plan", summary=f"plan edited by the user: {steps}",
                                 plan=checked)
                self.graph.update_state(cfg, {"plan": checked, "trace": [rec.to_dict()]},
                                        as_node="plan")
                values["plan"] = checked
                yield StepEvent(node="plan", records=[rec], update={"plan": checked})
            yield from self._drive(None, cfg, review_plan=False, final=values, cancel=cancel)

    def finish(self, thread_id: str, *, plan: Plan | dict[str, Any] | str | None = None
               ) -> AgentResult:
        """:meth:`resume` the thread's unfinished run and return its result.

        Raises:
            SessionError: The thread has no unfinished run.
            SessionBusyError: Another run holds the thread beyond the busy timeout.
            PlanValidationError: The edited plan is not valid for this agent's tools.
        """
        result: AgentResult | None = None
        for event in self.resume(thread_id, plan=plan):
            if isinstance(event, AgentResult):
                result = event
        if result is None:  # pragma: no cover - a resumed run always ends with a result
            raise RuntimeError("the resumed run ended without a result")
        return result

    def unfinished(self, thread_id: str) -> bool:
        """Whether ``thread_id`` has a run to :meth:`resume` (paused or interrupted)."""
        if self.checkpointer is None:
            return False
        return _in_progress(self.graph.get_state(self._config(thread_id)))

    async def arun(self, image: ImageLike | None, question: str, *,
                   max_steps: int | None = None, thread_id: str | None = None,
                   cot: CotOptions | str | dict[str, Any] | None = None,
                   cot_steps: int | None = None,
                   icl: IclOptions | int | dict[str, Any] | None = None) -> AgentResult:
        """Async :meth:`run` (the graph runs in a worker thread; the event loop stays free)."""
        result: AgentResult | None = None
        async for event in self.astream(image, question, max_steps=max_steps,
                                        thread_id=thread_id, cot=cot, cot_steps=cot_steps,
                                        icl=icl):
            if isinstance(event, AgentResult):
                result = event
        if result is None:  # pragma: no cover - stream always ends with a result
            raise RuntimeError("the graph stream ended without a result")
        return result

    def astream(self, image: ImageLike | None, question: str, *, max_steps: int | None = None,
                thread_id: str | None = None, review_plan: bool = False,
                cot: CotOptions | str | dict[str, Any] | None = None,
                cot_steps: int | None = None,
                icl: IclOptions | int | dict[str, Any] | None = None
                ) -> AsyncIterator[StreamEvent]:
        """Async :meth:`stream`: the same typed events, as they happen.

        Experts and the checkpointers lavr uses (``SqliteSaver``) are synchronous,
        so the graph runs in a worker thread; leaving the loop early stops the
        run after the node in progress.
        """
        return _iterate_in_thread(lambda stop: self.stream(
            image, question, max_steps=max_steps, thread_id=thread_id, review_plan=review_plan,
            cot=cot, cot_steps=cot_steps, icl=icl, cancel=stop))

    def aresume(self, thread_id: str, *, plan: Plan | dict[str, Any] | str | None = None
                ) -> AsyncIterator[StreamEvent]:
        """Async :meth:`resume`."""
        return _iterate_in_thread(lambda stop: self.resume(thread_id, plan=plan, cancel=stop))

    def _drive(self, inputs: dict[str, Any] | None, cfg: dict[str, Any], *, review_plan: bool,
               final: dict[str, Any] | None = None, cancel: threading.Event | None = None
               ) -> Iterator[StreamEvent]:
        """Run (or resume, with ``inputs=None``) the graph and turn chunks into events."""
        state = dict(final or {})
        extra: dict[str, Any] = {"interrupt_after": ["plan"]} if review_plan else {}
        if self.checkpointer is not None:
            # each step's checkpoint is written before the next starts: a killed run resumes
            # from its last finished step (its tool results are not lost and not re-run)
            extra["durability"] = "sync"
        chunks = self.graph.stream(inputs, cfg, context=self.context,
                                   stream_mode=["updates", "values"], **extra)
        end = time.monotonic() + self.deadline
        closed = threading.Event()  # set when this stream ends, however it ends
        try:
            while True:
                # The run's deadline is in force while the graph works (nodes, model calls,
                # HTTP attempts all end by it), not while the caller holds an event; ``cancel``
                # and the stream's end stop a tool step still running in a worker thread.
                with deadline.deadline_scope(None, cancel=closed), \
                        deadline.deadline_scope(self.deadline, "the run", at=end, cancel=cancel):
                    try:
                        mode, chunk = next(chunks)
                    except StopIteration:
                        break
                if mode == "values":
                    state.update(chunk)
                    continue
                for node, update in chunk.items():
                    if not isinstance(update, dict):
                        continue
                    yield StepEvent(node=node, records=events(update.get("trace", [])),
                                    update={k: v for k, v in update.items() if k != "trace"})
        finally:
            closed.set()
        thread_id = cfg.get("configurable", {}).get("thread_id")
        if review_plan and thread_id is not None and self.graph.get_state(cfg).next:
            yield PlanReview(thread_id=thread_id, question=state.get("question", ""),
                             plan=dict(state.get("plan", {})))
            return
        if state.get("run_id"):  # the run is over and checkpointed: its journal is not needed
            self._forget_steps(state["run_id"])
        yield self._result(state, thread_id)

    def _forget_steps(self, run_id: str) -> None:
        """Drop a run's journaled steps (a failure to do so only leaves a few rows)."""
        if self.context.journal is None:
            return
        try:
            self.context.journal.forget_steps(run_id)
        except Exception as exc:  # noqa: BLE001 - the answer stands
            logger.warning("could not drop the step journal of run %s (%s)", run_id, exc)

    def _reattach(self, thread_id: str, values: dict[str, Any]) -> None:
        """Put an unfinished run's images back in the artifact store (e.g. in a new process).

        Both ids may be needed: the raw image when the run stopped before ingest
        finished (``image_id`` may then still be the previous turn's), the
        normalised one after.
        """
        store = self._session_store()
        ref, image_id = values.get("image_ref"), values.get("image_id")
        if ref and ref not in self.context.artifacts:  # the image the run was asked about
            self.context.artifacts.put(store.thread_image(thread_id), key=ref)
        if image_id and image_id not in self.context.artifacts:
            try:
                image = store.get_image(values["image_hash"])
            except KeyError as exc:
                raise SessionError(thread_id, f"conversation {thread_id!r}: {exc.args[0]}") \
                    from exc
            self.context.artifacts.put(image, key=image_id)

    def _checked_plan(self, plan: Plan | dict[str, Any] | str) -> dict[str, Any]:
        """A user-edited plan, parsed and validated against this agent's tools."""
        if isinstance(plan, str):
            try:
                plan = json.loads(plan)
            except json.JSONDecodeError as exc:
                raise PlanValidationError([f"the plan is not valid JSON: {exc}"]) from exc
        try:
            parsed = plan if isinstance(plan, Plan) else Plan.model_validate(plan)
        except ValidationError as exc:
            raise PlanValidationError([
                f"{'.'.join(str(p) for p in err['loc']) or 'plan'}: {err['msg']}"
                for err in exc.errors()]) from exc
        return validate_plan(parsed, self.context.registry).model_dump(mode="json")

    def _result(self, state: dict[str, Any], thread_id: str | None) -> AgentResult:
        image = self.context.artifacts.get(state["image_id"])
        return AgentResult(
            question=state["question"], answer=state.get("answer", ""),
            answers=dict(state.get("answers") or {}), style=self.context.style,
            steps=events(state.get("trace", [])), evidence=list(state.get("evidence", [])),
            plan=dict(state.get("plan", {})), cited=list(state.get("cited", [])), image=image,
            image_hash=state["image_hash"], thread_id=thread_id,
            history=list(state.get("history", [])), reasoning=dict(state.get("cot") or {}),
            demos=list(state.get("demos") or []), _artifacts=self.context.artifacts)


def _in_progress(snap: Any) -> bool:
    """Whether a thread's latest checkpoint is of a run that has not ended.

    ``snap.next`` alone is not enough: when every task of a step finished and
    saved its writes but the process died before the step's checkpoint, LangGraph
    lists those tasks (with their writes) in ``snap.tasks`` and none in ``next``,
    yet the run has not reached its end; resuming applies the saved writes and
    goes on. A run that ended has no tasks left.
    """
    return bool(snap.next or snap.tasks)


def _check_objects(*, registry: object, planner: object, checkpointer: object, demos: object,
                   embedder: object) -> None:
    """Collaborators passed to :class:`VisualAgent` have the type they need (callers may
    pass anything: this is where a wrong kind is caught, so the parameters are ``object``).

    Raises:
        SettingsError: One of them is of the wrong kind.
    """
    if registry is not None and not isinstance(registry, ToolRegistry):
        raise SettingsError("registry", registry, "expected a ToolRegistry (or None for the "
                            "built-in tools)")
    if planner is not None and not callable(getattr(planner, "plan", None)):
        raise SettingsError("planner", planner, "expected an object with a plan(question) "
                            "method (or None for the rule planner)")
    if checkpointer is not None:
        from langgraph.checkpoint.base import BaseCheckpointSaver

        if not isinstance(checkpointer, BaseCheckpointSaver):
            raise SettingsError("checkpointer", checkpointer, "expected a LangGraph "
                                "checkpointer such as InMemorySaver(), or use sessions=PATH")
    if demos is not None and not isinstance(demos, (DemoStore, str, Path)):
        raise SettingsError("demos", demos, "expected a demo store folder or a DemoStore")
    if embedder is not None and not isinstance(embedder, str) \
            and not callable(getattr(embedder, "embed", None)):
        raise SettingsError("embedder", embedder, "expected minilm, hashing or an object with "
                            "an embed(texts) method")


_REUSED_NOTE = ("answer reused from the result cache: the same question about the same image "
                "with the same options was answered before")


def _memo(result: AgentResult) -> AgentResult:
    """What the answer cache keeps: the result with its own store of its detections."""
    store = ArtifactStore()
    for ev in result.evidence:
        art = ev.artifact_id
        if art and result._artifacts is not None and art in result._artifacts:
            store.put(result._artifacts.get(art), key=art)
    return dataclasses.replace(result, steps=list(result.steps),
                               evidence=list(result.evidence), _artifacts=store)


def _reused(memo: AgentResult) -> AgentResult:
    """A cached answer handed out again (lists copied; a trace record says it was reused)."""
    return dataclasses.replace(
        memo, steps=[*memo.steps, TraceEvent("cache", summary=_REUSED_NOTE)],
        evidence=list(memo.evidence), cited=list(memo.cited),
        plan=dict(memo.plan))


def _reasoning_options(setup: ReasoningSetup,
                       cot: CotOptions | str | dict[str, Any] | None = None,
                       cot_steps: int | None = None,
                       icl: IclOptions | int | dict[str, Any] | None = None) -> dict[str, Any]:
    """Per-call chain-of-thought and demo options over the agent's defaults.

    Raises:
        InputError: An unknown mode, a bad number of steps or demos, ...
    """
    if cot_steps is not None and (not isinstance(cot_steps, int) or isinstance(cot_steps, bool)):
        raise SettingsError("cot_steps", cot_steps, "expected a whole number of steps, or None "
                            "for an adaptive length")
    try:
        return setup.resolve(cot, icl, cot_steps=cot_steps)
    except (ValidationError, TypeError) as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
                           for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise InputError(f"bad reasoning options (cot={cot!r}, cot_steps={cot_steps!r}, "
                         f"icl={icl!r}): {detail}") from exc


_T = TypeVar("_T")


async def _iterate_in_thread(make: Callable[[threading.Event], Iterator[_T]]
                             ) -> AsyncIterator[_T]:
    """Drive a synchronous iterator in a worker thread and yield its items asynchronously.

    Exceptions raised by the iterator are re-raised here. Closing the generator
    early (``aclose()``, ``contextlib.aclosing``) stops the worker after the item in
    progress and waits for it.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def post(kind: str, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop has closed: nobody is listening any more
            stop.set()

    def work() -> None:
        try:
            iterator = make(stop)  # ``stop`` also cancels the run (a step in progress)
            try:
                for item in iterator:
                    post("item", item)
                    if stop.is_set():
                        break
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            post("error", exc)
        finally:
            post("done", None)

    worker = loop.run_in_executor(None, work)
    try:
        while True:
            kind, value = await queue.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                break
    finally:
        stop.set()
        await worker  # the run stops after the node in progress; work() never raises
