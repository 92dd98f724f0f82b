"""Deadlines, not per-read timeouts: a misbehaving server on 127.0.0.1 cannot stretch a call.

Each case runs against a real socket with a short deadline, and asserts the call
ended (with a clear error) well before the misbehaviour itself would have: a body
trickled one byte every half second would take minutes to arrive. The bounds are
generous; they catch "hangs past the deadline", not speed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from lavr.core_model import deadline
from lavr.core_model.errors import DeadlineError, ModelServerError, ModelTimeoutError
from lavr.core_model.messages import Message
from lavr.core_model.openai_compat import OpenAICompatibleModel
from tests.core_model.http_server import Reply, Server, chat

LONG = "x" * 400  # 400 bytes at 2 bytes a second: 200 s if a deadline did not hold
# Bounds below allow for a heavily loaded CI machine; each stays far under the 80-200 s
# an unbounded call would take, so a deadline that does not hold still fails the test.
SLACK = 10.0


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def model_for(server: Server, **kw: Any) -> OpenAICompatibleModel:
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 1.0)
    return OpenAICompatibleModel("m", server.url, api_key="sk-test", backoff=0.0, **kw)


def _timed(fn) -> tuple[BaseException | None, float]:
    t0 = time.monotonic()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - returned for the test to check
        return exc, time.monotonic() - t0
    return None, time.monotonic() - t0


def _ask(model: OpenAICompatibleModel) -> str:
    return model.generate([Message.user("hi")])


@pytest.mark.parametrize("headers", [False, True])
def test_a_trickling_server_cannot_extend_the_call(server, headers):
    server.replies.append(Reply(body=chat(LONG), trickle=0.5, trickle_headers=headers))
    model = model_for(server, timeout=1.0)
    exc, seconds = _timed(lambda: _ask(model))
    assert isinstance(exc, ModelTimeoutError) and "no reply within 1 s" in str(exc)
    assert seconds < 3.0 + SLACK


def test_the_worker_of_a_timed_out_attempt_stops(server):
    server.replies.append(Reply(body=chat(LONG), trickle=0.2))
    model = model_for(server, timeout=0.6)
    before = {t for t in threading.enumerate() if t.name == "lavr-http"}
    with pytest.raises(ModelTimeoutError):
        _ask(model)
    workers = [t for t in threading.enumerate() if t.name == "lavr-http" and t not in before]
    for t in workers:
        t.join(5.0)  # it stops at the next byte, once its connection is closed
    assert not any(t.is_alive() for t in workers)


def test_retries_and_waits_end_by_the_call_deadline(server):
    server.responder = lambda body: Reply(body=chat(LONG), trickle=0.5)
    model = model_for(server, timeout=1.0, max_retries=5, deadline=2.0)
    exc, seconds = _timed(lambda: _ask(model))
    assert isinstance(exc, ModelServerError)
    assert seconds < 4.0 + SLACK
    assert len(server.requests) <= 3


def test_a_long_retry_after_is_not_waited_for_past_the_deadline(server):
    server.responder = lambda body: Reply(429, {"error": {"message": "slow down"}},
                                          headers={"Retry-After": "3600"})
    waits: list[float] = []
    model = OpenAICompatibleModel("m", server.url, max_retries=3, timeout=1.0, deadline=5.0,
                                  sleep=waits.append)
    exc, seconds = _timed(lambda: _ask(model))
    assert isinstance(exc, ModelServerError) and exc.status == 429
    assert all(w <= 5.0 for w in waits)  # capped at MAX_RETRY_AFTER, never past the deadline
    assert "deadline" in str(exc) or len(server.requests) == 4


def test_the_run_deadline_shortens_every_attempt(server):
    server.replies.append(Reply(body=chat(LONG), trickle=0.5))
    model = model_for(server, timeout=60.0)
    with deadline.deadline_scope(1.0):
        exc, seconds = _timed(lambda: _ask(model))
    assert isinstance(exc, ModelTimeoutError)
    assert seconds < 3.0 + SLACK


def test_no_model_is_asked_after_the_deadline(server):
    model = model_for(server)
    with deadline.deadline_scope(0.0):
        with pytest.raises(DeadlineError, match="the run reached its deadline"):
            _ask(model)
    assert server.requests == []


@pytest.mark.parametrize("reply,words", [
    (Reply(500, {"error": {"message": "boom"}}), "HTTP 500"),
    (Reply(503, "<html><body>Service Unavailable</body></html>"), "HTTP 503"),
    (Reply(200, "<html><body>not json</body></html>"), "not JSON"),
    (Reply(200, {"choices": []}), "no choices[0]"),
    (Reply(reset=True), "cannot connect"),
])
def test_broken_replies_are_clean_errors(server, reply, words):
    server.responder = lambda body: reply
    model = model_for(server, max_retries=1)
    exc, seconds = _timed(lambda: _ask(model))
    assert isinstance(exc, ModelServerError) and words in str(exc)
    assert seconds < 5.0 + SLACK


def test_a_trickled_stream_ends_by_the_deadline(server):
    server.replies.append(Reply(body=chat(LONG), trickle=0.3))
    model = model_for(server, timeout=1.0, deadline=1.0)
    exc, seconds = _timed(lambda: "".join(model.stream([Message.user("hi")])))
    assert isinstance(exc, ModelServerError)
    assert seconds < 3.0 + SLACK


def test_scopes_nest_and_only_shorten():
    with deadline.deadline_scope(10.0) as outer:
        with deadline.deadline_scope(100.0) as inner:
            assert inner is outer
        with deadline.deadline_scope(1.0, "the model call") as short:
            assert short.what == "the model call" and deadline.remaining() <= 1.0
        assert deadline.remaining() > 5.0
    assert deadline.remaining() is None and not deadline.expired()
