"""What booking a sales invoice does in eEkonomi: VAT, rounding, numbers, OCR, payments.

These are the numbers the product copies back to Severa and reconciles against, so
they follow the notes exactly: VAT per rate rounded half away from zero, the total
rounded to whole units in the company currency (``DomesticCurrencyRounding`` 1), the
next invoice number, a Swedish OCR reference (number + length digit + Luhn digit), a
``KF<n>`` voucher, and payments that lower ``RemainingAmount`` (the customer's
``UnpaidInvoicesAmount`` follows).
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.core.money import round_money
from sandbox.core.store import Record
from sandbox.eekonomi.constants import RATES
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.validation import defaults
from sandbox.eekonomi.wire import amount, dec, iso, iso_day, parse_moment

#: Address fields an invoice takes from its draft, or else from its customer.
ADDRESS_FIELDS = (
    "InvoiceAddress1",
    "InvoiceAddress2",
    "InvoicePostalCode",
    "InvoiceCity",
    "InvoiceCountryCode",
    "DeliveryCustomerName",
    "DeliveryAddress1",
    "DeliveryAddress2",
    "DeliveryPostalCode",
    "DeliveryCity",
    "DeliveryCountryCode",
)


def luhn_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def ocr_number(invoice_number: int) -> str:
    """A Swedish OCR reference: the number, a length digit, then a Luhn check digit."""
    base = str(invoice_number)
    with_length = base + str((len(base) + 2) % 10)
    return with_length + luhn_digit(with_length)


def totals(company: Company, rows: list[Record], currency: str) -> Record:
    """VAT per rate, then the total rounded to whole units for the domestic currency
    (``DomesticCurrencyRounding`` = 1, half away from zero)."""
    by_rate: dict[float, Decimal] = {}
    for row in rows:
        if row.get("IsTextRow"):
            continue
        rate = float(row.get("VatRate") or 0)
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + dec(row["Amount"])
    vat_parts = {rate: round_money(net * dec(rate)) for rate, net in by_rate.items()}
    net = sum(by_rate.values(), Decimal(0))
    vat = sum(vat_parts.values(), Decimal(0))
    gross = net + vat
    domestic = currency == company.settings.get("CurrencyCode")
    rounds = domestic and company.settings.get("DomesticCurrencyRounding") == 1
    rounded = round_money(gross, 0) if rounds else gross
    return {
        "net": net,
        "vat": vat,
        "roundings": rounded - gross,
        "total": rounded,
        "rate": RATES.get(currency, Decimal(1)),
        "specification": [
            {
                "AmountInvoiceCurrency": float(by_rate[r]),
                "VatAmountInvoiceCurrency": float(vat_parts[r]),
                "VatPercent": r,
            }
            for r in sorted(by_rate)
        ],
    }


def next_invoice_number(company: Company) -> int:
    numbers = [i.get("InvoiceNumber") or 0 for i in company.coll("customerInvoices").values()]
    return max([0, *numbers]) + 1


def _amounts(sums: Record) -> Record:
    base_total = round_money(sums["total"] * sums["rate"])
    return {
        "CurrencyRate": float(sums["rate"]),
        "TotalAmount": float(base_total),
        "TotalVatAmount": amount(sums["vat"] * sums["rate"]),
        "TotalRoundings": amount(sums["roundings"] * sums["rate"]),
        "TotalAmountInvoiceCurrency": float(sums["total"]),
        "TotalVatAmountInvoiceCurrency": float(sums["vat"]),
        "SetOffAmountInvoiceCurrency": 0.0,
        "RemainingAmount": float(base_total),
        "RemainingAmountInvoiceCurrency": float(sums["total"]),
        "VatSpecification": sums["specification"],
    }


def _from_customer(customer: Record, header: Record) -> Record:
    return {
        "CustomerId": customer["Id"],
        "CustomerNumber": customer.get("CustomerNumber"),
        "CustomerName": customer.get("Name"),
        "CustomerEmail": customer.get("EmailAddress"),
        "CustomerIsPrivatePerson": bool(customer.get("IsPrivatePerson")),
        "InvoiceCustomerName": customer.get("Name"),
        "ReverseChargeOnConstructionServices": bool(
            customer.get("ReverseChargeOnConstructionServices")
        ),
        "TermsOfPaymentId": header.get("TermsOfPaymentId") or customer["TermsOfPaymentId"],
    }


def _booked_state(ctx: Ctx, number: int) -> Record:
    now = ctx.now_iso()
    ocr_on = ctx.company.settings.get("UsesPaymentReferenceNumber")
    return {
        "Id": ctx.new_id(),
        "InvoiceNumber": number,
        "PaymentReferenceNumber": ocr_number(number) if ocr_on else None,
        "PaymentStatus": 1,
        "PaymentDate": None,
        "IsNotDelivered": False,
        "HasAutoInvoiceError": False,
        "VoucherNumber": f"KF{number}",
        "VoucherId": ctx.new_id(),
        "CreatedUtc": now,
        "ModifiedUtc": now,
        "CreditedBy": [],
        "SalesDocumentAttachments": [],
        "MessageThreads": [],
        "Notes": [],
        "ContributionMargin": {"Amount": None, "Percentage": None},
    }


def book(
    ctx: Ctx,
    header: Record,
    rows: list[Record],
    customer: Record,
    *,
    from_draft: Record | None = None,
) -> Record:
    """Create a booked customer invoice: number, OCR, voucher, amounts, unpaid."""
    company = ctx.company
    invoice = defaults("CustomerInvoiceApi")
    invoice.update(header)
    currency = customer.get("CurrencyCode") or company.settings.get("CurrencyCode") or "SEK"
    sums = totals(company, rows, currency)
    invoice.update(_booked_state(ctx, next_invoice_number(company)))
    invoice.update(_amounts(sums))
    invoice.update(_from_customer(customer, header))
    invoice.update(Rows=rows, CurrencyCode=currency)
    source = from_draft if from_draft is not None else {}
    for name in ADDRESS_FIELDS:
        value = source.get(name)
        invoice[name] = value if value is not None else customer.get(name)
    if invoice.get("IsCreditInvoice") is None:
        invoice["IsCreditInvoice"] = False
    if invoice.get("Persons") is None:
        invoice["Persons"] = []  # a collection: .NET answers [] for none
    company.coll("customerInvoices").put(invoice)
    refresh_unpaid(company, customer)
    return invoice


def render_invoice(ctx: Ctx, record: Record) -> Record:
    """Overdue (2) is a computed state: unpaid and past its due date today."""
    overdue = (
        record.get("PaymentStatus") == 1
        and record.get("DueDate")
        and parse_moment(record["DueDate"]).date() < ctx.today()
    )
    date_only = ctx.switches.date_only_due_dates
    if not overdue and not date_only:
        return record
    out = dict(record)
    if overdue:
        out["PaymentStatus"] = 2
    if date_only and out.get("DueDate"):
        out["DueDate"] = out["DueDate"][:10]
    return out


def refresh_unpaid(company: Company, customer: Record) -> None:
    """``UnpaidInvoicesAmount`` and ``LastInvoiceDate`` of one customer, from its invoices."""
    unpaid = Decimal(0)
    last: str | None = None
    invoices = company.coll("customerInvoices")
    for invoice_id in invoices.by("customer", customer["Id"]):
        invoice = invoices.records[invoice_id]
        unpaid += dec(invoice.get("RemainingAmount"))
        if invoice.get("InvoiceDate") and (last is None or invoice["InvoiceDate"] > last):
            last = invoice["InvoiceDate"]
    customer["UnpaidInvoicesAmount"] = amount(unpaid)
    customer["LastInvoiceDate"] = last


def apply_payment(
    ctx: Ctx, invoice: Record, paid: Decimal, day: str | None, *, touch: bool
) -> None:
    """Register a payment of ``paid`` (base currency) made on ``day`` (default today)."""
    remaining = dec(invoice["RemainingAmount"]) - paid
    rate = dec(invoice.get("CurrencyRate") or 1)
    total = dec(invoice["TotalAmount"])
    if (remaining <= 0 < total) or (remaining >= 0 > total):
        remaining = Decimal(0)
    invoice["RemainingAmount"] = amount(remaining)
    invoice["RemainingAmountInvoiceCurrency"] = (
        amount(remaining / rate) if rate else amount(remaining)
    )
    invoice["PaymentDate"] = iso(parse_moment(day)) if day else iso_day(ctx.today())
    if remaining == 0:
        invoice["PaymentStatus"] = 0
    if touch:
        invoice["ModifiedUtc"] = ctx.now_iso()
    customer = ctx.company.coll("customers").get(invoice["CustomerId"])
    if customer is not None:
        refresh_unpaid(ctx.company, customer)


def unpaid_by_customer(company: Company) -> dict[str, tuple[Decimal, str | None]]:
    """Every customer's unpaid total and last invoice date, in one pass (for seeding)."""
    out: dict[str, tuple[Decimal, str | None]] = {}
    for invoice in company.coll("customerInvoices").values():
        owner = invoice.get("CustomerId") or ""
        unpaid, last = out.get(owner, (Decimal(0), None))
        day = invoice.get("InvoiceDate")
        if day and (last is None or day > last):
            last = day
        out[owner] = (unpaid + dec(invoice.get("RemainingAmount")), last)
    return out


def customer_amounts(customer: Record, known: dict[str, tuple[Decimal, str | None]]) -> None:
    """Set a customer's unpaid total and last date from :func:`unpaid_by_customer`."""
    unpaid, last = known.get(customer["Id"], (Decimal(0), None))
    customer["UnpaidInvoicesAmount"] = amount(unpaid)
    customer["LastInvoiceDate"] = last
