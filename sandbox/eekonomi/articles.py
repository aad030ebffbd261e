"""``/v2/articles``: products and services the invoice rows point at.

The coding (``CodingId``) gives the VAT rate, the unit its names; prices carry at most
two decimals; the article number is unique (a switch: the spec does not say). Net and
gross prices follow the ``article_prices`` switch: the omitted one is derived from the
VAT rate, or the gross price is always recomputed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.money import decimals_of
from sandbox.core.store import Record
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.errors import duplicate, field_error, missing_reference, validation_error
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.validation import defaults, readonly_of, validate
from sandbox.eekonomi.wire import amount, dec


def post_article(request: Request, ctx: Ctx) -> Response:
    return Response.json(201, article_from(ctx, request.json(), None))


def put_article(request: Request, ctx: Ctx) -> Response:
    existing = ctx.company.find("articles", request.path_params["id"], "article")
    return Response.json(200, article_from(ctx, request.json(), existing))


def _prices(ctx: Ctx, clean: Record, body: Any, coding: Record) -> None:
    """Fill the price the client left out (or always the gross, under the switch)."""
    sent = {k.lower() for k in body}
    rate = Decimal(1) + dec(coding.get("VatRatePercent"))
    if ctx.switches.article_prices == "derive_gross" or "grossprice" not in sent:
        clean["GrossPrice"] = amount(dec(clean["NetPrice"]) * rate)
    elif "netprice" not in sent:
        clean["NetPrice"] = amount(dec(clean["GrossPrice"]) / rate)


def article_from(ctx: Ctx, body: Any, existing: Record | None) -> Record:
    """Validate a POST/PUT body and store the article it describes."""
    clean = validate("ArticleApi", body)
    company = ctx.company
    coding = company.coll("articleAccountCodings").get(clean["CodingId"] or "")
    if coding is None:
        raise missing_reference("CodingId", "The article account coding")
    if company.coll("units").get(clean["UnitId"] or "") is None:
        raise missing_reference("UnitId", "The unit")
    errors = [
        field_error(name, f"The field {name} allows at most 2 decimals.")
        for name in ("NetPrice", "GrossPrice")
        if decimals_of(clean.get(name) or 0) > 2
    ]
    if errors:
        raise validation_error(errors)
    own_id = existing["Id"] if existing else None
    articles = company.coll("articles")
    if ctx.switches.unique_article_numbers and articles.holder(
        "number", clean["Number"], other_than=own_id
    ):
        raise duplicate(ctx.switches.duplicate_number_error, "Number", clean["Number"])
    _prices(ctx, clean, body, coding)
    record = defaults("ArticleApi")
    record.update(readonly_of("ArticleApi", existing))
    record.update(clean)
    now = ctx.now_iso()
    record["Id"] = own_id or ctx.new_id()
    record["CreatedUtc"] = record.get("CreatedUtc") or now
    record["ChangedUtc"] = now
    article_computed(company, record)
    return articles.put(record)


def article_computed(company: Company, record: Record) -> None:
    """Names from the coding and the unit; empty lists where the API sends ``[]``."""
    coding = company.coll("articleAccountCodings").get(record.get("CodingId") or "") or {}
    unit = company.coll("units").get(record.get("UnitId") or "") or {}
    record["CodingName"] = coding.get("Name")
    record["UnitName"] = unit.get("Name")
    record["UnitAbbreviation"] = unit.get("Abbreviation")
    record["IsServiceArticle"] = coding.get("Type") == "Service"
    record["NetPriceWithDiscount"] = record.get("NetPrice") or 0.0
    for name in ("MessageThreads", "Notes", "ArticleLabels", "Barcodes"):
        if record.get(name) is None:
            record[name] = []
