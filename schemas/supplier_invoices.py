"""Supplier-invoice rows → Severa project fees (R-1.5, R-5.5), one way only.

A booked eEkonomi supplier invoice is a voucher: its rows hold the costs *and* the
bookkeeping that balances them. Only cost rows become project costs; which rows are
costs is decided by the BAS chart of accounts every Swedish eEkonomi company uses:

* ``2600``–``2699`` (BAS 26xx, VAT) — input VAT (264x) and, on reverse-charge
  purchases, the computed output VAT (261x–263x) — are never costs;
* ``2440``–``2449`` (BAS 244x, accounts payable) balance the voucher; never costs.

Every other row is a cost row; it becomes a fee only when it names a project (see
:mod:`worker.sync.supplier_invoices`).

Decisions on rules the spec leaves open:

* **Cost** = ``DebetAmount − CreditAmount``: a normal row is on the debit side, a credit
  invoice's row on the credit side, so its cost comes out negative (R-1.5). A credit
  invoice whose row is written as a positive debit is negated as well: a credit invoice
  only ever reduces a project's cost.
* **Precision**: Severa keeps money in cents. A cost with more decimals (eEkonomi's UI
  imports allow them) fails the row instead of being rounded, because a rounded fee would
  no longer agree with the books and the difference could never be traced.
* **Name and description**: both carry R-5.5's text ``<date> <voucher> <supplier>``;
  Severa lists and invoices a fee by its name, so a fee with only a description would
  show up blank.
* **Row marker**: the description ends in `` (eekonomi:<invoice id>:<row id>)``, the
  row's natural key (:func:`fee_marker`). Severa keeps no external id on a fee and no
  uniqueness rule catches a second one, so the marker is what recognises a fee as the
  one made from its row when the sync's own records are lost (R-6.1): the fee is linked
  again instead of created twice. The name stays R-5.5's text alone — it is what a
  person sees in lists and on invoices. A fee made before markers simply has none.
* **Currency**: the rows are booked in the eEkonomi company's currency, so the fee's
  amounts carry that currency code (the invoice's own currency may differ).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypedDict

from marshmallow import ValidationError, fields, post_load

from schemas.base import (
    EEkonomiSchema,
    MappingError,
    Money,
    Percent,
    SeveraSchema,
    mapping_error,
    required_messages,
    shared,
    to_decimal,
)
from schemas.errors import ConfigError

__all__ = [
    "SEVERA_MONEY_PLACES",
    "EEkonomiSupplierInvoice",
    "EEkonomiSupplierInvoiceRow",
    "FeeRecord",
    "SeveraProjectFee",
    "cost_rows",
    "default_vat_rate",
    "describe_differences",
    "fee_differences",
    "fee_currency",
    "fee_marker",
    "fee_patch",
    "is_cost_account",
    "is_invoiced",
    "marker_of",
    "project_refs",
    "record_to_severa_project_fee",
    "row_key",
    "row_label",
    "severa_project_fee_to_record",
    "supplier_cost_to_record",
]

#: Decimals Severa keeps on an amount (cents).
SEVERA_MONEY_PLACES = 2
#: BAS 26xx: VAT accounts (input VAT 264x, reverse-charge output VAT 261x–263x).
VAT_ACCOUNTS = range(2600, 2700)
#: BAS 244x: accounts payable ("leverantörsskulder").
PAYABLES_ACCOUNTS = range(2440, 2450)
#: ``Status`` of a booked ("normal") supplier invoice; 0 is a draft, 2 deleted.
BOOKED = 1
ITEM_SLOTS = ("CostCenterItemId1", "CostCenterItemId2", "CostCenterItemId3")
#: The currency of a fee when eEkonomi names none (a Swedish company).
DEFAULT_CURRENCY = "SEK"


class FeeRecord(TypedDict):
    """A supplier-invoice cost row as a Severa project fee (R-5.5)."""

    project_guid: str  # the linked Severa project
    description: str  # "<invoice date> <voucher number> <supplier name>"
    event_date: str  # ISO date: the supplier-invoice date
    quantity: Decimal  # always 1
    unit_cost: Decimal  # the row's debit amount; negative on a credit invoice
    unit_price: Decimal  # = unit_cost when billable, else 0
    is_billable: bool
    vat_rate: Decimal  # the Severa company's default
    currency_code: str


def is_cost_account(account: Any) -> bool:
    """Whether a row on ``account`` is a cost (see the module docstring)."""
    try:
        number = int(account)
    except (TypeError, ValueError):
        return False
    return number not in VAT_ACCOUNTS and number not in PAYABLES_ACCOUNTS


def row_key(invoice: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """The natural key of one row: ``<invoice Id>:<row Id>``.

    The row's own id is used rather than its position so that a row inserted above it
    later does not shift every key; ``line<n>`` stands in only when eEkonomi sends no id.
    """
    row_id = row.get("Id") or f"line{row.get('LineNumber')}"
    return f"{invoice['Id']}:{row_id}"


def row_label(invoice: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """How a person finds the row: ``supplier invoice LF3 'Scandic Hotels AB' row 1``."""
    voucher = invoice.get("VoucherNumber") or invoice.get("InvoiceNumber") or invoice.get("Id")
    return (
        f"supplier invoice {voucher} '{invoice.get('SupplierName') or ''}' "
        f"row {row.get('LineNumber') or '?'}"
    )


def project_refs(row: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """The cost-center item ids (slots 1–3) and the eEkonomi project id on a row."""
    items = [str(row[slot]) for slot in ITEM_SLOTS if row.get(slot)]
    project = row.get("ProjectId")
    return items, str(project) if project else None


def cost_rows(invoice: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(natural key, row)`` of every cost row of a booked supplier invoice."""
    if invoice.get("Status", BOOKED) != BOOKED:
        return
    for row in invoice.get("Rows") or []:
        if is_cost_account(row.get("AccountNumber")):
            yield row_key(invoice, row), dict(row)


class _InvoiceDate(fields.Date):
    """eEkonomi sends dates as date-times (``2026-03-04T00:00:00Z``) or, observed once,
    bare dates; the calendar day is what R-5.5 wants either way."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        text = str(value)[:10] if value is not None else value
        day: date = super()._deserialize(text, attr, data, **kwargs)
        return day


class EEkonomiSupplierInvoiceRow(EEkonomiSchema):
    """SupplierInvoiceRowApi: the fields a cost row contributes (note ``DebetAmount``)."""

    account_number = fields.Integer(
        data_key="AccountNumber",
        required=True,
        error_messages=required_messages("the row has no account"),
    )
    debit = fields.Decimal(data_key="DebetAmount", load_default=Decimal(0), allow_none=True)
    credit = fields.Decimal(data_key="CreditAmount", load_default=Decimal(0), allow_none=True)


class EEkonomiSupplierInvoice(EEkonomiSchema):
    """SupplierInvoiceApi header fields of R-5.5, in the order of the table."""

    invoice_date = _InvoiceDate(  # description and date
        data_key="InvoiceDate",
        required=True,
        error_messages=required_messages("the supplier invoice has no invoice date"),
    )
    voucher_number = fields.String(  # the verification number
        data_key="VoucherNumber",
        required=True,
        error_messages=required_messages("the supplier invoice has no voucher number"),
    )
    supplier_name = fields.String(
        data_key="SupplierName",
        required=True,
        error_messages=required_messages("the supplier invoice has no supplier name"),
    )
    is_credit = fields.Boolean(data_key="IsCreditInvoice", load_default=False, allow_none=True)

    @post_load
    def tidy(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {
            **data,
            "voucher_number": data["voucher_number"].strip(),
            "supplier_name": " ".join(data["supplier_name"].split()),
        }


def _cost(row: Mapping[str, Any], is_credit: bool) -> Decimal:
    debit = to_decimal(row.get("debit")) or Decimal(0)
    credit = to_decimal(row.get("credit")) or Decimal(0)
    cost = debit - credit
    return -cost if is_credit and cost > 0 else cost


def default_vat_rate(vat_rates: Iterable[Mapping[str, Any]]) -> Decimal:
    """R-5.5: a fee's VAT rate — the Severa company's default, i.e. the active rate of
    ``GET /v1/vatrates`` marked ``isDefault``.

    Raises:
        ConfigError: Severa has no such rate. Every row would fail alike, so it is the
            connection's to fix, not each row's.
    """
    for rate in vat_rates:
        if rate.get("isDefault") and rate.get("isActive", True):
            percentage = to_decimal(rate.get("percentage"))
            if percentage is not None:
                return percentage
    raise ConfigError("the Severa company has no default VAT rate; mark one as default (R-5.5)")


def fee_currency(company_currency: str | None, invoice: Mapping[str, Any]) -> str:
    """The currency of a fee's amounts: the eEkonomi company's, in which the rows are
    booked (see the module docstring); the invoice's own only when eEkonomi names no
    company currency."""
    return str(company_currency or invoice.get("CurrencyCode") or DEFAULT_CURRENCY)


def supplier_cost_to_record(
    invoice: Mapping[str, Any],
    row: Mapping[str, Any],
    *,
    project_guid: str,
    billable: bool,
    vat_rates: Iterable[Mapping[str, Any]],
    company_currency: str | None,
) -> FeeRecord:
    """One cost row of a booked supplier invoice → :class:`FeeRecord` (R-5.5).

    Args:
        project_guid: the Severa project the row is linked to.
        billable: the R-3.5 setting (price = cost, or 0).
        vat_rates: Severa's VAT rates, for :func:`default_vat_rate`.
        company_currency: the eEkonomi company's currency, for :func:`fee_currency`.

    Raises:
        MappingError: a missing date, voucher or supplier name, or a cost with more
            decimals than Severa keeps.
        ConfigError: Severa has no default VAT rate.
    """
    label = row_label(invoice, row)
    vat_rate = default_vat_rate(vat_rates)  # the connection's problem before the row's
    try:
        header = shared(EEkonomiSupplierInvoice).load(invoice)
        line = shared(EEkonomiSupplierInvoiceRow).load(row)
    except ValidationError as error:
        raise mapping_error(label, error) from error
    cost = _cost(line, bool(header.get("is_credit")))
    if cost != cost.quantize(Decimal(1).scaleb(-SEVERA_MONEY_PLACES)):
        raise MappingError(
            label,
            f"the amount {cost.normalize():f} has more decimals than Severa keeps "
            f"({SEVERA_MONEY_PLACES}); correct the booking in eEkonomi to whole öre and the "
            "row transfers on the next run",
        )
    day = header["invoice_date"].isoformat()
    return FeeRecord(
        project_guid=project_guid,
        description=f"{day} {header['voucher_number']} {header['supplier_name']}",
        event_date=day,
        quantity=Decimal(1),
        unit_cost=cost,
        unit_price=cost if billable else Decimal(0),
        is_billable=billable,
        vat_rate=vat_rate,
        currency_code=fee_currency(company_currency, invoice),
    )


class _Ref(SeveraSchema):
    guid = fields.String(required=True)


class _MoneyModel(SeveraSchema):
    """MoneyInputModelWithNullableAmount: ``{amount, currencyCode}``."""

    amount = Money(required=True)
    currency_code = fields.String(data_key="currencyCode", required=True)


class SeveraProjectFee(SeveraSchema):
    """:class:`FeeRecord` → ProjectFeeInputModel, in the order of R-5.5.

    ``name`` and ``description`` both carry the description (see the module docstring).
    The amounts nest in Severa's money models, so the dump takes a record whose
    ``unit_cost``/``unit_price`` are already ``{amount, currency_code}``.
    """

    project = fields.Nested(_Ref, required=True)
    name = fields.Function(serialize=lambda record: record["description"])
    description = fields.String(required=True)  # description
    event_date = fields.String(data_key="eventDate", required=True)  # date
    quantity = Money(required=True)  # always 1
    unit_price = fields.Nested(_MoneyModel, data_key="unitPrice")  # price
    unit_cost = fields.Nested(_MoneyModel, data_key="unitCost")  # cost
    is_billable = fields.Boolean(data_key="isBillable", required=True)
    vat_rate = Percent(data_key="vatRate", required=True)  # the company default


_MARKER = re.compile(r"\s*\((eekonomi:[^()\s]+)\)\s*$")


def fee_marker(natural_key: str) -> str:
    """The marker of the fee made from the row ``<invoice id>:<row id>``."""
    return f"eekonomi:{natural_key}"


def marked(description: str, marker: str) -> str:
    """``description`` as sent: with `` (<marker>)`` at its end when there is one."""
    return f"{description} ({marker})" if marker else description


def marker_of(fee: Mapping[str, Any]) -> str | None:
    """The row marker at the end of a fee's description (``None``: it has none)."""
    found = _MARKER.search(str(fee.get("description") or ""))
    return found.group(1) if found else None


def record_to_severa_project_fee(record: FeeRecord, marker: str = "") -> dict[str, Any]:
    """Record → ``POST /v1/projectfees`` body (ProjectFeeInputModel); the description
    ends in ``marker`` (:func:`fee_marker`) when one is given."""
    currency = record["currency_code"]
    body: dict[str, Any] = shared(SeveraProjectFee).dump(
        {
            **record,
            "project": {"guid": record["project_guid"]},
            "unit_cost": {"amount": record["unit_cost"], "currency_code": currency},
            "unit_price": {"amount": record["unit_price"], "currency_code": currency},
        }
    )
    body["description"] = marked(body["description"], marker)
    return body


def severa_project_fee_to_record(fee: Mapping[str, Any]) -> FeeRecord:
    """ProjectFeeOutputModel → record, to compare a fee with what the row says now (its
    description without the row marker)."""

    def amount(name: str) -> Decimal:
        return to_decimal((fee.get(name) or {}).get("amount")) or Decimal(0)

    return FeeRecord(
        project_guid=str((fee.get("project") or {}).get("guid") or ""),
        description=_MARKER.sub("", str(fee.get("description") or "")),
        event_date=str(fee.get("eventDate") or "")[:10],
        quantity=to_decimal(fee.get("quantity")) or Decimal(0),
        unit_cost=amount("unitCost"),
        unit_price=amount("unitPrice"),
        is_billable=bool(fee.get("isBillable")),
        vat_rate=to_decimal(fee.get("vatRate")) or Decimal(0),
        currency_code=str((fee.get("unitCost") or {}).get("currencyCode") or ""),
    )


def is_invoiced(fee: Mapping[str, Any]) -> bool:
    """Whether Severa has invoiced a fee (ProjectFeeOutputModel): an invoiced fee can no
    longer be changed (severa-notes §6.11), so a later change of its row is reported
    instead of written."""
    return bool((fee.get("invoice") or {}).get("guid") or fee.get("invoiceRowGuid"))


#: Record field → (what a person calls it, the JSON Patch path that sets it).
_FIELDS: dict[str, tuple[str, str]] = {
    "project_guid": ("project", "/project/guid"),
    "description": ("description", "/description"),
    "event_date": ("date", "/eventDate"),
    "quantity": ("quantity", "/quantity"),
    "unit_cost": ("unit cost", "/unitCost/amount"),
    "unit_price": ("unit price", "/unitPrice/amount"),
    "is_billable": ("billable", "/isBillable"),
    "vat_rate": ("VAT rate", "/vatRate"),
}


def fee_differences(current: FeeRecord, desired: FeeRecord) -> dict[str, tuple[Any, Any]]:
    """The fields whose value the fee does not have yet: name → (fee's, row's)."""
    found: dict[str, tuple[Any, Any]] = {}
    for name in _FIELDS:
        have, want = current[name], desired[name]  # type: ignore[literal-required]
        if isinstance(want, Decimal) and isinstance(have, Decimal):
            if have.compare(want) != 0:
                found[name] = (have, want)
        elif have != want:
            found[name] = (have, want)
    return found


def describe_differences(differences: Mapping[str, tuple[Any, Any]]) -> str:
    """``unit cost 8000 → 8500; date 2026-03-04 → 2026-03-05`` for the error list."""

    def show(value: Any) -> str:
        return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)

    return "; ".join(
        f"{_FIELDS[name][0]} {show(have)} → {show(want)}"
        for name, (have, want) in differences.items()
    )


def fee_patch(
    desired: FeeRecord, differences: Mapping[str, Any], marker: str = ""
) -> dict[str, Any]:
    """``{"/path": value}`` for :func:`~worker.clients.severa.replace_ops`; the fee's
    name follows its description, which keeps ``marker`` at its end."""
    changes: dict[str, Any] = {}
    for name in differences:
        changes[_FIELDS[name][1]] = desired[name]  # type: ignore[literal-required]
    if "description" in differences:
        changes["/name"] = desired["description"]
        changes["/description"] = marked(desired["description"], marker)
    return changes
