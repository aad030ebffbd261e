"""The framework-free HTTP model of the sandboxes: request, response, router.

Why not a web framework: one app object must be served over real HTTP *and* mounted
in-process on a ``requests.Session`` (see :mod:`sandbox.core.serving`), and both
vendors route the way ASP.NET does (case-insensitive literal path parts, 405 on a known
path with another method). Twenty lines of router do that exactly; a framework would
need the same amount of adapting.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

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
