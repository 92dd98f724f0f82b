"""Errors of the planning layer."""

from __future__ import annotations

from lavr.core_model.errors import InputError, LavrError


class PlanValidationError(LavrError):
    """A plan failed validation.

    Attributes:
        problems: One message per problem, phrased so a model can fix them.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid plan: " + "; ".join(self.problems))


class DemoError(InputError):
    """A demo store, a demo or a trace to make a demo from is not usable.

    Attributes:
        where: The store folder, file or demo id concerned.
        reason: What is wrong, and how to fix it where that is known.
    """

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")
