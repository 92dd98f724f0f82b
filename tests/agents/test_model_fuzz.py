"""Model-reply fuzzing (issue 15): no malformed reply crashes a run, escapes the budget,
or goes unreported.

Over 500 generated replies (:mod:`tests.agents.fuzz_replies`) go through every model
role — controller (plan), decision maker (decide), semantic refiner (refine), the
``vqa`` expert, and LLM-mode correction (``correct(mode="llm")``: claim extraction and
rewrite) — first from a function model, then a sample over a real HTTP server on
127.0.0.1 that also misbehaves (trickle, long ``Retry-After``, 5xx, HTML, resets).
Each run must end with an answer, keep the step budget, and list in
``result.fallbacks`` every role whose reply was unusable.
"""

from __future__ import annotations

import collections
import time

import numpy as np
import pytest

from lavr.agents import VisualAgent
from lavr.core_model.scripted import FunctionModel
from lavr.planners.roles.llm_decider import LLMDecider
from tests.agents.fuzz_replies import malformed_replies
from tests.core_model.http_server import Reply, Server, chat

CASES = malformed_replies()
CHUNK = 50
MAX_STEPS = 6
QUESTION = "How many red circles are there?"
VQA_PLAN = ('{"intent": "unknown", "steps": [{"tool": "vqa", "args": {"question": '
            '"what is in the image?"}}]}')
IMAGE = np.full((32, 32, 3), 255, np.uint8)
IMAGE[8:20, 8:20] = (220, 30, 30)


class Holder:
    """The reply every role gets (plan can be pinned to a valid vqa plan)."""

    def __init__(self) -> None:
        self.reply = ""
        self.plan: str | None = None

    def __call__(self, messages, options) -> str:
        if options.task == "plan" and self.plan is not None:
            return self.plan
        return self.reply


@pytest.fixture(scope="module")
def fuzz():
    holder = Holder()
    agent = VisualAgent(model=FunctionModel(holder, name="fuzz"), verify=False,
                        detector="shapes", model_retries=1, max_steps=MAX_STEPS, deadline=60,
                        answer_cache=False)
    return agent, holder


def test_the_corpus_has_over_500_replies_of_every_kind():
    kinds = collections.Counter(k for k, _ in CASES)
    assert len(CASES) >= 500
    for kind in ("nesting", "truncation", "wrong types", "unknown tools", "cycles", "huge",
                 "bad text", "html and prose", "empty"):
        assert kinds[kind] >= 3, kind
    assert max(len(r) for _, r in CASES) >= 100_000  # huge replies are in it
    assert any(r.count("[") >= 50_000 for _, r in CASES)  # so is 50k-deep nesting


def _check_run(result, reply: str, *, vqa: bool) -> None:
    ran = [e for e in result.evidence if not e.skipped]
    assert len(ran) <= MAX_STEPS
    assert isinstance(result.answer, str) and result.answer.strip()
    notes = result.fallbacks
    if not vqa and result.plan.get("planner") == "rule":
        assert any(n.startswith("plan:") for n in notes), notes
    if result.answer != reply.strip():
        assert any(n.startswith("refine:") for n in notes), notes
    decides = [s for s in result.steps if s.node == "decide" and "attempt" in s.summary
               and s.error]
    if decides and not any(s.summary.endswith("usable") and not s.error
                           for s in result.steps if s.node == "decide"):
        assert any(n.startswith("decide:") for n in notes), notes


@pytest.mark.parametrize("start", range(0, len(CASES), CHUNK))
def test_malformed_replies_through_every_role(fuzz, start):
    agent, holder = fuzz
    for i, (kind, reply) in enumerate(CASES[start:start + CHUNK], start=start):
        holder.reply, holder.plan = reply, None
        try:
            _check_run(agent.run(IMAGE, QUESTION), reply, vqa=False)  # plan, decide, refine
            holder.plan = VQA_PLAN  # a valid plan, so the vqa expert gets the reply
            result = agent.run(IMAGE, "What is in the image?")
            _check_run(result, reply, vqa=True)
            assert any(e.tool == "vqa" for e in result.evidence)
            holder.plan = None
            corrected = agent.correct(IMAGE, "There are two red circles.", mode="llm")
            assert isinstance(corrected.corrected, str)
        except AssertionError as exc:
            raise AssertionError(f"case {i} ({kind}): {reply[:80]!r}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - any escape is the failure being tested
            pytest.fail(f"case {i} ({kind}) {reply[:80]!r} escaped: {type(exc).__name__}: {exc}")


def test_a_decider_that_fails_on_every_reply_still_keeps_the_budget(fuzz):
    agent, holder = fuzz
    holder.reply, holder.plan = '{"action": "more", "steps": [{"tool": "detect", "args": ' \
                                '{"labels": ["circle"]}}]}', None
    result = agent.run(IMAGE, QUESTION)
    assert len([e for e in result.evidence if not e.skipped]) <= MAX_STEPS
    assert isinstance(agent.context.decider, LLMDecider)


# -- over HTTP ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.close()


MISBEHAVIOURS = {
    "trickle": lambda: Reply(body=chat("x" * 300), trickle=0.5),
    "trickle headers": lambda: Reply(body=chat("x" * 300), trickle=0.5, trickle_headers=True),
    "429 long Retry-After": lambda: Reply(429, {"error": {"message": "slow down"}},
                                          headers={"Retry-After": "3600"}),
    "500": lambda: Reply(500, {"error": {"message": "boom"}}),
    "503 html": lambda: Reply(503, "<html><body>Service Unavailable</body></html>"),
    "200 html": lambda: Reply(200, "<html><body>oops</body></html>"),
    "reset": lambda: Reply(reset=True),
    "no choices": lambda: Reply(200, {"choices": []}),
}
HTTP_DEADLINE = 2.0


def _http_agent(server: Server) -> VisualAgent:
    return VisualAgent(model=f"openai:fuzz@{server.url}", verify=False, detector="shapes",
                       model_retries=1, max_steps=MAX_STEPS, deadline=HTTP_DEADLINE,
                       answer_cache=False,
                       model_options={"timeout": 1.0, "max_retries": 1, "backoff": 0.0})


@pytest.mark.parametrize("name", sorted(MISBEHAVIOURS))
def test_a_misbehaving_server_never_holds_a_run_past_its_deadline(server, name):
    agent = _http_agent(server)
    agent.run(IMAGE, QUESTION)  # experts loaded, so the timing below is the model's
    server.responder = lambda body: MISBEHAVIOURS[name]()
    t0 = time.monotonic()
    result = agent.run(IMAGE, QUESTION)
    seconds = time.monotonic() - t0
    server.responder = None
    assert result.answer.strip()
    assert any(n.startswith("plan:") for n in result.fallbacks)
    assert seconds < HTTP_DEADLINE + 1.5  # the deadline, plus one trickled byte and experts


def test_malformed_replies_over_http(server):
    agent = _http_agent(server)
    sample = CASES[::10]
    assert len(sample) >= 50
    for i, (kind, reply) in enumerate(sample):
        server.responder = lambda body, r=reply: Reply(body=chat(r))
        try:
            result = agent.run(IMAGE, QUESTION)
        except Exception as exc:  # noqa: BLE001 - any escape is the failure being tested
            pytest.fail(f"http case {i} ({kind}) {reply[:80]!r} escaped: {exc!r}")
        finally:
            server.responder = None
        assert result.answer.strip()
        assert len([e for e in result.evidence if not e.skipped]) <= MAX_STEPS
