"""lavr agents: the LangGraph graph, decision loop, refiner and the public API."""

from lavr.agents.result import AgentResult, PlanReview, StepEvent, StreamEvent
from lavr.agents.session import SessionBusyError, SessionError, SessionStore, SessionStoreError
from lavr.agents.state import AgentContext, AgentState
from lavr.agents.visual_agent import VisualAgent, clean_question

__all__ = ["AgentContext", "AgentResult", "AgentState", "PlanReview", "SessionBusyError",
           "SessionError", "SessionStore", "SessionStoreError", "StepEvent", "StreamEvent",
           "VisualAgent", "clean_question"]
