"""Image URLs: refused unless allowed; then public addresses only, no redirects, capped."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
from PIL import Image

from lavr.apps.cli import main
from lavr.core_model.errors import ImageError
from lavr.core_model.fetch import fetch_url
from lavr.core_model.images import load_image
from tests.local_http import LocalGetServer


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


class ImageServer(LocalGetServer):
    """Serves /img.png, /big, /moved (302), /stall (headers, then nothing); records requests."""

    def __init__(self) -> None:
        self.release = threading.Event()
        super().__init__()

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/moved":
            handler.send_response(302)
            handler.send_header("Location", "http://169.254.169.254/latest/meta-data")
            handler.end_headers()
            return
        if handler.path == "/stall":
            self.send(handler, b"x", length=1000)
            handler.wfile.flush()
            self.release.wait(10)  # until the test ends (never a sleep)
            return
        body = {"/img.png": _png(), "/big": b"x" * 50_000}.get(handler.path)
        if body is None:
            handler.send_error(404)
            return
        self.send(handler, body)


@pytest.fixture
def server() -> Iterator[ImageServer]:
    srv = ImageServer()
    yield srv
    srv.release.set()
    srv.close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/img.png", "http://localhost:{port}/x",
                                 "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]:{port}/img.png", "http://10.0.0.8/x.png",
                                 "http://[::ffff:127.0.0.1]:{port}/x"])
def test_private_loopback_and_link_local_addresses_are_refused(server, url):
    port = server.url.rsplit(":", 1)[1]
    with pytest.raises(ImageError, match="private, loopback or link-local"):
        fetch_url(url.format(port=port))
    assert server.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.png", "http:///x"])
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(ImageError, match="only http:// and https://"):
        fetch_url(url)


def test_an_allowed_url_is_fetched_and_decoded(server):
    arr = load_image(f"{server.url}/img.png", allow_url=True, allow_private_urls=True)
    assert arr.shape == (8, 8, 3) and server.requests == ["/img.png"]


def test_redirects_are_not_followed(server):
    with pytest.raises(ImageError, match="does not follow redirects"):
        fetch_url(f"{server.url}/moved", allow_private=True)
    assert server.requests == ["/moved"]


def test_size_time_and_status_are_capped(server):
    with pytest.raises(ImageError, match="more than the 1000 accepted"):
        fetch_url(f"{server.url}/big", max_bytes=1000, allow_private=True)
    with pytest.raises(ImageError, match="cannot fetch it|longer than"):
        fetch_url(f"{server.url}/stall", deadline=0.5, allow_private=True)
    with pytest.raises(ImageError, match="HTTP 404"):
        fetch_url(f"{server.url}/nope", allow_private=True)


def test_without_allow_url_a_url_is_never_fetched(server):
    with pytest.raises(ImageError, match="is a URL; lavr reads local image files"):
        load_image(f"{server.url}/img.png")
    assert server.requests == []


def test_cli_allow_url_refuses_a_loopback_address_in_one_line(server, capsys):
    code = main(["ask", f"{server.url}/img.png", "How many circles?", "--allow-url"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "loopback" in err
    assert server.requests == []
