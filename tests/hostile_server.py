"""A hostile HTTP server on 127.0.0.1 for the clients' robustness tests (issue 14).

It plays neither vendor: each test gives it a *script* — a function from the request to
the answer — so it can send what no sandbox would: wrong types, HTML, truncated JSON,
paging that never ends, a dropped connection. The clients reach it over real HTTP on an
ephemeral port, exactly as they reach Visma. It is the outside world of these tests, not
the project's code; every request it saw is kept in :attr:`HostileServer.seen`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    #: The request's headers, and its target as sent (absolute through a proxy).
    headers: dict[str, str] = field(default_factory=dict)
    target: str = ""


@dataclass(frozen=True)
class Answer:
    """What to send back. ``length`` overrides ``Content-Length`` (a larger one cuts the
    body off mid-way); ``drop`` closes the connection without answering at all."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None
    drop: bool = False


Script = Callable[[Seen], Answer]


def json_answer(status: int, text: str, **headers: str) -> Answer:
    return Answer(status, text.encode(), {"Content-Type": "application/json", **headers})


class HostileServer:
    """A threaded ``http.server`` answering every request with ``script(request)``."""

    def __init__(self) -> None:
        self.script: Script = lambda seen: json_answer(200, "{}")
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the tests read :attr:`HostileServer.seen`."""

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command, parts.path, parse_qs(parts.query), self.rfile.read(length),
                    dict(self.headers.items()), self.path,
                )  # fmt: skip
                with outer._lock:
                    outer.seen.append(seen)
                answer = outer.script(seen)
                if answer.drop:
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                size = len(answer.body) if answer.length is None else answer.length
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def play(self, script: Script) -> None:
        """Answer with ``script`` from now on, forgetting what was seen before."""
        with self._lock:
            self.script = script
            self.seen = []

    def count(self, method: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for s in self.seen
                if (method is None or s.method == method) and (path is None or s.path == path)
            )
