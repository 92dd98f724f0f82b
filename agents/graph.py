"""The LangGraph state machine: ingest → demos → plan → execute ⇉ tool → decide → reason → refine → verify."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from lavr.agents import cot_nodes, nodes
from lavr.agents.state import AgentContext, AgentState


def build_graph() -> StateGraph:
    """The uncompiled graph (nodes and edges)."""
    g = StateGraph(AgentState, context_schema=AgentContext)
    g.add_node("ingest", nodes.ingest)
    g.add_node("demos", cot_nodes.demos)
    g.add_node("plan", nodes.plan)
    g.add_node("execute", nodes.execute)
    g.add_node("tool", nodes.tool)
    g.add_node("decide", nodes.decide)
    g.add_node("reason", cot_nodes.reason)
    g.add_node("refine", nodes.refine)
    g.add_node("verify", nodes.verify)
    g.add_edge(START, "ingest")
    g.add_edge("ingest", "demos")
    g.add_edge("demos", "plan")
    g.add_edge("plan", "execute")
    g.add_conditional_edges("execute", nodes.dispatch, ["tool", "decide"])
    g.add_edge("tool", "decide")
    g.add_conditional_edges("decide", cot_nodes.after_decide, ["execute", "reason"])
    g.add_edge("reason", "refine")
    g.add_edge("refine", "verify")
    g.add_edge("verify", END)
    return g


def compile_graph(checkpointer: Any = None, **kwargs: Any) -> Any:
    """Compile the graph with an optional checkpointer (in-memory, SQLite, ...)."""
    return build_graph().compile(checkpointer=checkpointer, **kwargs)


def mermaid() -> str:
    """The graph drawn as Mermaid text (snapshot-tested)."""
    return compile_graph().get_graph().draw_mermaid()
