"""Lookup registers and the company's settings: what every client reads first.

Units, terms of payment, countries, currencies and article codings exist in every
company (as in a real one) and are read-only through the API. ``/companysettings`` is
how a client learns which company its token is bound to (notes §2): a single object
with ``NextCustomerNumber`` and ``NextCustomerInvoiceNumber`` computed live.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.booking import next_invoice_number
from sandbox.eekonomi.constants import stable_id
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.customers import next_customer_number
from sandbox.eekonomi.errors import not_found
from sandbox.eekonomi.store import Company

#: Reference data every company has (the demo's, copied into each company).
REFERENCE = ("units", "termsOfPayments", "countries", "currencies", "articleAccountCodings")


def get_settings(request: Request, ctx: Ctx) -> Response:
    settings = dict(ctx.company.settings)
    settings["NextCustomerNumber"] = next_customer_number(ctx.company)
    settings["NextCustomerInvoiceNumber"] = next_invoice_number(ctx.company)
    return Response.json(200, settings)


def get_country(request: Request, ctx: Ctx) -> Response:
    code = request.path_params["id"].upper()
    country = ctx.company.coll("countries").get(code)
    if country is None:
        raise not_found(f"The country '{code}'")
    return Response.json(200, country)


def default_settings(company: Company, given: Record) -> Record:
    """``CompanySettingsApi``: the documented subset the sync reads, plus required ones."""
    settings: Record = {
        "Name": company.name,
        "Email": None,
        "Phone": None,
        "MobilePhone": None,
        "Address1": "Storgatan 1",
        "Address2": None,
        "CountryCode": "SE",
        "PostalCode": "111 22",
        "City": "Stockholm",
        "Website": None,
        "OurReference": None,
        "CurrencyCode": "SEK",
        "TermsOfPaymentId": stable_id("terms", "30"),
        "CorporateIdentityNumber": None,
        "VatCode": None,
        "BankGiro": None,
        "PlusGiro": None,
        "ProductVariant": 1,
        "TypeOfBusiness": 1,
        "ActivatedModules": [],
        "NextCustomerNumber": 1,
        "NextSupplierNumber": 1,
        "NextCustomerInvoiceNumber": 1,
        "NextArticleNumber": None,
        "ShowPricesExclVatPC": False,
        "UsesCostCenter": True,
        "UsesProject": True,
        "UsesPaymentReferenceNumber": True,
        "DomesticCurrencyRounding": 1,
        "CompanyStatus": 1,
        "CompanyIdentifier": company.id,
        "KeepOriginalDraftDate": False,
        "UseAutomaticVatCalculation": True,
        "UsesReverseConstructionVat": False,
        "UsesRotReducedInvoicing": False,
    }
    return _company_facts(company, settings, given)


def _company_facts(company: Company, settings: Record, given: Any) -> Record:
    settings.update({k: v for k, v in given.items() if k in settings})
    settings["Name"] = company.name
    settings["CompanyIdentifier"] = company.id
    settings["ActivatedModules"] = ["api_standard"] if company.api_module else []
    return settings
