"""The graph's ``verify`` node: the answer checked claim by claim and corrected (Woodpecker).

The node runs the verification subgraph (:mod:`lavr.agents.verify.subgraph`: extract →
questions → plan → tools → claims → correct) on the run's own context: the verification
questions become tool steps run by the graph's tool execution
(:mod:`lavr.agents.verify.steps`), so the run's result cache, artifact store and experts
serve them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from langgraph.runtime import Runtime

from lavr.agents.nodes import _time_up
from lavr.agents.state import AgentContext, AgentState
from lavr.agents.verify.pipeline import CorrectionResult, corrector_for_context
from lavr.agents.verify.subgraph import inside_langgraph
from lavr.agents.verify.validate import ExpertValidator
from lavr.core_model import deadline
from lavr.core_model.errors import LavrError, log_recovered
from lavr.planners.roles.rule_refiner import has_pixel_boxes
from lavr.tools.trace import TraceEvent

logger = logging.getLogger(__name__)


def verify(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Verifier: check the answer claim by claim with the experts and correct it (Woodpecker).

    Uses only the tools the agent's registry offers, through the run's result cache
    (the run's detector pass and colour names are read back, not computed again), and
    reuses the run's OCR lines. Every answer style is checked; the plain text gets no
    inline boxes, and a text that already gives pixel boxes gets no normalised ones
    (one coordinate convention per answer). The trace record lists every claim of
    the answer with its verdict and the verifier's tool steps; when the answer
    changes, the original is kept in the record.
    """
    ctx = runtime.context
    if not ctx.verify:
        return {"trace": [TraceEvent("verify", summary="off").to_dict()]}
    answer = state.get("answer", "")
    if not answer.strip():
        return {"trace": [TraceEvent("verify", summary="no answer to check").to_dict()]}
    if deadline.expired():
        return {"trace": [TraceEvent("verify", summary=f"not checked: {_time_up()}",
                                       fallback=True).to_dict()]}
    t0 = time.perf_counter()
    texts = dict(state.get("answers") or {}) or {ctx.style: answer}
    texts[ctx.style] = answer
    order = [ctx.style] + [k for k in texts if k != ctx.style]
    results: dict[str, CorrectionResult] = {}
    validator: ExpertValidator | None = None  # shared by the styles: one look at the image
    # inside LangGraph the verification subgraph runs as this node's subgraph; under the
    # plain runner (graph.run_direct) its nodes are walked in plain Python too
    direct = not inside_langgraph()
    try:
        for style in order:
            text = texts[style]
            done = next((r for r in results.values() if r.original == text), None)
            if done is not None:  # both styles read the same: check once
                results[style] = done
                continue
            attach = None if style == "grounded" and not has_pixel_boxes(text) else False
            corrector = corrector_for_context(ctx, evidence=state.get("evidence", []),
                                              attach_boxes=attach,
                                              image_id=state.get("image_id"),
                                              image_hash=state.get("image_hash"),
                                              validator=validator)
            validator = corrector.validator
            results[style] = corrector.correct(ctx.artifacts.get(state["image_id"]), text,
                                               question=state["question"], direct=direct)
    except Exception as exc:  # noqa: BLE001 - the answer stands, marked unchecked
        if not isinstance(exc, LavrError):
            log_recovered(logger, exc, "verify crashed; the answer is left unchecked")
        return {"trace": [TraceEvent("verify", summary="could not check the answer",
                                       error=str(exc), seconds=time.perf_counter() - t0,
                                       fallback=True).to_dict()]}
    result = results[ctx.style]
    steps = [] if validator is None else validator.ran
    event = TraceEvent("verify", summary=result.summary(), seconds=time.perf_counter() - t0,
                       claims=[k.public() for k in result.claims], mode=result.mode,
                       steps=[{"step": e.step_id, "tool": e.tool, "args": e.args,
                               "cached": e.cached, "error": e.error} for e in steps],
                       original_answer=answer if result.changed else None)
    update: dict[str, Any] = {"trace": [event.to_dict()]}
    corrected = {style: r.corrected for style, r in results.items()}
    if corrected != texts:
        update["answers"] = corrected
    if result.changed:
        update["answer"] = result.corrected
    return update
