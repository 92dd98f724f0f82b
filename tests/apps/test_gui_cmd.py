"""``lavr gui`` / ``lavr embodied`` command lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lavr.agents.gui.browser import BrowserUnavailableError, check_url, chromium_paths
from lavr.apps.cli import main
from lavr.core_model.errors import InputError

try:
    chromium_paths()
    _BROWSER = True
except BrowserUnavailableError:
    _BROWSER = False

PAGE = """<!doctype html><html><body style="font-family:sans-serif;margin:20px">
<div>Username</div><input style="width:200px"><br><br>
<button onclick="document.title='hi '+document.querySelector('input').value">Login</button>
<button>Cancel</button></body></html>"""


def test_check_url_keeps_to_local_pages(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text(PAGE)
    assert check_url(str(page)).startswith("file://")
    assert check_url("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"
    with pytest.raises(InputError, match="allow-remote"):
        check_url("https://example.com/")
    assert check_url("https://example.com/", allow_remote=True) == "https://example.com/"
    with pytest.raises(InputError, match="no such file"):
        check_url(str(tmp_path / "missing.html"))


def test_url_refuses_remote_without_opt_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gui", "url", "https://example.com/", 'Click "OK"']) == 2
    assert "allow-remote" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not _BROWSER, reason="chromium/chromedriver not installed")
def test_url_follows_instruction_on_local_page(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "p.html"
    page.write_text(PAGE)
    code = main(["gui", "url", str(page), 'Enter "alice" into the username field and press Login',
                 "--json", "--trace-dir", str(tmp_path / "trace")])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["completed"] is True
    assert [s["action"]["kind"] for s in out["trace"]] == ["click", "type", "click", "done"]
    assert (tmp_path / "trace" / "step_01.png").is_file()


def test_embodied_babyai_json(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("minigrid")
    assert main(["embodied", "babyai", "--env", "BabyAI-GoToObj-v0", "--episodes", "2",
                 "--seed", "3", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out[out.index("{"):])
    env = data["envs"][0]
    assert env["episodes"] == 2 and env["success_rate"] == 1.0 and env["mean_steps"] > 0


def test_unknown_task_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("miniwob")
    assert main(["gui", "miniwob", "--task", "no-such-task", "--episodes", "1"]) == 2
    assert "unknown MiniWoB++ task" in capsys.readouterr().err
