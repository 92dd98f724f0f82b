"""Graph nodes: plain module-level functions returning partial state updates."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from lavr.agents.state import AgentContext, AgentState, StepJournal
from lavr.core_model import deadline
from lavr.core_model.config import DEFAULT_MAX_STEPS
from lavr.core_model.errors import DeadlineError, LavrError, log_recovered
from lavr.core_model.images import image_hash, load_image
from lavr.core_model.structured import Attempt
from lavr.planners.plan import Plan, Step, plan_problems, step_dependencies
from lavr.planners.roles.protocols import Decision
from lavr.planners.roles.rule_planner import RulePlanner
from lavr.planners.roles.rule_refiner import RuleRefiner
from lavr.tools.base import ResultCache, Tool, ToolArgs, ToolContext, ToolResult
from lavr.tools.evidence import Evidence, by_step, jsonable
from lavr.tools.trace import TraceEvent

logger = logging.getLogger(__name__)

#: Decision rounds allowed beyond the step budget (a round that runs no step still
#: counts, so a decider that keeps adding unrunnable steps cannot loop forever).
EXTRA_ROUNDS = 2


def max_rounds(max_steps: int) -> int:
    """Decision rounds allowed for a tool-call budget of ``max_steps``."""
    return max(int(max_steps), 1) + EXTRA_ROUNDS


def recursion_limit(max_steps: int) -> int:
    """LangGraph ``recursion_limit`` for a budget: every allowed round fits, with room to spare.

    A round is at most three supersteps (execute, the tool fan-out, decide); ingest,
    demos, plan, reason, refine and verify add six. The graph stops the loop itself
    (:func:`decide`), so this limit is only reached by a bug, never by a budget.
    """
    return 4 * (max_rounds(max_steps) + 1) + 25


def ingest(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Validate and normalise the image; store pixels; keep only ids in state."""
    ctx = runtime.context
    t0 = time.perf_counter()
    raw = ctx.artifacts.get(state["image_ref"])
    image = load_image(raw)
    known = state.get("image_ref_hash")  # the caller hashed these very pixels already
    digest = known if known and image is raw else image_hash(image)
    image_id = ctx.artifacts.put(image, key=f"img_{digest}")
    h, w = image.shape[:2]
    return {
        "image_id": image_id, "image_hash": digest, "image_size": [w, h],
        "max_steps": int(state.get("max_steps") or DEFAULT_MAX_STEPS), "rounds": 0,
        "trace": [TraceEvent("ingest", summary=f"image {w}x{h} RGB, hash {digest}",
                               seconds=time.perf_counter() - t0).to_dict()],
    }


def plan(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Controller: write a plan; invalid plans fall back to the rule planner."""
    ctx = runtime.context
    t0 = time.perf_counter()
    trace: list[dict[str, Any]] = []
    planner = ctx.planner
    attempts: list[Attempt] = []
    try:
        image = ctx.artifacts.get(state["image_id"]) if planner.sees_images else None
        icl = ctx.reasoning.icl_prompt(*ctx.reasoning.for_question(
            state.get("reasoning_options")), state.get("demos") or []) if planner.reads_demos \
            else None
        result: Plan = planner.plan(state["question"], image=image, icl=icl, attempts=attempts)
        problems = plan_problems(result, ctx.registry)
        error = "; ".join(problems) if problems else None
    except LavrError as exc:
        result, error = None, str(exc)
    trace += _attempt_records("plan", attempts)
    if error is not None:
        trace.append(TraceEvent("plan", summary=f"{planner.name} plan rejected; falling back "
                                  "to the rule planner", error=error,
                                  seconds=time.perf_counter() - t0, fallback=True).to_dict())
        result = RulePlanner().plan(state["question"])
        t0 = time.perf_counter()
    steps = ", ".join(f"{s.id}={s.tool}" for s in result.steps) or "no steps"
    trace.append(TraceEvent("plan", summary=f"{result.planner} planner: intent "
                              f"{result.intent}; {steps}", seconds=time.perf_counter() - t0,
                              plan=result.model_dump(mode="json")).to_dict())
    return {"plan": result.model_dump(mode="json"), "trace": trace}


def _attempt_records(node: str, attempts: list[Attempt]) -> list[dict[str, Any]]:
    """Trace records for a model role's attempts (each re-ask and fallback a step)."""
    return [TraceEvent.of_attempt(node, a).to_dict() for a in attempts]


_PARSED = threading.local()


def _parsed_plan(state: AgentState, ctx: AgentContext) -> tuple[Plan, dict[str, list[str]]]:
    """The state's plan parsed, and the step ids each of its steps depends on.

    A run's nodes read the same plan dict again and again (execute, the router and
    decide every round, then refine); a node that changes the plan returns a new
    dict, never edits one in place. So the parse is kept, per thread, for the dict
    (and registry) it came from, and those readers share the :class:`Plan`: change
    it only through a copy (as ``decide`` does); roles from outside lavr are handed
    their own copy (:func:`_for_role`).
    """
    source = state["plan"]
    kept = getattr(_PARSED, "entry", None)
    if kept is not None and kept[0] is source and kept[1] is ctx.registry:
        return kept[2], kept[3]
    plan_ = Plan.model_validate(source)
    deps = {s.id: step_dependencies(s, ctx.registry) for s in plan_.steps}
    _PARSED.entry = (source, ctx.registry, plan_, deps)
    return plan_, deps


def _for_role(role: object, plan_: Plan) -> Plan:
    """``plan_`` as handed to a role: lavr's own roles read the shared parse (they never
    change it); any other role gets its own deep copy, so what it does to the plan cannot
    reach the run's other readers."""
    return plan_ if type(role).__module__.startswith("lavr.") else plan_.model_copy(deep=True)


def _status(state: AgentState, ctx: AgentContext) -> tuple[Plan, dict[str, Evidence], int]:
    plan_ = _parsed_plan(state, ctx)[0]
    done = by_step(state.get("evidence", []))
    used = sum(1 for e in done.values() if not e.skipped)
    return plan_, done, int(state.get("max_steps") or DEFAULT_MAX_STEPS) - used


def _ready(plan_: Plan, done: dict[str, Evidence], ctx: AgentContext,
           dependencies: dict[str, list[str]] | None = None
           ) -> tuple[list[Step], list[tuple[Step, str]]]:
    """Steps ready to run, and steps to skip (with reason) because a dependency failed.

    ``dependencies``: each step's, by step id, when known (else worked out here).
    """
    ready, skip = [], []
    for step in plan_.steps:
        if step.id in done:
            continue
        deps = dependencies[step.id] if dependencies is not None and step.id in dependencies \
            else step_dependencies(step, ctx.registry)
        if any(d not in done for d in deps):
            continue
        failed = [d for d in deps if done[d].failed]
        if failed:
            skip.append((step, f"skipped: depends on failed step {', '.join(failed)}"))
        else:
            ready.append(step)
    return ready, skip


def execute(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Mark steps that cannot run (failed dependency, budget); the router fans out the rest."""
    ctx = runtime.context
    plan_, done, budget = _status(state, ctx)
    dependencies = _parsed_plan(state, ctx)[1]
    evidence, trace = [], []
    # Skipping can cascade: a skipped step makes its dependents skippable too.
    while True:
        ready, skip = _ready(plan_, done, ctx, dependencies)
        if not skip:
            break
        for step, reason in skip:
            rec = Evidence.failure(step.id, step.tool, step.args, reason, skipped=True)
            evidence.append(rec)
            done[step.id] = rec
            trace.append(TraceEvent("execute", tool=step.tool, args=step.args, step=step.id,
                                      summary=reason, error=reason).to_dict())
    if deadline.expired():  # past the run's deadline no expert is started
        for step in ready:
            reason = f"skipped: {_time_up()}"
            rec = Evidence.failure(step.id, step.tool, step.args, reason, skipped=True)
            evidence.append(rec)
            trace.append(TraceEvent("execute", tool=step.tool, args=step.args, step=step.id,
                                      summary=reason, error=reason, fallback=True).to_dict())
        ready = []
    over = ready[max(budget, 0):]
    for step in over:
        rec = Evidence.failure(step.id, step.tool, step.args, "skipped: step budget spent",
                               skipped=True)
        evidence.append(rec)
        trace.append(TraceEvent("execute", tool=step.tool, args=step.args, step=step.id,
                                  summary="step budget spent", error="step budget spent").to_dict())
    run = ready[:max(budget, 0)]
    summary = ("dispatching " + ", ".join(f"{s.id}={s.tool}" for s in run)) if run else \
        "nothing ready to run"
    trace.append(TraceEvent("execute", summary=summary).to_dict())
    return {"evidence": evidence, "trace": trace, "ready": [s.id for s in run]}


def dispatch(state: AgentState,
             runtime: Runtime[AgentContext]) -> list[Send] | Literal["decide"]:
    """Router: fan the steps ``execute`` found ready out to the ``tool`` node in parallel,
    else go to ``decide``."""
    ready = state.get("ready") or []
    if not ready:
        return "decide"
    ctx = runtime.context
    plan_, dependencies = _parsed_plan(state, ctx)
    steps = {s.id: s for s in plan_.steps}
    done = by_step(state.get("evidence", []))
    sends = []
    for sid in ready:
        step = steps[sid]
        deps = dependencies[sid]
        sends.append(Send("tool", {
            "step": step.model_dump(mode="json"), "image_id": state["image_id"],
            "image_hash": state["image_hash"], "inputs": {d: done[d] for d in deps},
            "run_id": state.get("run_id"),
        }))
    return sends


def tool(payload: dict[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run one step (one parallel branch of the fan-out). Errors become evidence.

    With a journal (a sessions file), a step of this run that already finished (the
    process died before LangGraph saved its result) is read back, not run again; a
    step that finishes is journaled before the node returns.

    The step's ``seconds`` are the time its tool worked (its run and the caching of
    its result; for a cache hit, the lookup; for a step the graph stopped waiting for,
    the time it waited); argument checks, the cache key and a hand-off to a worker
    thread are not counted in them.
    """
    ctx = runtime.context
    step = Step.model_validate(payload["step"])
    journal, run_id = ctx.journal, payload.get("run_id")
    key = _journal_key(step, payload) if journal is not None and run_id else None
    if key is not None and (kept := _journaled(journal, run_id, key, ctx)) is not None:
        return {"evidence": [kept], "trace": [TraceEvent(
            "tool", tool=step.tool, args=kept.args, step=step.id, seconds=0.0,
            summary=kept.summary + " (finished before the run was interrupted; not run again)",
            error=kept.error, cached=kept.cached, artifact_id=kept.artifact_id,
            journaled=True).to_dict()]}
    rec, abandoned = run_step(step, payload, ctx, keep=key is None)
    if key is not None and not abandoned:  # a stopped step did not finish: it may run again
        # the step's detections and its evidence in one commit, before the checkpoint
        art = rec.artifact_id
        try:
            journal.save_step(run_id, key, rec.model_dump_json(), artifacts={
                art: ctx.artifacts.get(art)} if art and art in ctx.artifacts else None)
        except Exception as exc:  # noqa: BLE001 - the run goes on; a resume would re-run it
            log_recovered(logger, exc, "step %s could not be journaled", step.id)
    summary = rec.summary + (" (cached)" if rec.cached else "")
    return {"evidence": [rec], "trace": [TraceEvent(
        "tool", tool=step.tool, args=rec.args, summary=summary, seconds=rec.seconds,
        error=rec.error, step=step.id, cached=rec.cached, artifact_id=rec.artifact_id).to_dict()]}


def run_step(step: Step, payload: Mapping[str, Any], ctx: AgentContext, *,
             keep: bool = True) -> tuple[Evidence, bool]:
    """Run one step the way the ``tool`` node does: the registry's tool, its arguments
    validated, the run's result cache, artifact store, experts and deadline. Errors
    become evidence. The verifier's steps run through this too.

    Args:
        step: The step.
        payload: ``image_id`` and ``image_hash`` of the image (in ``ctx.artifacts``), and
            ``inputs``: the evidence of the steps it refers to, by step id.
        ctx: The run's context.
        keep: Keep the step's artifact in the store's backing (a checkpoint cites it).

    Returns:
        The step's evidence, and whether the graph stopped waiting for it (time ran out).
    """
    t0 = time.perf_counter()
    result, error, cached, advice, abandoned, seconds = None, None, False, None, False, None
    try:
        result, cached, seconds = _run_watched(step, payload, ctx)
    except _Abandoned as exc:
        error, abandoned = str(exc), True
    except LavrError as exc:
        error = str(exc)
        advice = getattr(exc, "user_message", None)  # sentences for the person who asked
    except Exception as exc:  # noqa: BLE001 - an expert crash must not lose the run
        log_recovered(logger, exc, "tool %s crashed; the run goes on without it", step.tool)
        error = f"{step.tool} crashed: {type(exc).__name__}: {exc}"
    if seconds is None:
        seconds = time.perf_counter() - t0
    if result is not None and result.artifact_id and keep:
        ctx.artifacts.keep(result.artifact_id)  # before the checkpoint that cites it
    if result is None:
        return Evidence.failure(step.id, step.tool, step.args, error or "no result",
                                seconds=seconds, user_message=advice), abandoned
    return Evidence.success(step.id, step.tool, step.args, result, seconds=seconds,
                            cached=cached, scores=_scores(result, ctx)), abandoned


def _journal_key(step: Step, payload: dict[str, Any]) -> str:
    """A finished step's journal key: its id, tool, arguments and image."""
    data = {"step": step.id, "tool": step.tool, "args": jsonable(step.args),
            "image": payload["image_hash"]}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _journaled(journal: StepJournal, run_id: str, key: str, ctx: AgentContext
               ) -> Evidence | None:
    """The journaled evidence of a finished step of ``run_id`` (None: not there, unreadable,
    or the detections it cites are not to be found)."""
    try:
        record = journal.load_step(run_id, key)
        kept = None if record is None else Evidence.model_validate_json(record)
    except Exception as exc:  # noqa: BLE001 - then the step simply runs again
        log_recovered(logger, exc, "a journaled step could not be read; it runs again")
        return None
    if kept is not None and kept.artifact_id and kept.artifact_id not in ctx.artifacts:
        return None
    return kept


def _time_up() -> str:
    """Why the run ends early: its deadline passed, or it was stopped."""
    run = deadline.current()
    return "the run was stopped" if run is not None and run.cancelled() else \
        "the run's deadline passed"


class _Abandoned(Exception):
    """A step still running when the run's deadline passed or the run was stopped."""


class _StepWorkers:
    """Daemon threads that run watched steps, kept for reuse.

    A step goes to an idle worker (a new one when none is idle); a worker whose step
    is done waits for the next (at most ``keep`` wait, the rest end). Reusing a
    thread saves starting one per step, and OpenMP (torch) keeps the thread pool it
    made for that thread. A step the graph stopped waiting for keeps its worker until
    it ends, so a step that never ends costs one thread, never the next step's.
    """

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self._idle: list[queue.SimpleQueue[Callable[[], None]]] = []
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._idle.clear)  # no threads in a forked child

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` (which must not raise) in a worker thread."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="lavr-step",
                             daemon=True).start()
        inbox.put(job)

    def _serve(self, inbox: queue.SimpleQueue[Callable[[], None]]) -> None:
        while True:
            inbox.get()()
            with self._lock:
                if len(self._idle) >= self.keep:
                    return
                self._idle.append(inbox)


_WORKERS = _StepWorkers()


class _Finished:
    """Set once by the worker when its step ends; waited for by the graph's thread.

    A bare lock, held until the step ends: its release wakes the waiting thread
    once. (``threading.Event.set`` wakes the waiter while holding the Event's own
    lock, which the waiter must take next, so it often sleeps a second time; that
    was about 0.1 ms of the hand-off's wall time on two busy cores.)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        self._lock.release()

    def is_set(self) -> bool:
        return not self._lock.locked()

    def wait(self, timeout: float) -> bool:
        """Whether the step ended within ``timeout`` seconds."""
        if self._lock.acquire(timeout=max(timeout, 0.0)):
            self._lock.release()
            return True
        return False


#: Longest last step (seconds) of a tool for its next step to run in the graph's own
#: thread when the call cannot block: the most a Stop may then wait for the step.
INLINE_MAX_S = 1.0
#: ... and the run's deadline must leave this many times that step's seconds.
INLINE_HEADROOM = 10.0


def _inline(spec: Tool, args: ToolArgs, tctx: ToolContext, ctx: AgentContext,
            run: deadline.Deadline) -> bool:
    """Whether a step of a ``watched`` tool may run in the graph's own thread: its tool's
    last step was short (at most :data:`INLINE_MAX_S`, well within what the deadline
    leaves) and the tool says this call cannot block (:meth:`Tool.may_block`; a tool
    that fails to say is taken to block)."""
    last = ctx.step_seconds.get(spec.name)
    if last is None or last > INLINE_MAX_S or run.remaining() <= INLINE_HEADROOM * last:
        return False
    try:
        return not spec.may_block(args, tctx)
    except Exception as exc:  # noqa: BLE001 - the step still runs, in a watched worker
        log_recovered(logger, exc, "%s.may_block failed; its step runs in a worker", spec.name)
        return False


def _run_watched(step: Step, payload: Mapping[str, Any], ctx: AgentContext
                 ) -> tuple[ToolResult, bool, float]:
    """Run a step: a cached result, a tool that is not ``watched`` and a call that cannot
    block of a tool whose last step was short (:func:`_inline`) in this thread, any other
    in a worker thread that the graph stops waiting for when the run's deadline passes
    or the run is stopped.

    The worker shares the run's deadline (its context is copied), so a tool's own
    cooperative checks (:func:`lavr.core_model.deadline.check` in its loops, model
    calls) end it soon after; its late result is not used.

    Returns:
        The result, whether it came from the cache, and the seconds the tool worked.

    Raises:
        _Abandoned: Time ran out (or Stop) before the step finished.
    """
    t0 = time.perf_counter()
    spec = ctx.registry.get(step.tool)
    args = ctx.registry.parse_args(step.tool, step.args)
    key = _cache_key(spec, args, payload, ctx)
    if key is not None:
        hit = _cache_hit(key, ctx)
        if hit is not None:
            return hit, True, time.perf_counter() - t0
    run = deadline.current()
    tctx = _tool_context(payload, ctx)
    if run is None or not spec.watched or _inline(spec, args, tctx, ctx, run):
        # nothing can stop the run, the step cannot hang, or it only computes, briefly
        w0 = time.perf_counter()
        try:
            result = _compute(spec, args, key, tctx, ctx)
        except DeadlineError:
            if run is None or not run.expired():
                raise
            # the tool saw the deadline / Stop: stopped, as a step in a worker would be
            raise _abandon(step, spec, run, t0, ctx) from None
        worked = time.perf_counter() - w0  # the tool's own time (as in a worker)
        if spec.watched:
            ctx.step_seconds[spec.name] = worked
        return result, False, worked
    box: dict[str, Any] = {}
    done = _Finished()
    context = contextvars.copy_context()

    def work() -> None:
        w0 = time.perf_counter()
        try:
            box["value"] = context.run(_compute, spec, args, key, tctx, ctx)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the graph's thread
            box["error"] = exc
        finally:
            box["seconds"] = time.perf_counter() - w0
            done.set()

    _WORKERS.submit(work)
    finished = run.wait(done)
    error = box.get("error")
    if not finished or (isinstance(error, DeadlineError) and run.expired()):
        # abandoned, or the tool saw the deadline / Stop first: the same message either way
        raise _abandon(step, spec, run, t0, ctx)
    ctx.step_seconds[spec.name] = box["seconds"]
    if error is not None:
        raise error
    return box["value"], False, box["seconds"]


def _abandon(step: Step, spec: Tool, run: deadline.Deadline, t0: float, ctx: AgentContext
             ) -> _Abandoned:
    """The error of a step that time or a Stop ended (the graph stopped waiting, or the
    tool saw it first), logged; a resume runs the step again."""
    took = time.perf_counter() - t0
    ctx.step_seconds[spec.name] = took  # at least this long: not run inline next time
    why = _time_up() + ("" if run.cancelled() else f" ({run.seconds:g} s)")
    logger.warning("step %s (%s) stopped after %.1f s: %s", step.id, step.tool, took, why)
    return _Abandoned(f"stopped: {why} while {step.tool} was running ({took:.1f} s); "
                      f"its result is not used")


def _scores(result: ToolResult | None, ctx: AgentContext) -> list[float]:
    """Confidences of the detections a step produced (for the decision maker)."""
    if result is None or not result.artifact_id or result.artifact_id not in ctx.artifacts:
        return []
    obj = ctx.artifacts.get(result.artifact_id)
    conf = getattr(obj, "confidence", None)
    if conf is None or not hasattr(conf, "tolist"):
        return []
    return [round(float(c), 3) for c in conf[:50].tolist()]


def _cache_key(spec: Tool, args: ToolArgs, payload: Mapping[str, Any], ctx: AgentContext
               ) -> str | None:
    """Result-cache key of a step (None: the tool's results are not cached)."""
    if not spec.cacheable:
        return None
    return ResultCache.key(payload["image_hash"], spec.name,
                           {"args": args.model_dump(mode="json"),
                            "settings": jsonable(ctx.settings)})


def _cache_hit(key: str, ctx: AgentContext) -> ToolResult | None:
    hit = ctx.cache.get(key)
    if hit is None:
        return None
    result, artifact = hit
    if result.artifact_id and result.artifact_id not in ctx.artifacts:
        ctx.artifacts.put(artifact, key=result.artifact_id)
    return result


def _tool_context(payload: Mapping[str, Any], ctx: AgentContext) -> ToolContext:
    """What a step's tool sees: the image, earlier steps' results, the run's stores."""
    outputs = {sid: ev.result for sid, ev in payload["inputs"].items() if ev.result is not None}
    return ToolContext(image=ctx.artifacts.get(payload["image_id"]),
                       image_hash=payload["image_hash"], artifacts=ctx.artifacts,
                       experts=ctx.experts, outputs=outputs, settings=dict(ctx.settings),
                       model=ctx.model, cache=ctx.cache)


def _compute(spec: Tool, args: ToolArgs, key: str | None, tctx: ToolContext,
             ctx: AgentContext) -> ToolResult:
    """Run the tool and cache its result under ``key``."""
    result = spec.run(args, tctx)
    if key is not None:
        artifact = ctx.artifacts.get(result.artifact_id) if result.artifact_id else None
        ctx.cache.put(key, (result, artifact))
    return result


def decide(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Decision maker: stop, run pending steps, or add steps (bounded by the budget)."""
    ctx = runtime.context
    t0 = time.perf_counter()
    plan_, done, budget = _status(state, ctx)
    rounds = int(state.get("rounds", 0)) + 1
    limit = max_rounds(int(state.get("max_steps") or DEFAULT_MAX_STEPS))
    attempts: list[Attempt] = []
    if deadline.expired():
        decision = Decision("stop", f"{_time_up()}; answering from the evidence so far")
    else:
        decision = ctx.decider.decide(_for_role(ctx.decider, plan_), list(done.values()),
                                      budget_left=budget,
                                      attempts=attempts)
    update: dict[str, Any] = {"rounds": rounds}
    if decision.action == "more" and budget <= 0:  # "continue" lets execute mark them not run
        decision = _stopped(decision, "step budget spent")
    elif decision.action != "stop" and rounds >= limit:
        decision = _stopped(decision, f"round limit reached ({rounds} decision rounds for a "
                            f"budget of {state.get('max_steps')} steps)")
    if decision.action == "more" and decision.new_steps:
        plan_ = plan_.model_copy(update={"steps": plan_.steps + decision.new_steps,
                                         "reasoning": plan_.reasoning + [
                                             f"{s.id}: {s.why}" for s in decision.new_steps]})
        update["plan"] = plan_.model_dump(mode="json")
        update["stop_reason"] = ""
    elif decision.action == "continue":
        update["stop_reason"] = ""
    else:
        update["stop_reason"] = decision.reason
    graph_stop = decision.reason.startswith(("the run's deadline", "the run was stopped",
                                             "round limit"))
    update["trace"] = _attempt_records("decide", attempts) + [TraceEvent(
        "decide", summary=f"{decision.action}: {decision.reason}",
        seconds=time.perf_counter() - t0, fallback=graph_stop).to_dict()]
    return update


def _stopped(decision: Decision, why: str) -> Decision:
    """The graph's own stop: the budget or the round limit overrides a decider's "more"."""
    return Decision("stop", f"{why}; the decider's {decision.action!r} ({decision.reason}) "
                    "was not followed")


def after_decide(state: AgentState) -> Literal["execute", "reason"]:
    """Router: back to ``execute`` for more evidence, else ``reason`` (then ``refine``)."""
    return "reason" if state.get("stop_reason") else "execute"


def refine(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Semantic refiner: write the answer from the evidence, in both answer styles.

    A model refiner writes the grounded text (citing step ids); its plain text
    is the same without citations and boxes. The rule refiner writes both, and
    answers when a model refiner cannot.
    """
    ctx = runtime.context
    t0 = time.perf_counter()
    plan_ = _parsed_plan(state, ctx)[0]
    evidence = state.get("evidence", [])
    attempts: list[Attempt] = []
    try:
        reply = ctx.refiner.refine(_for_role(ctx.refiner, plan_), evidence,
                                   artifacts=ctx.artifacts,
                                   image_size=state.get("image_size"), attempts=attempts)
        trace = _attempt_records("refine", attempts[:-1])  # the last is the answer
    except LavrError as exc:
        trace = _attempt_records("refine", attempts) + [TraceEvent(
            "refine", error=str(exc), summary=f"{ctx.refiner.name} answer unusable; the rule "
            "refiner writes it", seconds=time.perf_counter() - t0, fallback=True).to_dict()]
        t0 = time.perf_counter()
        reply = RuleRefiner(ctx.registry).refine(plan_, evidence, artifacts=ctx.artifacts,
                                                 image_size=state.get("image_size"))
    answer = reply.text(ctx.style)
    trace.append(TraceEvent("refine", summary=answer, seconds=time.perf_counter() - t0,
                              cited=reply.cited, answers=reply.texts()).to_dict())
    return {"answer": answer, "answers": reply.texts(), "cited": reply.cited, "trace": trace}
