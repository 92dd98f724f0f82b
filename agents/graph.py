"""The LangGraph state machine: ingest → demos → plan → execute ⇉ tool → decide → reason → refine → verify.

The wiring is one table (:data:`NODES`, :data:`EDGES`, :data:`BRANCHES`) read by
:func:`build_graph` (LangGraph: streaming, checkpoints, plan review) and by
:func:`run_direct`, which runs the same node functions with the same reducers in
plain Python for a question that needs none of that (``VisualAgent.run`` without
a checkpointer): LangGraph's per-superstep bookkeeping costs about half a
millisecond of CPU a step, more than the rule planner, decider and refiner
together.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from lavr.agents import cot_nodes, nodes
from lavr.agents.state import AgentContext, AgentState, apply_update, reducers_of
from lavr.agents.verify import node as verify_node
from lavr.core_model.errors import LavrError

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

#: Nodes in order: name → function ``(state, runtime) -> update | None``.
NODES: dict[str, Callable[..., Any]] = {
    "ingest": nodes.ingest, "demos": cot_nodes.demos, "plan": nodes.plan,
    "execute": nodes.execute, "tool": nodes.tool, "decide": nodes.decide,
    "reason": cot_nodes.reason, "refine": nodes.refine, "verify": verify_node.verify,
}
#: Fixed edges.
EDGES: tuple[tuple[str, str], ...] = (
    (START, "ingest"), ("ingest", "demos"), ("demos", "plan"), ("plan", "execute"),
    ("tool", "decide"), ("reason", "refine"), ("refine", "verify"), ("verify", END),
)
#: Conditional edges: source → (router, the nodes it may choose).
BRANCHES: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "execute": (nodes.dispatch, ("tool", "decide")),
    "decide": (nodes.after_decide, ("execute", "reason")),
}


def build_graph() -> StateGraph:
    """The uncompiled graph (nodes and edges)."""
    g = StateGraph(AgentState, context_schema=AgentContext)
    for name, fn in NODES.items():
        g.add_node(name, fn)
    for a, b in EDGES:
        g.add_edge(a, b)
    for source, (router, ends) in BRANCHES.items():
        g.add_conditional_edges(source, router, list(ends))
    return g


def compile_graph(checkpointer: BaseCheckpointSaver | None = None,
                  **kwargs: Any) -> CompiledStateGraph:
    """Compile the graph with an optional checkpointer (in-memory, SQLite, ...)."""
    return build_graph().compile(checkpointer=checkpointer, **kwargs)


def mermaid() -> str:
    """The graph drawn as Mermaid text (snapshot-tested)."""
    return compile_graph().get_graph().draw_mermaid()


class GraphLoopError(LavrError):
    """The graph took more supersteps than its limit (a loop that does not end)."""


_REDUCERS = reducers_of(AgentState)
#: Routers that take the runtime as well as the state.
_WANTS_RUNTIME = {src: "runtime" in inspect.signature(router).parameters
                  for src, (router, _) in BRANCHES.items()}


def _apply(state: dict[str, Any], update: dict[str, Any] | None) -> None:
    """Write a node's update into ``state`` with :class:`AgentState`'s reducers."""
    apply_update(state, update, _REDUCERS)


#: Each node's fixed successors (from :data:`EDGES`).
_FOLLOWS: dict[str, tuple[str, ...]] = {
    a: tuple(b for a2, b in EDGES if a2 == a) for a in dict.fromkeys(a for a, _ in EDGES)}


def _next(node: str, state: dict[str, Any], runtime: Runtime[AgentContext]) -> list[Any]:
    """Where ``node`` leads: node names and :class:`Send` packets."""
    out: list[Any] = list(_FOLLOWS.get(node, ()))
    branch = BRANCHES.get(node)
    if branch is not None:
        router = branch[0]
        chosen = router(state, runtime) if _WANTS_RUNTIME[node] else router(state)
        if isinstance(chosen, list):
            out.extend(chosen)
        else:
            out.append(chosen)
    return out


def run_direct(inputs: dict[str, Any], context: AgentContext, *,
               max_supersteps: int = 200) -> dict[str, Any]:
    """Run the graph on ``inputs`` in plain Python; returns the final state.

    Supersteps as in LangGraph: every node scheduled for a step sees the state as
    it was at the step's start, their updates are applied in order with the
    state's reducers, and the next step runs the nodes they lead to (a node that
    several lead to runs once). ``Send`` packets to ``tool`` run in parallel threads.

    Raises:
        GraphLoopError: More than ``max_supersteps`` supersteps.
    """
    state: dict[str, Any] = {}
    _apply(state, inputs)
    runtime: Runtime[AgentContext] = Runtime(context=context)
    todo: list[Any] = _next(START, state, runtime)
    pool: ThreadPoolExecutor | None = None
    try:
        for _ in range(max_supersteps):
            tasks: list[str] = []
            sends: list[Send] = []
            for t in todo:
                if isinstance(t, Send):
                    sends.append(t)
                elif t != END and t not in tasks:  # a node that several lead to runs once
                    tasks.append(t)
            if not tasks and not sends:
                return state
            if len(tasks) + len(sends) == 1:  # one node: no snapshot, no pool
                name, arg = (tasks[0], state) if tasks else (sends[0].node, sends[0].arg)
                _apply(state, NODES[name](arg, runtime))
                todo = _next(name, state, runtime)
                continue
            snapshot = dict(state)
            calls: list[tuple[str, Any]] = [(name, snapshot) for name in tasks]
            calls += [(s.node, s.arg) for s in sends]
            pool = pool or ThreadPoolExecutor(max_workers=8, thread_name_prefix="lavr-node")
            # each branch runs in a copy of this thread's context (the run's deadline)
            contexts = [contextvars.copy_context() for _ in calls]
            updates = list(pool.map(lambda cc: cc[0].run(NODES[cc[1][0]], cc[1][1], runtime),
                                    zip(contexts, calls, strict=True)))
            for update in updates:
                _apply(state, update)
            todo = []
            for name in dict.fromkeys(name for name, _ in calls):
                todo.extend(_next(name, state, runtime))
        raise GraphLoopError(f"the graph did not finish within {max_supersteps} supersteps")
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


__all__ = ["BRANCHES", "EDGES", "NODES", "GraphLoopError", "build_graph", "compile_graph",
           "mermaid", "run_direct"]
