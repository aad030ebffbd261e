"""Customers (R-5.1): Severa customer + addresses + contacts ⇄ eEkonomi customer.

Severa spreads a customer over three resources (customer, addresses, contact persons
with their communications), eEkonomi keeps it flat. The schema classes are the
declarative mapping, one per vendor resource, with the canonical attribute names of
:class:`~schemas.records.CustomerRecord`; the rules that are not one-to-one are the
named functions next to them. This module holds the customer itself; the rules of its
parts are in :mod:`schemas.customer_identity` (number, name, org/VAT number),
:mod:`schemas.customer_addresses` (which address, its lines and country) and
:mod:`schemas.customer_contacts` (which contact, its e-mail and phones). The functions
at the end are what the synchronizer (:mod:`worker.sync.customers`) calls.

Input of :func:`severa_customer_to_record` (one dict, as the synchronizer assembles it)::

    {
        **customer,                      # GET /v1/customers/{guid}  (CustomerModel)
        "addresses": [address, ...],     # GET /v1/customers/{guid}/addresses, Severa's order
        "contacts": [                    # GET /v1/customers/{guid}/contactpersons
            {**contact,                  #   ContactModel
             "communications": [...]},   #   optional: GET /v1/contacts/{guid}/contactcommunications
        ],
    }

An address's ``country`` may carry ``code2`` (from ``/v1/localization/countries``);
:func:`severa_customer_to_record` adds it from ``country_codes`` when given, otherwise
the country is recognised by its English, Swedish or Finnish name.

Decisions on rules the spec leaves open (each repeated where it is implemented):

* Terms of payment: Severa keeps only a number of days. With eEkonomi's terms list the
  days pick the matching terms; no days means the standard terms; days without
  matching terms fail the record rather than silently changing due dates.
* An update from eEkonomi changes only :data:`SEVERA_CUSTOMER_UPDATABLE` on the Severa
  customer and :data:`~schemas.customer_addresses.SEVERA_ADDRESS_UPDATABLE` on its
  invoicing address; everything else is written when the customer is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from marshmallow import ValidationError, fields, post_dump, post_load, pre_dump, validate

from schemas.base import (
    CheckedBody,
    EEkonomiSchema,
    MappingError,
    SeveraSchema,
    check_body,
    clean_text,
    load_answer,
    mapping_error,
    max_length,
    required_messages,
    shared,
)
from schemas.customer_addresses import (
    SeveraAddress,
    address_problems,
    choose_invoicing_address,
)
from schemas.customer_contacts import SeveraContact, first_linked_contact
from schemas.customer_identity import (
    customer_label,
    customer_number_problem,
    severa_org_or_vat_number,
    split_org_and_vat_number,
)
from schemas.records import CustomerRecord

__all__ = [
    "SEVERA_CUSTOMER_UPDATABLE",
    "EEkonomiCustomer",
    "SeveraCustomer",
    "choose_terms_of_payment",
    "eekonomi_customer_body",
    "eekonomi_customer_to_record",
    "record_to_eekonomi_customer",
    "record_to_severa_customer",
    "record_to_severa_customer_update",
    "severa_customer_to_record",
]

FIX_IN_SEVERA = "Severa"

#: R-1.1: the CustomerModel fields an update from eEkonomi (the master) may change on an
#: existing Severa customer — also the JSON Patch paths. The number never changes: it is
#: how both systems match the customer (R-2.2). Payment term and currency are written
#: when the customer is created in Severa and left to Severa afterwards.
SEVERA_CUSTOMER_UPDATABLE = ("name", "email", "website", "vatNumber", "isActive")

# -- named rules ----------------------------------------------------------------------


def choose_terms_of_payment(
    days: int | None,
    terms_of_payment: Sequence[Mapping[str, Any]] | None,
    default_terms_id: str,
) -> str:
    """R-5.1: eEkonomi ``TermsOfPaymentId`` for a number of payment days.

    No days → the standard terms (``default_terms_id``, normally
    ``companysettings.TermsOfPaymentId``). Days → sales terms with that
    ``NumberOfDays``, plain ("Normal", type 0) ones first. Without a terms list the
    standard terms are used. Raises ``ValueError`` when the list has no such terms.
    """
    if days is None or terms_of_payment is None:
        return default_terms_id
    candidates = [
        t
        for t in terms_of_payment
        if t.get("NumberOfDays") == days and t.get("AvailableForSales", True) and t.get("Id")
    ]
    candidates.sort(key=lambda t: t.get("TermsOfPaymentTypeId") != 0)
    if not candidates:
        raise ValueError(
            f"payment term {days} days has no terms of payment in eEkonomi; add such terms "
            "in eEkonomi or change the customer's payment term in Severa"
        )
    return str(candidates[0]["Id"])


# -- Severa ---------------------------------------------------------------------------


class SeveraCustomer(SeveraSchema):
    """CustomerModel (+ addresses and contacts on load) ⇄ :class:`CustomerRecord`.

    Dumping gives the CustomerModel body only; the address and the contact are
    separate Severa resources (:class:`SeveraAddress`, :class:`SeveraContact`).
    """

    number = fields.Method(
        "dump_number",
        "load_number",
        required=True,
        error_messages=required_messages(
            "the customer has no customer number; give it one in Severa (R-5.1)"
        ),
    )
    name = fields.String(
        required=True,
        validate=validate.Regexp(r"\s*\S", error="the customer has no name; name it in Severa"),
        error_messages=required_messages("the customer has no name; name it in Severa"),
    )
    is_active = fields.Boolean(data_key="isActive", load_default=True)
    org_or_vat_number = fields.String(data_key="vatNumber", allow_none=True)  # both
    email = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    payment_term_days = fields.Integer(data_key="paymentTerm", allow_none=True)
    currency_code = fields.Method(
        "dump_currency_ref", "load_code", data_key="currency", allow_none=True
    )
    headquarter_guid = fields.Method(
        deserialize="load_guid", data_key="headquarterAddress", load_only=True, allow_none=True
    )
    addresses = fields.List(fields.Nested(SeveraAddress), load_default=list, load_only=True)
    contacts = fields.List(fields.Nested(SeveraContact), load_default=list, load_only=True)

    def load_number(self, value: Any) -> str:
        # ASCII digits only: '²' and '１２３' pass str.isdigit (schemas.customer_identity).
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if not (text.isascii() and text.isdigit()):
            raise ValidationError(f"customer number {value!r} is not a whole number")
        return str(int(text))

    def dump_number(self, obj: Mapping[str, Any]) -> int:
        return int(obj["number"])

    def load_code(self, value: Mapping[str, Any]) -> str | None:
        return clean_text(value.get("code"))

    def load_guid(self, value: Mapping[str, Any]) -> str | None:
        return clean_text(value.get("guid"))

    def dump_currency_ref(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        guid = obj.get("currency_guid")
        return {"guid": guid} if guid else None

    @post_load
    def complete_record(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """The non-1:1 rows of R-5.1, in one step because each needs the previous one:
        company type, org/VAT split, address choice (R-2.1 check), then its contact."""
        address = choose_invoicing_address(data["addresses"], data.get("headquarter_guid"))
        if address is None:
            raise ValidationError(
                "the customer has no address; add an invoicing address with postal code, "
                "city and country in Severa (R-2.1)"
            )
        problems = address_problems(address)
        if problems:
            which = "invoicing" if address["is_billing_address"] else "main"
            raise ValidationError(
                f"the {which} address {' and '.join(problems)}; fix it in Severa "
                "(R-2.1: eEkonomi requires postal code and city)"
            )
        country = address["country_code"]
        org, vat = split_org_and_vat_number(data.get("org_or_vat_number"))
        contact = first_linked_contact(data["contacts"], address) or {}
        record: CustomerRecord = {
            "number": data["number"],
            "name": " ".join(data["name"].split()),
            "is_active": data["is_active"],
            "is_private_person": False,  # "company" when it comes from Severa
            "corporate_identity_number": org,
            "vat_number": vat,
            "address_line1": address.get("address_line1"),
            "address_line2": address.get("address_line2"),
            "postal_code": address["postal_code"],
            "city": address["city"],
            "country_code": country,
            "phone": address.get("phone"),
            "email": clean_text(data.get("email")),
            "website": clean_text(data.get("website")),
            "contact_name": contact.get("contact_name"),
            "contact_email": contact.get("contact_email"),
            "contact_phone": contact.get("contact_phone"),
            "contact_mobile": contact.get("contact_mobile"),
            "payment_term_days": data.get("payment_term_days"),
            "currency_code": data.get("currency_code"),
        }
        return cast(dict[str, Any], record)

    @post_dump
    def omit_unset_currency(self, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        """No currency guid: leave the key out so Severa uses the organisation's."""
        if payload.get("currency") is None:
            payload.pop("currency", None)
        return payload

    @pre_dump
    def prepare_severa_values(self, record: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        """R-5.1 into Severa: a numeric customer number, one org/VAT value."""
        problem = customer_number_problem(record.get("number"))
        if problem:
            raise ValidationError(problem, "number")
        return {**record, "org_or_vat_number": severa_org_or_vat_number(record)}


# -- eEkonomi -------------------------------------------------------------------------


class EEkonomiCustomer(EEkonomiSchema):
    """eEkonomi CustomerApi ⇄ :class:`CustomerRecord`, in the order of R-5.1.

    ``TermsOfPaymentId`` is chosen when dumping (see :func:`choose_terms_of_payment`);
    on load the days come from the embedded ``TermsOfPayment``.
    """

    per_field_post_load = frozenset({"blanks_are_absent"})

    number = fields.String(
        data_key="CustomerNumber",
        required=True,
        validate=max_length(16, FIX_IN_SEVERA),
        error_messages=required_messages("the customer has no customer number (R-5.1)"),
    )
    name = fields.String(
        data_key="Name",
        required=True,
        validate=max_length(50, FIX_IN_SEVERA),
        error_messages=required_messages("the customer has no name (R-5.1)"),
    )
    is_private_person = fields.Boolean(data_key="IsPrivatePerson", required=True)
    corporate_identity_number = fields.String(  # = Severa's one org/VAT value
        data_key="CorporateIdentityNumber", allow_none=True, validate=max_length(20, FIX_IN_SEVERA)
    )
    vat_number = fields.String(  # R-5.1 + VIES: only EU-VAT shaped values
        data_key="VatNumber", allow_none=True, validate=max_length(20, FIX_IN_SEVERA)
    )
    address_line1 = fields.String(
        data_key="InvoiceAddress1", allow_none=True, validate=max_length(50, FIX_IN_SEVERA)
    )
    address_line2 = fields.String(  # Severa's lines 2… joined
        data_key="InvoiceAddress2", allow_none=True, validate=max_length(50, FIX_IN_SEVERA)
    )
    postal_code = fields.String(
        data_key="InvoicePostalCode",
        required=True,
        validate=max_length(10, FIX_IN_SEVERA),
        error_messages=required_messages("the customer has no postal code (R-2.1)"),
    )
    city = fields.String(
        data_key="InvoiceCity",
        required=True,
        validate=max_length(50, FIX_IN_SEVERA),
        error_messages=required_messages("the customer has no city (R-2.1)"),
    )
    country_code = fields.String(
        data_key="InvoiceCountryCode", allow_none=True, validate=max_length(2, FIX_IN_SEVERA)
    )
    phone = fields.String(
        data_key="Telephone", allow_none=True, validate=max_length(50, FIX_IN_SEVERA)
    )
    email = fields.String(
        data_key="EmailAddress", allow_none=True, validate=max_length(255, FIX_IN_SEVERA)
    )
    website = fields.String(
        data_key="WwwAddress", allow_none=True, validate=max_length(255, FIX_IN_SEVERA)
    )
    contact_name = fields.String(
        data_key="ContactPersonName", allow_none=True, validate=max_length(100, FIX_IN_SEVERA)
    )
    contact_email = fields.String(
        data_key="ContactPersonEmail", allow_none=True, validate=max_length(255, FIX_IN_SEVERA)
    )
    contact_phone = fields.String(
        data_key="ContactPersonPhone", allow_none=True, validate=max_length(50, FIX_IN_SEVERA)
    )
    contact_mobile = fields.String(
        data_key="ContactPersonMobile", allow_none=True, validate=max_length(50, FIX_IN_SEVERA)
    )
    terms_of_payment_id = fields.String(  # standard terms when none
        data_key="TermsOfPaymentId",
        required=True,
        error_messages=required_messages("no terms of payment chosen"),
    )
    payment_term_days = fields.Method(
        deserialize="load_days", data_key="TermsOfPayment", load_only=True, allow_none=True
    )
    currency_code = fields.String(
        data_key="CurrencyCode", allow_none=True, validate=max_length(3, FIX_IN_SEVERA)
    )
    is_active = fields.Boolean(data_key="IsActive", required=True)

    def load_days(self, value: Mapping[str, Any]) -> int | None:
        days = value.get("NumberOfDays")
        return int(days) if isinstance(days, int) else None

    @post_load
    def blanks_are_absent(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """eEkonomi returns ``""`` and ``null`` alike for unset text: both mean absent."""
        return {
            key: clean_text(value) if isinstance(value, str) else value
            for key, value in data.items()
        }


# -- the API the synchronizer calls ------------------------------------------------------

_RECORD_KEYS = tuple(CustomerRecord.__annotations__)


def _as_record(data: Mapping[str, Any]) -> CustomerRecord:
    return cast(CustomerRecord, {key: data.get(key) for key in _RECORD_KEYS})


def severa_customer_to_record(
    payload: Mapping[str, Any], *, country_codes: Mapping[str, str] | None = None
) -> CustomerRecord:
    """Severa customer (+ ``addresses``, ``contacts``; see the module docstring) → record.

    Args:
        payload: the customer with its addresses and contact persons.
        country_codes: Severa country guid → ISO alpha-2 (from Severa's country list);
            without it countries are recognised by name.

    Raises:
        MappingError: e.g. no usable address (R-2.1) or no customer number.
    """
    label = customer_label(payload.get("number"), payload.get("name"))
    data = dict(payload)
    if country_codes:
        data["addresses"] = [
            _with_country_code(address, country_codes) for address in payload.get("addresses") or []
        ]
    try:
        loaded = shared(SeveraCustomer).load(data)
    except ValidationError as error:
        raise mapping_error(label, error) from error
    return _as_record(loaded)


def _with_country_code(address: Mapping[str, Any], codes: Mapping[str, str]) -> dict[str, Any]:
    country = address.get("country")
    if not isinstance(country, Mapping) or country.get("guid") not in codes:
        return dict(address)
    return {**address, "country": {**country, "code2": codes[country["guid"]]}}


def record_to_eekonomi_customer(
    record: CustomerRecord,
    *,
    default_terms_id: str,
    terms_of_payment: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Record → eEkonomi CustomerApi body (POST, or merged into the GET body for PUT).

    Args:
        default_terms_id: the standard terms (``companysettings.TermsOfPaymentId``).
        terms_of_payment: ``GET /termsofpayments`` items; lets Severa's payment days
            pick matching terms. Without it the standard terms are always used.

    Raises:
        MappingError: a value longer than eEkonomi accepts, or no matching terms.
    """
    return eekonomi_customer_body(
        record, default_terms_id=default_terms_id, terms_of_payment=terms_of_payment
    ).payload


def eekonomi_customer_body(
    record: CustomerRecord,
    *,
    default_terms_id: str,
    terms_of_payment: Sequence[Mapping[str, Any]] | None = None,
) -> CheckedBody:
    """:func:`record_to_eekonomi_customer`, keeping what checking the body loaded: pass
    it as ``sent`` to :func:`eekonomi_customer_to_record` with eEkonomi's answer."""
    label = customer_label(record["number"], record["name"])
    try:
        terms_id = choose_terms_of_payment(
            record["payment_term_days"], terms_of_payment, default_terms_id
        )
    except ValueError as error:
        raise MappingError(label, str(error)) from error
    payload: dict[str, Any] = shared(EEkonomiCustomer).dump(
        {**record, "terms_of_payment_id": terms_id}
    )
    return check_body(EEkonomiCustomer, payload, label)


def eekonomi_customer_to_record(
    payload: Mapping[str, Any],
    *,
    terms_of_payment: Sequence[Mapping[str, Any]] | None = None,
    sent: CheckedBody | None = None,
) -> CustomerRecord:
    """eEkonomi CustomerApi → record.

    Payment days come from the embedded ``TermsOfPayment``, else from
    ``terms_of_payment`` by ``TermsOfPaymentId``. ``sent``: the body ``payload``
    answers (:func:`eekonomi_customer_body`), whose load is reused where the answer
    echoes it (:func:`~schemas.base.load_answer`); the record is the same.
    """
    label = customer_label(payload.get("CustomerNumber"), payload.get("Name"))
    try:
        loaded = load_answer(EEkonomiCustomer, payload, sent)
    except ValidationError as error:
        raise mapping_error(label, error) from error
    if loaded.get("payment_term_days") is None and terms_of_payment:
        for terms in terms_of_payment:
            if terms.get("Id") == payload.get("TermsOfPaymentId"):
                loaded["payment_term_days"] = terms.get("NumberOfDays")
    return _as_record(loaded)


def record_to_severa_customer(
    record: CustomerRecord, *, currency_guids: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Record → Severa CustomerModel body (POST /v1/customers).

    Args:
        currency_guids: currency code → Severa currency guid (``/v1/currencies``); the
            customer's currency is left to Severa's default when not given.

    Raises:
        MappingError: a non-numeric customer number (R-5.1), an unknown currency.
    """
    label = customer_label(record["number"], record["name"])
    currency_guid = None
    code = record["currency_code"]
    if code and currency_guids is not None:
        currency_guid = currency_guids.get(code)
        if currency_guid is None:
            raise MappingError(
                label,
                f"currency {code} is not in Severa; activate it in Severa or change the "
                "customer's currency in eEkonomi",
            )
    try:
        return cast(
            dict[str, Any], shared(SeveraCustomer).dump({**record, "currency_guid": currency_guid})
        )
    except ValidationError as error:
        raise mapping_error(label, error) from error


def record_to_severa_customer_update(record: CustomerRecord) -> dict[str, Any]:
    """Record → the fields of an existing Severa customer an update may change
    (:data:`SEVERA_CUSTOMER_UPDATABLE`), as CustomerModel keys.

    Raises:
        MappingError: a non-numeric customer number (R-5.1).
    """
    body = record_to_severa_customer(record)
    return {name: body[name] for name in SEVERA_CUSTOMER_UPDATABLE if name in body}
