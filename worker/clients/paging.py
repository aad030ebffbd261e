"""Paging, hidden behind generators: callers iterate records and never see pages.

Three styles exist (severa-notes §4, eaccounting-notes §3):

* Severa token paging — ``pageToken`` + the ``NextPageToken`` response header, absent on
  the last page. A token that comes back twice would loop forever, so it is an error.
* Severa offset paging — ``firstRow``/``rowCount`` until a short page.
* eEkonomi ``{Meta, Data}`` — ``$page`` (1-based) and ``$pagesize`` until
  ``Meta.TotalNumberOfPages``.

:class:`Listing` wraps the generator and exposes the server's clock as seen on the first
page (``Meta.ServerTimeUtc`` for eEkonomi, the ``Date`` header for Severa): the next
incremental run's watermark must come from the server that filtered, not our clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from worker.clients.http import ApiTransientError, MalformedResponse
from worker.clients.transport import ApiTransport

Record = dict[str, Any]


class PaginationLoopError(ApiTransientError):
    """The API handed out a page token it had already given: stop instead of looping."""


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
        raise ApiTransientError(
            "the API answered a list request with something that is not a list",
            api=transport.api, method="GET", path=path,
        )  # fmt: skip
    return body


def severa_token_pages(
    transport: ApiTransport, path: str, params: dict[str, Any], row_count: int
) -> Listing:
    def pages(listing: Listing) -> Iterator[Record]:
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
            yield from _records(transport.json_of(response, path), transport, path)
            token = response.headers.get("NextPageToken") or None
            if token is None:
                return
            if token in seen:
                raise PaginationLoopError(
                    "Severa returned a page token it had already returned",
                    api=transport.api, method="GET", path=path,
                )  # fmt: skip
            seen.add(token)

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
    transport: ApiTransport, path: str, params: dict[str, Any], row_count: int
) -> Listing:
    def pages(listing: Listing) -> Iterator[Record]:
        first_row = 0
        largest = 0
        while True:
            query = {**params, "firstRow": first_row, "rowCount": row_count}
            response = transport.request("GET", path, params=query)
            if listing.server_time is None:
                listing.server_time = _server_date(response)
            listing.pages_read += 1
            records = _records(transport.json_of(response, path), transport, path)
            yield from records
            if _offset_list_ended(len(records), row_count, largest):
                return
            largest = max(largest, len(records))
            first_row += len(records)

    return Listing(pages)


def severa_unpaged(transport: ApiTransport, path: str, params: dict[str, Any]) -> Listing:
    def pages(listing: Listing) -> Iterator[Record]:
        response = transport.request("GET", path, params=params)
        listing.server_time = _server_date(response)
        listing.pages_read = 1
        yield from _records(transport.json_of(response, path), transport, path)

    return Listing(pages)


def eekonomi_pages(
    transport: ApiTransport, path: str, params: dict[str, Any], page_size: int
) -> Listing:
    def pages(listing: Listing) -> Iterator[Record]:
        page = 1
        while True:
            query = {**params, "$page": page, "$pagesize": page_size}
            body = transport.get_json(path, query)
            if not isinstance(body, dict) or "Data" not in body or "Meta" not in body:
                raise MalformedResponse(
                    "eEkonomi answered a list request without its {Meta, Data} envelope",
                    api=transport.api, method="GET", path=path,
                )  # fmt: skip
            meta = body["Meta"] or {}
            if listing.server_time is None and meta.get("ServerTimeUtc"):
                listing.server_time = parse_utc(str(meta["ServerTimeUtc"]))
            listing.pages_read += 1
            data = body["Data"] or []
            yield from data
            total_pages = int(meta.get("TotalNumberOfPages") or 0)
            if not data or page >= total_pages:
                return
            page += 1

    return Listing(pages)
