"""A corpus of bad inputs and settings (issue 15), for ``lavr ask``, ``lavr correct`` and the API.

Each :class:`Case` builds its files in a temporary folder and is either a command
line (``argv``) or a Python call (``call``). Every case must end in exit 0 (an
answer) or a one-line error with exit 2 (bad input or setting) or 3 (a backend,
device or expert that is not available here) — never a traceback, an "internal
error" or a hang. ``expect`` is the exit code the case should get; ``words`` must
appear in the error line.

Run it as a report: ``python -m tests.apps.bad_inputs`` prints one line per case and
the totals (in-process through ``main(argv)``).
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
GOOD = str(REPO / "examples" / "shapes_1.png")
Q = "How many red circles are there?"
#: Deadline given to every command-line case (seconds).
DEADLINE = "60"
DEAD_URL = "openai:m@http://127.0.0.1:9/v1"  # nothing listens on port 9


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        name: Short id.
        expect: Exit code it should end with (0 answer, 2 bad input, 3 unavailable).
        words: Text the error line must contain ("" for exit 0).
        argv: ``tmp -> argv`` for ``lavr`` (without the program name).
        call: ``tmp -> None`` calling the Python API (raises a LavrError for exit 2/3).
    """

    name: str
    expect: int
    words: str = ""
    argv: Callable[[Path], list[str]] | None = None
    call: Callable[[Path], Any] | None = None

    @property
    def entry(self) -> str:
        if self.call is not None:
            return "api"
        return "correct" if self.argv is not None and self.argv(Path("/nonexistent"))[0] == \
            "correct" else "ask"


# -- files ------------------------------------------------------------------------------------
def _png_bytes(size: tuple[int, int] = (48, 48)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size[::-1], 3), np.uint8)) \
        .save(buf, "PNG")
    return buf.getvalue()


def _jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def file(name: str, data: bytes | str | None) -> Callable[[Path], str]:
    """A builder writing ``data`` to ``tmp/name`` (a folder for None) and returning its path."""
    def make(tmp: Path) -> str:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            path.mkdir(exist_ok=True)
        elif isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return str(path)
    return make


def _bomb() -> bytes:
    data = bytearray(_png_bytes((8, 8)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", 60000, 60000)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    return bytes(data)


def _pickle_pt() -> bytes:
    import pickle
    import zipfile

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"model": Boom()}, protocol=2))
        z.writestr("archive/version", "3")
    return buf.getvalue()


IMAGES = {
    "missing": lambda tmp: str(tmp / "nope.png"),
    "directory": file("adir", None),
    "empty": file("empty.png", b""),
    "text": file("text.png", "hello, not an image"),
    "jpeg-cut-200": file("cut.jpg", _jpeg_bytes()[:200]),
    "jpeg-cut-10": file("cut10.jpg", _jpeg_bytes()[:10]),
    "png-half": file("half.png", _png_bytes()[: len(_png_bytes()) // 2]),
    "png-bomb": file("bomb.png", _bomb()),
    "html": file("page.png", "<html><body>hi</body></html>"),
    "pdf-header": file("doc.png", b"%PDF-1.4\n" + bytes(100)),
}


def ask(*args: str) -> Callable[[Path], list[str]]:
    """``lavr ask GOOD Q ARGS`` (``{tmp}`` in an argument becomes the temp folder)."""
    def make(tmp: Path) -> list[str]:
        return ["ask", GOOD, Q, "--deadline", DEADLINE, *[a.replace("{tmp}", str(tmp))
                                                          for a in args]]
    return make


def ask_image(kind: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["ask", IMAGES[kind](tmp), Q, "--deadline", DEADLINE]


def ask_with(build: Callable[[Path], str], flag: str, *extra: str) -> Callable[[Path], list[str]]:
    """``lavr ask GOOD Q FLAG <built path> EXTRA``."""
    return lambda tmp: ["ask", GOOD, Q, "--deadline", DEADLINE, flag, build(tmp), *extra]


def correct(*args: str, text: str | None = "There are two red circles.",
            text_file: Callable[[Path], str] | None = None,
            image: Callable[[Path], str] | None = None) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        argv = ["correct", image(tmp) if image else GOOD]
        if text_file is not None:
            argv += ["--text-file", text_file(tmp)]
        elif text is not None:
            argv += ["--text", text]
        return argv + list(args)
    return make


# -- API calls --------------------------------------------------------------------------------
def _agent(**kw: Any) -> Any:
    from lavr.agents import VisualAgent

    return VisualAgent(**kw)


def api(fn: Callable[..., Any]) -> Callable[[Path], Any]:
    return lambda tmp: fn(tmp)


CASES: list[Case] = [
    # ask: images
    *[Case(f"ask-image-{k}", 2, w, argv=ask_image(k)) for k, w in [
        ("missing", "no such file"), ("directory", "is a directory"), ("empty", "empty"),
        ("text", "not a recognised image"), ("jpeg-cut-200", "truncated"),
        ("jpeg-cut-10", "image"), ("png-half", "truncated"), ("png-bomb", "too large"),
        ("html", "not a recognised image"), ("pdf-header", "not a recognised image")]],
    # ask: questions
    Case("ask-question-empty", 2, "empty", argv=lambda tmp: ["ask", GOOD, "", "--deadline", DEADLINE]),
    Case("ask-question-blank", 2, "empty", argv=lambda tmp: ["ask", GOOD, " \n\t "]),
    Case("ask-question-100k", 2, "limit is", argv=lambda tmp: ["ask", GOOD, "x" * 100_000]),
    Case("ask-question-control-chars", 0, argv=lambda tmp: [
        "ask", GOOD, "How many\x00 red\x1b[31m circles\u202e?", "--no-verify", "--deadline",
        DEADLINE]),
    Case("ask-no-image-no-sessions", 2, "image", argv=lambda tmp: ["ask", Q]),
    # ask: settings
    Case("ask-max-steps-0", 2, "--max-steps", argv=ask("--max-steps", "0")),
    Case("ask-max-steps-negative", 2, "--max-steps", argv=ask("--max-steps", "-5")),
    Case("ask-max-steps-huge", 2, "--max-steps", argv=ask("--max-steps", "100000")),
    Case("ask-max-steps-text", 2, "max-steps", argv=ask("--max-steps", "abc")),
    Case("ask-device-tpu9", 2, "--device 'tpu9'", argv=ask("--device", "tpu9")),
    Case("ask-device-cuda", 3, "CUDA", argv=ask("--device", "cuda")),
    Case("ask-device-cuda-7", 3, "CUDA", argv=ask("--device", "cuda:7")),
    Case("ask-device-empty", 2, "device", argv=ask("--device", "")),
    Case("ask-detector-unknown", 2, "nope", argv=ask("--detector", "nope")),
    Case("ask-detector-missing-pt", 2, "no such file", argv=ask("--detector", "{tmp}/x.pt")),
    Case("ask-detector-junk-pt", 2, "checkpoint",
         argv=ask_with(file("junk.pt", b"not a checkpoint"), "--detector")),
    Case("ask-detector-pickle-pt", 2, "checkpoint",
         argv=ask_with(file("evil.pt", _pickle_pt()), "--detector")),
    Case("ask-sessions-folder", 2, "is a folder", argv=ask_with(file("sdir", None), "--sessions")),
    Case("ask-sessions-png", 2, "SQLite", argv=ask_with(file("s.png", _png_bytes()),
                                                         "--sessions")),
    Case("ask-sessions-under-a-file", 2, "not a folder",
         argv=lambda tmp: ask("--sessions", file("f.txt", "x")(tmp) + "/s.sqlite")(tmp)),
    Case("ask-save-annotated-xyz", 2, "--save-annotated 'x.xyz'",
         argv=ask("--save-annotated", "x.xyz")),
    Case("ask-save-annotated-folder", 2, "is a folder",
         argv=ask_with(file("outdir", None), "--save-annotated")),
    Case("ask-save-annotated-no-ext", 2, "extension", argv=ask("--save-annotated", "{tmp}/out")),
    Case("ask-save-annotated-under-a-file", 2, "not a folder",
         argv=lambda tmp: ask("--save-annotated", file("g.txt", "x")(tmp) + "/a.png")(tmp)),
    Case("ask-save-html-txt", 2, "--save-html", argv=ask("--save-html", "{tmp}/t.txt")),
    Case("ask-deadline-0", 2, "--deadline", argv=lambda tmp: ["ask", GOOD, Q, "--deadline", "0"]),
    Case("ask-deadline-negative", 2, "--deadline",
         argv=lambda tmp: ["ask", GOOD, Q, "--deadline", "-3"]),
    Case("ask-deadline-text", 2, "deadline",
         argv=lambda tmp: ["ask", GOOD, Q, "--deadline", "soon"]),
    Case("ask-thread-empty", 2, "--thread",
         argv=lambda tmp: ask("--sessions", f"{tmp}/s.sqlite", "--thread", "")(tmp)),
    Case("ask-resume-without-sessions", 2, "--resume", argv=ask("--resume")),
    Case("ask-unknown-flag", 2, "unrecognized", argv=ask("--frobnicate")),
    # ask: model settings
    Case("ask-model-option-timeout-abc", 2, "timeout='abc'",
         argv=ask("--model", DEAD_URL, "--model-option", "timeout=abc")),
    Case("ask-model-option-unknown", 2, "unknown option",
         argv=ask("--model", DEAD_URL, "--model-option", "nosuch=1")),
    Case("ask-model-option-no-equals", 2, "KEY=VALUE", argv=ask("--model-option", "timeout")),
    Case("ask-model-bad-backend", 2, "unknown backend", argv=ask("--model", "nope:x")),
    Case("ask-model-ftp-url", 2, "http", argv=ask("--model", "openai:m@ftp://x/v1")),
    Case("ask-model-42", 2, "expected one of", argv=ask("--model", "42")),
    Case("ask-roles-unknown", 2, "unknown role", argv=ask("--model", DEAD_URL, "--roles", "cook")),
    Case("ask-model-retries-negative", 2, "--model-retries", argv=ask("--model-retries", "-1")),
    Case("ask-model-unreachable", 0, argv=ask(
        "--model", DEAD_URL, "--model-option", "max_retries=0", "--no-verify")),
    Case("ask-config-missing", 2, "no such file", argv=ask("--config", "{tmp}/none.toml")),
    Case("ask-config-not-toml", 2, "TOML",
         argv=ask_with(file("bad.toml", "[model\nspec ="), "--config")),
    Case("ask-config-unknown-key", 2, "Extra inputs",
         argv=ask_with(file("x.toml", "[agent]\nfrobnicate = 1\n"), "--config")),
    Case("ask-config-max-steps-text", 2, "max_steps",
         argv=ask_with(file("y.toml", '[agent]\nmax_steps = "many"\n'), "--config")),
    Case("ask-cot-steps-0", 2, "cot", argv=ask("--cot", "chain", "--cot-steps", "0")),
    Case("ask-icl-negative", 2, "icl", argv=ask("--icl", "-1")),
    Case("ask-cot-unknown", 2, "invalid choice", argv=ask("--cot", "spiral")),
    # ask: answers
    Case("ask-good", 0, argv=ask("--no-verify")),
    Case("ask-good-json-html-annotated", 0, argv=ask(
        "--json", "--save-html", "{tmp}/t.html", "--save-annotated", "{tmp}/a.png")),
    Case("ask-good-max-steps-1", 0, argv=ask("--max-steps", "1", "--no-verify")),
    # correct
    Case("correct-text-file-binary", 2, "not UTF-8",
         argv=correct(text_file=file("bin.txt", bytes(range(256)) * 4))),
    Case("correct-text-file-utf16", 2, "not UTF-8",
         argv=correct(text_file=file("u16.txt", "two red circles".encode("utf-16")))),
    Case("correct-text-file-missing", 2, "no such file",
         argv=correct(text_file=lambda tmp: str(tmp / "none.txt"))),
    Case("correct-text-file-folder", 2, "is a folder", argv=correct(text_file=file("tdir", None))),
    Case("correct-text-file-nul", 2, "NUL", argv=correct(text_file=file("nul.txt", "a\x00b"))),
    Case("correct-text-empty", 2, "empty", argv=correct(text="  ")),
    Case("correct-text-30k", 2, "20000", argv=correct(text="a red circle. " * 2200)),
    Case("correct-image-cut", 2, "truncated", argv=correct(image=IMAGES["jpeg-cut-200"])),
    Case("correct-image-missing", 2, "no such file", argv=correct(image=IMAGES["missing"])),
    Case("correct-save-annotated-xyz", 2, "--save-annotated",
         argv=correct("--save-annotated", "x.xyz")),
    Case("correct-detector-unknown", 2, "nope", argv=correct("--detector", "nope")),
    Case("correct-device-tpu9", 2, "--device", argv=correct("--device", "tpu9")),
    Case("correct-device-cuda", 3, "CUDA", argv=correct("--device", "cuda")),
    Case("correct-policy-unknown", 2, "invalid choice", argv=correct("--policy", "shred")),
    Case("correct-good", 0, argv=correct("--json")),
    # Python API
    Case("api-max-steps-text", 2, "max_steps", call=api(lambda t: _agent(max_steps="3"))),
    Case("api-max-steps-none", 2, "max_steps", call=api(lambda t: _agent(max_steps=None))),
    Case("api-max-steps-float", 2, "max_steps", call=api(lambda t: _agent(max_steps=2.5))),
    Case("api-run-max-steps-0", 2, "max_steps",
         call=api(lambda t: _agent(detector="shapes").run(GOOD, Q, max_steps=0))),
    Case("api-run-max-steps-text", 2, "max_steps",
         call=api(lambda t: _agent(detector="shapes").run(GOOD, Q, max_steps="3"))),
    Case("api-model-42", 2, "model", call=api(lambda t: _agent(model=42))),
    Case("api-model-list", 2, "model", call=api(lambda t: _agent(model=["openai:x"]))),
    Case("api-icl-text", 2, "icl", call=api(lambda t: _agent(icl="abc"))),
    Case("api-run-icl-text", 2, "icl",
         call=api(lambda t: _agent(detector="shapes").run(GOOD, Q, icl="abc"))),
    Case("api-cot-number", 2, "cot", call=api(lambda t: _agent(cot=5))),
    Case("api-cot-steps-text", 2, "cot_steps", call=api(lambda t: _agent(cot_steps="x"))),
    Case("api-roles-number", 2, "roles", call=api(lambda t: _agent(model=DEAD_URL,
                                                                     model_roles=5))),
    Case("api-model-options-list", 2, "model_options",
         call=api(lambda t: _agent(model=DEAD_URL, model_options=[1]))),
    Case("api-model-option-timeout-abc", 2, "timeout",
         call=api(lambda t: _agent(model=DEAD_URL, model_options={"timeout": "abc"}))),
    Case("api-verify-text", 2, "verify", call=api(lambda t: _agent(verify="no"))),
    Case("api-device-tpu9", 2, "device", call=api(lambda t: _agent(device="tpu9"))),
    Case("api-device-cuda", 3, "CUDA", call=api(lambda t: _agent(device="cuda"))),
    Case("api-deadline-negative", 2, "deadline", call=api(lambda t: _agent(deadline=-1))),
    Case("api-memory-budget-text", 2, "memory_budget_mb",
         call=api(lambda t: _agent(memory_budget_mb="lots"))),
    Case("api-registry-number", 2, "registry", call=api(lambda t: _agent(registry=5))),
    Case("api-planner-number", 2, "planner", call=api(lambda t: _agent(planner=5))),
    Case("api-checkpointer-number", 2, "checkpointer", call=api(lambda t: _agent(checkpointer=5))),
    Case("api-sessions-folder", 2, "folder", call=api(lambda t: _agent(sessions=t))),
    Case("api-image-number", 2, "expected a path",
         call=api(lambda t: _agent(detector="shapes").run(5, Q))),
    Case("api-image-bad-array", 2, "array",
         call=api(lambda t: _agent(detector="shapes").run(np.zeros((4, 4, 7)), Q))),
    Case("api-question-none", 2, "question", call=api(lambda t: _agent(detector="shapes").run(
        GOOD, None))),
    Case("api-correct-text-number", 2, "text",
         call=api(lambda t: _agent(detector="shapes").correct(GOOD, 5))),
    Case("api-correct-mode-unknown", 2, "mode",
         call=api(lambda t: _agent(detector="shapes").correct(GOOD, "a circle", mode="magic"))),
    Case("api-chat-without-sessions", 2, "sessions",
         call=api(lambda t: _agent(detector="shapes").chat(GOOD, Q, thread_id="t"))),
    Case("api-resume-plan-not-json", 2, "JSON", call=api(lambda t: _resume_bad_plan(t))),
    Case("api-good", 0, call=api(lambda t: _agent(detector="shapes", verify=False).run(GOOD, Q))),
]


def _resume_bad_plan(tmp: Path) -> None:
    agent = _agent(detector="shapes", sessions=tmp / "s.sqlite")
    for _ in agent.stream(GOOD, Q, thread_id="t", review_plan=True):
        pass
    for _ in agent.resume("t", plan="{not json"):
        pass


def run_case(case: Case, tmp: Path) -> tuple[int, str, str]:
    """Run one case in-process: ``(exit code, stdout, stderr)``.

    API cases map a LavrError to the CLI's exit code; anything else propagates.
    """
    import contextlib

    from lavr.apps.cli import exit_code, main, one_line
    from lavr.core_model.errors import LavrError

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        if case.call is not None:
            try:
                case.call(tmp)
                code = 0
            except LavrError as exc:
                code = exit_code(exc)
                print(f"lavr: error: {one_line(exc)}", file=err)
        else:
            try:
                code = main(case.argv(tmp))
            except SystemExit as exc:  # argparse usage errors
                code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _report() -> None:  # pragma: no cover - a manual report, see the module docstring
    import tempfile
    import time
    from collections import Counter

    tally: Counter[str] = Counter()
    slowest = 0.0
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            code, out, err = run_case(case, Path(tmp))
            seconds = time.monotonic() - t0
        slowest = max(slowest, seconds)
        one_line_ok = code == 0 or (err.count("\n") == 1 and err.startswith("lavr: error:"))
        ok = code == case.expect and one_line_ok and "Traceback" not in out + err
        tally[f"{case.entry} exit {code}"] += 1
        tally["as expected" if ok else "NOT as expected"] += 1
        print(f"{'ok ' if ok else 'BAD'} {case.entry:7} {case.name:34} exit {code} "
              f"{seconds:5.2f}s {err.strip()[:110]}")
    print(json.dumps({"cases": len(CASES), **tally, "slowest_seconds": round(slowest, 2)},
                     indent=1))


if __name__ == "__main__":  # pragma: no cover
    _report()
