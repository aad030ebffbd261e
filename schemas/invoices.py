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
  they cannot move a day; the terms of payment (below); the receiver address
  snapshot's first line → ``InvoiceAddress1``, the other lines joined →
  ``InvoiceAddress2`` (as R-5.1 does for customers). Postal code, city and
  country are read-only on drafts: they come from the eEkonomi customer (§6.7).
* **Text**: drafts have no header text, so ``notes`` becomes a text row before the
  article rows and ``freeText1``/``freeText2`` text rows after them (R-5.4); a text
  longer than eEkonomi's 2 000 characters is split over several rows, never cut.
* **Terms of payment**: Severa's payment term in days picks eEkonomi terms with that
  many days (:func:`draft_terms_of_payment_id`), else none is sent and the customer's
  terms apply — the due date is sent explicitly anyway, so it cannot move.
* **Rows** (article, projects, rounding, unit): :mod:`schemas.invoice_rows`.
* **Totals** (Decimal only): excl. VAT must agree to the öre; incl. VAT is compared
  before eEkonomi's rounding to whole kronor (``TotalRoundings``) and may differ by
  half an öre per row, since Severa rounds VAT per row and eEkonomi per rate. When they
  differ, the warning names each row whose VAT rate differs from its Severa row's
  (:func:`vat_differences`): the article's coding decides VAT in eEkonomi (R-5.4).
* **Paid** (R-1.7): ``PaymentStatus`` 0 or ``RemainingAmount`` exactly 0 — never
  ``PaymentDate`` (set by partial payments too), never a sign test (credit invoices
  have negative remaining amounts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypedDict

from marshmallow import ValidationError, fields, post_load, pre_load

from schemas.base import (
    EEkonomiSchema,
    SeveraSchema,
    clean_text,
    limits,
    mapping_error,
    max_length,
    raise_if_invalid,
    required_messages,
    severa_amount,
    shared,
    to_decimal,
)
from schemas.customers import choose_terms_of_payment
from schemas.invoice_rows import DraftLine, EEkonomiDraftRow, draft_line_payload, row_codes

__all__ = [
    "MARKER_FIELD",
    "InvoiceRecord",
    "TotalsCheck",
    "booked_changes",
    "booked_totals",
    "check_totals",
    "vat_differences",
    "draft_terms_of_payment_id",
    "eekonomi_date",
    "invoice_label",
    "is_delivered",
    "is_paid",
    "marker_for",
    "record_to_eekonomi_draft",
    "severa_guid_of",
    "severa_invoice_to_record",
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
        excl, incl = (
            severa_amount(data["total_excluding_tax"]),
            severa_amount(data["total_including_tax"]),
        )
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


def severa_invoice_to_record(payload: Mapping[str, Any]) -> InvoiceRecord:
    """Severa invoice → record. Raises :class:`~schemas.base.MappingError`."""
    try:
        data: InvoiceRecord = shared(SeveraInvoice).load(payload)
    except ValidationError as error:
        raise mapping_error(invoice_label(payload), error) from error
    return data


def draft_terms_of_payment_id(
    days: int | None, terms_of_payment: Sequence[Mapping[str, Any]]
) -> str | None:
    """R-5.4: the draft's ``TermsOfPaymentId`` — eEkonomi sales terms with the invoice's
    payment days (the rule of R-5.1, :func:`~schemas.customers.choose_terms_of_payment`),
    else ``None``: the customer's terms apply. Unlike a customer, an invoice does not fail
    for days without terms: its due date is sent explicitly, so it cannot move."""
    try:
        return choose_terms_of_payment(days, terms_of_payment, "") or None
    except ValueError:
        return None


# -- records → eEkonomi draft -----------------------------------------------------------


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


def record_to_eekonomi_draft(
    invoice: InvoiceRecord,
    lines: Iterable[DraftLine],
    *,
    customer_id: str,
    terms_of_payment: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Record + resolved rows → a CustomerInvoiceDraftApi body (POST).

    Args:
        lines: the article rows (:func:`schemas.invoice_rows.draft_lines`).
        customer_id: the eEkonomi customer (transferred first by the synchronizer).
        terms_of_payment: ``GET /termsofpayments`` items, for
            :func:`draft_terms_of_payment_id`.

    Raises:
        MappingError: a reference or address line over eEkonomi's limit, a row text
            over 2 000 characters.
    """
    label = f"invoice {invoice['guid']}"
    rows = [
        *text_rows(invoice["notes"]),
        *(draft_line_payload(line) for line in lines),
        *text_rows(invoice["free_text1"]),
        *text_rows(invoice["free_text2"]),
    ]
    schema = shared(EEkonomiDraft)
    payload: dict[str, Any] = schema.dump(
        {
            "customer_id": customer_id,
            "invoice_date": eekonomi_date(invoice["invoice_date"]),
            "due_date": eekonomi_date(invoice["due_date"]),
            "terms_of_payment_id": draft_terms_of_payment_id(
                invoice["payment_term_days"], terms_of_payment
            ),
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
    raise_if_invalid(limits(EEkonomiDraft), payload, label)
    for index, row in enumerate(payload["Rows"]):
        if not row.get("IsTextRow"):
            raise_if_invalid(limits(EEkonomiDraftRow), row, f"{label} row {index + 1}")
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

    def describe(self, booked_number: Any = None) -> str:
        """The warning a person reads: about the draft, or about the invoice booked from
        it (``booked_number``), which can no longer be corrected, only credited."""
        if booked_number is None:
            return (
                f"totals differ: Severa {self.severa_excluding} excl. VAT / "
                f"{self.severa_including} incl. VAT, eEkonomi draft {self.eekonomi_excluding} "
                f"excl. VAT / {self.eekonomi_including} incl. VAT (before rounding to whole "
                "units); the draft was kept: correct it in eEkonomi before sending it"
            )
        return (
            f"totals differ: Severa {self.severa_excluding} excl. VAT / "
            f"{self.severa_including} incl. VAT, booked eEkonomi invoice {booked_number} "
            f"{self.eekonomi_excluding} excl. VAT / {self.eekonomi_including} incl. VAT "
            "(before rounding to whole units); a booked invoice cannot be changed: credit "
            "it in eEkonomi if the difference matters"
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


def _percent(value: Any) -> Decimal | None:
    """A row's VAT rate in percent; eEkonomi answers fractions (0.25) on draft rows."""
    rate = to_decimal(value)
    if rate is None:
        return None
    return (rate * 100).normalize() if 0 < rate <= 1 else rate.normalize()


def vat_differences(
    severa_rows: Sequence[Mapping[str, Any]], document_rows: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Each Severa row whose eEkonomi rows (same text, in order) carry another VAT rate:
    ``row 2 'Milersättning' (MIL): Severa 0 %, eEkonomi 25 %``. A row split per
    project has several eEkonomi rows of its text; each is compared."""
    by_text: dict[str, list[Decimal | None]] = {}
    for row in document_rows:
        if not row.get("IsTextRow"):
            rate = row.get("VatRate", row.get("PercentVat"))
            by_text.setdefault(clean_text(row.get("Text")) or "", []).append(_percent(rate))
    found = []
    for position, row in enumerate(severa_rows, start=1):
        wanted = _percent(row.get("vatRate"))
        text = clean_text(row.get("description")) or ""
        theirs = {rate for rate in by_text.get(text, []) if rate is not None}
        if wanted is None or not theirs or theirs == {wanted}:
            continue
        code = ", ".join(row_codes(row.get("code")))
        shown = ", ".join(f"{rate} %" for rate in sorted(theirs))
        found.append(
            f"row {position} '{text}'{f' ({code})' if code else ''}: "
            f"Severa {wanted} %, eEkonomi {shown}"
        )
    return found


def booked_totals(booked: Mapping[str, Any]) -> dict[str, Any]:
    """A booked invoice's totals in the invoice currency, shaped as a draft's (what
    :func:`check_totals` reads): on booked invoices ``TotalAmount`` and
    ``TotalRoundings`` are in the company currency (eaccounting-notes §6.8)."""
    rate = to_decimal(booked.get("CurrencyRate")) or Decimal(1)
    roundings = to_decimal(booked.get("TotalRoundings")) or Decimal(0)
    total = booked.get("TotalAmountInvoiceCurrency")
    vat = booked.get("TotalVatAmountInvoiceCurrency")
    return {
        "TotalAmount": booked.get("TotalAmount") if total is None else total,
        "TotalVatAmount": booked.get("TotalVatAmount") if vat is None else vat,
        "TotalRoundings": roundings / rate if rate not in (0, 1) else roundings,
        "Rows": booked.get("Rows") or [],
    }


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
