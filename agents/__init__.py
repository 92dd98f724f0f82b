"""lavr agents: the LangGraph graph, decision loop, refiner and the public API."""

from lavr.agents.agent import VisualAgent, clean_question
from lavr.agents.result import AgentResult, StepEvent
from lavr.agents.state import AgentContext, AgentState

__all__ = ["AgentContext", "AgentResult", "AgentState", "StepEvent", "VisualAgent",
           "clean_question"]
