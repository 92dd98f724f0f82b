"""Errors of the tools layer."""

from __future__ import annotations

from lavr.core_model.errors import LavrError, UnavailableError


class ToolError(LavrError):
    """A tool could not run on the given arguments.

    Attributes:
        tool: Tool name.
        reason: What went wrong, phrased for the planner/LLM to read.
    """

    def __init__(self, tool: str, reason: str) -> None:
        self.tool = tool
        self.reason = reason
        super().__init__(f"{tool}: {reason}")


class ExpertUnavailableError(ToolError, UnavailableError):
    """An expert's library or weights are missing on this machine."""


class UnknownToolError(ToolError):
    """No tool of that name is registered."""
