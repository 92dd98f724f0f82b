"""The demo's episode panel runs a real BabyAI episode and shows its trace (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import miniwob_browser

pytest.importorskip("gradio")
pytest.importorskip("minigrid")


def test_demo_page_builds_with_the_episode_panel() -> None:
    from lavr.apps.demo_app import build_demo

    demo = build_demo()
    # the panel is wired to the page's picture cache (not its own default folder)
    assert demo.lavr_episodes.cache_dir == demo.lavr_app.cache_dir


def test_episode_panel_shows_every_step_with_its_picture(tmp_path: Path) -> None:
    from lavr.apps.demo_episodes import EpisodePanel

    panel = EpisodePanel(str(tmp_path))
    messages, outcome, picture, slider, state = panel.run("BabyAI-GoToRedBall-v0", 1003,
                                                          "partial")
    assert outcome["success"] is True and outcome["seed"] == 1003
    n = outcome["actions"]
    acts = [m for m in messages if m.get("metadata", {}).get("title", "").startswith("t")
            and " · grid_cells" not in m["metadata"]["title"]]
    assert len(acts) == n  # one action message per step, the episode ends on the environment
    assert sum("grid_cells" in m.get("metadata", {}).get("title", "") for m in messages) == n
    assert len(state.pictures) == n and slider["maximum"] == max(n, 2)
    assert picture is not None and Path(picture).is_file()
    last = panel.picture(n, state)
    assert last is not None and last != picture and Path(last).is_file()


def test_episode_panel_reports_a_bad_level_in_one_message(tmp_path: Path) -> None:
    from lavr.apps.demo_episodes import EpisodePanel

    messages, outcome, picture, _, state = EpisodePanel(str(tmp_path)).run("NoSuchLevel", 0,
                                                                           "partial")
    assert len(messages) == 1 and "unknown environment" in messages[0]["content"]
    assert outcome["status"] == "error" and picture is None and not state.pictures


@pytest.mark.parametrize("seed", ["abc", "", -1, 1.5, float("nan"), float("inf"), 10**30,
                                  [1]])
def test_episode_api_refuses_a_bad_seed_in_words(tmp_path: Path, seed) -> None:
    from lavr.apps.demo_episodes import EpisodePanel

    messages, outcome, picture, _, _ = EpisodePanel(str(tmp_path)).run(
        "BabyAI-GoToRedBall-v0", seed, "partial")
    assert outcome["error"].startswith("seed must be a whole number from 0 to "), outcome
    assert len(messages) == 1 and picture is None


@pytest.mark.parametrize("level, view, words", [
    ("CartPole-v1", "partial", "unknown environment 'CartPole-v1'"),  # was an AttributeError
    ("x" * 100_000, "partial", "unknown environment"),
    ("BabyAI-GoToRedBall-v0", "sideways", "view must be one of"),
    (None, None, "view must be one of"),
])
def test_episode_api_refuses_other_bad_fields_in_one_short_line(tmp_path: Path, level, view,
                                                                words) -> None:
    from lavr.apps.demo_episodes import EpisodePanel

    _, outcome, _, _, _ = EpisodePanel(str(tmp_path)).run(level, 0, view)
    assert words in outcome["error"] and "\n" not in outcome["error"]
    assert len(outcome["error"]) <= 300




@pytest.mark.slow
def test_episode_panel_runs_a_miniwob_task_with_its_pictures(tmp_path: Path) -> None:
    if not miniwob_browser():
        pytest.skip("chromium/chromedriver/miniwob not installed")
    from lavr.apps.demo_episodes import MINIWOB, EpisodePanel

    panel = EpisodePanel(str(tmp_path))
    assert "click-test" in panel.tasks() and "enter-text" in panel.tasks()
    messages, outcome, picture, slider, state = panel.run("", 7, "partial", MINIWOB,
                                                          "click-test")
    assert outcome["environment"] == MINIWOB and outcome["task"] == "click-test"
    assert outcome["seed"] == 7 and outcome["success"] is True, outcome
    assert "level" not in outcome and outcome["instruction"]  # read from the pixels
    n = outcome["actions"]
    assert n >= 1 and len(state.pictures) == n and slider["maximum"] == max(n, 2)
    titles = [m.get("metadata", {}).get("title", "") for m in messages]
    assert sum("screen_elements" in t for t in titles) == n  # the perception tool, each step
    assert picture is not None and Path(picture).is_file()


def test_episode_panel_reports_miniwob_failures_in_one_message(tmp_path: Path,
                                                               monkeypatch) -> None:
    from lavr.apps.demo_episodes import MINIWOB, EpisodePanel

    panel = EpisodePanel(str(tmp_path))
    messages, outcome, picture, _, state = panel.run("", 0, "partial", MINIWOB, "no-such-task")
    assert len(messages) == 1 and "unknown MiniWoB++ task" in messages[0]["content"]
    assert outcome["status"] == "error" and picture is None and not state.pictures
    # Chromium missing: one message naming what to install, no traceback
    monkeypatch.setenv("MINIWOB_CHROME_BINARY", str(tmp_path / "no-chromium"))
    messages, outcome, picture, _, state = panel.run("", 0, "partial", MINIWOB, "click-test")
    assert len(messages) == 1 and outcome["status"] == "error", outcome
    assert "not available" in messages[0]["content"] and "Traceback" not in messages[0]["content"]
    assert picture is None and not state.pictures
    # an environment the panel does not know
    messages, outcome, *_ = panel.run("", 0, "partial", "Atari", "")
    assert len(messages) == 1 and "unknown environment" in outcome["error"]
