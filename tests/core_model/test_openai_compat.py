"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 with scripted replies."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydantic import BaseModel

from lavr.core_model.errors import ModelOutputError, ModelServerError, ModelTimeoutError
from lavr.core_model.messages import Message
from lavr.core_model.openai_compat import OpenAICompatibleModel
from tests.core_model.http_server import Reply, Server, chat


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def model_for(server: Server, **kw: Any) -> tuple[OpenAICompatibleModel, list[float]]:
    waits: list[float] = []
    kw.setdefault("max_retries", 2)
    kw.setdefault("timeout", 5)
    model = OpenAICompatibleModel("test-vlm", server.url, sleep=waits.append,
                                  api_key="sk-test", **kw)
    return model, waits


class Count(BaseModel):
    count: int


IMG = np.zeros((20, 30, 3), np.uint8)
IMG[:, :10] = (255, 0, 0)


def test_wire_format_text_image_parts_and_auth(server):
    server.replies.append(Reply(body=chat("three")))
    model, _ = model_for(server)
    out = model.generate([Message.system("be brief"), Message.user("how many?", IMG, "really?")],
                         max_new_tokens=33, stop=["\n\n"])
    assert out == "three"
    req = server.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["json"]
    assert body["model"] == "test-vlm" and body["max_tokens"] == 33 and body["stop"] == ["\n\n"]
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert sent.shape == IMG.shape and (sent == IMG).all()  # PNG: the exact pixels arrive
    assert "response_format" not in body


def test_structured_output_sends_a_json_schema(server):
    server.replies.append(Reply(body=chat('{"count": 4}')))
    model, _ = model_for(server)
    assert model.structured([Message.user("count")], Count).unwrap().count == 4
    fmt = server.requests[0]["json"]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Count"
    assert fmt["json_schema"]["schema"] == Count.model_json_schema()


def test_server_without_response_format_falls_back_to_the_prompt(server):
    server.replies.extend([
        Reply(400, {"error": {"message": "response_format json_schema is not supported"}}),
        Reply(body=chat('Here: {"count": 2}')),
        Reply(body=chat('{"count": 5}'))])
    model, waits = model_for(server)
    assert model.structured([Message.user("count")], Count).unwrap().count == 2
    assert "response_format" in server.requests[0]["json"]
    assert "response_format" not in server.requests[1]["json"]
    assert "JSON schema" in server.requests[1]["json"]["messages"][-1]["content"]
    assert model.structured([Message.user("again")], Count).unwrap().count == 5  # remembered
    assert "response_format" not in server.requests[2]["json"] and waits == []


def test_malformed_model_json_is_reasked_then_reported(server):
    server.replies.extend([Reply(body=chat("four")), Reply(body=chat('{"count": "many"}'))])
    model, _ = model_for(server)
    with pytest.raises(ModelOutputError) as info:
        model.structured([Message.user("count")], Count, retries=1).unwrap()
    assert "count:" in info.value.problems[0]
    second = server.requests[1]["json"]["messages"]
    assert second[-2] == {"role": "assistant", "content": "four"}
    assert "no JSON object" in second[-1]["content"]


def test_5xx_and_429_are_retried_with_backoff(server):
    server.replies.extend([Reply(503, {"error": {"message": "overloaded"}}),
                           Reply(429, {"error": "slow down"}, {"Retry-After": "3"}),
                           Reply(body=chat("ok"))])
    model, waits = model_for(server, backoff=0.5)
    assert model.generate([Message.user("hi")]) == "ok"
    assert len(server.requests) == 3
    assert waits == [0.5, 3.0]  # exponential backoff, Retry-After honoured


def test_retries_are_bounded_and_the_error_is_clear(server):
    server.replies.extend([Reply(502, "<html>bad gateway</html>")] * 3)
    model, waits = model_for(server, max_retries=2, backoff=0.25)
    with pytest.raises(ModelServerError) as info:
        model.generate([Message.user("hi")])
    err = info.value
    assert err.status == 502 and "bad gateway" in err.detail and err.retryable
    assert "gave up after 3 attempts" in str(err)
    assert len(server.requests) == 3 and waits == [0.25, 0.5]


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_4xx_fails_at_once_with_the_servers_message(server, status):
    server.replies.append(Reply(status, {"error": {"message": f"problem {status}"}}))
    model, waits = model_for(server)
    with pytest.raises(ModelServerError, match=f"HTTP {status} from .*problem {status}") as info:
        model.generate([Message.user("hi")])
    assert not info.value.retryable and len(server.requests) == 1 and waits == []


def test_timeout_is_retried_then_raised(server):
    server.replies.extend([Reply(hang=True), Reply(hang=True)])
    model, waits = model_for(server, timeout=0.3, max_retries=1, backoff=0.1)
    with pytest.raises(ModelTimeoutError, match="no reply within 0.3 s"):
        model.generate([Message.user("hi")])
    assert len(server.requests) == 2 and waits == [0.1]


def test_malformed_reply_body_is_retried_then_reported(server):
    server.replies.extend([Reply(body="this is not json"), Reply(body={"choices": []}),
                           Reply(body=chat("fine"))])
    model, waits = model_for(server, max_retries=2)
    assert model.generate([Message.user("hi")]) == "fine"
    server.replies.extend([Reply(body="garbage")] * 2)
    model, _ = model_for(server, max_retries=1)
    with pytest.raises(ModelServerError, match="reply is not JSON: 'garbage'"):
        model.generate([Message.user("hi")])


def test_connection_refused_is_a_clear_error():
    model = OpenAICompatibleModel("m", "http://127.0.0.1:9/v1", max_retries=1,
                                  sleep=lambda s: None, timeout=2)
    with pytest.raises(ModelServerError, match="cannot connect") as info:
        model.generate([Message.user("hi")])
    assert info.value.status is None


def test_streaming_reads_server_sent_events(server):
    chunks = [json.dumps({"choices": [{"delta": {"content": c}}]}) for c in ["Th", "ree", " cats"]]
    server.replies.append(Reply(stream=chunks + ["[DONE]"]))
    model, _ = model_for(server)
    pieces = list(model.stream([Message.user("how many?")]))
    assert "".join(pieces) == "Three cats" and len(pieces) >= 2
    assert server.requests[0]["json"]["stream"] is True


def test_text_only_model_behind_a_server_gets_no_image_parts(server):
    server.replies.append(Reply(body=chat("ok")))
    model, _ = model_for(server, sees_images=False)
    model.generate([Message.user("look", IMG)])
    content = server.requests[0]["json"]["messages"][0]["content"]
    assert isinstance(content, str) and "not shown" in content


def test_the_environment_key_never_reaches_a_url_the_operator_did_not_configure(
        server, monkeypatch):
    monkeypatch.delenv("LAVR_OPENAI_KEY_URLS", raising=False)
    monkeypatch.setenv("LAVR_OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("LAVR_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the operator's server
    server.replies.append(Reply(body=chat("ok")))
    model = OpenAICompatibleModel("m", server.url, max_retries=0, timeout=5)
    assert model.generate([Message.user("hi")]) == "ok"
    assert "Authorization" not in server.requests[0]["headers"]
    assert "sk-secret" not in json.dumps(server.requests[0])
    monkeypatch.setenv("LAVR_OPENAI_BASE_URL", server.url)  # now it is the configured one
    server.replies.append(Reply(body=chat("ok")))
    OpenAICompatibleModel("m", server.url, max_retries=0, timeout=5).generate(
        [Message.user("hi")])
    assert server.requests[1]["headers"]["Authorization"] == "Bearer sk-secret"
