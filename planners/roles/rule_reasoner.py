"""The rule reasoner: the reasoning chain or tree built from the plan and the evidence alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lavr.planners.cot import CotOptions, Reasoning, build_reasoning
from lavr.planners.plan import Plan
from lavr.tools.evidence import Evidence
from lavr.tools.registry import ToolRegistry


class RuleReasoner:
    """Builds the chain (or the tree, sub-questions answered by the experts only).

    Args:
        tools: The agent's tools, which word the tree's sub-questions (default: built-in).
    """

    name = "rule"

    def __init__(self, tools: ToolRegistry | None = None) -> None:
        self.tools = tools

    def reason(self, plan: Plan, evidence: Sequence[Evidence], *, options: CotOptions,
               image: np.ndarray | None = None) -> Reasoning | None:
        """The chain or tree for ``options`` (None when chain-of-thought is off)."""
        return build_reasoning(options.mode, plan, list(evidence), max_steps=options.steps,
                               tools=self.tools)
