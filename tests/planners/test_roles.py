"""The roles behind their interfaces, and the one structured() loop they are built on."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from lavr.core_model.errors import ModelError, ModelOutputError
from lavr.core_model.messages import Message
from lavr.core_model.scripted import ScriptedModel
from lavr.planners.roles.assign import build_roles
from lavr.planners.roles.llm_decider import LLMDecider
from lavr.planners.roles.llm_planner import LLMPlanner
from lavr.planners.roles.llm_reasoner import LLMReasoner
from lavr.planners.roles.llm_refiner import LLMRefiner
from lavr.planners.roles.protocols import (
    Decider,
    Planner,
    QuestionPlanner,
    Reasoner,
    Refiner,
    as_planner,
)
from lavr.planners.roles.rule_decider import RuleDecider
from lavr.planners.roles.rule_planner import RulePlanner
from lavr.planners.roles.rule_reasoner import RuleReasoner
from lavr.planners.roles.rule_refiner import RuleRefiner
from lavr.tools.registry import default_registry


class Count(BaseModel):
    n: int


def test_rule_and_model_roles_implement_the_same_interfaces():
    model = ScriptedModel([])
    reg = default_registry()
    roles = build_roles(model, reg)
    for role, protocol, rule, llm in (("planner", Planner, RulePlanner, LLMPlanner),
                                      ("decider", Decider, RuleDecider, LLMDecider),
                                      ("refiner", Refiner, RuleRefiner, LLMRefiner),
                                      ("reasoner", Reasoner, RuleReasoner, LLMReasoner)):
        assert isinstance(rule(), protocol)
        assert isinstance(getattr(roles, role), llm) and isinstance(getattr(roles, role), protocol)
    rules_only = build_roles(None, reg)
    assert isinstance(rules_only.planner, RulePlanner) and isinstance(rules_only.refiner,
                                                                      RuleRefiner)


def test_a_plain_plan_method_is_wrapped_as_a_planner():
    class Mine:
        def plan(self, question):
            return RulePlanner().plan(question)

    wrapped = as_planner(Mine())
    assert isinstance(wrapped, QuestionPlanner) and not wrapped.sees_images
    assert wrapped.plan("How many circles?", attempts=[]).intent == "count"
    rule = RulePlanner()
    assert as_planner(rule) is rule


def test_structured_returns_the_value_and_every_attempt():
    model = ScriptedModel(["no json here", '{"n": "x"}', '{"n": 3}'], name="m")
    reply = model.structured([Message.user("count")], Count, retries=2, what="count")
    assert reply.ok and reply.value == Count(n=3)
    assert [a.number for a in reply.attempts] == [1, 2, 3]
    assert [a.error is None for a in reply.attempts] == [False, False, True]
    assert reply.attempts[1].summary == "m count attempt 2/3: rejected"
    assert "n:" in reply.attempts[1].error
    assert reply.attempts[2].record()["attempt"] == 3


def test_structured_reports_unusable_replies_and_model_failures_without_raising():
    bad = ScriptedModel(["nope", "nope"]).structured([Message.user("q")], Count, retries=1)
    assert not bad.ok and bad.value is None and len(bad.attempts) == 2 and bad.problems
    with pytest.raises(ModelOutputError):
        bad.unwrap()
    down = ScriptedModel([ModelError("server down")]).structured([Message.user("q")], Count,
                                                                 retries=3)
    assert not down.ok and len(down.attempts) == 1  # a failing model is not asked again
    assert down.attempts[0].error == "model failed: server down"
    with pytest.raises(ModelError, match="server down"):
        down.unwrap()


def test_a_parse_function_checks_more_than_the_form():
    def parse(raw: str) -> str:
        if "[s1]" not in raw:
            raise ModelOutputError(raw, ["cite [s1]"])
        return raw.strip()

    model = ScriptedModel(["Two cats.", "Two cats [s1]."])
    reply = model.structured([Message.user("q")], parse, retries=1,
                             reask=lambda problems: "Again: " + "; ".join(problems))
    assert reply.value == "Two cats [s1]."
    assert model.requests[1].messages[-1].text == "Again: cite [s1]"
    assert model.requests[0].options.json_schema is None  # plain text: no schema sent
