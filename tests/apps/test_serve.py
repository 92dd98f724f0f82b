"""``lavr serve`` on Ray Serve: the HTTP API, streaming, limits and concurrent clients."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import sys
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lavr.apps.synthetic_scenes import render_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import import_or_skip, requires_shapes  # noqa: E402

from lavr.apps.batch_ray import start_local_ray  # noqa: E402

ray = import_or_skip("ray", "Ray is not installed: pip install 'lavr[ray]'")
import_or_skip("ray.serve", "Ray Serve is not installed: pip install 'lavr[ray]'")
import_or_skip("fastapi", "FastAPI is not installed: pip install 'lavr[ray]'")

QUESTION = "How many circles are there?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """One lavr server for the module: a local Ray on 127.0.0.1 with 2 CPUs."""
    from ray import serve

    from lavr.apps.cli import build_parser
    from lavr.apps.serve_app import build_app

    for name in ("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S"):
        os.environ.setdefault(name, "60")
    port = _free_port()
    args = build_parser().parse_args(["serve", "--detector", "shapes", "--port", str(port),
                                      "--max-bytes", "600000", "--max-replicas", "1"])
    start_local_ray(ray, num_cpus=2)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_app(args), name="lavr", route_prefix="/")
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()


def _png(seed: int) -> tuple[np.ndarray, bytes]:
    image = render_scene(np.random.default_rng([9, seed]), width=224, height=224,
                         max_size=60).image
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return image, buf.getvalue()


def _post(url: str, body: bytes, kind: str, accept: str = "application/json") -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": kind,
                                                           "Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _ask(base: str, png: bytes, question: str = QUESTION, **extra) -> tuple[int, dict]:
    body = json.dumps({"image": base64.b64encode(png).decode(), "question": question, **extra})
    status, data = _post(base + "/v1/ask", body.encode(), "application/json")
    return status, json.loads(data)


@requires_shapes
def test_concurrent_clients_each_get_the_answer_about_their_own_image(server):
    from lavr.agents import VisualAgent
    from lavr.core_model.images import image_hash

    local = VisualAgent(detector="shapes")
    scenes = [_png(i) for i in range(6)]
    expected = [local.run(img, QUESTION).answer for img, _ in scenes]
    with urllib.request.urlopen(server + "/healthz", timeout=60) as resp:
        assert json.loads(resp.read()) == {"status": "ok"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda s: _ask(server, s[1]), scenes))
    for (img, _), want, (status, data) in zip(scenes, expected, replies, strict=True):
        assert status == 200 and data["answer"] == want
        assert data["image"]["hash"] == image_hash(img)


@requires_shapes
def test_upload_stream_and_correct(server):
    img, png = _png(20)
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\n"
            f"{QUESTION}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png + \
        f"\r\n--{boundary}--\r\n".encode()
    status, data = _post(server + "/v1/ask", body, f"multipart/form-data; boundary={boundary}")
    answer = json.loads(data)["answer"]
    assert status == 200 and "circle" in answer

    body = json.dumps({"image": base64.b64encode(png).decode(), "question": QUESTION}).encode()
    status, data = _post(server + "/v1/ask?stream=true", body, "application/json")
    events = [b.split("\n", 1) for b in data.decode().strip().split("\n\n")]
    names = [e[0].removeprefix("event: ") for e in events]
    assert status == 200 and names[0] == "step" and names[-1] == "result"
    steps = [json.loads(e[1].removeprefix("data: "))["node"] for e in events[:-1]]
    assert steps[0] == "ingest" and "tool" in steps and steps[-1] == "verify"
    assert json.loads(events[-1][1].removeprefix("data: "))["answer"] == answer

    wrong = "There are nine circles."
    body = json.dumps({"image": base64.b64encode(png).decode(), "text": wrong}).encode()
    status, data = _post(server + "/v1/correct", body, "application/json")
    result = json.loads(data)
    assert status == 200 and result["original"] == wrong and result["corrected"] != wrong


@pytest.mark.parametrize("body,kind,status,message", [
    (json.dumps({"image": "%%%", "question": "q"}).encode(), "application/json", 400, "base64"),
    (json.dumps({"image": base64.b64encode(b"not an image").decode(), "question": "q"}).encode(),
     "application/json", 400, "image"),
    (json.dumps({"image": base64.b64encode(b"x").decode()}).encode(), "application/json", 422,
     "question"),
    (b"{not json", "application/json", 400, "JSON"),
    (b"hello", "text/plain", 415, "application/json"),
    (json.dumps({"image": "A" * 700_000, "question": "q"}).encode(), "application/json", 413,
     "limit"),
])
def test_bad_requests_are_clear_4xx(server, body, kind, status, message):
    got, data = _post(server + "/v1/ask", body, kind)
    assert got == status and message in json.loads(data)["error"]
