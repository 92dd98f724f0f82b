"""The bad-input corpus (tests/apps/bad_inputs.py) through ``lavr ask``, ``lavr correct`` and the
Python API: every case ends in an answer (exit 0) or one line with exit 2 or 3, within its
deadline; no traceback, no "internal error", no hang (issue 15).

Most cases run in-process through ``main(argv)``; a handful through a real subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from tests.apps.bad_inputs import CASES, DEADLINE, REPO, run_case

BY_NAME = {c.name: c for c in CASES}


def test_the_corpus_is_large_and_covers_every_entry_point():
    assert len(CASES) >= 60
    assert len(BY_NAME) == len(CASES)  # names are unique
    entries = {c.entry for c in CASES}
    assert entries == {"ask", "correct", "api"}
    assert {c.expect for c in CASES} == {0, 2, 3}


def _within(seconds: float, fn, *args):
    """``fn(*args)`` in a watched thread: a case that hangs fails here instead of hanging
    the suite (its thread is left behind, a daemon)."""
    box: dict = {}

    def work() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"hung: still running after {seconds:.0f} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_case_ends_in_an_answer_or_one_line(name, tmp_path):
    case = BY_NAME[name]
    t0 = time.monotonic()
    code, out, err = _within(2 * float(DEADLINE), run_case, case, tmp_path)
    seconds = time.monotonic() - t0
    assert "Traceback" not in out + err and "internal error" not in err
    assert code == case.expect, (code, err)
    if code:
        assert err.count("\n") == 1 and err.startswith("lavr: error: "), err
        assert case.words in err, err
        assert out == ""
    assert seconds < float(DEADLINE)  # each case within the run deadline it was given


SUBPROCESS = ["ask-image-jpeg-cut-200", "ask-device-cuda",
              "correct-text-file-binary", "ask-good"]


@pytest.mark.parametrize("name", SUBPROCESS)
def test_case_through_a_real_process(name, tmp_path):
    case = BY_NAME[name]
    env = {**os.environ, "PYTHONPATH": str(REPO.parent)}
    proc = subprocess.run([sys.executable, "-m", "lavr.apps.cli", *case.argv(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == case.expect, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    if proc.returncode:
        assert proc.stderr.startswith("lavr: error: ") and proc.stderr.count("\n") == 1, \
            proc.stderr
    else:
        assert proc.stdout.startswith("Q: ") and "\nA: " in proc.stdout


def test_a_write_that_fails_after_the_run_keeps_the_answer(tmp_path, capsys, monkeypatch):
    from lavr.agents.result import AgentResult
    from lavr.apps.cli import main

    def disk_full(self, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(AgentResult, "save_annotated", disk_full)
    code = main(["ask", BY_NAME["ask-good"].argv(tmp_path)[1], "How many red circles are there?",
                 "--no-verify", "--save-annotated", str(tmp_path / "a.png")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "\nA: " in out  # the answer was printed
    assert err.count("\n") == 1 and "No space left on device" in err and "answer above" in err


def test_a_recovered_backend_failure_is_one_warning_line(caplog):
    import logging

    import numpy as np

    from lavr.agents import VisualAgent
    from lavr.core_model.scripted import FunctionModel

    def broken(messages, options):
        raise RuntimeError("backend bug\nwith a second line")

    agent = VisualAgent(model=FunctionModel(broken, name="broken"), verify=False,
                        detector="shapes", answer_cache=False)
    with caplog.at_level(logging.WARNING):
        result = agent.run(np.zeros((16, 16, 3), np.uint8), "How many circles are there?")
    assert result.answer and result.fallbacks
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING
                and "broken crashed" in r.getMessage()]
    assert warnings  # plan, decide, refine: each one line
    for r in warnings:
        assert r.exc_info is None and "\n" not in r.getMessage()
