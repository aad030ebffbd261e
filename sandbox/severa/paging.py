"""Severa's two paging styles, its query parameters and its list filters.

The big collections page by an opaque ``pageToken`` (answered in a ``NextPageToken``
header); the settings lists by ``firstRow``/``rowCount``; VAT rates not at all. Both
styles clamp ``rowCount`` to 100 and default it to 20. A page token is keyed on the
last record served (records created while a client pages show up at the end, none is
served twice), bound to the filters it was issued for, signed and short-lived — the
properties a client's paging loop must cope with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response, dig, parse_time
from sandbox.core.args import bool_arg, date_arg, int_arg, ints_arg, strs_arg
from sandbox.severa.errors import invalid, invalid_arg

if TYPE_CHECKING:
    from sandbox.severa.tenant import Organization

Record = dict[str, Any]

_DIRECTIONS = ("asc", "desc", "ascnullsfirst", "ascnullslast", "descnullsfirst", "descnullslast")


# -- filters ---------------------------------------------------------------------------


def changed_at(record: Record) -> datetime:
    """When a record last changed: ``lastUpdatedDateTime``, else ``createdDateTime``
    (what ``changedSince`` compares; a record without either counts as changed now)."""
    stamp = record.get("lastUpdatedDateTime") or record.get("createdDateTime")
    try:
        return parse_time(str(stamp)) if stamp else datetime.now(UTC)
    except ValueError:
        return datetime.now(UTC)


@dataclass
class Filters:
    """Predicates of one list request, evaluated per record. The builder methods read
    one query parameter each and add a test only when the request gives it."""

    tests: list[Callable[[Record], bool]] = field(default_factory=list)

    def add(self, test: Callable[[Record], bool]) -> None:
        self.tests.append(test)

    def __call__(self, record: Record) -> bool:
        return all(test(record) for test in self.tests)

    def changed_since(self, request: Request) -> Filters:
        """``changedSince``: the record's last change at or after the given time."""
        since = date_arg(request, "changedSince")
        if since is not None:
            self.add(lambda r: changed_at(r) >= since)
        return self

    def flag(
        self, request: Request, arg: str, name: str, *, default: bool = False, negated: bool = False
    ) -> Filters:
        """A boolean parameter against a boolean field (``negated``: its opposite)."""
        wanted = bool_arg(request, arg)
        if wanted is not None:
            self.add(lambda r: (bool(r.get(name, default)) != negated) == wanted)
        return self

    def numbers(self, request: Request, arg: str = "numbers") -> Filters:
        wanted = ints_arg(request, arg)
        if wanted:
            self.add(lambda r: r.get("number") in wanted)
        return self

    def one_of(self, request: Request, arg: str, path: str) -> Filters:
        """A list parameter (guids, names, …) against one (dotted) field."""
        wanted = strs_arg(request, arg)
        if wanted:
            self.add(lambda r: str(dig(r, path) or "").lower() in wanted)
        return self

    def equals(self, request: Request, arg: str, path: str, choices: Iterable[str] = ()) -> Filters:
        """A single value against one (dotted) field, case-insensitively; ``choices``
        are the values the document's enum allows (else 400)."""
        raw = request.arg(arg)
        if not raw:
            return self
        options = [c.lower() for c in choices]
        if options and raw.lower() not in options:
            raise invalid_arg(arg, raw)
        wanted = raw.lower()
        self.add(lambda r: str(dig(r, path) or "").lower() == wanted)
        return self

    def settings(self, request: Request, *searched: str) -> Filters:
        """The filters every settings list shares: ``active``, ``code``, ``textToSearch``."""
        self.flag(request, "active", "isActive", default=True).equals(request, "code", "code")
        return self.text(request, *searched)

    def text(self, request: Request, *names: str) -> Filters:
        """``textToSearch``: a substring of any of ``names``."""
        wanted = (request.arg("textToSearch") or "").strip().lower()
        if wanted:
            self.add(lambda r: any(wanted in str(r.get(k) or "").lower() for k in names))
        return self


# -- row counts and page tokens -------------------------------------------------------


def row_count(org: Organization, request: Request, default: int | None) -> int | None:
    rows = int_arg(request, "rowCount")
    if rows is None:
        return default
    if rows < 1:
        raise invalid("rowCount must be at least 1.", "rowCount", "UriParameter")
    most = org.switches.max_row_count
    if rows > most:
        if not org.switches.clamp_row_count:
            raise invalid(f"rowCount must be at most {most}.", "rowCount", "UriParameter")
        rows = most
    return rows


class PageTokens:
    """Signs and checks page tokens: ``last_seq:filters:issued:mac``, base64."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(16)

    @staticmethod
    def signature(request: Request) -> str:
        """The filters of a request (every parameter but the paging ones)."""
        items = sorted(
            (k.lower(), v)
            for k, vs in request.query.items()
            for v in vs
            if k.lower() not in ("pagetoken", "rowcount")
        )
        text = request.path.lower().replace("/v1.0/", "/v1/") + json.dumps(items)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:16]

    def encode(self, last_seq: int, signature: str, now: datetime) -> str:
        payload = f"{last_seq}:{signature}:{int(now.timestamp())}"
        text = f"{payload}:{self._mac(payload)}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, token: str, signature: str, now: datetime, ttl_seconds: int) -> int:
        """The last sequence number served; 400 when forged, reused with other filters
        or expired."""
        bad = invalid("The page token is not valid.", "pageToken", "UriParameter")
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            last, sig, issued, mac = text.split(":")
        except (ValueError, UnicodeDecodeError):
            raise bad from None
        if not hmac.compare_digest(self._mac(f"{last}:{sig}:{issued}"), mac):
            raise bad
        if sig != signature:
            raise invalid(
                "The page token was issued for other filters; repeat the same filters.",
                "pageToken", "UriParameter",
            )  # fmt: skip
        if now.timestamp() - int(issued) > ttl_seconds:
            raise invalid("The page token has expired.", "pageToken", "UriParameter")
        return int(last)


# -- the two paging styles ------------------------------------------------------------


def token_page(
    org: Organization,
    request: Request,
    collection: str,
    filters: Filters,
    source: list[str] | None = None,
) -> Response:
    """One page of a token-paged list; ``NextPageToken`` header when more follow."""
    switches = org.switches
    rows = row_count(org, request, switches.default_row_count) or 1
    signature = PageTokens.signature(request)
    token = request.arg("pageToken")
    last = (
        org.page_tokens.decode(token, signature, org.clock(), switches.page_token_ttl_seconds)
        if token
        else 0
    )
    col = org.store[collection]
    records = col.records
    test = filters if filters.tests else None
    chosen: list[Record] = []
    more = False
    for guid in col.after(last, source):
        record = records[guid]
        if test is not None and not test(record):
            continue
        if len(chosen) == rows:
            more = True
            break
        chosen.append(record)
    last_seq = col.seq(chosen[-1]["guid"]) if chosen else last
    page = [org.view(collection, record) for record in chosen]
    headers: list[tuple[str, str]] = []
    if more or (switches.next_page_token_on_last_page and page):
        next_token = org.page_tokens.encode(last_seq, signature, org.clock())
        headers.append(("NextPageToken", next_token))
    return Response.json(200, page, headers)


def offset_page(
    org: Organization,
    request: Request,
    collection: str,
    filters: Filters,
    source: list[str] | None = None,
    *,
    default_rows: int | None = -1,
) -> Response:
    """One page of a ``firstRow``/``rowCount`` list (sorted by ``sortings`` if given)."""
    rows = row_count(
        org, request, org.switches.default_row_count if default_rows == -1 else default_rows
    )
    first = int_arg(request, "firstRow") or 0
    if first < 0:
        raise invalid("firstRow must not be negative.", "firstRow", "UriParameter")
    records = org.store[collection].records
    listed = records.values() if source is None else [records[g] for g in source]
    sortings = _sortings(request)
    count_total = bool_arg(request, "calculateRowCount") is True
    end = first + rows if rows is not None else None
    if not filters.tests and not sortings and not count_total:
        return Response.json(200, [org.view(collection, r) for r in islice(listed, first, end)])
    matched = [r for r in listed if filters(r)]
    for key, descending, nulls_first in reversed(sortings):
        matched.sort(key=_value_key(key), reverse=descending)
        if nulls_first is not None:
            matched.sort(key=_nulls_key(key, nulls_first))
    headers: list[tuple[str, str]] = []
    if count_total and org.switches.total_row_count_header:
        headers.append((org.switches.total_row_count_header, str(len(matched))))
    return Response.json(200, [org.view(collection, r) for r in matched[first:end]], headers)


def _sortings(request: Request) -> list[tuple[str, bool, bool | None]]:
    """``sortings[N].key`` / ``sortings[N].value``: (field, descending, nulls first)."""
    found: dict[str, dict[str, str]] = {}
    for key, values in request.query.items():
        match = re.fullmatch(r"sortings\[(\d+)\]\.(key|value)", key, re.IGNORECASE)
        if match:
            found.setdefault(match.group(1), {})[match.group(2).lower()] = values[0]
    out: list[tuple[str, bool, bool | None]] = []
    for position in sorted(found, key=int):
        item = found[position]
        name = item.get("key")
        direction = (item.get("value") or "Asc").lower()
        if not name:
            raise invalid("A sorting needs a key.", "sortings", "UriParameter")
        if direction not in _DIRECTIONS:
            raise invalid(f"Unknown sort direction '{direction}'.", "sortings", "UriParameter")
        nulls: bool | None = None
        if direction.endswith("nullsfirst"):
            nulls = True
        elif direction.endswith("nullslast"):
            nulls = False
        out.append((name, direction.startswith("desc"), nulls))
    return out


def _value_key(name: str) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        return _sort_key(record.get(name))

    return key


def _nulls_key(name: str, nulls_first: bool) -> Callable[[Record], bool]:
    def key(record: Record) -> bool:
        return (record.get(name) is None) != nulls_first

    return key


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value))
    if isinstance(value, dict):
        return (2, str(value.get("name") or value.get("guid") or ""))
    return (2, str(value).lower())
