"""Errors of the planning layer."""

from __future__ import annotations

from lavr.core_model.errors import LavrError


class PlanValidationError(LavrError):
    """A plan failed validation.

    Attributes:
        problems: One message per problem, phrased so a model can fix them.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid plan: " + "; ".join(self.problems))
