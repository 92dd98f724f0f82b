"""The Gradio demo, launched on 127.0.0.1: driven by ``gradio_client`` and by headless Chromium.

One app serves the whole module (experts load once). Screenshots go to
``artifacts/demo/`` (git-ignored); with ``LAVR_DOCS_SCREENSHOT=1`` the browser
test also refreshes ``docs/demo.png`` for the README.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
ARTIFACTS = REPO / "artifacts" / "demo"
sys.path.insert(0, str(REPO / "tests"))
from conftest import requires_shapes  # noqa: E402

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

pytestmark = requires_shapes

STEP_TITLES = ["Image", "Plan", "s1 · detect", "Decision: continue", "s2 · count",
               "Decision: stop", "Answer drafted", "Check and correction"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from lavr.apps.demo_app import build_demo, find_examples, launch

    demo = build_demo(sessions=tmp_path_factory.mktemp("demo") / "sessions.sqlite",
                      examples=find_examples(EXAMPLES / "examples.json"), default_detector="auto")
    _, url, _ = launch(demo, port=_free_port(), prevent_thread_lock=True)
    yield demo, url
    demo.close()


def _client(url: str):
    return gradio_client.Client(url, verbose=False, download_files=False)


def _ask(client, text: str, image: Path | None = None, *, review: bool = False):
    files = [gradio_client.handle_file(str(image))] if image else []
    return client.predict({"text": text, "files": files}, "auto", 12, True, review, "rule",
                          "off", 0, api_name="/ask")


def _title(msg: dict) -> str | None:
    return (msg.get("metadata") or {}).get("title")


def _text(msg: dict) -> str:
    content = msg["content"]
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if isinstance(c, dict))
    return str(content)


def test_queue_and_upload_limits(served):
    demo, url = served
    assert demo.max_file_size == 10 * 1024 * 1024
    assert demo._queue.default_concurrency_limit == 2
    assert demo._queue.max_size == 32
    api = _client(url).view_api(return_format="dict", print_info=False)
    assert {"/ask", "/approve", "/discard", "/new_conversation"} <= set(api["named_endpoints"])


def test_client_asks_a_bundled_example_and_gets_streamed_steps_then_the_answer(served):
    _, url = served
    client = _client(url)
    job = client.submit({"text": "How many circles are there?",
                         "files": [gradio_client.handle_file(str(EXAMPLES / "shapes_1.png"))]},
                        "auto", 12, True, False, "rule", "off", 0, api_name="/ask")
    job.result(timeout=120)
    outputs = job.outputs()
    chats = [out[0] for out in outputs]
    # streamed: the chat grew message by message; a spinner said what ran next
    assert len(outputs) >= 6
    assert [len(c) for c in chats] == sorted(len(c) for c in chats)
    assert _title(chats[0][-1]) == "Reading the image…"
    assert (chats[0][-1]["metadata"] or {}).get("status") == "pending"
    mid = next(c for c in chats if any(_title(m) == "s1 · detect" for m in c))
    assert not any("three circles" in _text(m) for m in mid if not _title(m))

    chat = chats[-1]
    assert [m["role"] for m in chat[:2]] == ["user", "user"]
    assert "shapes_1.png" in json.dumps(chat[0]["content"])
    steps = [m for m in chat if _title(m)]
    assert [_title(m) for m in steps] == STEP_TITLES
    for m in steps:
        assert m["metadata"]["status"] == "done"
        assert isinstance(m["metadata"]["duration"], float)
    answer = chat[-1]
    assert _title(answer) is None and answer["role"] == "assistant"
    assert _text(answer).startswith("There are three circles")
    assert "Evidence" in _text(answer) and "s1 · detect" in _text(answer)

    picture, choices = outputs[-1][2], outputs[-1][3]
    assert len(picture["annotations"]) == 3
    assert all(a["label"].startswith("circle") for a in picture["annotations"])
    assert [c[0] for c in choices["choices"]] == ["Answer evidence", "s1 · detect (3)"]

    # a follow-up in the same browser session: no image, same thread, cached detections
    chat = _ask(client, "Is there a red circle?")[0]
    assert _text(chat[-1]).startswith("Yes, there is one red circle")
    assert "How many circles are there?" in [_text(m) for m in chat]  # the session's history
    detect = next(m for m in chat[len(steps) + 3:] if _title(m) == "s1 · detect")
    assert detect["metadata"].get("log") == "cached"


def test_plan_approval_pauses_and_runs_the_edited_plan(served):
    _, url = served
    client = _client(url)
    out = _ask(client, "How many circles are there?", EXAMPLES / "shapes_1.png", review=True)
    assert _title(out[0][-1]) == "Waiting for your approval of the plan"
    assert not any(_title(m) == "s1 · detect" for m in out[0])  # nothing ran yet
    plan = json.loads(out[4]["value"])
    assert [s["tool"] for s in plan["steps"]] == ["detect", "count"]

    plan["steps"][0]["tool"] = "nope"
    chat = client.predict(json.dumps(plan), api_name="/approve")[0]
    assert "unknown tool 'nope'" in _text(chat[-2])
    assert _title(chat[-1]) == "Waiting for your approval of the plan"

    plan["steps"][0].update(tool="detect", args={"labels": ["square"]})
    plan["target"] = "square"
    chat = client.predict(json.dumps(plan), api_name="/approve")[0]
    assert any(_title(m) == "Plan (edited)" for m in chat)
    assert _text(chat[-1]).startswith("There is one square")


def test_chain_of_thought_setting_adds_its_step(served):
    _, url = served
    chat = _client(url).predict(
        {"text": "How many circles are there?",
         "files": [gradio_client.handle_file(str(EXAMPLES / "shapes_1.png"))]},
        "auto", 12, True, False, "rule", "chain", 0, api_name="/ask")[0]
    titles = [_title(m) for m in chat]
    assert "Chain of thought" in titles
    assert titles.index("Chain of thought") < titles.index("Answer drafted")
    assert "chain:" in _text(chat[titles.index("Chain of thought")])


def test_errors_are_chat_messages(served, tmp_path):
    _, url = served
    client = _client(url)
    chat = _ask(client, "What colour is it?")[0]
    assert "Drop an image first" in _text(chat[-1])
    broken = tmp_path / "broken.png"
    broken.write_text("this is not a picture")
    chat = _ask(client, "What colour is it?", broken)[0]
    assert _text(chat[-1]).startswith("\u26a0") and "not an image" in _text(chat[-1])
    chat = _ask(client, "   ", EXAMPLES / "shapes_1.png")[0]
    assert "Type a question" in _text(chat[-1])


# -- a real browser ---------------------------------------------------------------------
def _chromium() -> tuple[str, str] | None:
    binary = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
                   if Path(p).exists()), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


@pytest.fixture()
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

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
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


_SCROLL_CHAT_DOWN = """for (const el of document.querySelectorAll('#chat *'))
    if (el.scrollHeight > el.clientHeight + 4) el.scrollTop = el.scrollHeight;"""
_IMAGES_READY = """return Array.from(document.querySelectorAll('#evidence img'))
    .every(img => img.complete && img.naturalWidth > 0);"""


def test_browser_uploads_an_example_asks_and_sees_answer_and_boxes(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    _, url = served
    browser.get(url)
    wait = WebDriverWait(browser, 60)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ask textarea"))
    browser.find_element(By.CSS_SELECTOR, "#ask input[type=file]").send_keys(
        str(EXAMPLES / "shapes_1.png"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ask img"))  # upload preview
    box = browser.find_element(By.CSS_SELECTOR, "#ask textarea")
    box.send_keys("How many circles are there?")
    box.send_keys(Keys.ENTER)

    wait.until(lambda d: "There are three circles" in d.find_element(By.ID, "chat").text)
    chat = browser.find_element(By.ID, "chat").text
    for title in ("Plan", "s1 · detect", "Decision: stop", "Check and correction"):
        assert title in chat
    # the annotated image: the picture plus one overlay per circle, all loaded, and a legend
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#evidence img")) == 4)
    wait.until(lambda d: d.execute_script(_IMAGES_READY))
    legend = browser.find_element(By.ID, "evidence").text
    assert legend.count("circle") == 3
    # steps are collapsible: opening the detector step shows its arguments
    step = next(e for e in browser.find_elements(By.CSS_SELECTOR, "#chat [role=button]")
                if "s1 · detect" in e.text)
    assert '"labels"' not in browser.find_element(By.ID, "chat").text
    step.click()
    wait.until(lambda d: '"labels"' in d.find_element(By.ID, "chat").text)

    browser.execute_script(_SCROLL_CHAT_DOWN)  # the answer in view, below the opened step
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "browser_answer.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("LAVR_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "demo.png")

    # an example is one click away: it fills the box and asks
    browser.find_element(By.XPATH, "//button[contains(., 'What colour is the square?')]").click()
    wait.until(lambda d: "The square is green" in d.find_element(By.ID, "chat").text)
    wait.until(lambda d: "square" in d.find_element(By.ID, "evidence").text)


def test_picture_files_are_written_once_and_whole(tmp_path):
    import numpy as np
    from PIL import Image

    from lavr.apps.demo_app import evidence_image

    picture = evidence_image(label="Evidence")
    picture.GRADIO_CACHE = str(tmp_path)
    image = np.full((20, 30, 3), 120, np.uint8)
    mask = np.zeros((20, 30), np.float32)
    mask[5:9, 5:9] = 1.0
    value = (image, [((2, 3, 12, 15), "circle 0.90"), (mask, "blob 0.80")])
    first = picture.postprocess(value)
    paths = [first.image.path] + [a.image.path for a in first.annotations]
    inodes = [os.stat(p).st_ino for p in paths]
    second = picture.postprocess(value)
    assert [second.image.path] + [a.image.path for a in second.annotations] == paths
    assert [os.stat(p).st_ino for p in paths] == inodes  # not rewritten
    assert [a.label for a in first.annotations] == ["circle 0.90", "blob 0.80"]
    assert np.array_equal(np.asarray(Image.open(paths[0]).convert("RGB")), image)
    box = np.asarray(Image.open(paths[1]))
    assert box.shape == (20, 30, 4)
    assert box[3, 2, 3] == 255 and box[9, 7, 3] == 127 and box[0, 0, 3] == 0  # border, fill
    assert int((np.asarray(Image.open(paths[2]))[..., 3] == 255).sum()) == 16
    assert not list(Path(tmp_path).rglob("*.tmp"))
