"""A scripted OpenAI-style HTTP server on 127.0.0.1 for tests (real sockets, no network)."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted server reply."""

    status: int = 200
    body: Any = None  # dict → JSON; str → raw text
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the test ends)
    stream: list[str] | None = None  # SSE data lines
    trickle: float | None = None  # send the reply one byte every `trickle` seconds
    trickle_headers: bool = False  # with trickle: the status line and headers too
    reset: bool = False  # drop the connection with a TCP reset instead of answering


def chat(content: str) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}]}


class Server:
    """A scripted OpenAI-style server; records every request."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        #: When set, answers requests the queue does not: ``fn(request_json) -> Reply``.
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "json": json.loads(raw)})
                body = json.loads(raw)
                if outer.replies:
                    reply = outer.replies.popleft()
                elif outer.responder is not None:
                    reply = outer.responder(body)
                else:
                    reply = Reply(500, {"error": {"message": "no scripted reply left"}})
                if reply.hang:
                    outer.release.wait(30)
                    return
                if reply.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if reply.trickle is not None:
                    self._trickle(reply)
                    return
                if reply.stream is not None:
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.end_headers()
                    for line in reply.stream:
                        self.wfile.write(f"data: {line}\n\n".encode())
                        self.wfile.flush()
                    return
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data.encode())))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data.encode())

            def _trickle(self, reply: Reply) -> None:
                """One byte at a time, paced by the server (the behaviour under test)."""
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                body = data.encode()
                head = (f"HTTP/1.1 {reply.status} OK\r\ncontent-type: application/json\r\n"
                        f"content-length: {len(body)}\r\n\r\n").encode()
                out = head + body
                if not reply.trickle_headers:
                    self.wfile.write(head)
                    self.wfile.flush()
                    out = body
                try:
                    for i in range(len(out)):
                        if outer.release.wait(reply.trickle):
                            return
                        self.wfile.write(out[i:i + 1])
                        self.wfile.flush()
                except OSError:  # the client gave up and closed the connection
                    return
                finally:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
