"""Faults outside the bad-input corpus end in one line from the ``lavr`` CLI, never a traceback:
a package that cannot be imported (while the parser is built or while a command runs), a
broken pipe, Ctrl-C."""

from __future__ import annotations

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
