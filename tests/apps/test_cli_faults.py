"""Faults outside the bad-input corpus end in one line from the ``lavr`` CLI, never a traceback:
a package that cannot be imported (while the parser is built or while a command runs), a
broken pipe, Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lavr.apps import cli
from lavr.apps.cli import main
from tests.subproc import python_outside

REPO = Path(__file__).resolve().parents[2]
GOOD = str(REPO / "examples" / "shapes_1.png")

#: Poison a package the agents import, then run ``lavr ARGS`` (sys.argv[1:]).
_BROKEN_INSTALL = """
import sys
sys.modules["langgraph"] = None  # as if the package were missing
from lavr.apps.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_missing_package_while_the_parser_is_built_is_one_line(tmp_path):
    proc = python_outside(_BROKEN_INSTALL, "ask", GOOD, "How many?", cwd=tmp_path)
    assert proc.returncode == cli.EXIT_UNAVAILABLE, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("lavr: error: cannot import langgraph")
    assert "make install" in proc.stderr and proc.stdout == ""


def test_verbose_shows_the_import_traceback(tmp_path):
    proc = python_outside(_BROKEN_INSTALL, "-v", "ask", GOOD, "How many?", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_a_missing_package_while_a_command_runs_is_one_line(monkeypatch, capsys):
    def needs_torch(args):
        import lavr_no_such_package  # noqa: F401

    monkeypatch.setitem(cli.COMMANDS, "models", needs_torch)
    assert main(["models"]) == cli.EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot import lavr_no_such_package" in err
    assert "internal error" not in err and "make install" in err


@pytest.mark.parametrize("fault, code, words", [
    (KeyboardInterrupt, 130, "lavr: interrupted"),
    (BrokenPipeError, 0, ""),
    (RuntimeError("boom\nsecond line"), 1, "internal error: RuntimeError: boom second line"),
])
def test_a_fault_while_a_command_runs_is_one_line_or_silent(monkeypatch, capsys, fault, code,
                                                           words):
    def broken(args):
        raise fault

    monkeypatch.setitem(cli.COMMANDS, "models", broken)
    assert main(["models"]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == (1 if words else 0) and words in err


def test_ctrl_c_while_the_parser_is_built_is_one_line(monkeypatch, capsys):
    def interrupted(sub):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_add_eval", interrupted)
    assert main(["models"]) == 130
    assert capsys.readouterr().err == "lavr: interrupted\n"


def _numeric_options(parser, command=()):
    """``(command words, action)`` of every ``type=int``/``type=float`` option of every
    ``lavr`` sub-command."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_options(sub, (*command, name))
        elif action.option_strings and action.type in (int, float):
            yield command, action


def test_every_numeric_option_refuses_negative_counts_and_nan_while_parsing(capsys):
    options = list(_numeric_options(cli.build_parser()))
    assert len(options) > 40  # every sub-command's numbers, not a handful
    for command, action in options:
        bad = "-1" if action.type is int else "nan"
        flag = action.option_strings[-1]
        with pytest.raises(SystemExit) as exc:
            cli.build_parser().parse_args([*command, flag, bad])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1, (command, flag, err)
        assert f"argument {'/'.join(action.option_strings)}: expected a " in err, err


def test_a_negative_seed_is_refused_before_anything_runs(capsys):
    # numpy's "expected non-negative integer" came out as an internal error
    with pytest.raises(SystemExit):
        main(["eval", "synthetic", "--n", "2", "--seed", "-1"])
    assert "argument --seed: expected a whole number 0 or more" in capsys.readouterr().err


def _files(tmp):
    (tmp / "bin.jsonl").write_bytes(bytes(range(256)) * 4)
    (tmp / "nonobj.jsonl").write_text("[1, 2]\n")
    (tmp / "deep.jsonl").write_text("[" * 100_000 + "\n")
    (tmp / "good.jsonl").write_text(json.dumps({"id": 1, "image": GOOD, "question": "q"}) + "\n")
    (tmp / "trace.json").write_bytes(b"\xff\xfe{}")
    (tmp / "f").write_text("x")
    (tmp / "popenum.jsonl").write_text(json.dumps({"question_id": 1, "image": 5, "text": 7,
                                                   "label": "yes"}) + "\n")
    return {k.split(".")[0]: str(tmp / k) for k in ("bin.jsonl", "nonobj.jsonl", "deep.jsonl",
                                                    "good.jsonl", "trace.json", "f",
                                                    "popenum.jsonl")}


#: (argv with {names} of _files, words of the error line): each was a traceback, an
#: "internal error", an endless read or an error after the whole run (lavr sweep).
EARLY_FAULTS = [
    (["batch", "{bin}", "--out", "{tmp}/o.jsonl"], "not UTF-8 text"),
    (["batch", "{nonobj}", "--out", "{tmp}/o.jsonl"], "not an object"),
    (["batch", "{deep}", "--out", "{tmp}/o.jsonl"], "nested too deeply"),
    (["batch", "{good}", "--out", "/dev/full"], "not a regular file"),  # read forever
    (["batch", "{good}", "--out", "{bin}"], "not a results file"),
    (["batch", "{good}", "--out", "{f}/o.jsonl"], "is not a folder"),
    (["batch", "{good}", "--out", "{tmp}/o.jsonl", "--image-dir", "{f}"], "no such folder"),
    (["eval", "pope", "--pope-file", "{bin}", "--images", "{tmp}"], "not UTF-8 text"),
    (["eval", "pope", "--pope-file", "{popenum}", "--images", "{tmp}"],
     "record 0 needs image and text as non-empty text"),  # was re.search's TypeError
    (["batch", "{popenum}", "--out", "{tmp}/o.jsonl"], "needs image and text"),
    (["demos", "add", "--from-trace", "{trace}", "--store", "{tmp}/s"], "not UTF-8 text"),
    (["demos", "add", "--from-trace", "/dev/zero", "--store", "{tmp}/s"], "not a regular file"),
    (["eval", "synthetic", "--n", "1", "--failures", "{f}/x.jsonl"], "--failures"),
    (["eval", "hallucination", "--n", "1", "--items", "{f}/x.jsonl"], "--items"),
    (["eval", "reasoning", "--grid", "icl", "--n", "1", "--out", "{tmp}"], "is a folder"),
    (["eval", "mllm", "--model", "rule"], "measures a vision-language model"),
    (["serve", "--batch-size", "0"], "--batch-size must be at least 1"),  # Ray started, hung
    (["eval", "mllm", "--model", "openai:m@http://127.0.0.1:9/v1", "--icl", "1000"],
     "--icl shows at most"),  # was pydantic's ValidationError as an internal error
    (["eval", "pope", "--threads", "0"], "--threads must be >= 1"),  # was taken as 1
    (["eval", "hallucination", "--n", "1", "--threads", "0"], "--threads must be >= 1"),
    (["eval", "mllm", "--model", "lavr-mllm", "--threads", "0"], "--threads must be >= 1"),
]


@pytest.mark.parametrize("argv, words", EARLY_FAULTS, ids=[" ".join(a[:2]) + " " + w
                                                          for a, w in EARLY_FAULTS])
def test_bad_files_and_output_paths_are_one_line_before_any_run(tmp_path, capsys, argv, words):
    names = {**_files(tmp_path), "tmp": str(tmp_path)}
    code = main([a.format(**names) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and err.startswith("lavr: error: "), err
    assert words in err and out == ""


@pytest.mark.parametrize("argv, words", [
    (["demo", "--port", "99999"], "--port must be 1..65535"),  # was a hang
    (["demo", "--concurrency", "0"], "--concurrency must be at least 1"),
    (["demo", "--detector", "nope"], "detector"),  # was checked after the port was taken
    (["demo", "--max-steps", "0"], "--max-steps"),
    (["demo", "--device", "tpu9"], "--device"),
])
def test_demo_options_are_checked_before_gradio_loads(monkeypatch, capsys, argv, words):
    from lavr.apps import demo_app

    def never(*args, **kwargs):
        raise AssertionError("the demo was built before its options were checked")

    monkeypatch.setattr(demo_app, "build_demo", never)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err


_CTRL_C_WITH_A_WORKER_BUSY = """
import sys, threading
from lavr.apps import cli

def busy(args):
    threading.Thread(target=threading.Event().wait).start()  # a worker that never returns
    raise KeyboardInterrupt
cli.COMMANDS["models"] = busy
sys.argv = ["lavr", "models"]
sys.exit(cli.main())
"""


def test_ctrl_c_ends_the_program_even_with_a_worker_busy(tmp_path):
    # the interpreter waited for the worker at exit (a hang); native pools aborted it
    proc = python_outside(_CTRL_C_WITH_A_WORKER_BUSY, cwd=tmp_path, timeout=60)
    assert proc.returncode == 130 and proc.stderr == "lavr: interrupted\n", proc.stderr


@pytest.mark.parametrize("command", [["eval", "icl-retrieval"], ["eval", "reasoning", "--grid",
                                                                     "icl"]])
def test_demo_counts_above_the_prompt_limit_are_refused_while_parsing(capsys, command):
    with pytest.raises(SystemExit):  # was pydantic's ValidationError as an internal error
        main([*command, "--k", "2,1000"])
    assert "argument --k: expected numbers from 0 to 32" in capsys.readouterr().err


def test_correct_refuses_a_device_as_its_text_file(capsys):
    assert main(["correct", GOOD, "--text-file", "/dev/zero"]) == 2  # said "no such file"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a regular file" in err


def test_demos_check_of_a_missing_store_names_it_once(tmp_path, capsys):
    store = tmp_path / "none"
    assert main(["demos", "check", "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.count(str(store)) == 1, err  # was "X: X: ..."
