"""The bad-input corpus (tests/apps/bad_inputs.py) through ``lavr ask``, ``lavr correct`` and the
Python API: every case ends in an answer (exit 0) or one line with exit 2 or 3, within its
deadline; no traceback, no "internal error", no hang (issue 15).

Most cases run in-process through ``main(argv)``; a handful through a real subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_case_ends_in_an_answer_or_one_line(name, tmp_path):
    case = BY_NAME[name]
    t0 = time.monotonic()
    code, out, err = run_case(case, tmp_path)
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
