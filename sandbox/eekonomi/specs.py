"""The field lists of the eEkonomi models the sandbox serves, by model name.

Writes are validated against these (type, required, nullable, read-only, lengths,
ranges, enums) and reads default from them, so the sandbox answers exactly the
properties Visma documents. They are generated from the OpenAPI document into
:mod:`sandbox.eekonomi.fields` (``python -m sandbox.core.specgen eekonomi``); the tests
fail when the committed modules and the document disagree.
"""

from __future__ import annotations

from sandbox.core.specs import Schema
from sandbox.eekonomi.fields import SCHEMAS

#: Collection of the store → the model its records follow.
SCHEMA_OF = {
    "units": "UnitApi",
    "termsOfPayments": "TermsOfPaymentApi",
    "countries": "CountryApi",
    "currencies": "CurrencyApi",
    "articleAccountCodings": "ArticleAccountCodingApi",
    "customers": "CustomerApi",
    "articles": "ArticleApi",
    "costCenters": "CostCenterApi",
    "costCenterItems": "CostCenterItemApi",
    "projects": "ProjectApi",
    "customerInvoiceDrafts": "CustomerInvoiceDraftApi",
    "customerInvoices": "CustomerInvoiceApi",
    "supplierInvoices": "SupplierInvoiceApi",
}


def spec(schema: str) -> Schema:
    """The field list of one ``components.schemas`` entry, in document order."""
    return SCHEMAS[schema]
