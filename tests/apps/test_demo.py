"""The Gradio demo, launched on 127.0.0.1: driven by ``gradio_client`` and by headless Chromium.

One app serves the whole module (experts load once) and one browser session is
reused by every browser check. A ``hold`` tool registered in the app's agent
blocks until the test releases it (an event, never a sleep), so a run can be
caught mid-way to try Stop and a second run. Screenshots go to
``artifacts/demo/`` (git-ignored); with ``LAVR_DOCS_SCREENSHOT=1`` the browser
test also refreshes ``docs/demo.png`` for the README.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
ARTIFACTS = REPO / "artifacts" / "demo"
sys.path.insert(0, str(REPO / "tests"))
from conftest import requires_shapes  # noqa: E402

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from lavr.tools.base import Tool, ToolArgs, ToolContext, ToolResult  # noqa: E402
from lavr.tools.trace import events  # noqa: E402

pytestmark = requires_shapes

STEP_TITLES = ["Image", "Plan", "s1 · detect", "Decision: continue", "s2 · count",
               "Decision: stop", "Answer drafted", "Check and correction"]


class Gate:
    """Lets a test hold a run inside a tool, then release it."""

    def __init__(self) -> None:
        self.arm()

    def arm(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()


GATE = Gate()


class Hold(Tool):
    name = "hold"
    description = "wait until the test releases the run"
    Args = ToolArgs
    cacheable = False  # every held run really runs

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        GATE.entered.set()
        GATE.release.wait(60)
        return ToolResult(summary="held", value=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from lavr.apps.demo_app import build_demo, launch
    from lavr.apps.demo_config import Settings, find_examples

    demo = build_demo(sessions=tmp_path_factory.mktemp("demo") / "sessions.sqlite",
                      examples=find_examples(EXAMPLES / "examples.json"), default_detector="auto")
    demo.lavr_app.pool.get(Settings()).context.registry.register(Hold())
    _, url, _ = launch(demo, port=_free_port(), prevent_thread_lock=True)
    yield demo, url
    GATE.release.set()
    demo.close()


def _client(url: str):
    return gradio_client.Client(url, verbose=False, download_files=False)


def _message(text: str, image: Path | None = None) -> dict:
    return {"text": text, "files": [gradio_client.handle_file(str(image))] if image else []}


def _ask(client, text: str, image: Path | None = None, *, review: bool = False,
         verify: bool = True):
    return client.predict(_message(text, image), "auto", 12, verify, review, "rule", "off", 0,
                          api_name="/ask")


def _title(msg: dict) -> str | None:
    return (msg.get("metadata") or {}).get("title")


def _text(msg: dict) -> str:
    content = msg["content"]
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if isinstance(c, dict))
    return str(content)


def _shown(picture) -> bool:
    """Whether an Evidence output holds a picture the server can serve."""
    path = picture.get("path") if isinstance(picture, dict) else picture
    return bool(path) and Path(path).is_file()


def _hold_plan(client) -> dict:
    """Ask with plan review on and return the plan edited to run the ``hold`` tool."""
    chat, answer, _ = _ask(client, "How many circles are there?", EXAMPLES / "shapes_1.png",
                           review=True)
    assert answer["status"] == "waiting for plan approval"
    plan = answer["plan"]
    plan["steps"] = [{"id": "s1", "tool": "hold", "args": {}}]
    plan["answer_step"] = "s1"
    return plan


def test_api_has_named_outputs_and_a_structured_answer(served):
    demo, url = served
    assert demo.max_file_size == 10 * 1024 * 1024
    assert demo._queue.default_concurrency_limit == 2
    assert demo._queue.max_size == 32
    client = _client(url)
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/ask", "/approve", "/discard", "/stop",
                                           "/new_conversation", "/episode"}
    described = json.dumps(api)
    assert "value_" not in described and "Literal[]" not in described
    ask = api["named_endpoints"]["/ask"]
    assert [r["label"] for r in ask["returns"]] == ["Reasoning", "Answer", "Evidence"]
    assert [p["parameter_name"] for p in ask["parameters"]] == [
        "message", "detector", "max_steps", "verify", "review_plan", "model", "cot", "icl"]
    episode = api["named_endpoints"]["/episode"]["parameters"]
    # (level, seed, view) as before, then the environment and the MiniWoB++ task, with defaults
    assert [p["parameter_name"] for p in episode] == ["level", "seed", "view", "environment",
                                                      "task"]
    assert all(p["parameter_has_default"] for p in episode[3:])
    assert episode[3]["parameter_default"] == "BabyAI"

    chat, answer, picture = _ask(client, "How many circles are there?",
                                 EXAMPLES / "shapes_1.png")
    assert answer["status"] == "answered" and answer["answer"] == _text(chat[-1]).split(
        "\n\n**Evidence**")[0]
    assert [b["label"] for b in answer["boxes"]] == ["circle"] * 3
    assert all(len(b["xyxy"]) == 4 and 0 < b["confidence"] <= 1 for b in answer["boxes"])
    assert [(e["step_id"], e["tool"], e["cited"]) for e in answer["evidence"]] == [
        ("s1", "detect", True), ("s2", "count", True)]
    assert len(answer["evidence"][0]["boxes"]) == 3
    assert _shown(picture)


def test_client_sees_question_and_picture_at_once_then_streamed_steps(served, monkeypatch):
    demo, url = served
    monkeypatch.setattr(demo.lavr_app, "min_update", 0.0)  # every step its own update
    client = _client(url)
    job = client.submit(_message("How many circles are there?", EXAMPLES / "shapes_1.png"),
                        "auto", 12, True, False, "rule", "off", 0, api_name="/ask")
    job.result(timeout=120)
    outputs = job.outputs()
    chats = [out[0] for out in outputs]
    # the question and the picture arrive with the first update, before any expert ran
    first_chat, first_answer, first_picture = outputs[0]
    assert [m["role"] for m in first_chat[:2]] == ["user", "user"]
    assert _text(first_chat[1]) == "How many circles are there?"
    assert _shown(first_picture)
    assert _title(first_chat[-1]) == "Reading the image…" and first_answer["status"] == "running"
    # streamed: the chat grew message by message; the picture never blanked
    assert len(outputs) >= 6
    assert [len(c) for c in chats] == sorted(len(c) for c in chats)
    assert all(_shown(out[2]) for out in outputs)
    mid = next(c for c in chats if any(_title(m) == "s1 · detect" for m in c))
    assert not any("three circles" in _text(m) for m in mid if not _title(m))

    chat = chats[-1]
    assert "shapes_1.png" in json.dumps(chat[0]["content"])
    steps = [m for m in chat if _title(m)]
    assert [_title(m) for m in steps] == STEP_TITLES
    for m in steps:
        assert m["metadata"]["status"] == "done"
        assert isinstance(m["metadata"]["duration"], float)
    assert _text(chat[-1]).startswith("There are three circles")
    assert "Evidence" in _text(chat[-1]) and "s1 · detect" in _text(chat[-1])

    # a follow-up in the same session: no image, same thread, cached detections, and the
    # evidence panel keeps a picture all along
    job = client.submit(_message("Is there a red circle?"), "auto", 12, True, False, "rule",
                        "off", 0, api_name="/ask")
    job.result(timeout=120)
    assert all(_shown(out[2]) for out in job.outputs())
    chat = job.outputs()[-1][0]
    assert _text(chat[-1]).startswith("Yes, there is one red circle")
    assert "How many circles are there?" in [_text(m) for m in chat]  # the session's history
    # the first turn's steps are folded into one message; this turn's are all there
    assert [_title(m) for m in chat if _title(m)][0] == f"Reasoning: {len(STEP_TITLES)} steps"
    detect = next(m for m in chat if _title(m) == "s1 · detect")
    assert detect["metadata"].get("log") == "cached"


def test_plan_approval_keeps_the_picture_and_reports_plan_errors_beside_the_plan(served):
    _, url = served
    client = _client(url)
    chat, answer, picture = _ask(client, "How many circles are there?",
                                 EXAMPLES / "shapes_1.png", review=True)
    assert _title(chat[-1]) == "Waiting for your approval of the plan"
    assert not any(_title(m) == "s1 · detect" for m in chat)  # nothing ran yet
    assert _shown(picture)  # the panel shows the image meanwhile
    plan = answer["plan"]
    assert [s["tool"] for s in plan["steps"]] == ["detect", "count"]

    plan["steps"][0]["tool"] = "nope"
    chat, answer, picture = client.predict(json.dumps(plan), api_name="/approve")
    assert answer["status"] == "waiting for plan approval"
    assert "unknown tool 'nope'" in answer["error"]
    assert _title(chat[-1]) == "Waiting for your approval of the plan"
    assert _shown(picture)

    plan["steps"][0].update(tool="detect", args={"labels": ["square"]})
    plan["target"] = "square"
    chat, answer, _ = client.predict(json.dumps(plan), api_name="/approve")
    assert any(_title(m) == "Plan (edited)" for m in chat)
    assert _text(chat[-1]).startswith("There is one square")
    assert answer["status"] == "answered"


def test_chain_of_thought_setting_adds_its_step(served):
    _, url = served
    chat = _client(url).predict(_message("How many circles are there?",
                                         EXAMPLES / "shapes_1.png"),
                                "auto", 12, True, False, "rule", "chain", 0, api_name="/ask")[0]
    titles = [_title(m) for m in chat]
    assert "Chain of thought" in titles
    assert titles.index("Chain of thought") < titles.index("Answer drafted")
    assert "chain:" in _text(chat[titles.index("Chain of thought")])


def test_errors_are_chat_messages(served, tmp_path):
    _, url = served
    client = _client(url)
    chat, answer, _ = _ask(client, "What colour is it?")
    assert "Drop an image first" in _text(chat[-1]) and answer["status"] == "error"
    broken = tmp_path / "broken.png"
    broken.write_text("this is not a picture")
    with pytest.raises(Exception, match="415"):  # refused at upload, before it is stored
        _ask(client, "What colour is it?", broken)
    app = served[0].lavr_app  # a non-image that reached the server another way: refused at use
    chat = list(app.ask({"text": "What colour is it?", "files": [str(broken)]}, None, "auto",
                        12, True, False, "rule", "off", 0))[-1].state.messages
    assert _text(chat[-1]).startswith("\u26a0") and "not an image" in _text(chat[-1])
    chat = _ask(client, "   ", EXAMPLES / "shapes_1.png")[0]
    assert "Type a question" in _text(chat[-1])


def test_one_run_per_conversation_and_stop_ends_it_at_once(served):
    demo, url = served
    app = demo.lavr_app
    client = _client(url)
    plan = _hold_plan(client)
    GATE.arm()
    job = client.submit(json.dumps(plan), api_name="/approve")
    assert GATE.entered.wait(60)
    (thread_id,) = app.running()
    run = app.running()[thread_id]

    # a second question on the conversation mid-run is refused, and not run
    with pytest.raises(Exception, match="Still answering the last question"):
        _ask(client, "How many squares are there?")

    started = time.monotonic()
    client.predict(api_name="/stop")
    chat, answer, _ = job.result(timeout=10)
    stopped_in = time.monotonic() - started
    assert stopped_in < 2.0, stopped_in
    assert _title(chat[-1]).endswith("Stopped") and answer["status"] == "stopped"
    assert not any("How many squares" in _text(m) for m in chat)

    # the worker really stops: Stop cancels the run, so it does not wait for the held
    # step (still blocked on the gate), and no later node runs
    assert run.finished.wait(30)
    assert not GATE.release.is_set()
    GATE.release.set()
    agent = next(iter(app.pool._agents.values()))
    values = agent.graph.get_state({"configurable": {"thread_id": thread_id}}).values
    nodes = [r.node for r in events(values.get("trace", []))]
    last = json.dumps(values["trace"][-1])
    assert nodes[-1] == "tool" and "hold" in last and "the run was stopped" in last
    assert not app.running()

    # the conversation goes on
    chat = _ask(client, "How many circles are there?")[0]
    assert _text(chat[-1]).startswith("There are three circles")


def test_new_conversation_forgets_the_thread_and_its_image(served):
    _, url = served
    client = _client(url)
    _ask(client, "How many circles are there?", EXAMPLES / "shapes_1.png")
    chat, answer, picture = client.predict(api_name="/new_conversation")
    assert chat == [] and picture is None and not answer
    chat = _ask(client, "How many circles are there?")[0]
    assert "Drop an image first" in _text(chat[-1])
    assert len(chat) == 2  # no old conversation came back


# -- a real browser ---------------------------------------------------------------------
def _chromium() -> tuple[str, str] | None:
    binary = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
                   if Path(p).exists()), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


@pytest.fixture(scope="module")
def browser(served):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    found = _chromium()
    if found is None:
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium "
                    "chromium-driver, or make system-deps)")
    binary, driver_path = found
    profile = tempfile.mkdtemp(prefix="lavr-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(served[1])
        WebDriverWait(driver, 60).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#ask textarea"))
        driver.execute_script(_WATCH_TOASTS)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


_WATCH_TOASTS = """window.__toasts = [];
new MutationObserver(() => {
  for (const t of document.querySelectorAll('.toast-body')) {
    if (t.__seen) continue; t.__seen = true;
    window.__toasts.push({cls: t.className, text: t.innerText});
  }
}).observe(document.body, {childList: true, subtree: true});"""
_SCROLL_CHAT_DOWN = """for (const el of document.querySelectorAll('#chat *'))
    if (el.scrollHeight > el.clientHeight + 4) el.scrollTop = el.scrollHeight;"""
_IMAGE_READY = """const img = document.querySelector('#evidence img');
return !!img && img.complete && img.naturalWidth > 0 && img.src;"""
_IMAGE_BOX = """const img = document.querySelector('#evidence img');
const r = img.getBoundingClientRect();
return [r.width, r.height, img.naturalWidth, img.naturalHeight];"""
_IN_VIEW = """const r = arguments[0].getBoundingClientRect();
return r.top >= -2 && r.bottom <= window.innerHeight + 2 && r.height > 0;"""
_TURN_DONE = """const text = document.getElementById('chat').innerText;
return [(text.match(/Reasoning: /g) || []).length, text.includes('Answer drafted'),
        !document.querySelector('#ask textarea').disabled
        && document.getElementById('stop').disabled];"""
_PICK_LAST = """const labels = document.querySelectorAll('#pick label');
if (labels.length < 2) return false;
labels[labels.length - 1].click(); return true;"""
_PASTE = """const data = new DataTransfer();
data.setData('text/plain', arguments[0]);
document.querySelector('#plan .cm-content').dispatchEvent(
  new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));"""


def _set_plan(driver, plan: dict) -> None:
    """Replace the plan editor's text as a user would: select all, paste."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    editor = driver.find_element(By.CSS_SELECTOR, "#plan .cm-content")
    editor.click()
    editor.send_keys(Keys.CONTROL, "a")
    driver.execute_script(_PASTE, json.dumps(plan, indent=2))
    _wait(driver, lambda d: json.loads(d.find_element(By.CSS_SELECTOR, "#plan .cm-content")
                                       .get_attribute("innerText")) == plan)


def _wait(driver, what, timeout: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(what)


def _chat(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "chat").text


def _send(driver, text: str, image: Path | None = None) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#ask textarea").is_enabled())
    if image is not None:
        driver.find_element(By.CSS_SELECTOR, "#ask input[type=file]").send_keys(str(image))
        _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#ask img"))  # preview
    box = driver.find_element(By.CSS_SELECTOR, "#ask textarea")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def _idle(driver) -> bool:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, "#ask textarea").is_enabled() and \
        not driver.find_element(By.ID, "stop").is_enabled()


def _new_conversation(driver) -> None:
    from selenium.webdriver.common.by import By

    # a marker in the question box tells when the server's reply has landed: the reply
    # clears the box (an image dropped before that would be cleared with it)
    _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#ask textarea").is_enabled())
    driver.find_element(By.CSS_SELECTOR, "#ask textarea").send_keys("new")
    driver.find_element(By.ID, "new").click()
    _wait(driver, lambda d: "Reasoning:" not in _chat(d) and "Answer drafted" not in _chat(d)
          and d.find_element(By.CSS_SELECTOR, "#ask textarea").get_attribute("value") == "")


def _set_option(driver, label: str, value: bool) -> None:
    """Tick or clear a checkbox in the Settings panel (opened if it is closed)."""
    from selenium.webdriver.common.by import By

    def box():
        return next((e for e in driver.find_elements(By.CSS_SELECTOR, "#settings label")
                     if label in e.text and e.is_displayed()), None)

    if box() is None:
        driver.find_element(By.CSS_SELECTOR, "#settings button").click()
    found = _wait(driver, lambda d: box())
    if found.find_element(By.CSS_SELECTOR, "input").is_selected() != value:
        found.click()
    _wait(driver, lambda d: box().find_element(By.CSS_SELECTOR, "input").is_selected() == value)


def _errors(driver) -> list[dict]:
    return [t for t in driver.execute_script("return window.__toasts") if "error" in t["cls"]]


def _median(pixels: np.ndarray) -> np.ndarray:
    return np.median(pixels.reshape(-1, 3), axis=0)


def test_browser_colour_answer_outlines_never_recolour_objects(served, browser):
    """A screenshot of a colour answer: each outline differs from its object's colour, and
    every object keeps its colour."""
    from selenium.webdriver.common.by import By

    from lavr.tools.detections import Detections
    from lavr.tools.draw import outline_colours

    _, url = served
    image_file = EXAMPLES / "shapes_2.png"
    question = "What colour is the largest shape?"
    _send(browser, question, image_file)
    _wait(browser, lambda d: "The largest shape is purple" in _chat(d) and _idle(d))
    assert "The installed experts can find" in browser.find_element(By.ID, "experts").text
    for title in ("Plan", "s1 · detect", "Check and correction"):
        assert title in _chat(browser)
    # show the detector step: every shape outlined
    answer_src = _wait(browser, lambda d: d.execute_script(_IMAGE_READY))
    step = next(e for e in browser.find_elements(By.CSS_SELECTOR, "#pick label")
                if "detect (5)" in e.text)
    step.click()
    _wait(browser, lambda d: d.execute_script(_IMAGE_READY) not in (False, answer_src))
    assert not _errors(browser)

    # the same question through the API gives the detector's boxes (deterministic)
    answer = _ask(_client(url), question, image_file)[1]
    boxes = next(e["boxes"] for e in answer["evidence"] if e["tool"] == "detect")
    assert len(boxes) == 5
    original = np.asarray(Image.open(image_file).convert("RGB"))
    dets = Detections(np.array([b["xyxy"] for b in boxes], float),
                      np.array([b["confidence"] for b in boxes]), [b["label"] for b in boxes])
    expected = outline_colours(original, dets)

    element = browser.find_element(By.CSS_SELECTOR, "#evidence img")
    shot = np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Image.fromarray(shot).save(ARTIFACTS / "evidence_outlines.png")
    width, height, nat_w, nat_h = browser.execute_script(_IMAGE_BOX)
    scale = min(width / nat_w, height / nat_h)
    off_x, off_y = (width - nat_w * scale) / 2, (height - nat_h * scale) / 2
    sx, sy = shot.shape[1] / width, shot.shape[0] / height  # screenshot px per CSS px

    def at(x: float, y: float) -> tuple[int, int]:
        return int(round((off_x + x * scale) * sx)), int(round((off_y + y * scale) * sy))

    for box, outline in zip(boxes, expected, strict=True):
        x1, y1, x2, y2 = box["xyxy"]
        qx, qy = (x2 - x1) / 4, (y2 - y1) / 4
        obj = _median(original[int(y1 + qy):int(y2 - qy), int(x1 + qx):int(x2 - qx)])
        (ax, ay), (bx, by) = at(x1 + qx, y1 + qy), at(x2 - qx, y2 - qy)
        seen = _median(shot[ay:by, ax:bx])
        assert np.linalg.norm(seen - obj) < 20, (box, seen, obj)  # the object keeps its colour
        assert np.linalg.norm(np.asarray(outline, float) - obj) >= 120  # outline differs
        # the outline, just outside the box's left and right edges, has that colour
        for edge_x, side in ((x1, -1), (x2, +1)):
            mid_a, mid_b = at(edge_x, y1 + qy)[1], at(edge_x, y2 - qy)[1]
            columns = [shot[mid_a:mid_b, at(edge_x + side * d, 0)[0]] for d in (0.5, 1, 1.5, 2, 2.5)]
            best = min(np.linalg.norm(_median(c) - np.asarray(outline, float)) for c in columns)
            assert best < 40, (box, outline, [_median(c) for c in columns])

    browser.execute_script(_SCROLL_CHAT_DOWN)
    shot_file = ARTIFACTS / "browser_answer.png"
    assert browser.save_screenshot(str(shot_file)) and shot_file.stat().st_size > 10_000
    if os.environ.get("LAVR_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot_file, REPO / "docs" / "demo.png")


def test_browser_fifty_follow_ups_without_an_error_toast(served, browser):

    _new_conversation(browser)
    _set_option(browser, "Check and correct the answer", False)  # cheap questions
    small = Path(tempfile.mkdtemp(prefix="lavr-small-")) / "small.png"
    Image.open(EXAMPLES / "shapes_1.png").resize((160, 120)).save(small)
    _send(browser, "How many shapes are there?", small)
    _wait(browser, lambda d: d.execute_script(_TURN_DONE) == [0, True, True])
    questions = ["How many circles are there?", "Is there a square?",
                 "What colour is the square?", "How many shapes are there?"]
    for i in range(50):
        _send(browser, questions[i % len(questions)])
        if i % 5 == 0:  # pick a picture while the run streams its steps
            _wait(browser, lambda d: d.execute_script(_PICK_LAST))
        # done: every earlier turn folded into one "Reasoning: N steps", this one checked
        _wait(browser, lambda d, n=i + 1: d.execute_script(_TURN_DONE) == [n, True, True])
        # the picture never blanked (the browser may still be fetching the new one)
        _wait(browser, lambda d: d.execute_script(_IMAGE_READY), timeout=20)
    assert not _errors(browser), _errors(browser)
    _set_option(browser, "Check and correct the answer", True)


def test_browser_plan_errors_in_view_one_run_at_a_time_stop_and_new_conversation(
        served, browser):
    from selenium.webdriver.common.by import By

    demo, _ = served
    _new_conversation(browser)
    _set_option(browser, "Approve the plan before it runs", True)
    _send(browser, "How many circles are there?", EXAMPLES / "shapes_1.png")
    plan_box = _wait(browser, lambda d: d.find_element(By.ID, "plan")
                     if d.find_element(By.ID, "review").is_displayed() else None)
    _wait(browser, lambda d: d.execute_script(_IN_VIEW, plan_box))  # scrolled to it
    assert browser.execute_script(_IMAGE_READY)  # the picture stays while the plan waits
    plan = json.loads(browser.find_element(By.CSS_SELECTOR, "#plan .cm-content")
                      .get_attribute("innerText"))

    # a plan that cannot run: the error shows beside the editor, in view
    plan["steps"][0]["tool"] = "nope"
    _set_plan(browser, plan)
    browser.find_element(By.ID, "approve").click()
    error = _wait(browser, lambda d: d.find_element(By.ID, "plan-error")
                  if "unknown tool 'nope'" in d.find_element(By.ID, "plan-error").text else None)
    _wait(browser, lambda d: d.execute_script(_IN_VIEW, error))

    # a plan that holds: the run is caught mid-way
    plan["steps"] = [{"id": "s1", "tool": "hold", "args": {}}]
    plan["answer_step"] = "s1"
    _set_plan(browser, plan)
    GATE.arm()
    browser.find_element(By.ID, "approve").click()
    if not GATE.entered.wait(60):
        browser.save_screenshot(str(ARTIFACTS / "hold_failed.png"))
        pytest.fail("the held run never started: " + _chat(browser)[-400:] + " | "
                    + browser.find_element(By.ID, "plan-error").text)
    _wait(browser, lambda d: d.find_element(By.ID, "stop").is_enabled())
    assert not browser.find_element(By.CSS_SELECTOR, "#ask textarea").is_enabled()
    examples = browser.find_element(By.CSS_SELECTOR, ".lavr-busy")  # the examples, disabled
    assert "What colour is the square?" in examples.text
    # even a click that gets through (a script's) does not start a second run
    target = next(e for e in examples.find_elements(By.CSS_SELECTOR, "button")
                  if "What colour is the square?" in e.text)
    browser.execute_script("arguments[0].click()", target)
    _wait(browser, lambda d: any("Still answering" in t["text"]
                                 for t in d.execute_script("return window.__toasts")))
    assert "What colour is the square?" not in _chat(browser)

    started = time.monotonic()
    browser.find_element(By.ID, "stop").click()
    _wait(browser, lambda d: "Stopped" in _chat(d) and _idle(d), timeout=10)
    stopped_in = time.monotonic() - started
    assert stopped_in < 2.0, stopped_in
    GATE.release.set()
    for run in demo.lavr_app.running().values():
        assert run.finished.wait(30)
    assert "What colour is the square?" not in _chat(browser)
    assert not _errors(browser), _errors(browser)
    _set_option(browser, "Approve the plan before it runs", False)

    # the chat's trash button is New conversation: the old thread and image are gone
    browser.find_element(By.CSS_SELECTOR, "#chat button[aria-label=Clear]").click()
    _wait(browser, lambda d: "Stopped" not in _chat(d))
    _send(browser, "How many circles are there?")
    _wait(browser, lambda d: "Drop an image first" in _chat(d))
    assert "How many circles are there?" in _chat(browser)
    assert "Stopped" not in _chat(browser)


def test_browser_episode_panel_switches_to_miniwob_and_runs_a_task(served, browser):
    """The Episodes panel: MiniWoB++ swaps the level/view inputs for the task list, and a run
    of the first task (click-test) fills the chat, the outcome and the step picture."""
    import importlib.util

    from selenium.webdriver.common.by import By

    from lavr.episodes.gui.browser import BrowserUnavailableError, chromium_paths

    try:
        chromium_paths()
    except BrowserUnavailableError:
        pytest.skip("chromium for MiniWoB++ not found")
    if importlib.util.find_spec("miniwob") is None:
        pytest.skip("miniwob not installed")
    driver = browser

    def shown(elem_id: str) -> bool:
        return any(e.is_displayed() for e in driver.find_elements(By.ID, elem_id))

    driver.find_element(By.CSS_SELECTOR, "#episodes button").click()  # open the accordion
    _wait(driver, lambda d: shown("ep-env") and shown("ep-level") and not shown("ep-task"))
    next(e for e in driver.find_elements(By.CSS_SELECTOR, "#ep-env label")
         if "MiniWoB++" in e.text).click()
    _wait(driver, lambda d: shown("ep-task") and not shown("ep-level") and not shown("ep-view"))
    driver.find_element(By.ID, "ep-run").click()
    _wait(driver, lambda d: "click-test" in d.find_element(By.ID, "ep-outcome").text, 180)
    assert "screen_elements" in driver.find_element(By.ID, "ep-chat").text
    _wait(driver, lambda d: d.execute_script(
        "const i = document.querySelector('#ep-picture img');"
        "return !!i && i.complete && i.naturalWidth > 0;"))
    assert not _errors(driver)
