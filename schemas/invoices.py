"""Invoices (R-5.4, R-1.6–R-1.8): Severa invoice + rows → eEkonomi customer-invoice draft,
and the booked eEkonomi invoice's number, OCR, sent and paid state back to Severa.

One way for the invoice itself (R-1.4); only the facts eEkonomi creates when it books
and collects (number, OCR, sent, paid) flow back. Decisions on what the spec leaves open:

* **Marker** (exactly once, R-6.1): the draft's ``SubscriptionNumber`` carries
  ``severa:<invoice guid>``. No other mapping uses that field (our/your reference are
  R-5.4 fields; ``ContractNumber`` is printed on many invoice layouts; Severa's
  ``orderNumber`` is the natural ``BuyersOrderReference``). It lets the sync find a
  draft it created but did not get to link (a crash, a lost answer), and find the
  booked invoice when ``CreatedFromDraftId`` is not filled (eaccounting-notes §6.8).
* **Header**: the billing customer (else the customer); invoice and due dates as
  calendar dates, sent as midnight UTC — never converted through a time zone, so
  they cannot move a day; Severa's payment term in days picks eEkonomi terms with that
  many days, else the customer's terms apply (the due date is sent explicitly anyway);
  the receiver address snapshot's first line → ``InvoiceAddress1``, the other lines
  joined → ``InvoiceAddress2`` (as R-5.1 does for customers). Postal code, city and
  country are read-only on drafts: they come from the eEkonomi customer (§6.7).
* **Text**: drafts have no header text, so ``notes`` becomes a text row before the
  article rows and ``freeText1``/``freeText2`` text rows after them (R-5.4); a text
  longer than eEkonomi's 2 000 characters is split over several rows, never cut.
* **Rows**: the article is the first of the row's codes (grouped rows carry their
  product / work-type codes, R-1.8) that is an eEkonomi article, else the default
  article (R-3.4). VAT follows the article, whatever the Severa row said (R-5.4).
  Prices are rounded half-up to the decimals eEkonomi keeps (2, or 4 for a foreign
  currency), quantities to 2; any difference that makes shows in the totals check.
* **Projects** (R-5.4): a row's cost-center item is the invoice's project; when the
  invoice spans several projects, the row's source items decide — a row whose items
  belong to several projects is split into one draft row per project (same price,
  each project's quantity) when the items' quantities add up to the row's, else it
  goes to the project with the largest quantity.
* **Totals** (Decimal only): excl. VAT must agree to the öre; incl. VAT is compared
  before eEkonomi's rounding to whole kronor (``TotalRoundings``) and may differ by
  half an öre per row, since Severa rounds VAT per row and eEkonomi per rate.
* **Paid** (R-1.7): ``PaymentStatus`` 0 or ``RemainingAmount`` exactly 0 — never
  ``PaymentDate`` (set by partial payments too), never a sign test (credit invoices
  have negative remaining amounts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypedDict

from marshmallow import ValidationError, fields, post_load, pre_load

from schemas.base import (
    EEkonomiSchema,
    SeveraSchema,
    clean_text,
    json_number,
    mapping_error,
    max_length,
    raise_if_invalid,
    required_messages,
    shared,
    to_decimal,
)

__all__ = [
    "MARKER_FIELD",
    "DraftLine",
    "InvoiceRecord",
    "InvoiceRowRecord",
    "TotalsCheck",
    "booked_changes",
    "check_totals",
    "eekonomi_date",
    "invoice_label",
    "is_delivered",
    "is_paid",
    "marker_for",
    "quantities_by_project",
    "record_to_eekonomi_draft",
    "round_price",
    "round_quantity",
    "row_codes",
    "severa_guid_of",
    "severa_invoice_row_to_record",
    "severa_invoice_to_record",
    "source_item_code",
    "text_rows",
]

#: The draft field that carries the Severa invoice's identity (see the module docstring).
MARKER_FIELD = "SubscriptionNumber"
MARKER_PREFIX = "severa:"
TEXT_ROW_MAX = 2000
CENT = Decimal("0.01")
#: eEkonomi's PaymentStatus values (eaccounting-notes §6.8).
PAID = 0


def marker_for(severa_guid: str) -> str:
    """The marker a draft carries: ``severa:<guid>`` (43 characters; the field holds 100)."""
    return MARKER_PREFIX + severa_guid


def severa_guid_of(marker: Any) -> str | None:
    """The Severa invoice guid a marker names, or ``None`` for any other value."""
    text = clean_text(marker)
    if text is None or not text.startswith(MARKER_PREFIX):
        return None
    return text.removeprefix(MARKER_PREFIX) or None


def invoice_label(payload: Mapping[str, Any]) -> str:
    """How a person finds the invoice in Severa: ``invoice 10012 of 2025-03-03 to
    customer 1001 'Nordisk Byggkonsult AB'`` (invoices to transfer have no number yet)."""
    number = payload.get("number")
    customer = payload.get("billingCustomer") or payload.get("customer") or {}
    shown = f"invoice {number}" if number not in (None, "") else "invoice (no number yet)"
    return (
        f"{shown} of {payload.get('date') or '(no date)'} to customer "
        f"{customer.get('number', '(no number)')} '{customer.get('name') or ''}'"
    )


# -- Severa → records ---------------------------------------------------------------------


class InvoiceRecord(TypedDict):
    """A Severa invoice's header as R-5.4 maps it."""

    guid: str
    customer_number: str
    customer_name: str
    is_credit: bool
    currency_code: str | None
    invoice_date: date
    due_date: date | None
    payment_term_days: int | None
    our_reference: str | None
    your_reference: str | None
    address_line1: str | None
    address_line2: str | None
    notes: str | None
    free_text1: str | None
    free_text2: str | None
    total_excluding_tax: Decimal
    total_including_tax: Decimal
    #: Severa project guid → project number, for the rows' source items.
    project_numbers: dict[str, str]


class InvoiceRowRecord(TypedDict):
    """One Severa invoice row (R-5.4)."""

    guid: str
    row_type: str
    codes: list[str]
    description: str | None
    quantity: Decimal
    unit: str | None
    unit_price: Decimal


def _amount(value: Any) -> Decimal | None:
    """Severa's ``Money`` is ``{amount, currencyCode}``; a bare number is accepted too."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    return to_decimal(value)


def _free_text(value: Any) -> str | None:
    """``freeText1``/``freeText2`` are ``{value, text, plainText, ...}``: the plain text
    is what a reader sees (tags removed), else the raw value."""
    if isinstance(value, Mapping):
        return clean_text(value.get("plainText")) or clean_text(value.get("value"))
    return clean_text(value)


class SeveraInvoice(SeveraSchema):
    """InvoiceOutputModel → :class:`InvoiceRecord` (load only)."""

    guid = fields.String(required=True)
    customer = fields.Dict(
        required=True,
        error_messages=required_messages("the invoice has no customer; set one in Severa"),
    )
    is_credit = fields.Boolean(data_key="isCreditNote", load_default=False, allow_none=True)
    currency = fields.Dict(load_default=None, allow_none=True)
    invoice_date = fields.Date(
        data_key="date",
        required=True,
        error_messages=required_messages("the invoice has no date; set it in Severa"),
    )
    due_date = fields.Date(data_key="dueDate", load_default=None, allow_none=True)
    payment_term_days = fields.Integer(data_key="paymentTerm", load_default=None, allow_none=True)
    our_reference = fields.String(data_key="ourReference", load_default=None, allow_none=True)
    your_reference = fields.String(data_key="yourReference", load_default=None, allow_none=True)
    receiver_address = fields.Dict(data_key="receiverAddress", load_default=None, allow_none=True)
    notes = fields.String(load_default=None, allow_none=True)
    free_text1 = fields.Raw(data_key="freeText1", load_default=None, allow_none=True)
    free_text2 = fields.Raw(data_key="freeText2", load_default=None, allow_none=True)
    total_excluding_tax = fields.Raw(data_key="totalExcludingTax", load_default=None)
    total_including_tax = fields.Raw(data_key="totalIncludingTax", load_default=None)
    projects = fields.List(fields.Dict(), load_default=list, allow_none=True)

    @pre_load
    def billing_customer_first(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """The billing customer is who receives the invoice; the customer is the fallback."""
        billing = data.get("billingCustomer")
        if isinstance(billing, Mapping) and billing.get("number") is not None:
            return {**data, "customer": billing}
        return data

    @post_load
    def to_record(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        customer = data["customer"]
        if customer.get("number") in (None, ""):
            raise ValidationError("the invoice's customer has no number", "customer")
        lines = [
            line.strip()
            for line in str((data["receiver_address"] or {}).get("addressline") or "").splitlines()
            if line.strip()
        ]
        excl, incl = _amount(data["total_excluding_tax"]), _amount(data["total_including_tax"])
        if excl is None or incl is None:
            raise ValidationError("the invoice has no totals", "totalExcludingTax")
        return {
            "guid": data["guid"],
            "customer_number": str(customer["number"]),
            "customer_name": str(customer.get("name") or ""),
            "is_credit": bool(data["is_credit"]),
            "currency_code": (data["currency"] or {}).get("code"),
            "invoice_date": data["invoice_date"],
            "due_date": data["due_date"],
            "payment_term_days": data["payment_term_days"],
            "our_reference": clean_text(data["our_reference"]),
            "your_reference": clean_text(data["your_reference"]),
            "address_line1": lines[0] if lines else None,
            "address_line2": ", ".join(lines[1:]) or None,
            "notes": clean_text(data["notes"]),
            "free_text1": _free_text(data["free_text1"]),
            "free_text2": _free_text(data["free_text2"]),
            "total_excluding_tax": excl,
            "total_including_tax": incl,
            "project_numbers": {
                str(p["guid"]): str(p["number"])
                for p in data["projects"] or []
                if p.get("guid") and p.get("number") is not None
            },
        }


class SeveraInvoiceRow(SeveraSchema):
    """InvoiceRowOutputModel → :class:`InvoiceRowRecord` (load only)."""

    guid = fields.String(required=True)
    row_type = fields.String(data_key="rowType", load_default="", allow_none=True)
    codes = fields.Raw(data_key="code", load_default=None, allow_none=True)
    description = fields.String(load_default=None, allow_none=True)
    quantity = fields.Raw(load_default=None, allow_none=True)
    unit = fields.String(data_key="measurementUnit", load_default=None, allow_none=True)
    unit_price = fields.Raw(data_key="unitPrice", load_default=None, allow_none=True)

    @post_load
    def to_record(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {
            "guid": data["guid"],
            "row_type": data["row_type"] or "",
            "codes": row_codes(data["codes"]),
            "description": clean_text(data["description"]),
            "quantity": to_decimal(data["quantity"]) or Decimal(0),
            "unit": clean_text(data["unit"]),
            "unit_price": _amount(data["unit_price"]) or Decimal(0),
        }


def severa_invoice_to_record(payload: Mapping[str, Any]) -> InvoiceRecord:
    """Severa invoice → record. Raises :class:`~schemas.base.MappingError`."""
    try:
        data: InvoiceRecord = shared(SeveraInvoice).load(payload)
    except ValidationError as error:
        raise mapping_error(invoice_label(payload), error) from error
    return data


def severa_invoice_row_to_record(payload: Mapping[str, Any]) -> InvoiceRowRecord:
    try:
        data: InvoiceRowRecord = shared(SeveraInvoiceRow).load(payload)
    except ValidationError as error:
        raise mapping_error(f"invoice row {payload.get('guid')}", error) from error
    return data


def row_codes(value: Any) -> list[str]:
    """A row's codes, distinct and in order (R-1.8: ``code`` is an array on grouped rows;
    a single string is accepted as one code)."""
    items = [value] if isinstance(value, str) else list(value or [])
    found: list[str] = []
    for item in items:
        text = clean_text(item)
        if text is not None and text not in found:
            found.append(text)
    return found


def source_item_code(item: Mapping[str, Any]) -> str | None:
    """The product / work-type / travel-expense-type code of a row's source item (R-1.8)."""
    for owner in ("product", "workType", "travelExpense"):
        sub = item.get(owner)
        if isinstance(sub, Mapping) and clean_text(sub.get("code")):
            return clean_text(sub.get("code"))
    return None


def quantities_by_project(
    row: InvoiceRowRecord,
    items: Sequence[Mapping[str, Any]],
    project_numbers: Mapping[str, str],
) -> list[tuple[str, Decimal]]:
    """R-5.4 for an invoice spanning projects: ``[(project number, quantity)]`` of a row.

    Items are grouped by project (``project.number``, else the invoice's own list by
    guid). One project → the whole row. Several → split by each project's quantity when
    they add up to the row's quantity, else the whole row to the largest one (a person
    edited the row's quantity after grouping; splitting then would invent numbers).
    """
    totals: dict[str, Decimal] = {}
    for item in items:
        project = item.get("project") or {}
        number = project.get("number")
        if number is None:
            number = project_numbers.get(str(project.get("guid") or ""))
        if number is None:
            continue
        quantity = item.get("invoiceQuantity")
        if quantity is None:
            quantity = item.get("quantity")
        totals[str(number)] = totals.get(str(number), Decimal(0)) + (
            to_decimal(quantity) or Decimal(0)
        )
    if not totals:
        return []
    if len(totals) == 1 or sum(totals.values(), Decimal(0)) != row["quantity"]:
        largest = max(totals, key=lambda n: (abs(totals[n]), n))
        return [(largest, row["quantity"])]
    return sorted(totals.items())


# -- records → eEkonomi draft -----------------------------------------------------------


def round_price(price: Decimal, *, foreign: bool) -> Decimal:
    """eEkonomi keeps 2 decimals on a domestic price, 4 on a foreign one (§6.7)."""
    places = Decimal("0.0001") if foreign else CENT
    return price.quantize(places, rounding=ROUND_HALF_UP)


def round_quantity(quantity: Decimal) -> Decimal:
    return quantity.quantize(CENT, rounding=ROUND_HALF_UP)


def eekonomi_date(day: date | None) -> str | None:
    """A calendar date as eEkonomi's date-time: midnight UTC. Swedish time is ahead of
    UTC, so the day eEkonomi shows is the same day, whatever its time zone."""
    return f"{day.isoformat()}T00:00:00Z" if day is not None else None


def text_rows(text: str | None) -> list[dict[str, Any]]:
    """One or more text rows (``IsTextRow``) holding ``text``, 2 000 characters each."""
    if not text:
        return []
    return [
        {"IsTextRow": True, "Text": text[start : start + TEXT_ROW_MAX],
         "ReversedConstructionServicesVatFree": False}
        for start in range(0, len(text), TEXT_ROW_MAX)
    ]  # fmt: skip


@dataclass(frozen=True)
class DraftLine:
    """A row resolved against eEkonomi: article, cost-center item and its slot (1–3)."""

    article_id: str
    text: str | None
    quantity: Decimal
    unit_price: Decimal
    unit_abbreviation: str | None
    unit_name: str | None
    cost_center_slot: int | None
    cost_center_item_id: str | None


class _Amount(fields.Decimal):
    """A rounded Decimal carried as the shortest JSON number (see ``schemas.base.Money``)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else json_number(Decimal(value))


class EEkonomiDraft(EEkonomiSchema):
    """CustomerInvoiceDraftApi header fields we write (R-5.4), with eEkonomi's limits."""

    customer_id = fields.String(data_key="CustomerId", required=True)
    invoice_date = fields.String(data_key="InvoiceDate", allow_none=True)
    due_date = fields.String(data_key="DueDate", allow_none=True)
    terms_of_payment_id = fields.String(data_key="TermsOfPaymentId", allow_none=True)
    our_reference = fields.String(
        data_key="OurReference", allow_none=True, validate=max_length(100, "Severa")
    )
    your_reference = fields.String(
        data_key="YourReference", allow_none=True, validate=max_length(100, "Severa")
    )
    address_line1 = fields.String(
        data_key="InvoiceAddress1", allow_none=True, validate=max_length(50, "Severa")
    )
    address_line2 = fields.String(
        data_key="InvoiceAddress2", allow_none=True, validate=max_length(50, "Severa")
    )
    is_credit = fields.Boolean(data_key="IsCreditInvoice")
    marker = fields.String(data_key=MARKER_FIELD, validate=max_length(100, "Severa"))
    eu_third_party = fields.Boolean(data_key="EuThirdParty")
    rot_reduced_invoicing_type = fields.Integer(data_key="RotReducedInvoicingType")
    rows = fields.List(fields.Dict(), data_key="Rows")


class EEkonomiDraftRow(EEkonomiSchema):
    """CustomerInvoiceDraftRowApi of an article row."""

    article_id = fields.String(data_key="ArticleId", required=True)
    text = fields.String(data_key="Text", allow_none=True, validate=max_length(2000, "Severa"))
    quantity = _Amount(data_key="Quantity")
    unit_price = _Amount(data_key="UnitPrice")
    unit_abbreviation = fields.String(data_key="UnitAbbreviation", allow_none=True)
    unit_name = fields.String(data_key="UnitName", allow_none=True)
    is_text_row = fields.Boolean(data_key="IsTextRow")
    reversed = fields.Boolean(data_key="ReversedConstructionServicesVatFree")


def _row_payload(line: DraftLine) -> dict[str, Any]:
    row: dict[str, Any] = shared(EEkonomiDraftRow).dump(
        {
            "article_id": line.article_id,
            "text": line.text,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "unit_abbreviation": line.unit_abbreviation,
            "unit_name": line.unit_name,
            "is_text_row": False,
            "reversed": False,
        }
    )
    if line.cost_center_slot is not None:
        row[f"CostCenterItemId{line.cost_center_slot}"] = line.cost_center_item_id
    return row


def record_to_eekonomi_draft(
    invoice: InvoiceRecord,
    lines: Iterable[DraftLine],
    *,
    customer_id: str,
    terms_of_payment_id: str | None,
) -> dict[str, Any]:
    """Record + resolved rows → a CustomerInvoiceDraftApi body (POST).

    Raises:
        MappingError: a reference or address line over eEkonomi's limit, a row text
            over 2 000 characters.
    """
    label = f"invoice {invoice['guid']}"
    rows = [
        *text_rows(invoice["notes"]),
        *(_row_payload(line) for line in lines),
        *text_rows(invoice["free_text1"]),
        *text_rows(invoice["free_text2"]),
    ]
    schema = shared(EEkonomiDraft)
    payload: dict[str, Any] = schema.dump(
        {
            "customer_id": customer_id,
            "invoice_date": eekonomi_date(invoice["invoice_date"]),
            "due_date": eekonomi_date(invoice["due_date"]),
            "terms_of_payment_id": terms_of_payment_id,
            "our_reference": invoice["our_reference"],
            "your_reference": invoice["your_reference"],
            "address_line1": invoice["address_line1"],
            "address_line2": invoice["address_line2"],
            "is_credit": invoice["is_credit"],
            "marker": marker_for(invoice["guid"]),
            "eu_third_party": False,
            "rot_reduced_invoicing_type": 0,
            "rows": rows,
        }
    )
    raise_if_invalid(schema, payload, label)
    for index, row in enumerate(payload["Rows"]):
        if not row.get("IsTextRow"):
            raise_if_invalid(EEkonomiDraftRow(), row, f"{label} row {index + 1}")
    return payload


# -- totals check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TotalsCheck:
    """Severa's totals beside eEkonomi's computed ones; ``ok`` when they agree."""

    severa_excluding: Decimal
    severa_including: Decimal
    eekonomi_excluding: Decimal
    eekonomi_including: Decimal
    tolerance_including: Decimal

    @property
    def ok(self) -> bool:
        return (
            self.severa_excluding == self.eekonomi_excluding
            and abs(self.severa_including - self.eekonomi_including) <= self.tolerance_including
        )

    def describe(self) -> str:
        return (
            f"totals differ: Severa {self.severa_excluding} excl. VAT / "
            f"{self.severa_including} incl. VAT, eEkonomi draft {self.eekonomi_excluding} "
            f"excl. VAT / {self.eekonomi_including} incl. VAT (before rounding to whole "
            "units); the draft was kept: correct it in eEkonomi before sending it"
        )


def check_totals(invoice: InvoiceRecord, draft: Mapping[str, Any]) -> TotalsCheck:
    """Compare a draft's computed totals with the Severa invoice's (see module docstring).

    eEkonomi's ``TotalAmount`` includes VAT and is rounded to whole units;
    ``TotalRoundings`` is that rounding, so excl. VAT = total − VAT − roundings.
    """
    total = to_decimal(draft.get("TotalAmount")) or Decimal(0)
    vat = to_decimal(draft.get("TotalVatAmount")) or Decimal(0)
    roundings = to_decimal(draft.get("TotalRoundings")) or Decimal(0)
    article_rows = sum(1 for r in draft.get("Rows") or [] if not r.get("IsTextRow"))
    return TotalsCheck(
        severa_excluding=invoice["total_excluding_tax"].quantize(CENT),
        severa_including=invoice["total_including_tax"].quantize(CENT),
        eekonomi_excluding=(total - vat - roundings).quantize(CENT),
        eekonomi_including=(total - roundings).quantize(CENT),
        tolerance_including=Decimal("0.005") * max(article_rows, 1),
    )


# -- booked invoice → Severa (R-1.6, R-1.7) ------------------------------------------------


def is_paid(invoice: Mapping[str, Any]) -> bool:
    """R-1.7: paid in full. ``PaymentDate`` alone proves nothing (partial payments set
    it), and credit invoices carry negative remaining amounts, so only exactly zero
    remaining (or eEkonomi's own "paid" status) counts."""
    if invoice.get("PaymentStatus") == PAID:
        return True
    remaining = to_decimal(invoice.get("RemainingAmount"))
    return remaining is not None and remaining == 0


def is_delivered(invoice: Mapping[str, Any]) -> bool:
    """R-3.8 ``sent_means=delivered``: a send type is set and delivery did not fail."""
    return invoice.get("SendType") not in (None, 0) and not invoice.get("IsNotDelivered")


def _day(value: Any) -> str | None:
    """The calendar date of a vendor date-time, read from its text: no time zone math."""
    text = clean_text(value)
    return text[:10] if text else None


def booked_changes(
    severa: Mapping[str, Any],
    booked: Mapping[str, Any],
    *,
    target_status: str,
    may_move_from: Iterable[str],
    read_only: bool,
    paid: bool = False,
) -> dict[str, Any]:
    """The Severa JSON Patch (``{"/path": value}``) that records a booked invoice.

    Number and OCR first (R-1.6): a Severa status with ``hasInvoiceNumber`` would give
    the invoice Severa's next number if the status moved first. The status moves only
    from the statuses in ``may_move_from`` — never back from paid to sent, nor away
    from a status a person chose (e.g. cancelled). A read-only status (paid) accepts
    nothing but status and payment date, so number and OCR are not sent then.
    """
    changes: dict[str, Any] = {}
    current = str((severa.get("status") or {}).get("guid") or "")
    if not read_only:
        number = booked.get("InvoiceNumber")
        if number is not None and severa.get("number") != number:
            changes["/number"] = int(number)
        reference = clean_text(booked.get("PaymentReferenceNumber"))
        if reference is not None and clean_text(severa.get("referenceNumber")) != reference:
            changes["/referenceNumber"] = reference
    if current != target_status and current in set(may_move_from):
        if paid:
            day = _day(booked.get("PaymentDate"))
            if day and _day(severa.get("paymentDate")) != day:
                changes["/paymentDate"] = day
        changes["/status/guid"] = target_status
    return changes
