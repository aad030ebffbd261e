"""The two ways to serve a sandbox app: real HTTP on a thread, or in-process.

:class:`SandboxServer` is a threaded HTTP/1.1 server (keep-alive, ``TCP_NODELAY``) for
integration tests, the demo and the benchmarks, where the product must talk to the
sandbox exactly as to Visma. :class:`SandboxAdapter` answers a ``requests.Session`` from
the app with no sockets, for fast unit tests; a dropped connection surfaces as
``requests.ConnectionError`` there, as it would over HTTP.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from sandbox.core.http import DropConnection, Request

if TYPE_CHECKING:
    from sandbox.core.app import SandboxApp


def _split_target(target: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(target)
    return unquote(parts.path) or "/", parse_qs(parts.query, keep_blank_values=True)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in one write; without NODELAY, Nagle + delayed ACK
        # cap a keep-alive connection at ~25 requests/s.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silence the default per-request stderr line; the app keeps its own log."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, query = _split_target(self.path)
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(self.headers.items()))
        request = Request(self.command, path, query, headers, body, self.client_address[0])
        try:
            response = self.server.app.handle(request)
        except DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}"]
        lines += [f"{key}: {value}" for key, value in response.headers]
        lines.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class SandboxServer:
    """Serves one :class:`SandboxApp` over real HTTP on a background thread.

    ``port=0`` picks a free port; :attr:`url` tells where it listens.
    """

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = _Server((host, port), app)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"{self.app.name}-http", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SandboxAdapter(BaseAdapter):
    """A ``requests`` transport adapter that answers from a :class:`SandboxApp` in-process.

    Mount it on a session (``session.mount("http://severa.test/", SandboxAdapter(app))``)
    to run clients against a sandbox with no sockets. Dropped connections surface as
    ``requests.ConnectionError``, as they would over HTTP.
    """

    def __init__(self, app: SandboxApp) -> None:
        super().__init__()
        self.app = app

    def send(  # type: ignore[override]  # transport options do not apply in-process
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        path, query = _split_target(request.url or "/")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(request.headers))
        sandbox_request = Request(request.method or "GET", path, query, headers, bytes(body))
        try:
            answer = self.app.handle(sandbox_request)
        except DropConnection as exc:
            raise requests.ConnectionError(
                "connection dropped by the sandbox", request=request
            ) from exc
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response.raw = io.BytesIO(answer.body)
        response._content = answer.body
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        response.reason = _reason(answer.status)
        return response

    def close(self) -> None:
        """Nothing to release: no sockets are opened."""
