"""Rows of sales documents (drafts and invoices): validation, article data, amounts.

A row is where most of eEkonomi's rules meet: the article must exist and lend its
number, unit and VAT rate; cost-center items must exist, be active and sit in the slot
of their cost center's number; a project must not have ended; a foreign customer pays
no Swedish VAT and may be priced with four decimals. The product builds every invoice
row from Severa data, so each rule here is one it must respect.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.money import decimals_of, round_money
from sandbox.core.store import Record
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.errors import (
    EEkonomiError,
    field_error,
    invalid,
    missing_reference,
    validation_error,
)
from sandbox.eekonomi.validation import defaults, validate
from sandbox.eekonomi.wire import dec

DRAFT_ROW = "CustomerInvoiceDraftRowApi"
INVOICE_ROW = "CustomerInvoiceRowApi"


def customer_for(ctx: Ctx, customer_id: str | None) -> Record:
    customer = ctx.company.coll("customers").get(customer_id or "")
    if customer is None:
        raise missing_reference("CustomerId", "The customer")
    return customer


def _check_item(ctx: Ctx, row: Record, slot: int, prefix: str) -> None:
    name = f"CostCenterItemId{slot}"
    item_id = row.get(name)
    if not item_id:
        return
    item = ctx.company.coll("costCenterItems").get(item_id)
    if item is None:
        raise missing_reference(prefix + name, "The cost center item")
    if not item.get("IsActive"):
        message = (
            f"InactiveCostCenterException - cost center item '{item['ShortName']}' is inactive"
        )
        raise EEkonomiError(400, 5006, message, [field_error(prefix + name, message, "5006")])
    if ctx.switches.cost_center_slots_by_number:
        center = ctx.company.coll("costCenters").get(item["CostCenterId"]) or {}
        if center.get("Number") != slot:
            raise invalid(
                prefix + name,
                f"The cost center item belongs to cost center number "
                f"{center.get('Number')}, not {slot}.",
            )


def row_references(ctx: Ctx, row: Record, prefix: str) -> None:
    """Check a row's cost-center items and project (3000 / 5006 / 5005 / 2000)."""
    for slot in (1, 2, 3):
        _check_item(ctx, row, slot, prefix)
    project_id = row.get("ProjectId")
    if not project_id:
        return
    project = ctx.company.coll("projects").get(project_id)
    if project is None:
        raise missing_reference(prefix + "ProjectId", "The project")
    if project.get("Status") == 2:
        message = f"ProjectEndedException - project '{project['Number']}' has ended"
        raise EEkonomiError(
            400, 5005, message, [field_error(prefix + "ProjectId", message, "5005")]
        )


def _text_row(row: Record, prefix: str) -> Record:
    if not (row.get("Text") or "").strip():
        raise invalid(prefix + "Text", "A text row needs a Text.")
    row.update(ArticleId=None, ArticleNumber=None, UnitPrice=0.0, Quantity=0.0, VatRate=None)
    row.update(Amount=0.0)
    if "AmountNoVat" in row:
        row.update(AmountNoVat=0.0, PercentVat=0.0)
    return row


def _check_decimals(row: Record, prefix: str, unit_price_decimals: int) -> None:
    errors = []
    if decimals_of(row["UnitPrice"]) > unit_price_decimals:
        errors.append(field_error(prefix + "UnitPrice", "UnitPrice has too many decimals."))
    if decimals_of(row["Quantity"]) > 2:
        errors.append(field_error(prefix + "Quantity", "Quantity allows at most 2 decimals."))
    if errors:
        raise validation_error(errors)


def _unit_fields(row: Record, unit: Record, schema: str) -> None:
    if schema == DRAFT_ROW:
        # Draft rows may name their own unit texts; null means the article's unit.
        row["UnitName"] = row.get("UnitName") or unit.get("Name")
        row["UnitAbbreviation"] = row.get("UnitAbbreviation") or unit.get("Abbreviation")
        row["UnitAbbreviationEnglish"] = row.get("UnitAbbreviationEnglish") or unit.get(
            "AbbreviationEnglish"
        )
    else:
        row["UnitAbbreviation"] = unit.get("Abbreviation")
        row["UnitAbbreviationEnglish"] = unit.get("AbbreviationEnglish")


def _article_row(
    ctx: Ctx, row: Record, prefix: str, customer: Record, schema: str, replace_zero: bool
) -> Record:
    if not row.get("ArticleId"):
        raise invalid(prefix + "ArticleId", "ArticleId is required unless IsTextRow is true.")
    article = ctx.company.coll("articles").get(row["ArticleId"])
    if article is None:
        raise missing_reference(prefix + "ArticleId", "The article")
    foreign = is_foreign(ctx, customer)
    _check_decimals(row, prefix, 4 if foreign or foreign_currency(ctx, customer) else 2)
    row_references(ctx, row, prefix)
    coding = ctx.company.coll("articleAccountCodings").get(article["CodingId"]) or {}
    if not row.get("Text"):
        row["Text"] = article["Name"]
    if replace_zero and not row["UnitPrice"]:
        row["UnitPrice"] = float(article.get("NetPrice") or 0)
    reverse_charge = customer.get("ReverseChargeOnConstructionServices") and row.get(
        "ReversedConstructionServicesVatFree"
    )
    vat_free = bool(row.get("IsVatFree") or reverse_charge)
    rate = 0.0 if foreign or vat_free else float(coding.get("VatRatePercent") or 0)
    net = round_money(
        dec(row["Quantity"]) * dec(row["UnitPrice"]) * (1 - dec(row["DiscountPercentage"]))
    )
    row.update(
        ArticleNumber=article["Number"],
        UnitId=article["UnitId"],
        IsServiceArticle=coding.get("Type") == "Service",
        VatRate=rate,
        Amount=float(net),
        PurchasePrice=float(article.get("PurchasePrice") or 0),
        FreightCosts=0.0,
        IsDiscountInFixedAmount=False,
        DiscountFixedAmount=None,
    )
    if "VatRateId" in row:
        row["VatRateId"] = coding.get("VatRate")
    if "AmountNoVat" in row:
        row.update(AmountNoVat=float(net), PercentVat=rate)
    _unit_fields(row, ctx.company.coll("units").get(article["UnitId"]) or {}, schema)
    return row


def is_foreign(ctx: Ctx, customer: Record) -> bool:
    """The customer is invoiced outside the company's country (no domestic VAT)."""
    home = ctx.company.settings.get("CountryCode")
    return customer.get("InvoiceCountryCode") not in (None, "", home)


def foreign_currency(ctx: Ctx, customer: Record) -> bool:
    return customer.get("CurrencyCode") not in (None, ctx.company.settings.get("CurrencyCode"))


PERSON = "SalesDocumentRotRutReductionPersonApi"


def persons(ctx: Ctx, body: Any, existing: list[Record] | None) -> list[Record]:
    """The ROT/RUT ``Persons`` of a sales document: validated items with their ``Id``
    (kept when the client sends back one the document had). Always a list, as .NET
    serializes an empty collection: ``[]`` comes back ``[]``, and so does ``null``."""
    lowered = {k.lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
    given = lowered.get("persons")
    if given is None:
        return []
    if not isinstance(given, list):
        raise invalid("Persons", "Persons must be an array.")
    known = {p.get("Id") for p in existing or []}
    out = []
    for index, raw in enumerate(given):
        person = {**defaults(PERSON), **validate(PERSON, raw, prefix=f"Persons[{index}].")}
        raw_id = str(raw.get("Id") or "").lower() if isinstance(raw, dict) else ""
        person["Id"] = raw_id if raw_id in known else ctx.new_id()
        out.append(person)
    return out


def sales_rows(
    ctx: Ctx,
    rows_in: Any,
    customer: Record,
    *,
    row_schema: str,
    existing_rows: list[Record] | None,
    replace_zero_price: bool,
) -> list[Record]:
    """Validate and complete draft or invoice rows: article data, VAT rate, amounts."""
    if rows_in is None:
        return []
    if not isinstance(rows_in, list):
        raise invalid("Rows", "Rows must be an array.")
    known_ids = {r["Id"] for r in existing_rows or []}
    rows: list[Record] = []
    for index, raw in enumerate(rows_in):
        prefix = f"Rows[{index}]."
        clean = validate(
            row_schema,
            raw,
            prefix=prefix,
            lenient=("IsTextRow", "ReversedConstructionServicesVatFree"),
        )
        row = {**defaults(row_schema), **clean}
        raw_id = str(raw.get("Id") or "").lower() if isinstance(raw, dict) else ""
        row["Id"] = raw_id if raw_id in known_ids else ctx.new_id()
        row["LineNumber"] = index + 1
        row["ContributionMargin"] = {"Amount": None, "Percentage": None}
        if row_schema == INVOICE_ROW:
            # IsTextRow is read-only on booked-invoice rows: no article + a text = text row.
            row["IsTextRow"] = not row.get("ArticleId") and bool(row.get("Text"))
        if row.get("IsTextRow"):
            rows.append(_text_row(row, prefix))
        else:
            rows.append(_article_row(ctx, row, prefix, customer, row_schema, replace_zero_price))
    return rows
