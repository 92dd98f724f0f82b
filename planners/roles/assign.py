"""Give one model its roles: controller, decision maker, semantic refiner, VQA expert.

:func:`build_roles` turns a model (object or string) and the roles it should
take into the pieces the agent wires into its context; roles the model does
not take stay with the rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lavr.core_model.backends import load_model
from lavr.core_model.config import ALL_ROLES
from lavr.core_model.errors import ModelConfigError
from lavr.core_model.model import MultimodalModel
from lavr.planners.roles.llm_decider import LLMDecider
from lavr.planners.roles.llm_planner import LLMPlanner
from lavr.planners.roles.llm_reasoner import LLMReasoner
from lavr.planners.roles.llm_refiner import LLMRefiner
from lavr.planners.roles.protocols import Decider, Planner, Reasoner, Refiner
from lavr.planners.roles.rule_decider import RuleDecider
from lavr.planners.roles.rule_planner import RulePlanner
from lavr.planners.roles.rule_reasoner import RuleReasoner
from lavr.planners.roles.rule_refiner import RuleRefiner
from lavr.tools.registry import ToolRegistry

logger = logging.getLogger(__name__)

#: The role of a model that answers the tools' questions about the image.
VQA_ROLE = "vqa"


@dataclass
class ModelRoles:
    """What a model does in one agent: every role, the model's or the rules'.

    Attributes:
        model: The model (None: rules only).
        planner: The controller (the rule planner unless the model plans).
        decider: The decision maker (the rule decider unless the model decides).
        refiner: The semantic refiner (the rule refiner unless the model refines).
        reasoner: Builds the reasoning chain or tree (the model answers tree
            sub-questions when it sees and takes the ``vqa`` role).
        tool_model: The model the ``vqa`` tool asks, or None.
        roles: The roles the model takes.
    """

    model: MultimodalModel | None = None
    planner: Planner = field(default_factory=RulePlanner)
    decider: Decider = field(default_factory=RuleDecider)
    refiner: Refiner = field(default_factory=RuleRefiner)
    reasoner: Reasoner = field(default_factory=RuleReasoner)
    tool_model: MultimodalModel | None = None
    roles: tuple[str, ...] = ()


def parse_roles(roles: str | Iterable[str] | None) -> tuple[str, ...]:
    """Roles from ``"plan,decide"``, a list, or None (all).

    Raises:
        ModelConfigError: An unknown role.
    """
    if roles is None:
        return ALL_ROLES
    if not isinstance(roles, str) and (not isinstance(roles, Iterable)
                                       or not all(isinstance(r, str) for r in roles)):
        raise ModelConfigError(repr(roles), "roles must be a comma-separated string or a list "
                               f"of role names from {', '.join(ALL_ROLES)}")
    items = [r.strip() for r in (roles.split(",") if isinstance(roles, str) else roles)]
    items = [r for r in items if r]
    unknown = [r for r in items if r not in ALL_ROLES]
    if unknown:
        raise ModelConfigError(",".join(items), f"unknown role(s) {', '.join(unknown)}; "
                               f"roles are {', '.join(ALL_ROLES)}")
    return tuple(r for r in ALL_ROLES if r in items)


def build_roles(model: str | MultimodalModel | None, registry: ToolRegistry, *,
                roles: str | Iterable[str] | None = None, retries: int = 2,
                options: dict[str, Any] | None = None) -> ModelRoles:
    """The role objects for ``model``.

    Args:
        model: A model string (``rule``, ``openai:...``), a model object or None.
        registry: The agent's tools.
        roles: Roles the model takes (default: all of ``plan``, ``decide``,
            ``refine``, ``vqa``).
        retries: Re-asks after an unusable reply, per role call.
        options: Backend options for a model string.

    Raises:
        ModelConfigError: Bad model string, option or role.
    """
    taken = parse_roles(roles)
    resolved = load_model(model, **(options or {}))
    if resolved is None:
        return ModelRoles(decider=RuleDecider(registry), refiner=RuleRefiner(registry),
                          reasoner=RuleReasoner(registry))
    model_tools = registry.asking_model()
    vqa = VQA_ROLE in taken and resolved.sees_images and bool(model_tools)
    if VQA_ROLE in taken and not resolved.sees_images and model_tools:
        logger.info("%s is text-only: %s stay(s) unavailable", resolved.name,
                    ", ".join(model_tools))
    exclude = () if vqa else tuple(model_tools)
    return ModelRoles(
        model=resolved,
        planner=LLMPlanner(resolved, registry, retries=retries, exclude_tools=exclude)
        if "plan" in taken else RulePlanner(),
        decider=LLMDecider(resolved, registry, retries=min(retries, 1), exclude_tools=exclude)
        if "decide" in taken else RuleDecider(registry),
        refiner=LLMRefiner(resolved, retries=min(retries, 1)) if "refine" in taken
        else RuleRefiner(registry),
        reasoner=LLMReasoner(resolved, registry) if vqa else RuleReasoner(registry),
        tool_model=resolved if vqa else None,
        roles=taken,
    )
