"""`--model` on the CLI against a real local OpenAI-style server (scripted replies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lavr.apps.cli import main
from lavr.apps.evaluate import make_items
from lavr.apps.plan_eval import gold_plan
from tests.conftest import requires_shapes
from tests.core_model.http_server import Reply, Server, chat

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def question_of(body: dict[str, Any]) -> str:
    text = body["messages"][-1]["content"]
    if isinstance(text, list):
        text = " ".join(p.get("text", "") for p in text if p["type"] == "text")
    return text.split("Question:")[-1].strip()


def gold_reply(q: str) -> str:
    plan = gold_plan(q)
    return json.dumps({"intent": plan.intent, "steps": [
        {"tool": s.tool, "args": s.args} for s in plan.steps]})


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_plan_only_scores_a_served_model(server, capsys):
    """Every other question gets the gold plan, the rest a wrong one: exactly half accurate."""
    items = make_items(6, 3)
    wrong = {it.question for i, (it, _) in enumerate(items) if i % 2}

    def respond(body: dict[str, Any]) -> Reply:
        q = question_of(body)
        if q in wrong:  # valid but not the gold plan
            return Reply(body=chat('{"intent": "list", "steps": [{"tool": "detect"}]}'))
        return Reply(body=chat(gold_reply(q)))

    server.responder = respond
    code, out, _ = run(capsys, "eval", "synthetic", "--n", "6", "--seed", "3", "--plan-only",
                       "--json", "--model", f"openai:served-vlm@{server.url}")
    assert code == 0
    report = json.loads(out)
    assert report["planner"] == "openai:served-vlm" and report["n"] == 6
    assert report["validity"] == 1.0 and report["accuracy"] == 0.5
    body = server.requests[0]["json"]
    assert body["model"] == "served-vlm" and body["response_format"]["type"] == "json_schema"
    assert any(p["type"] == "image_url" for p in body["messages"][-1]["content"])


def test_eval_plan_only_counts_fallbacks_as_invalid(server, capsys):
    server.responder = lambda body: Reply(body=chat("no idea"))
    code, out, _ = run(capsys, "eval", "synthetic", "--n", "2", "--plan-only", "--json",
                       "--model", f"openai:m@{server.url}", "--model-retries", "1",
                       "--roles", "plan")
    report = json.loads(out)
    assert code == 0 and report["validity"] == 0.0 and report["accuracy"] == 0.0
    assert len(server.requests) == 4  # two questions, one re-ask each


def test_model_check_sends_the_image(server, capsys):
    server.replies.append(Reply(body=chat("Some coloured shapes.")))
    code, out, err = run(capsys, "model", "check", f"openai:m@{server.url}",
                         "--image", str(EXAMPLES / "shapes_1.png"))
    assert code == 0 and out.strip() == "Some coloured shapes." and "openai:m" in err
    parts = server.requests[0]["json"]["messages"][0]["content"]
    assert parts[0]["type"] == "image_url" and parts[1]["text"].startswith("Describe")


def test_model_plan_prints_every_attempt(server, capsys):
    server.replies.extend([Reply(body=chat('{"intent": "count", "steps": [{"tool": "nope"}]}')),
                           Reply(body=chat(gold_reply("How many red circles are there?")))])
    code, out, _ = run(capsys, "model", "plan", f"openai:m@{server.url}",
                       "How many red circles are there?")
    assert code == 0
    assert "attempt 1/3: rejected" in out and "unknown tool 'nope'" in out
    assert "s4 = count(" in out


def test_server_errors_are_one_line_and_exit_2(server, capsys):
    server.replies.append(Reply(401, {"error": {"message": "invalid api key"}}))
    code, _, err = run(capsys, "model", "check", f"openai:m@{server.url}")
    assert code == 2 and "HTTP 401" in err and "invalid api key" in err
    code, _, err = run(capsys, "model", "check", "openai:m@localhost:1")
    assert code == 2 and "http://" in err


@requires_shapes
def test_ask_with_a_served_controller_and_config_file(server, tmp_path, capsys):
    q = "How many red circles are there?"
    server.responder = lambda body: Reply(body=chat(gold_reply(q)))
    cfg = tmp_path / "lavr.toml"
    cfg.write_text(f'[model]\nspec = "openai:cfg-vlm@{server.url}"\nroles = ["plan"]\n'
                   '[model.options]\ntimeout = 30\n[agent]\ndetector = "shapes"\n')
    code, out, _ = run(capsys, "ask", str(EXAMPLES / "shapes_1.png"), q, "--json",
                       "--no-verify", "--config", str(cfg))
    assert code == 0
    data = json.loads(out)
    assert data["plan"]["planner"] == "openai:cfg-vlm"
    assert [s["tool"] for s in data["plan"]["steps"]] == ["detect", "colour", "filter", "count"]
    assert data["answer"] and len(server.requests) == 1
    assert server.requests[0]["json"]["model"] == "cfg-vlm"
