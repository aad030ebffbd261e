"""``EEkonomiClient``: Visma eEkonomi / eAccounting API v2, methods named after its resources.

Records go in and out in eEkonomi's PascalCase wire format. Lists are generators over
the ``{Meta, Data}`` envelope; ``Listing.server_time`` is ``Meta.ServerTimeUtc``, the
watermark for the next incremental read. Change filters follow the notes' table
(eaccounting-notes §3): ``ChangedUtc`` on customers, articles and codings; ``ModifiedUtc``
on projects and supplier invoices; ``modifiedSinceUtc`` on customer invoices; none on
cost centers (their items come inside them).

The page size: the documented maximum is unconfirmed (1000 or 500). We ask for 1000 and
follow ``Meta`` whatever size the server actually uses; a server that rejects the size
outright is asked again with 500, then 50, and the accepted size is remembered.

PUT is a full replace (omitted fields become null — eaccounting-notes §7.1), so
``update_*`` methods take the complete record: callers GET, change, PUT.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests

from schemas.sides import Side
from worker.clients.http import (
    AmbiguousWriteError,
    ApiRecordError,
    MalformedResponse,
    NotFoundError,
    Unreadable,
    malformed,
)
from worker.clients.paging import MAX_PAGES, Listing, Record, eekonomi_pages
from worker.clients.transport import ApiTransport, Limiter, RefreshableAuth, endpoint_of

PAGE_SIZES = (1000, 500, 50)


def odata_literal(value: Any) -> str:
    """An OData literal: strings quoted with ``''`` escaping, date-times and GUIDs bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    return "'" + str(value).replace("'", "''") + "'"


def odata_filter(*clauses: str | None) -> str | None:
    """Join clauses with ``and``; ``None`` when there is nothing to filter."""
    present = [c for c in clauses if c]
    return " and ".join(present) if present else None


class EEkonomiClient:
    """One eEkonomi company for one connection; see the module docstring."""

    def __init__(
        self,
        *,
        base_url: str,
        session: requests.Session,
        auth: RefreshableAuth | None,
        timeout: float,
        connection_id: str,
        limiter: Limiter | None = None,
    ) -> None:
        self.transport = ApiTransport(
            api=Side.EEKONOMI,
            base_url=base_url,
            session=session,
            auth=auth,
            timeout=timeout,
            connection_id=connection_id,
            limiter=limiter,
            bucket_of=endpoint_of,  # eEkonomi counts per client *and per endpoint*
        )
        self.page_size = PAGE_SIZES[0]
        #: The page ceiling of every list (:data:`~worker.clients.paging.MAX_PAGES`).
        self.max_pages = MAX_PAGES

    # -- helpers -----------------------------------------------------------------------

    def _list(self, path: str, *, filter: str | None = None, **params: Any) -> Listing:  # noqa: A002
        query = {k: v for k, v in params.items() if v is not None}
        if filter:
            query["$filter"] = filter
        sizes = [s for s in PAGE_SIZES if s <= self.page_size]

        def pages(listing: Listing) -> Any:
            for size in sizes:
                inner = eekonomi_pages(self.transport, path, query, size, self.max_pages)
                try:
                    first = next(inner, None)
                except ApiRecordError as exc:
                    if exc.status == 400 and size != sizes[-1] and _about_paging(exc):
                        continue
                    raise
                self.page_size = size
                listing.server_time = inner.server_time
                listing.pages_read = inner.pages_read
                if first is None:
                    return
                yield first
                for record in inner:
                    listing.pages_read = inner.pages_read
                    yield record
                return

        return Listing(pages)

    def _get(self, path: str) -> Record:
        body = self.transport.get_json(path)
        if not isinstance(body, dict):
            raise malformed(Unreadable.NOT_OBJECT, api=Side.EEKONOMI, method="GET", path=path)
        return body

    def _find(self, path: str) -> Record | None:
        try:
            return self._get(path)
        except NotFoundError:
            return None

    def _write(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Record:
        response = self.transport.request(method, path, json_body=dict(body or {}))
        if not response.content:
            return {}
        try:
            result = response.json()
        except ValueError:
            result = None
        if not isinstance(result, dict):
            # The write was accepted (2xx) but its answer is unreadable: for a create the
            # caller must look the record up rather than create it again.
            error = AmbiguousWriteError if method == "POST" else MalformedResponse
            raise error(
                "eEkonomi accepted a write but answered with something that is not a record",
                api=Side.EEKONOMI, method=method, path=path, status=response.status_code,
            )  # fmt: skip
        return result

    def _first(self, path: str, filter: str) -> Record | None:  # noqa: A002
        for record in self._list(path, filter=filter):
            return record
        return None

    # -- company and reference data (R-3.0) ---------------------------------------------

    def get_company_settings(self) -> Record:
        return self._get("/companysettings")

    def list_article_account_codings(self, *, changed_since: datetime | None = None) -> Listing:
        return self._list("/articleaccountcodings", filter=_since("ChangedUtc", changed_since))

    def list_units(self) -> Listing:
        return self._list("/units")

    def list_terms_of_payments(self) -> Listing:
        return self._list("/termsofpayments")

    def list_countries(self) -> Listing:
        return self._list("/countries")

    def list_currencies(self) -> Listing:
        return self._list("/currencies")

    # -- customers (R-1.1) ---------------------------------------------------------------

    def list_customers(self, *, changed_since: datetime | None = None) -> Listing:
        return self._list("/customers", filter=_since("ChangedUtc", changed_since))

    def get_customer(self, customer_id: str) -> Record | None:
        return self._find(f"/customers/{customer_id}")

    def find_customer_by_number(self, number: str) -> Record | None:
        """The natural-key lookup made before every create (R-6.1)."""
        return self._first("/customers", f"CustomerNumber eq {odata_literal(number)}")

    def create_customer(self, customer: Mapping[str, Any]) -> Record:
        return self._write("POST", "/customers", customer)

    def update_customer(self, customer_id: str, customer: Mapping[str, Any]) -> Record:
        """Full replace: pass the whole record (GET, change, PUT)."""
        return self._write("PUT", f"/customers/{customer_id}", customer)

    # -- articles (R-1.2) ----------------------------------------------------------------

    def list_articles(self, *, changed_since: datetime | None = None) -> Listing:
        return self._list("/articles", filter=_since("ChangedUtc", changed_since))

    def get_article(self, article_id: str) -> Record | None:
        return self._find(f"/articles/{article_id}")

    def find_article_by_number(self, number: str) -> Record | None:
        return self._first("/articles", f"Number eq {odata_literal(number)}")

    def create_article(self, article: Mapping[str, Any]) -> Record:
        return self._write("POST", "/articles", article)

    def update_article(self, article_id: str, article: Mapping[str, Any]) -> Record:
        return self._write("PUT", f"/articles/{article_id}", article)

    # -- cost centers and items (R-1.3) --------------------------------------------------

    def list_cost_centers(self) -> Listing:
        """Cost centers with their ``Items`` (the only way to list items)."""
        return self._list("/costcenters")

    def get_cost_center_item(self, item_id: str) -> Record | None:
        return self._find(f"/costcenteritems/{item_id}")

    def create_cost_center_item(self, item: Mapping[str, Any]) -> Record:
        return self._write("POST", "/costcenteritems", item)

    def update_cost_center_item(self, item_id: str, item: Mapping[str, Any]) -> Record:
        return self._write("PUT", f"/costcenteritems/{item_id}", item)

    # -- projects ------------------------------------------------------------------------

    def list_projects(self, *, changed_since: datetime | None = None) -> Listing:
        return self._list("/projects", filter=_since("ModifiedUtc", changed_since))

    # -- invoice drafts and invoices (R-1.4, R-1.6, R-1.7) -------------------------------

    def list_customer_invoice_drafts(self, *, filter: str | None = None) -> Listing:  # noqa: A002
        return self._list("/customerinvoicedrafts", filter=filter)

    def get_customer_invoice_draft(self, draft_id: str) -> Record | None:
        return self._find(f"/customerinvoicedrafts/{draft_id}")

    def create_customer_invoice_draft(self, draft: Mapping[str, Any]) -> Record:
        return self._write("POST", "/customerinvoicedrafts", draft)

    def update_customer_invoice_draft(self, draft_id: str, draft: Mapping[str, Any]) -> Record:
        return self._write("PUT", f"/customerinvoicedrafts/{draft_id}", draft)

    def delete_customer_invoice_draft(self, draft_id: str) -> None:
        self.transport.request("DELETE", f"/customerinvoicedrafts/{draft_id}")

    def convert_customer_invoice_draft(self, draft_id: str) -> Record:
        """Book the draft; answers the new customer invoice (201)."""
        return self._write("POST", f"/customerinvoicedrafts/{draft_id}/convert", {})

    def list_customer_invoices(
        self,
        *,
        modified_since: datetime | None = None,
        filter: str | None = None,  # noqa: A002
    ) -> Listing:
        since = odata_literal(modified_since) if modified_since else None
        return self._list("/customerinvoices", filter=filter, modifiedSinceUtc=since)

    def get_customer_invoice(self, invoice_id: str) -> Record | None:
        return self._find(f"/customerinvoices/{invoice_id}")

    # -- supplier invoices (R-1.5) -------------------------------------------------------

    def list_supplier_invoices(self, *, modified_since: datetime | None = None) -> Listing:
        return self._list("/supplierinvoices", filter=_since("ModifiedUtc", modified_since))

    def get_supplier_invoice(self, invoice_id: str) -> Record | None:
        return self._find(f"/supplierinvoices/{invoice_id}")


def _since(field: str, moment: datetime | None) -> str | None:
    """``Field ge <moment>``: *greater or equal*, so records stamped exactly at the
    watermark are not lost (duplicates are harmless, bindings absorb them)."""
    return f"{field} ge {odata_literal(moment)}" if moment is not None else None


def _about_paging(exc: ApiRecordError) -> bool:
    text = f"{exc.vendor.message or ''} {exc.vendor.field or ''}".lower()
    return "pagesize" in text or "page size" in text or exc.vendor.code == 6000
