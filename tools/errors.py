"""Errors of the tools layer."""

from __future__ import annotations

from lavr.core_model.errors import LavrError, UnavailableError


class ToolError(LavrError):
    """A tool could not run on the given arguments.

    Attributes:
        tool: Tool name.
        reason: What went wrong, phrased for the planner/LLM to read.
        user_message: Sentences for the person who asked (what lavr cannot do and
            what they can do about it), or None when ``reason`` is for developers only.
    """

    def __init__(self, tool: str, reason: str, *, user_message: str | None = None) -> None:
        self.tool = tool
        self.reason = reason
        self.user_message = user_message
        super().__init__(f"{tool}: {reason}")


class ExpertUnavailableError(ToolError, UnavailableError):
    """An expert's library or weights are missing on this machine.

    Attributes:
        detail: Why the weights could not be had (offline, download failed ...), or "".
    """

    def __init__(self, tool: str, reason: str, *, user_message: str | None = None,
                 detail: str = "") -> None:
        super().__init__(tool, reason, user_message=user_message)
        self.detail = detail


class UnknownToolError(ToolError):
    """No tool of that name is registered."""
