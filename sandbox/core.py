"""Shared machinery of the two API sandboxes: requests, routing, faults, serving.

The sandboxes stand in for Visma Severa and Visma eEkonomi, which cannot be reached
from our machines. Each vendor module (``sandbox.severa``, ``sandbox.eekonomi``)
subclasses :class:`SandboxApp` and registers its routes; this module gives both:

* a tiny framework-free request/response model, so one app object can be served
  over real HTTP (:class:`SandboxServer`, a threaded HTTP/1.1 server for
  integration tests, demos and benchmarks) *and* mounted in-process on a
  ``requests.Session`` (:class:`SandboxAdapter`, for fast unit tests);
* the back office under ``/_sandbox/`` (dump, seed, request log, faults, token
  expiry, rate-limit scaling), answered only to loopback clients;
* fault injection: the next N matching requests answer a status, are delayed,
  are dropped before any work, or are *done and then dropped* — the ambiguous
  failure that makes clients look a record up before creating it again;
* an exchange observer hook, used by the contract tests to validate every request
  and response against Visma's OpenAPI documents.

The sandbox imports nothing of the product: it speaks raw vendor JSON only, so a
mapping bug in the product cannot be mirrored by the fake and go unnoticed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import ipaddress
import json
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

JSON = dict[str, Any] | list[Any] | str | int | float | bool | None


class DropConnection(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by the app to make the transport close the connection without an answer."""


@dataclass
class Request:
    """One HTTP request as the sandbox sees it (transport-independent)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]
    body: bytes = b""
    client: str = "127.0.0.1"
    path_params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name`` (exact case first, then any case)."""
        if name in self.query:
            return self.query[name][0]
        lowered = name.lower()
        for key, values in self.query.items():
            if key.lower() == lowered:
                return values[0]
        return default

    def args(self, name: str) -> list[str]:
        """All values of a repeated query parameter (``?a=1&a=2``), any case."""
        lowered = name.lower()
        out: list[str] = []
        for key, values in self.query.items():
            if key.lower() == lowered:
                out.extend(values)
        return out

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        if not self.body:
            raise ValueError("empty body")
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded`` (first value of each)."""
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    @property
    def is_loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.client).is_loopback
        except ValueError:
            return False


@dataclass
class Response:
    """One HTTP response; ``body`` is already encoded."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, payload: JSON, headers: Iterable[tuple[str, str]] = ()) -> Response:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain") -> Response:
        return cls(
            status, text.encode("utf-8"), [("Content-Type", f"{content_type}; charset=utf-8")]
        )

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json_body(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Maps ``METHOD /path/{param}`` templates to handlers; matching is case-insensitive
    on the literal parts (ASP.NET servers, which both vendors run, route that way)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "/?$"
        self.routes.append(
            Route(method.upper(), template, re.compile(regex, re.IGNORECASE), handler)
        )

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """Return (route, params, path_known). ``path_known`` tells 405 from 404."""
        path_known = False
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            path_known = True
            if route.method == method.upper():
                return route, {k: unquote(v) for k, v in found.groupdict().items()}, True
        return None, {}, path_known


@dataclass
class Fault:
    """One armed fault: the next ``times`` requests matching ``method``/``path`` misbehave.

    ``action`` is one of:
      * ``status`` — answer ``status`` with ``body`` (JSON) without doing the work;
      * ``delay`` — sleep ``delay`` seconds, then handle normally (client time-outs);
      * ``drop`` — close the connection before doing any work;
      * ``write_then_drop`` — do the work (the write happens), then close the connection
        without answering: the *ambiguous* failure.
    ``path`` is a glob on the request path (``/v1/customers*``).
    """

    path: str
    times: int = 1
    method: str | None = None
    action: str = "status"
    status: int = 503
    body: JSON = None
    delay: float = 0.0
    headers: list[tuple[str, str]] = field(default_factory=list)

    def matches(self, request: Request) -> bool:
        if self.method and self.method.upper() != request.method.upper():
            return False
        return fnmatch.fnmatchcase(request.path.lower(), self.path.lower())


FAULT_ACTIONS = ("status", "delay", "drop", "write_then_drop")


@dataclass
class LoggedRequest:
    method: str
    path: str
    status: int
    time: float
    duration_ms: float
    query: str = ""


class RateWindow:
    """A sliding-window request counter (thread-safe): ``hit`` says whether a request fits.

    Both vendors count requests in a window (Severa ~10 per second, eEkonomi 600 per
    minute per endpoint); the back office can scale limits up for benchmarks.
    """

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, scale: float = 1.0, now: float | None = None) -> float | None:
        """Count one request for ``key``; return ``None`` if allowed, else seconds to wait."""
        limit = max(1, int(self.limit * scale))
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.0, hits[0] + self.window - now)
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


Observer = Callable[[Request, Response], None]

#: Observers of every vendor exchange of every sandbox app in this process, called with
#: ``(app_name, request, response)``. The contract tests register a validator here so
#: that every request the sandboxes accept and every answer they give during the test
#: suite is checked against Visma's OpenAPI documents, whoever created the app.
GLOBAL_OBSERVERS: list[Callable[[str, Request, Response], None]] = []


class SandboxApp:
    """Base class of a vendor sandbox: routing, back office, faults, request log.

    Subclasses register vendor routes in ``__init__`` with :meth:`route`, keep their
    store under ``self.lock``, and implement :meth:`dump_store`, :meth:`seed_store`,
    :meth:`expire_tokens` and (optionally) extra back-office routes.
    """

    name = "sandbox"

    def __init__(self) -> None:
        self.router = Router()
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self._fault_lock = threading.Lock()
        self.log: deque[LoggedRequest] = deque(maxlen=100_000)
        self.counts: Counter[str] = Counter()
        self.rate_scale = 1.0
        self.rate_limits_enabled = True
        self.observers: list[Observer] = []
        self._backoffice()

    # -- routing -------------------------------------------------------------------

    def route(self, method: str, template: str, handler: Handler) -> None:
        self.router.add(method, template, handler)

    def handle(self, request: Request) -> Response:
        """Answer one request; raises :class:`DropConnection` for dropped connections."""
        started = time.perf_counter()
        is_backoffice = request.path.lower().startswith("/_sandbox/")
        fault = None if is_backoffice else self._take_fault(request)
        response: Response | None = None
        try:
            if fault is not None:
                if fault.action == "drop":
                    self._record(request, 0, started)
                    raise DropConnection()
                if fault.action == "delay":
                    time.sleep(fault.delay)
                elif fault.action == "status":
                    body = fault.body if fault.body is not None else self.fault_body(fault.status)
                    response = Response.json(fault.status, body, fault.headers)
            if response is None:
                response = self._dispatch(request, is_backoffice)
            if fault is not None and fault.action == "write_then_drop":
                self._record(request, response.status, started, dropped=True)
                raise DropConnection()
        except DropConnection:
            raise
        self._record(request, response.status, started)
        if not is_backoffice:
            for observer in list(self.observers):
                observer(request, response)
            for global_observer in list(GLOBAL_OBSERVERS):
                global_observer(self.name, request, response)
        return response

    def _dispatch(self, request: Request, is_backoffice: bool) -> Response:
        if is_backoffice and not request.is_loopback:
            return Response.json(403, {"error": "the sandbox back office answers loopback only"})
        route, params, path_known = self.router.match(request.method, request.path)
        if route is None:
            return self.not_found(request) if not path_known else self.method_not_allowed(request)
        request.path_params = params
        try:
            return route.handler(request)
        except DropConnection:
            raise
        except Exception as exc:  # a sandbox bug must show up as a 500, as Visma's would
            return self.internal_error(request, exc)

    # Vendor subclasses override these to answer in their own error format.
    def fault_body(self, status: int) -> JSON:
        """The body of an injected ``status`` fault when the fault names none."""
        return {"error": f"injected fault: HTTP {status}"}

    def not_found(self, request: Request) -> Response:
        return Response.json(404, {"error": f"no route for {request.method} {request.path}"})

    def method_not_allowed(self, request: Request) -> Response:
        return Response.json(405, {"error": f"{request.method} not allowed on {request.path}"})

    def internal_error(self, request: Request, exc: Exception) -> Response:
        return Response.json(500, {"error": f"{type(exc).__name__}: {exc}"})

    # -- faults and log ------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        if fault.action not in FAULT_ACTIONS:
            raise ValueError(f"fault action must be one of {FAULT_ACTIONS}")
        with self._fault_lock:
            self.faults.append(fault)

    def _take_fault(self, request: Request) -> Fault | None:
        with self._fault_lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(request):
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _record(self, request: Request, status: int, started: float, dropped: bool = False) -> None:
        if request.path.lower().startswith("/_sandbox/"):
            return
        entry = LoggedRequest(
            method=request.method,
            path=request.path,
            status=status if not dropped else 0,
            time=time.time(),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            query="&".join(f"{k}={v}" for k, vs in request.query.items() for v in vs),
        )
        self.log.append(entry)
        self.counts[f"{request.method} {request.path}"] += 1

    # -- back office ---------------------------------------------------------------

    def _backoffice(self) -> None:
        self.route("GET", "/_sandbox/dump", lambda r: Response.json(200, self.dump_store()))
        self.route("POST", "/_sandbox/seed", self._bo_seed)
        self.route("GET", "/_sandbox/requests", self._bo_requests)
        self.route("DELETE", "/_sandbox/requests", self._bo_clear_requests)
        self.route("GET", "/_sandbox/faults", self._bo_list_faults)
        self.route("POST", "/_sandbox/faults", self._bo_add_fault)
        self.route("DELETE", "/_sandbox/faults", self._bo_clear_faults)
        self.route("POST", "/_sandbox/expire-tokens", self._bo_expire_tokens)
        self.route("POST", "/_sandbox/rate-limits", self._bo_rate_limits)
        self.route("POST", "/_sandbox/reset", self._bo_reset)

    def _bo_seed(self, request: Request) -> Response:
        payload = request.json()
        replace = (request.arg("replace") or "false").lower() == "true"
        with self.lock:
            counts = self.seed_store(payload, replace=replace)
        return Response.json(200, {"seeded": counts})

    def _bo_requests(self, request: Request) -> Response:
        entries = list(self.log)
        since = request.arg("since")
        if since is not None:
            entries = [e for e in entries if e.time >= float(since)]
        per_endpoint: Counter[str] = Counter(f"{e.method} {e.path}" for e in entries)
        return Response.json(
            200,
            {
                "total": len(entries),
                "counts": dict(per_endpoint),
                "requests": [e.__dict__ for e in entries[-int(request.arg("limit") or 1000) :]],
            },
        )

    def _bo_clear_requests(self, request: Request) -> Response:
        self.log.clear()
        self.counts.clear()
        return Response.empty(204)

    def _bo_list_faults(self, request: Request) -> Response:
        with self._fault_lock:
            return Response.json(200, [f.__dict__ for f in self.faults])

    def _bo_add_fault(self, request: Request) -> Response:
        payload = request.json()
        items = payload if isinstance(payload, list) else [payload]
        try:
            for item in items:
                headers = [tuple(h) for h in item.pop("headers", [])]
                self.add_fault(Fault(**item, headers=headers))
        except (TypeError, ValueError) as exc:
            return Response.json(400, {"error": str(exc)})
        return Response.json(201, {"armed": len(items)})

    def _bo_clear_faults(self, request: Request) -> Response:
        with self._fault_lock:
            self.faults.clear()
        return Response.empty(204)

    def _bo_expire_tokens(self, request: Request) -> Response:
        with self.lock:
            count = self.expire_tokens()
        return Response.json(200, {"expired": count})

    def _bo_rate_limits(self, request: Request) -> Response:
        payload = request.json()
        if "scale" in payload:
            self.rate_scale = float(payload["scale"])
        if "enabled" in payload:
            self.rate_limits_enabled = bool(payload["enabled"])
        return Response.json(200, {"scale": self.rate_scale, "enabled": self.rate_limits_enabled})

    def _bo_reset(self, request: Request) -> Response:
        with self.lock:
            self.seed_store(self.empty_store(), replace=True)
        self.log.clear()
        self.counts.clear()
        with self._fault_lock:
            self.faults.clear()
        return Response.empty(204)

    # -- store hooks for subclasses ------------------------------------------------

    def dump_store(self) -> dict[str, Any]:
        """The whole store: one key per vendor collection, records in wire format."""
        raise NotImplementedError

    def seed_store(self, payload: dict[str, Any], *, replace: bool) -> dict[str, int]:
        """Load records (same shape as :meth:`dump_store`); return counts per collection."""
        raise NotImplementedError

    def empty_store(self) -> dict[str, Any]:
        return {key: [] for key in self.dump_store()}

    def expire_tokens(self) -> int:
        """Make every issued access token expired now; return how many."""
        raise NotImplementedError


# -- transports --------------------------------------------------------------------


def _split_target(target: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(target)
    return unquote(parts.path) or "/", parse_qs(parts.query, keep_blank_values=True)


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


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
