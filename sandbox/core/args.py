"""Query and body argument helpers, with errors that say what was wrong, not how.

Both vendors parse the same kinds of parameters (integers, booleans, GUIDs, dates,
comma-separated lists) and both refuse a bad one with 400 — in different formats. The
helpers here raise :class:`BadArgument` (which parameter, what value, what was expected);
each vendor's route wrapper turns it into its own error body and code, so the parsing is
written once and the formats stay the vendors'.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sandbox.core.clock import parse_time
from sandbox.core.http import Request

GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


class BadArgument(ValueError):
    """A request argument that cannot be read: ``name``, the raw ``value``, and what was
    ``expected`` (``integer``, ``boolean``, ``guid``, ``date-time``, ``JSON object``...)."""

    def __init__(self, name: str, value: Any, expected: str) -> None:
        super().__init__(f"The value '{value}' is not valid for {name}.")
        self.name = name
        self.value = value
        self.expected = expected


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and bool(GUID_RE.match(value))


def _raw(request: Request, name: str) -> str | None:
    raw = request.arg(name)
    return None if raw is None or raw == "" else raw


def int_arg(request: Request, name: str, default: int | None = None) -> int | None:
    """Query parameter ``name`` as an integer; ``default`` when absent or empty."""
    raw = _raw(request, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadArgument(name, raw, "integer") from None


def bool_arg(request: Request, name: str, default: bool | None = None) -> bool | None:
    """Query parameter ``name`` as ``true``/``false`` (any case)."""
    raw = _raw(request, name)
    if raw is None:
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise BadArgument(name, raw, "boolean")


def guid_arg(request: Request, name: str) -> str | None:
    """Query parameter ``name`` as a lower-case GUID."""
    raw = _raw(request, name)
    if raw is None:
        return None
    if not is_guid(raw):
        raise BadArgument(name, raw, "guid")
    return raw.lower()


def date_arg(request: Request, name: str, *, strict: bool = False) -> datetime | None:
    """Query parameter ``name`` as an aware UTC datetime (see :func:`parse_time`)."""
    raw = _raw(request, name)
    if raw is None:
        return None
    try:
        return parse_time(raw, strict=strict)
    except ValueError:
        raise BadArgument(name, raw, "date-time") from None


def ints_arg(request: Request, name: str) -> set[int]:
    """Every integer of a repeated and/or comma-separated parameter (``?a=1,2&a=3``)."""
    out: set[int] = set()
    for raw in request.args(name):
        for part in raw.split(","):
            if part.strip():
                try:
                    out.add(int(part))
                except ValueError:
                    raise BadArgument(name, part, "integer") from None
    return out


def strs_arg(request: Request, name: str) -> set[str]:
    """Every value of a repeated and/or comma-separated parameter, lower-cased."""
    return {v.strip().lower() for raw in request.args(name) for v in raw.split(",") if v.strip()}


def json_body(request: Request) -> Any:
    """The body as JSON; :class:`BadArgument` (``body``) when it is not JSON."""
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError):
        raise BadArgument("body", request.body[:60].decode("utf-8", "replace"), "JSON") from None


def json_object(request: Request, *, empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object (``{}`` for an empty body when ``empty_ok``)."""
    if empty_ok and not request.body.strip():
        return {}
    body = json_body(request)
    if not isinstance(body, dict):
        raise BadArgument("body", type(body).__name__, "JSON object")
    return body
