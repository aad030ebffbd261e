"""The writable fields of Severa's input models, as the sandbox validates them.

The fields, types, required flags, lengths and enums come from the OpenAPI document,
generated into :mod:`sandbox.severa.models` (``python -m sandbox.severa.specgen``). This
module adds what the document does not show, field by field:

* which ``{guid}`` references name a record of which collection (the document's
  ``x-relation`` names output models, once wrongly: a fee's ``invoice`` says
  ``PhaseOutputModel``) — such a field must name an existing record of the caller's
  organization (kind ``ref``);
* that a ``MoneyInputModelWithNullableAmount`` is an amount in a currency in use
  (kind ``money``);
* fields the document lists but Severa does not take from a body (an address's customer
  comes from the path, its contacts are derived);
* the models the document does not publish: currencies' patch, and the invoice and
  invoice-row patches proposed by the notes (severa-notes §6.14).

Read-only fields are left out: ASP.NET ignores them on input, and so does the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sandbox.core.specs import FieldSpec, Schema, named
from sandbox.severa.models import SCHEMAS

MONEY_MODEL = "MoneyInputModelWithNullableAmount"


def _ref(collection: str, what: str) -> tuple[str, str]:
    return collection, what


CUSTOMER = _ref("customers", "Customer")
CONTACT = _ref("contactPersons", "Contact")
CURRENCY = _ref("currencies", "Currency")
USER = _ref("users", "User")
PHASE = _ref("phases", "Phase")


def input_model(
    model: str,
    refs: Mapping[str, tuple[str, str]] | None = None,
    *,
    without: tuple[str, ...] = (),
) -> Schema:
    """The writable fields of a generated ``model``: ``refs`` (field → collection,
    what to call its record) become references, money models become ``money``."""
    fields: dict[str, FieldSpec] = {}
    for name, spec in SCHEMAS[model].items():
        if spec.readonly or name in without:
            continue
        if refs and name in refs:
            collection, what = refs[name]
            spec = replace(spec, kind="ref", schema=None, ref=collection, ref_what=what)
        elif spec.schema == MONEY_MODEL:
            spec = replace(spec, kind="money", schema=None)
        fields[name] = replace(spec, name=name)
    return fields


CUSTOMER_IN = input_model(
    "CustomerModel",
    {
        "currency": CURRENCY,
        "invoicingVat": _ref("vatRates", "VAT rate"),
        "headquarterAddress": _ref("addresses", "Address"),
        "owner": USER,
    },
)
ADDRESS_IN = input_model(
    "AddressModel", {"country": _ref("countries", "Country")}, without=("contacts", "customer")
)
CONTACT_IN = input_model("ContactModel", {"customer": CUSTOMER})
COMMUNICATION_IN = input_model(
    "ContactCommunicationModel",
    {"contact": CONTACT, "communicationType": _ref("communicationTypes", "Communication type")},
)
PRODUCT_IN = input_model("ProductInputModel")
WORK_TYPE_IN = input_model("WorkTypeInputModel")
TRAVEL_TYPE_IN = input_model("TravelExpenseTypeInputModel")
VAT_RATE_IN = input_model("VatRateInputModel")
INVOICE_STATUS_IN = input_model("InvoiceStatusModel")
PROJECT_IN = input_model(
    "ProjectInputModelBase",
    {
        "customer": CUSTOMER,
        "projectOwner": USER,
        "billingContact": CONTACT,
        "customerContact": CONTACT,
        "currency": CURRENCY,
        "salesPerson": USER,
    },
)
FEE_IN = input_model(
    "ProjectFeeInputModel",
    {
        "project": _ref("projects", "Project"),
        "phase": PHASE,
        "billingDependencyPhase": PHASE,
        "product": _ref("products", "Product"),
        "invoice": _ref("invoices", "Invoice"),
        "user": USER,
    },
)
CREATE_INVOICE_IN = input_model("CreateInvoiceModel")

#: The enums of the input models (row types of invoice rows are not in one).
PRODUCT_TYPES: tuple[str, ...] = tuple(PRODUCT_IN["type"].enum or ())
ROW_TYPES = ("FlatRate", "Hours", "ProjectFees", "TravelExpenses")

#: Not published: what ``PATCH /v1/currencies/{guid}`` takes.
CURRENCY_IN = named(
    {
        "code": FieldSpec("str"),
        "name": FieldSpec("str"),
        "symbol": FieldSpec("str"),
        "rate": FieldSpec("num"),
        "isActive": FieldSpec("bool"),
    }
)
#: Not published (severa-notes §6.14): what ``PATCH /v1/invoices/{guid}`` takes.
INVOICE_PATCH = named(
    {
        "status": FieldSpec("ref", required=True, ref="invoiceStatuses", ref_what="Invoice status"),
        "date": FieldSpec("date", required=True),
        "dueDate": FieldSpec("date", required=True),
        "paymentDate": FieldSpec("date"),
        "paymentTerm": FieldSpec("int"),
        "ourReference": FieldSpec("str"),
        "yourReference": FieldSpec("str"),
        "orderNumber": FieldSpec("str"),
        "notes": FieldSpec("str"),
        "referenceNumber": FieldSpec("str"),
        "freeText1": FieldSpec("text"),
        "freeText2": FieldSpec("text"),
        "number": FieldSpec("int"),
    }
)
#: Not published: what ``PATCH /v1/invoicerows/{guid}`` takes.
INVOICE_ROW_PATCH = named(
    {
        "description": FieldSpec("str"),
        "quantity": FieldSpec("num", required=True),
        "measurementUnit": FieldSpec("str"),
        "unitPrice": FieldSpec("money"),
        "vatRate": FieldSpec("num"),
        "sortOrder": FieldSpec("int"),
    }
)
