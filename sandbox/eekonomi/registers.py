"""Lookup registers and the company's settings: what every client reads first.

Units, terms of payment, countries, currencies and article codings exist in every
company (as in a real one) and are read-only through the API. ``/companysettings`` is
how a client learns which company its token is bound to (notes §2): a single object
with every property of ``CompanySettingsApi`` (the model's empty values, then the values
a Swedish company has, then the seed's), ``NextCustomerNumber`` and
``NextCustomerInvoiceNumber`` computed live.
"""

from __future__ import annotations

from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.booking import next_invoice_number
from sandbox.eekonomi.constants import stable_id
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.customers import next_customer_number
from sandbox.eekonomi.errors import not_found
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.validation import merged, nested_defaults

#: Reference data every company has (the demo's, copied into each company).
REFERENCE = ("units", "termsOfPayments", "countries", "currencies", "articleAccountCodings")
SETTINGS_MODEL = "CompanySettingsApi"


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


#: What a Swedish limited company on eEkonomi Standard has set, where the document's
#: empty value would misrepresent one (a locked period, VAT every quarter, the
#: statutory reminder fee, the ROT/RUT ceilings...). Company-specific values come from
#: :func:`_identity`; a seed overrides any of them.
SETTINGS: Record = {
    "Address1": "Storgatan 1",
    "CountryCode": "SE",
    "PostalCode": "111 22",
    "City": "Stockholm",
    "CurrencyCode": "SEK",
    "TermsOfPaymentId": stable_id("terms", "30"),
    "AccountNumberDigits": 4,
    "AccountingLockedTo": "2025-12-31T00:00:00Z",
    "AccountingLockInterval": 3,
    "TaxDeclarationDate": {"Month": 7, "Day": 1},
    "ProductVariant": 1,
    "TypeOfBusiness": 1,
    "VatPeriod": 3,
    "CompanyText": {
        "CustomerInvoiceTextDomestic": "Vid betalning efter förfallodagen debiteras "
        "dröjsmålsränta enligt räntelagen.",
        "CustomerInvoiceTextForeign": "Interest is charged on payments after the due date.",
    },
    "NextCustomerNumber": 1,
    "NextSupplierNumber": 1,
    "NextCustomerInvoiceNumber": 1,
    "NextQuoteNumber": 1,
    "NextOrderNumber": 1,
    "IsPayslipActivated": False,
    "UsesCostCenter": True,
    "UsesProject": True,
    "UsesPaymentReferenceNumber": True,
    "UsesSupplierInvoiceEdit": False,
    "UseAdvancedMode": False,
    "DomesticCurrencyRounding": 1,
    "CompanyRotRutSettings": {
        "RutMaxAmountForPersBelow65Year": 75000.0,
        "RutMaxAmountForPersOver65Year": 75000.0,
        "RutReducedInvoicingPercent": 0.5,
        "RotReducedInvoicingMaxAmount": 50000.0,
        "RotReducedInvoicingPercent": 0.3,
    },
    "CompanyStatus": 1,
    "KeepOriginalDraftDate": False,
    "UseAutomaticVatCalculation": True,
    "CompanyGreenTechnologySettings": {
        "GreenTechnologyDeductionMaxAmount": 50000.0,
        "SollarCellDiscountPercentage": 0.15,
    },
    "UsesTransactionText": True,
    "FirstPaymentReminderWithoutFee": False,
    "LatePaymentFee": 60.0,
}


def default_settings(company: Company, given: Record) -> Record:
    """``CompanySettingsApi`` with every documented property: the model's empty values,
    then :data:`SETTINGS`, then ``given`` (a seed), then what the company is."""
    settings = merged(SETTINGS_MODEL, nested_defaults(SETTINGS_MODEL), SETTINGS)
    settings = merged(SETTINGS_MODEL, settings, given)
    settings.update(_identity(company, settings))
    return settings


def _identity(company: Company, settings: Record) -> Record:
    """What follows from the company itself (a seed cannot change these)."""
    org_digits = "".join(
        ch for ch in str(settings.get("CorporateIdentityNumber") or "") if ch.isdigit()
    )
    scanning = dict(settings["CompanyScanningAddress"])
    scanning.update(
        Name=scanning.get("Name") or f"{company.name} c/o Visma Scanning",
        Address1=scanning.get("Address1") or "Box 4025",
        PostCode=scanning.get("PostCode") or "203 11",
        PostOffice=scanning.get("PostOffice") or "Malmö",
    )
    return {
        "Name": company.name,
        "CompanyIdentifier": company.id,
        "ActivatedModules": ["api_standard"] if company.api_module else [],
        "PeppolId": settings.get("PeppolId") or (f"0007:{org_digits}" if org_digits else None),
        "CompanyScanningAddress": scanning,
    }
