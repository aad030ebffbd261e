"""``SeveraClient``: Visma Severa REST API v1, with methods named after its resources.

Records go in and out in Severa's own camelCase wire format; mapping to eEkonomi is
the schemas' job. Lists are generators over all records (:mod:`worker.clients.paging`);
each resource uses the paging style and filters the API document gives it
(severa-notes §4): token paging for customers, products, projects, invoices, invoice
rows and project fees; offset paging for addresses, contacts, work types, travel-expense
types, currencies and invoice statuses; VAT rates unpaged. ``changed_since`` is offered
only where Severa has ``changedSince``.

Updates are JSON Patch and Severa answers them with an array; creates answer one object
(201), except ``POST /v1/invoices`` and ``POST /v1/projectfees``, which answer arrays.
Patches are sent exactly as the API document types ``PatchOperation``: ``op`` from its
enum (``Replace``) and ``value`` as a string. Working clients send ``replace`` and typed
values, and Severa seems to accept both (severa-notes §7.8), but only the documented form
is a contract we can hold Visma to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import requests

from schemas.sides import Side
from worker.clients.http import (
    AmbiguousWriteError,
    ApiTransientError,
    NotFoundError,
    Unreadable,
    malformed,
)
from worker.clients.paging import (
    MAX_PAGES,
    Listing,
    Record,
    severa_offset_pages,
    severa_token_pages,
    severa_unpaged,
)
from worker.clients.transport import ApiTransport, Limiter, RefreshableAuth

#: "Default 20, maximum 100" (the API document); the sandbox clamps to it as well.
ROW_COUNT = 100


def severa_time(moment: datetime) -> str:
    """``changedSince`` value: ISO-8601 with an explicit offset, as the document's example."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def patch_value(value: Any) -> str | None:
    """A value as ``PatchOperation.value`` types it: a string (or ``null``).

    Severa parses the string into the field's type (``"14"`` for an integer, ``"true"``
    for a boolean), so the wire text must be what JSON would say, not Python's ``str``
    (``True`` → ``"true"``, ``Decimal("12.50")`` → ``"12.50"``).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} as a Severa patch value")


def _flatten(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            yield from _flatten(f"{path.rstrip('/')}/{name}", inner)
    else:
        yield path, value


def replace_ops(changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """JSON Patch ``Replace`` operations for ``{"/path": value}``.

    A sub-model value is split into one operation per field (``{"/owner": {"guid": g}}``
    → ``/owner/guid``), because ``value`` is a string and cannot carry an object.
    """
    return [
        {"op": "Replace", "path": path, "value": patch_value(value)}
        for top, nested in changes.items()
        for path, value in _flatten(top, nested)
    ]


class SeveraClient:
    """One Severa organization for one connection; see the module docstring."""

    def __init__(
        self,
        *,
        base_url: str,
        session: requests.Session,
        auth: RefreshableAuth | None,
        timeout: float,
        connection_id: str,
        limiter: Limiter | None = None,
        row_count: int = ROW_COUNT,
    ) -> None:
        self.transport = ApiTransport(
            api=Side.SEVERA,
            base_url=base_url,
            session=session,
            auth=auth,
            timeout=timeout,
            connection_id=connection_id,
            limiter=limiter,
            bucket_of=lambda path: "client",  # Severa counts per client, not per endpoint
        )
        self.row_count = row_count
        #: The page ceiling of every list (:data:`~worker.clients.paging.MAX_PAGES`).
        self.max_pages = MAX_PAGES

    # -- helpers -----------------------------------------------------------------------

    def _token(self, path: str, **params: Any) -> Listing:
        return severa_token_pages(
            self.transport, path, _params(params), self.row_count, self.max_pages
        )

    def _offset(self, path: str, **params: Any) -> Listing:
        return severa_offset_pages(
            self.transport, path, _params(params), self.row_count, self.max_pages
        )

    def _get(self, path: str) -> Record:
        body = self.transport.get_json(path)
        if not isinstance(body, dict):
            raise malformed(Unreadable.NOT_OBJECT, api=Side.SEVERA, method="GET", path=path)
        return body

    def _find(self, path: str) -> Record | None:
        try:
            return self._get(path)
        except NotFoundError:
            return None

    def _post(self, path: str, body: Mapping[str, Any]) -> Record:
        response = self.transport.request("POST", path, json_body=dict(body))
        try:
            return _single(self.transport.json_of(response, path), "POST", path)
        except ApiTransientError as exc:
            # Severa said 2xx, so the record exists; repeating the POST would duplicate it.
            raise AmbiguousWriteError(
                f"Severa accepted the write but its answer could not be read ({exc.reason}): "
                "look the record up before creating it again",
                api=Side.SEVERA, method="POST", path=path, status=response.status_code,
            ) from None  # fmt: skip

    def _patch(self, path: str, changes: Mapping[str, Any]) -> Record:
        response = self.transport.request("PATCH", path, json_body=replace_ops(changes))
        return _single(self.transport.json_of(response, path), "PATCH", path)

    # -- customers (R-1.1) ---------------------------------------------------------------

    def list_customers(
        self,
        *,
        changed_since: datetime | None = None,
        is_active: bool | None = None,
        numbers: Iterable[int] = (),
        customer_names: Iterable[str] = (),
    ) -> Listing:
        return self._token(
            "/v1/customers",
            changedSince=changed_since,
            isActive=is_active,
            numbers=list(numbers),
            customerNames=list(customer_names),
        )

    def get_customer(self, guid: str) -> Record | None:
        return self._find(f"/v1/customers/{guid}")

    def create_customer(self, customer: Mapping[str, Any]) -> Record:
        return self._post("/v1/customers", customer)

    def update_customer(self, guid: str, changes: Mapping[str, Any]) -> Record:
        return self._patch(f"/v1/customers/{guid}", changes)

    def list_customer_addresses(self, customer_guid: str) -> Listing:
        return self._offset(f"/v1/customers/{customer_guid}/addresses")

    def list_addresses(self, *, changed_since: datetime | None = None) -> Listing:
        return self._offset("/v1/addresses", changedSince=changed_since)

    def create_customer_address(self, customer_guid: str, address: Mapping[str, Any]) -> Record:
        return self._post(f"/v1/customers/{customer_guid}/addresses", address)

    def update_address(self, guid: str, changes: Mapping[str, Any]) -> Record:
        return self._patch(f"/v1/addresses/{guid}", changes)

    def list_customer_contact_persons(self, customer_guid: str) -> Listing:
        return self._offset(f"/v1/customers/{customer_guid}/contactpersons")

    def list_contact_persons(self, *, changed_since: datetime | None = None) -> Listing:
        return self._offset("/v1/contactpersons", changedSince=changed_since)

    def create_contact_person(self, contact: Mapping[str, Any]) -> Record:
        return self._post("/v1/contactpersons", contact)

    def update_contact_person(self, guid: str, changes: Mapping[str, Any]) -> Record:
        return self._patch(f"/v1/contactpersons/{guid}", changes)

    def list_contact_communications(self, *, changed_since: datetime | None = None) -> Listing:
        return self._offset("/v1/contactcommunications", changedSince=changed_since)

    def create_contact_communication(self, communication: Mapping[str, Any]) -> Record:
        return self._post("/v1/contactcommunications", communication)

    # -- products, work types, travel-expense types (R-1.2) ---------------------------

    def list_products(
        self,
        *,
        changed_since: datetime | None = None,
        code: str | None = None,
        is_active: bool | None = None,
    ) -> Listing:
        return self._token(
            "/v1/products", changedSince=changed_since, code=code, isActive=is_active
        )

    def get_product(self, guid: str) -> Record | None:
        return self._find(f"/v1/products/{guid}")

    def create_product(self, product: Mapping[str, Any]) -> Record:
        return self._post("/v1/products", product)

    def update_product(self, guid: str, changes: Mapping[str, Any]) -> Record:
        return self._patch(f"/v1/products/{guid}", changes)

    def list_work_types(
        self,
        *,
        changed_since: datetime | None = None,
        code: str | None = None,
        active: bool | None = None,
    ) -> Listing:
        return self._offset("/v1/worktypes", changedSince=changed_since, code=code, active=active)

    def get_work_type(self, guid: str) -> Record | None:
        return self._find(f"/v1/worktypes/{guid}")

    def create_work_type(self, work_type: Mapping[str, Any]) -> Record:
        return self._post("/v1/worktypes", work_type)

    def update_work_type(self, guid: str, changes: Mapping[str, Any]) -> Record:
        return self._patch(f"/v1/worktypes/{guid}", changes)

    def list_travel_expense_types(
        self, *, code: str | None = None, active: bool | None = None
    ) -> Listing:
        """No ``changedSince`` exists here: every run reads the (short) full list."""
        return self._offset("/v1/travelexpensetypes", code=code, active=active)

    def get_travel_expense_type(self, guid: str) -> Record | None:
        return self._find(f"/v1/travelexpensetypes/{guid}")

    def update_travel_expense_type(self, guid: str, changes: Mapping[str, Any]) -> Record:
        return self._patch(f"/v1/travelexpensetypes/{guid}", changes)

    # -- reference data ----------------------------------------------------------------

    def list_vat_rates(self, *, active: bool | None = None) -> Listing:
        return severa_unpaged(self.transport, "/v1/vatrates", _params({"active": active}))

    def list_currencies(self) -> Listing:
        return self._offset("/v1/currencies")

    def list_invoice_statuses(self) -> Listing:
        return self._offset("/v1/invoicestatuses")

    def get_organization_settings(self) -> Record:
        return self._get("/v1/organizationsettings")

    # -- projects (R-1.3) ----------------------------------------------------------------

    def list_projects(
        self,
        *,
        changed_since: datetime | None = None,
        numbers: Iterable[int] = (),
        is_closed: bool | None = None,
        customer_guids: Iterable[str] = (),
    ) -> Listing:
        return self._token(
            "/v1/projects",
            changedSince=changed_since,
            numbers=list(numbers),
            isClosed=is_closed,
            customerGuids=list(customer_guids),
        )

    def get_project(self, guid: str) -> Record | None:
        return self._find(f"/v1/projects/{guid}")

    def list_project_fees(self, *, changed_since: datetime | None = None) -> Listing:
        return self._token("/v1/projectfees", changedSince=changed_since)

    def create_project_fee(self, fee: Mapping[str, Any]) -> Record:
        return self._post("/v1/projectfees", fee)

    def get_project_fee(self, guid: str) -> Record | None:
        return self._find(f"/v1/projectfees/{guid}")

    def update_project_fee(self, guid: str, changes: Mapping[str, Any]) -> Record:
        """E.g. ``{"/unitCost/amount": 8500}``; Severa refuses it once the fee is invoiced."""
        return self._patch(f"/v1/projectfees/{guid}", changes)

    # -- invoices (R-1.4, R-1.6, R-1.7) --------------------------------------------------

    def list_invoices(
        self,
        *,
        changed_since: datetime | None = None,
        invoice_status_guids: Iterable[str] = (),
        numbers: Iterable[int] = (),
    ) -> Listing:
        return self._token(
            "/v1/invoices",
            changedSince=changed_since,
            invoiceStatusGuids=list(invoice_status_guids),
            numbers=list(numbers),
        )

    def get_invoice(self, guid: str) -> Record | None:
        return self._find(f"/v1/invoices/{guid}")

    def update_invoice(self, guid: str, changes: Mapping[str, Any]) -> Record:
        """E.g. ``{"/status/guid": status_guid}`` to move the invoice to another status."""
        return self._patch(f"/v1/invoices/{guid}", changes)

    def list_invoice_rows(self, invoice_guid: str) -> Listing:
        return self._token(f"/v1/invoices/{invoice_guid}/invoicerows")

    def list_invoice_row_project_fees(self, row_guid: str) -> Listing:
        return self._token(f"/v1/invoicerows/{row_guid}/projectfees")

    def list_invoice_row_work_hours(self, row_guid: str) -> Listing:
        return self._token(f"/v1/invoicerows/{row_guid}/workhours")

    def list_invoice_row_travel_expenses(self, row_guid: str) -> Listing:
        return self._token(f"/v1/invoicerows/{row_guid}/projecttravelexpenses")


def _params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop unset filters; format dates; booleans as ``true``/``false``; lists repeat."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or value == []:
            continue
        if isinstance(value, datetime):
            out[name] = severa_time(value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = value
    return out


def _single(body: Any, method: str, path: str) -> Record:
    """PATCH (and ``POST /v1/invoices``, ``/v1/projectfees``) answer arrays; other writes
    answer one object."""
    if isinstance(body, list):
        if len(body) != 1 or not isinstance(body[0], dict):
            raise malformed(
                Unreadable.NOT_OBJECT, api=Side.SEVERA, method=method, path=path,
                detail=f"{len(body)} items where one record was expected",
            )  # fmt: skip
        return body[0]
    if not isinstance(body, dict):
        raise malformed(Unreadable.NOT_OBJECT, api=Side.SEVERA, method=method, path=path)
    return body
