"""Paging, hidden behind generators: callers iterate records and never see pages.

Three styles exist (severa-notes §4, eaccounting-notes §3):

* Severa token paging — ``pageToken`` + the ``NextPageToken`` response header, absent on
  the last page.
* Severa offset paging — ``firstRow``/``rowCount`` until a short page.
* eEkonomi ``{Meta, Data}`` — ``$page`` (1-based) and ``$pagesize`` until
  ``Meta.TotalNumberOfPages``.

A misbehaving server must not make a list endless (issue 14): every style stops with a
:class:`~worker.clients.http.PaginationLoopError` when a token comes back, when a whole
page holds only records already read on the last :data:`RECENT_PAGES` pages or is an
earlier page again (a server ignoring ``firstRow``, a fresh token on every page over the
same data, ``TotalNumberOfPages`` of a million with repeated data), and after
:data:`MAX_PAGES` pages whatever they hold (:class:`PageGuard`).

:class:`Listing` wraps the generator and exposes the server's clock as seen on the first
page (``Meta.ServerTimeUtc`` for eEkonomi, the ``Date`` header for Severa): the next
incremental run's watermark must come from the server that filtered, not our clock.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from schemas.sides import Side
from worker.clients.http import PaginationLoopError, Unreadable, malformed
from worker.clients.transport import ApiTransport

Record = dict[str, Any]

#: The most pages one list may take: far above any real register (10 000 pages are a
#: million Severa records at 100 a page, 500 000 eEkonomi records at its smallest page
#: size of 50), low enough that a server whose paging never ends is stopped in minutes.
MAX_PAGES = 10_000

#: Pages whose records the guard remembers one by one. A list read whole (100 000
#: customers) must not keep a print of every record for the length of the read — that
#: was 10 MB of a read that otherwise streams — so records are remembered for the last
#: pages only, and every page as one print: a server cycling through fewer pages than
#: this, or repeating any earlier page as it was, is stopped at once; a longer cycle of
#: shifted pages at :data:`MAX_PAGES`.
RECENT_PAGES = 32

__all__ = ["MAX_PAGES", "RECENT_PAGES", "Listing", "PageGuard", "PaginationLoopError", "Record"]


class PageGuard:
    """Stops a list whose paging does not end: a page of records all read before, or
    more than ``max_pages`` pages. Records are told apart by their whole content, so a
    record that moves to the next page while the list is read (legitimate under
    concurrent changes) is no alarm; a page of nothing but such records is."""

    def __init__(self, transport: ApiTransport, path: str, max_pages: int = MAX_PAGES) -> None:
        self.transport = transport
        self.path = path
        self.max_pages = max_pages
        self.pages = 0
        #: The records' prints of the last :data:`RECENT_PAGES` pages, and how many of
        #: those pages hold each print.
        self._recent: deque[frozenset[int]] = deque()
        self._counts: dict[int, int] = {}
        #: One print per page read, of all of them.
        self._pages: set[int] = set()

    def page(self, records: list[Record]) -> None:
        """Count one page read; raise when it holds only records read on the recent
        pages, or is an earlier page again."""
        self.pages += 1
        prints = frozenset(hash(json.dumps(r, sort_keys=True, default=str)) for r in records)
        if prints and (all(p in self._counts for p in prints) or hash(prints) in self._pages):
            raise self.error(Unreadable.REPEATED_PAGE, f"page {self.pages}")
        if prints:
            self._pages.add(hash(prints))
        self._remember(prints)

    def _remember(self, prints: frozenset[int]) -> None:
        self._recent.append(prints)
        for p in prints:
            self._counts[p] = self._counts.get(p, 0) + 1
        if len(self._recent) > RECENT_PAGES:
            for p in self._recent.popleft():
                left = self._counts[p] - 1
                if left:
                    self._counts[p] = left
                else:
                    del self._counts[p]

    def next_page(self) -> None:
        """Called before asking for another page: raise once the ceiling is reached."""
        if self.pages >= self.max_pages:
            raise self.error(Unreadable.TOO_MANY_PAGES, f"{self.max_pages} pages read")

    def error(self, what: Unreadable, detail: str) -> PaginationLoopError:
        error = malformed(what, api=self.transport.api, method="GET", path=self.path, detail=detail)
        assert isinstance(error, PaginationLoopError)  # noqa: S101 - the table says so
        return error


class Listing(Iterator[Record]):
    """An iterator over all records of a list endpoint, plus what the server said about it."""

    def __init__(self, pages: Callable[[Listing], Iterator[Record]]) -> None:
        self.server_time: datetime | None = None
        self.pages_read = 0
        self._records = pages(self)

    def __iter__(self) -> Listing:
        return self

    def __next__(self) -> Record:
        return next(self._records)


def _server_date(response: requests.Response) -> datetime | None:
    header = response.headers.get("Date")
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def parse_utc(value: str) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` or offset; no offset = UTC) to aware UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _records(body: Any, transport: ApiTransport, path: str) -> list[Record]:
    if not isinstance(body, list):
        raise malformed(Unreadable.NOT_LIST, api=transport.api, method="GET", path=path)
    if not all(isinstance(record, dict) for record in body):
        raise malformed(Unreadable.NOT_RECORDS, api=transport.api, method="GET", path=path)
    return body


def severa_token_pages(
    transport: ApiTransport,
    path: str,
    params: dict[str, Any],
    row_count: int,
    max_pages: int = MAX_PAGES,
) -> Listing:
    def pages(listing: Listing) -> Iterator[Record]:
        guard = PageGuard(transport, path, max_pages)
        seen: set[str] = set()
        token: str | None = None
        while True:
            query = {**params, "rowCount": row_count}
            if token is not None:
                query["pageToken"] = token
            response = transport.request("GET", path, params=query)
            if listing.server_time is None:
                listing.server_time = _server_date(response)
            listing.pages_read += 1
            records = _records(transport.json_of(response, path), transport, path)
            guard.page(records)
            yield from records
            token = response.headers.get("NextPageToken") or None
            if token is None:
                return
            if token in seen:
                raise guard.error(Unreadable.REPEATED_TOKEN, f"page {guard.pages}")
            seen.add(token)
            guard.next_page()

    return Listing(pages)


#: Page sizes that may be a server's cap rather than the end of a list: the documented
#: default (a server ignoring ``rowCount``) and a common lower cap.
SUSPECT_PAGE_CAPS = frozenset({20, 50})


def _offset_list_ended(count: int, asked: int, largest: int) -> bool:
    """Whether an offset page of ``count`` records ends the list.

    A page shorter than asked ends it — we ask for the documented maximum, so most lists
    cost one request, and the per-customer address and contact lists stay at one request
    per customer. The exception guards against a server that clamps ``rowCount`` below
    ours (silently, as the notes propose): a short page as long as the longest page seen
    before, or of a suspect cap size, may be clamped, so the next page is read to be sure.
    """
    if count == 0:
        return True
    if count >= asked:
        return False
    return not (count == largest or (largest == 0 and count in SUSPECT_PAGE_CAPS))


def severa_offset_pages(
    transport: ApiTransport,
    path: str,
    params: dict[str, Any],
    row_count: int,
    max_pages: int = MAX_PAGES,
) -> Listing:
    def pages(listing: Listing) -> Iterator[Record]:
        guard = PageGuard(transport, path, max_pages)
        first_row = 0
        largest = 0
        while True:
            query = {**params, "firstRow": first_row, "rowCount": row_count}
            response = transport.request("GET", path, params=query)
            if listing.server_time is None:
                listing.server_time = _server_date(response)
            listing.pages_read += 1
            records = _records(transport.json_of(response, path), transport, path)
            guard.page(records)
            yield from records
            if _offset_list_ended(len(records), row_count, largest):
                return
            largest = max(largest, len(records))
            first_row += len(records)
            guard.next_page()

    return Listing(pages)


def severa_unpaged(transport: ApiTransport, path: str, params: dict[str, Any]) -> Listing:
    def pages(listing: Listing) -> Iterator[Record]:
        response = transport.request("GET", path, params=params)
        listing.server_time = _server_date(response)
        listing.pages_read = 1
        yield from _records(transport.json_of(response, path), transport, path)

    return Listing(pages)


def eekonomi_pages(
    transport: ApiTransport,
    path: str,
    params: dict[str, Any],
    page_size: int,
    max_pages: int = MAX_PAGES,
) -> Listing:
    def pages(listing: Listing) -> Iterator[Record]:
        guard = PageGuard(transport, path, max_pages)
        page = 1
        while True:
            query = {**params, "$page": page, "$pagesize": page_size}
            meta, data = _envelope(transport.get_json(path, query), transport, path)
            if listing.server_time is None and meta.get("ServerTimeUtc"):
                listing.server_time = _meta_time(meta["ServerTimeUtc"], path)
            total_pages = _meta_count(meta.get("TotalNumberOfPages"), path)
            listing.pages_read += 1
            guard.page(data)
            yield from data
            if not data or page >= total_pages:
                return
            guard.next_page()
            page += 1

    return Listing(pages)


def _envelope(body: Any, transport: ApiTransport, path: str) -> tuple[dict[str, Any], list[Record]]:
    """``(Meta, Data)`` of an eEkonomi list answer, each of the type it must have."""
    if not isinstance(body, dict) or "Data" not in body or "Meta" not in body:
        raise malformed(Unreadable.ENVELOPE, api=Side.EEKONOMI, method="GET", path=path)
    meta = body["Meta"] if body["Meta"] is not None else {}
    if not isinstance(meta, dict):
        raise _field("Meta", meta, path)
    data = _records(body["Data"] if body["Data"] is not None else [], transport, path)
    return meta, data


def _meta_count(value: Any, path: str) -> int:
    """``TotalNumberOfPages``: a whole number (missing: the first page is the last)."""
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _field("Meta.TotalNumberOfPages", value, path)
    return value


def _meta_time(value: Any, path: str) -> datetime:
    """``ServerTimeUtc``: an ISO-8601 timestamp, the next run's watermark."""
    if isinstance(value, str):
        try:
            return parse_utc(value)
        except ValueError:
            pass
    raise _field("Meta.ServerTimeUtc", value, path)


def _field(name: str, value: Any, path: str) -> Exception:
    seen = json.dumps(value, default=str)[:60]
    return malformed(
        Unreadable.FIELD, api=Side.EEKONOMI, method="GET", path=path, detail=f"{name}: {seen}"
    )
