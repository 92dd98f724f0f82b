"""A GET-only HTTP server on 127.0.0.1 for tests (real sockets, no network)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalGetServer:
    """Answers GET requests with :meth:`get`; records every requested path in ``requests``."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                outer.requests.append(self.path)
                outer.get(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one GET request (``handler.path``)."""
        raise NotImplementedError

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, body: bytes, *, length: int | None = None) -> None:
        """A 200 reply with ``body``; ``length`` overrides the Content-Length header."""
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
