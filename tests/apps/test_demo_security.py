"""The demo as a hostile web client sees it (issue 15): served on 127.0.0.1, driven by
``gradio_client`` and plain HTTP. No model string, URL or non-image gets through, the
server's API key never leaves for a URL the operator did not configure, and nothing
beside an example image is served."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from conftest import requires_shapes  # noqa: E402

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from lavr.apps.demo_config import (  # noqa: E402
    PACKAGED_EXAMPLES,
    ModelChoice,
    Offer,
    find_examples,
    model_choice,
    scrub_paths,
)
from lavr.core_model.errors import InputError  # noqa: E402
from tests.core_model.http_server import Reply, Server, chat  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def attacker():
    """A local HTTP server standing in for a URL of the attacker's choosing."""
    server = Server()
    server.responder = lambda body: Reply(body=chat("pwned"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from lavr.apps.demo_app import build_demo, launch

    folder = tmp_path_factory.mktemp("site")
    shutil.copyfile(PACKAGED_EXAMPLES.parent / "shapes_1.png", folder / "shapes.png")
    (folder / "secret.txt").write_text("the operator's secret")
    (folder / "examples.json").write_text(json.dumps(
        [{"image": "shapes.png", "question": "How many circles are there?"}]))
    mp = pytest.MonkeyPatch()
    # an upload folder of its own (Gradio's default, /tmp/gradio, is shared by every run)
    mp.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
    mp.setenv("OPENAI_API_KEY", "sk-server-secret")
    mp.setenv("LAVR_OPENAI_API_KEY", "sk-server-secret")
    demo = build_demo(sessions=tmp_path_factory.mktemp("demo") / "s.sqlite",
                      examples=find_examples(folder / "examples.json"),
                      models=[ModelChoice("rule", "rule")])
    _, url, _ = launch(demo, port=_free_port(), prevent_thread_lock=True)
    yield demo, url, folder
    demo.close()
    mp.undo()


def _client(url: str):
    return gradio_client.Client(url, verbose=False, download_files=False)


def _text(msg: dict) -> str:
    content = msg["content"]
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if isinstance(c, dict))
    return content if isinstance(content, str) else json.dumps(content)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_model_string_from_a_web_client_is_refused_and_no_request_leaves(served, attacker):
    demo, url, _ = served
    client = _client(url)
    image = gradio_client.handle_file(str(PACKAGED_EXAMPLES.parent / "shapes_1.png"))
    evil = f"openai:gpt-4o@{attacker.url}"
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict({"text": "How many circles?", "files": [image]}, "auto", 12, True,
                       False, evil, "off", 0, api_name="/ask")
    # the handler refuses it too (a client that gets past the component's own check)
    app = demo.lavr_app
    outputs = list(app.ask({"text": "How many circles?", "files": []}, None, "auto", 12, True,
                           False, evil, "off", 0))
    refusal = _text(outputs[-1].state.messages[-1])
    assert "unknown model" in refusal and "this demo offers: rule" in refusal
    assert attacker.requests == []


def test_a_weights_path_as_detector_is_refused(served):
    demo, _, folder = served
    app = demo.lavr_app
    outputs = list(app.ask({"text": "How many circles?", "files": []}, None,
                           str(folder / "evil.pt"), 12, True, False, "rule", "off", 0))
    assert "unknown detector" in _text(outputs[-1].state.messages[-1])


def test_server_side_choices():
    offer = Offer.build([model_choice("rule"), model_choice("local=openai:qwen@http://h:1/v1")],
                        detectors=["auto", "shapes"])
    assert list(offer.models) == ["rule", "local"]
    assert offer.models["local"].spec == "openai:qwen@http://h:1/v1"
    assert model_choice("openai:qwen@http://h:1/v1").name == "openai:qwen"  # no URL shown
    assert model_choice("lavr-mllm").name == "lavr-mllm"  # lavr's own model, offered by name
    ok = offer.settings(detector="shapes", max_steps=3, verify=True, review_plan=False,
                        model="local", cot="tree", icl=2)
    assert (ok.model, ok.detector, ok.max_steps, ok.cot, ok.icl) == ("local", "shapes", 3,
                                                                      "tree", 2)
    for bad in ({"model": "openai:qwen@http://h:1/v1"}, {"detector": "/tmp/x.pt"},
                {"max_steps": 10_000}, {"max_steps": "abc"}, {"cot": "x"}, {"icl": 99},
                {"icl": "six"}):
        kwargs = {"detector": "auto", "max_steps": 12, "verify": True, "review_plan": False,
                  "model": "rule", "cot": "off", "icl": 0, **bad}
        with pytest.raises(InputError):
            offer.settings(**kwargs)
    # "auto" (the dropdown's default) leaves k to the controller: 6 for a model, 0 for rules
    for auto in ("auto", None, ""):
        assert offer.settings(detector="auto", max_steps=3, verify=True, review_plan=False,
                              model="local", cot="off", icl=auto).icl is None
    assert offer.settings(detector="auto", max_steps=3, verify=True, review_plan=False,
                          model="local", cot="off", icl="0").icl == 0
    with pytest.raises(InputError, match="two demo models"):
        Offer.build([model_choice("rule"), model_choice("rule")], detectors=["auto"])


def _stored(demo) -> set[str]:
    """Every file in the demo's upload folder (Gradio writes uploads there)."""
    root = Path(demo.server_app.uploaded_file_dir)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _post(url: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _multipart(*files: tuple[str, bytes, str]) -> tuple[bytes, str]:
    boundary = "lavr-test-boundary-7d2f"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
        for name, data, ctype in files) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_the_upload_endpoint_stores_images_only(served):
    """Gradio's own ``/gradio_api/upload`` stored any file and returned its server path;
    now a non-image (whatever its name or declared type), an image signature with junk
    behind it, a part smuggled as a large plain field, an oversized body and a file named
    by URL are refused with a 4xx before anything is written, and a PNG still goes in."""
    demo, url, _ = served
    upload = f"{url.rstrip('/')}/gradio_api/upload"
    png = (PACKAGED_EXAMPLES.parent / "shapes_1.png").read_bytes()
    before = _stored(demo)
    refused = [
        _multipart(("evil.pt", b"\x80\x04\x95payload: a pickle" * 20, "application/octet-stream")),
        _multipart(("notes.png", b"just text, named like a picture\n" * 10, "image/png")),
        _multipart(("half.png", png[:64] + b"\x00" * 400, "image/png")),
        _multipart(("ok.png", png, "image/png"), ("evil.pt", b"\x80\x04payload", "image/png")),
    ]
    field = b"x" * 5000  # a large part without a filename is no loophole
    boundary = "lavr-field-boundary"
    refused.append((f'--{boundary}\r\nContent-Disposition: form-data; name="files"\r\n\r\n'
                    .encode() + field + f"\r\n--{boundary}--\r\n".encode(),
                    f"multipart/form-data; boundary={boundary}"))
    for body, ctype in refused:
        status, text = _post(upload, body, ctype)
        assert status == 415, (status, text)
        assert text.startswith(b"refused:")
    # over the limit (10 MB by default): refused from its Content-Length, unread
    parts = urllib.parse.urlsplit(upload)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("POST", parts.path)
    conn.putheader("Content-Type", ctype)
    conn.putheader("Content-Length", str(10_200_000))
    conn.endheaders(png)
    assert conn.getresponse().status == 413
    conn.close()
    assert _stored(demo) == before  # nothing written: no temporary file, no upload
    # a file object naming a URL is never fetched into the cache
    join = {"data": [{"text": "hi", "files": [{"path": "https://example.com/evil.pt",
                                               "meta": {"_type": "gradio.FileData"}}]},
                     None, "auto", 12, True, False, "rule", "off", 0],
            "fn_index": 0, "session_hash": "abc123", "event_data": None}
    status, text = _post(f"{url.rstrip('/')}/gradio_api/queue/join",
                         json.dumps(join).encode(), "application/json")
    assert status == 400 and b"never fetched from a URL" in text
    # an image goes in as before
    status, text = _post(upload, *_multipart(("shapes.png", png, "image/png")))
    assert status == 200, text
    (path,) = json.loads(text)
    assert Path(path).read_bytes() == png
    assert len(_stored(demo) - before) == 1


@requires_shapes
def test_uploads_must_be_images_and_temp_paths_never_show(served, tmp_path):
    demo, url, _ = served
    client = _client(url)
    fake = tmp_path / "evil.png"
    fake.write_bytes(b"\x80\x04not a picture, a pickle" * 10)
    with pytest.raises(Exception):  # noqa: B017 - refused at upload (415), before any handler
        client.predict({"text": "What colour is it?",
                        "files": [gradio_client.handle_file(str(fake))]},
                       "auto", 12, True, False, "rule", "off", 0, api_name="/ask")
    # a file that got onto the server another way is still refused at use, path unshown
    outputs = list(demo.lavr_app.ask({"text": "What colour is it?", "files": [str(fake)]},
                                     None, "auto", 12, True, False, "rule", "off", 0))
    chat_ = outputs[-1].state.messages
    assert "not an image" in _text(chat_[-1])
    shown = " ".join(_text(m) for m in chat_ if isinstance(m["content"], str))
    assert "/tmp" not in shown and "gradio" not in shown


def test_scrub_paths():
    text = "cannot read /tmp/gradio/ab12/evil.png: truncated (/tmp/gradio/x y)"
    assert "/tmp" not in scrub_paths(text, ["/tmp/gradio/ab12/evil.png"])


def test_only_the_shown_files_are_served(served):
    demo, url, folder = served
    # nothing from the examples' own folder: not the secret beside them, not the image itself
    for name in ("secret.txt", "shapes.png", "examples.json"):
        status = _status(f"{url.rstrip('/')}/gradio_api/file={folder / name}")
        assert 400 <= status < 500, (name, status)
    # the staged copy holds the example image and nothing else
    staged = {e.image.parent for e in demo.lavr_app.examples}
    assert len(staged) == 1
    assert sorted(p.name for p in next(iter(staged)).iterdir()) == ["0.png"]
    config = json.loads(urllib.request.urlopen(f"{url.rstrip('/')}/config", timeout=10).read())
    assert str(folder) not in json.dumps(config)  # the page never names the original folder


def test_examples_file_errors_and_packaged_examples(tmp_path, capsys):
    from lavr.apps.cli import main

    assert main(["demo", "--examples", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing.json does not exist" in err
    (tmp_path / "bad.json").write_text('{"image": 1}')
    with pytest.raises(InputError, match="must be a JSON list"):
        find_examples(tmp_path / "bad.json")
    # the default examples ship inside the package (a wheel install has no examples/ folder)
    found = find_examples()
    assert len(found) >= 5
    assert all(e.image.is_relative_to(PACKAGED_EXAMPLES.parent) for e in found)
    text = (REPO / "pyproject.toml").read_text()
    assert '"data/examples/*"' in text  # package data, so the wheel carries them
