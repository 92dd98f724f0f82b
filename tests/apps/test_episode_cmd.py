"""What ``lavr gui`` and ``lavr embodied`` share (lavr.apps.episode_cmd): seeds, counts, levels
and the report folder are checked before any episode runs, each in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lavr.apps.cli import main
from lavr.apps.episode_cmd import MAX_SEED, check_seed, controller, report_dir, report_saver
from lavr.core_model.errors import InputError


@pytest.mark.parametrize("value, seed", [(0, 0), (7, 7), (3.0, 3), (" 12 ", 12), ("+5", 5),
                                         (MAX_SEED, MAX_SEED)])
def test_check_seed_takes_whole_numbers(value, seed):
    assert check_seed(value) == seed


@pytest.mark.parametrize("value", ["abc", "", "1.5", -1, "-1", 1.5, float("nan"), float("inf"),
                                   MAX_SEED + 1, 10**30, True, None, [1],
                                   "+-5", "--5", "\u00b2"])  # were int()'s ValueError
def test_check_seed_refuses_anything_else_in_words(value):
    with pytest.raises(InputError, match=r"^seed must be a whole number from 0 to \d+, got "):
        check_seed(value, name="seed")


def test_report_dir_is_checked_before_any_episode(tmp_path):
    assert report_dir(None) is None
    assert report_dir(str(tmp_path / "new" / "reports")) == tmp_path / "new" / "reports"
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        report_dir(str(tmp_path / "f.txt"))
    with pytest.raises(InputError, match="cannot create"):
        report_dir(str(tmp_path / "f.txt" / "sub"))


def test_report_saver_names_each_episode_by_its_seed(tmp_path):
    assert report_saver(None, "task", 3) is None
    written = []

    class Episode:
        def save_html(self, path, *, title, scale):
            written.append((Path(path).name, title, scale))

    save = report_saver(tmp_path, "task", 3, scale=2)
    save(0, Episode())
    save(1, Episode())
    assert written == [("task-3.html", "task, seed 3", 2), ("task-4.html", "task, seed 4", 2)]


def test_controller_is_the_rules_without_a_model():
    rules = object()
    assert controller(None, rules, actions=("a",)) is rules
    assert controller("rule", rules, actions=("a",)) is rules


def test_controller_puts_a_model_over_the_adapted_rules():
    from lavr.core_model.scripted import ScriptedModel
    from lavr.episodes.controller import ModelController

    class Rules:
        perception = ()

    rules, adapted = Rules(), Rules()
    made = controller(ScriptedModel(['{"action": "a"}']), rules, actions=("a",),
                      model_rules=lambda r: adapted if r is rules else None)
    assert isinstance(made, ModelController) and made.fallback is adapted


@pytest.mark.parametrize("argv, words", [
    (["--seed", str(MAX_SEED + 1)], "--seed must be a whole number"),
    (["--seed", str(MAX_SEED), "--episodes", "2"], "runs past the largest seed"),
    (["--episodes", "0"], "--episodes must be >= 1"),
    (["--max-steps", "0"], "--max-steps must be >= 1"),
])
@pytest.mark.parametrize("command", [
    ["embodied", "babyai", "--level", "BabyAI-GoToRedBall-v0"],
    ["gui", "miniwob", "--task", "click-test"],
])
def test_bad_counts_and_seeds_are_one_line(capsys, command, argv, words):
    assert main([*command, "--episodes", "1", *argv]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and words in err and out == ""


def test_embodied_checks_every_level_before_the_first_runs(capsys, tmp_path):
    pytest.importorskip("minigrid")
    # a gymnasium id that is not a MiniGrid environment was an AttributeError deep in a wrapper
    assert main(["embodied", "babyai", "--levels", "BabyAI-GoToRedBall-v0,CartPole-v1",
                 "--episodes", "1", "--save-html", str(tmp_path / "r")]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "unknown environment 'CartPole-v1'" in err and out == ""
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_embodied_refuses_a_report_folder_that_is_a_file(capsys, tmp_path):
    pytest.importorskip("minigrid")
    (tmp_path / "f").write_text("x")
    assert main(["embodied", "babyai", "--level", "BabyAI-GoToRedBall-v0", "--episodes", "1",
                 "--save-html", str(tmp_path / "f")]) == 2
    out, err = capsys.readouterr()
    assert "is a file, not a folder" in err and out == ""


@pytest.mark.parametrize("argv, words", [
    (["embodied", "babyai", "--level", "BabyAI-GoToRedBall-v0", "--episodes", "1",
      "--trace-dir", "{f}/t"], "--trace-dir: cannot create"),  # was an error after the run
    (["gui", "miniwob", "--task", "click-test", "--episodes", "1", "--trace-dir", "{f}"],
     "--trace-dir: "),
    (["gui", "url", "{page}", 'Click "OK"', "--max-steps", "0"], "--max-steps must be >= 1"),
    (["gui", "url", "{page}", 'Click "OK"', "--trace-dir", "{f}"], "--trace-dir: "),
    (["gui", "url", "{page}", 'Click "OK"', "--save-html", "{tmp}"], "--save-html"),
])
def test_episode_outputs_and_budgets_are_checked_before_anything_runs(tmp_path, capsys, argv,
                                                                      words):
    (tmp_path / "f").write_text("x")
    (tmp_path / "p.html").write_text("<button>OK</button>")
    names = {"f": str(tmp_path / "f"), "tmp": str(tmp_path), "page": str(tmp_path / "p.html")}
    assert main([a.format(**names) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and words in err and out == "", err
