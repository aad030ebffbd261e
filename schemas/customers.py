"""Customers (R-5.1): Severa customer + addresses + contacts ⇄ eEkonomi customer.

Severa spreads a customer over three resources (customer, addresses, contact persons
with their communications), eEkonomi keeps it flat. The schema classes below are the
declarative mapping, one per vendor resource, with the canonical attribute names of
:class:`~schemas.records.CustomerRecord`; the rules that are not one-to-one are the
named functions next to them. The functions at the end are what the engine calls.

Input of :func:`severa_customer_to_record` (one dict, as the engine assembles it)::

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

* Org/VAT number: the one Severa value always goes to ``CorporateIdentityNumber`` as
  written; it goes to ``VatNumber`` only when it is EU-VAT shaped (EU country prefix +
  8–12 letters/digits, e.g. ``SE5566778899 01``), in compact form (``SE556677889901``),
  because eEkonomi checks ``VatNumber`` against VIES and refuses the customer (4025)
  for a plain org number. Back into Severa the VAT number wins over a plain org number.
* Address lines beyond the first are joined with ``", "`` onto eEkonomi's second line.
  Text longer than eEkonomi's ``maxLength`` fails the record with the field named; it
  is never truncated (a cut address is wrong on every invoice afterwards).
* The contact is the first *active* contact person linked to the chosen address (by
  the contact's ``addressGuid`` or the address's ``contacts``), in the order given.
  No link, no contact: the spec ties the reference to the invoicing address.
* Terms of payment: Severa keeps only a number of days. With eEkonomi's terms list the
  days pick the matching terms; no days means the standard terms; days without
  matching terms fail the record rather than silently changing due dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from marshmallow import ValidationError, fields, post_dump, post_load, pre_dump, validate

from schemas.base import (
    EEkonomiSchema,
    MappingError,
    SeveraSchema,
    clean_text,
    mapping_error,
    max_length,
    raise_if_invalid,
    required_messages,
    shared,
)
from schemas.records import CustomerRecord

__all__ = [
    "EEkonomiCustomer",
    "SeveraAddress",
    "SeveraContact",
    "SeveraCustomer",
    "check_importable_into_severa",
    "choose_terms_of_payment",
    "country_code_for",
    "customer_label",
    "eekonomi_customer_to_record",
    "record_to_eekonomi_customer",
    "record_to_severa_address",
    "record_to_severa_contact",
    "record_to_severa_contact_communications",
    "record_to_severa_customer",
    "severa_customer_to_record",
    "split_contact_name",
    "split_org_and_vat_number",
]

FIX_IN_SEVERA = "Severa"

# -- named rules ----------------------------------------------------------------------

#: Prefixes VIES knows: the EU member states (Greece is EL) and Northern Ireland (XI).
EU_VAT_PREFIXES = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI"}
)
_VAT_SHAPE = re.compile(r"^([A-Z]{2})([0-9A-Z]{8,12})$")


def compact_vat_number(value: str | None) -> str | None:
    """The VIES form of ``value`` when it is EU-VAT shaped, else ``None``.

    eEkonomi's own description of ``VatNumber``: a 2-letter country code followed by
    8–12 letters and digits. Spaces, dots and dashes are dropped (``SE5566778899 01`` →
    ``SE556677889901``); a plain org number (``556677-8899``) has no prefix and a
    non-EU number (``NO…MVA``) is not checked by VIES, so neither qualifies.
    """
    if not value:
        return None
    compact = re.sub(r"[\s.\-]", "", value).upper()
    match = _VAT_SHAPE.match(compact)
    if match is None or match.group(1) not in EU_VAT_PREFIXES:
        return None
    return compact


def split_org_and_vat_number(value: str | None) -> tuple[str | None, str | None]:
    """R-5.1: the one Severa value → (CorporateIdentityNumber, VatNumber).

    Both fields get it, except that ``VatNumber`` only gets VAT-shaped values (see
    :func:`compact_vat_number`): eEkonomi validates it against VIES.
    """
    text = clean_text(value)
    return text, compact_vat_number(text)


def severa_org_or_vat_number(record: Mapping[str, Any]) -> str | None:
    """The single Severa ``vatNumber`` for a record: the reverse of the split.

    A record loaded from Severa gives back exactly what Severa had (its corporate
    identity number is the original text). From eEkonomi, where the two are separate,
    the VAT number wins: it contains the org number and is what the field is called.
    """
    org = record.get("corporate_identity_number")
    vat = record.get("vat_number")
    if org and compact_vat_number(org):
        return cast(str, org)
    return cast("str | None", vat or org)


def split_address_lines(addressline: str | None) -> tuple[str | None, str | None]:
    """R-5.1: Severa's multi-line address → eEkonomi's two lines.

    Lines are newline-separated in Severa's single ``addressline``; blank lines are
    dropped, the first line stays, every other line is joined onto the second with
    ``", "`` (``"Storgatan 1\\nBox 12\\nPlan 3"`` → ``"Storgatan 1"``, ``"Box 12, Plan 3"``).
    """
    lines = [line.strip() for line in (addressline or "").splitlines() if line.strip()]
    if not lines:
        return None, None
    return lines[0], ", ".join(lines[1:]) or None


def split_contact_name(name: str) -> tuple[str, str]:
    """R-5.1: into Severa the contact name is split at the first space.

    ``"Anna Maria Svensson"`` → ``("Anna", "Maria Svensson")``. Severa requires both
    names to be non-empty, so a one-word name keeps the word as first name and ``"-"``
    as last name.
    """
    first, _, last = " ".join(name.split()).partition(" ")
    return first, last or "-"


#: Country names Severa shows (English, Swedish, Finnish, native) → ISO alpha-2.
_COUNTRY_NAMES: dict[str, str] = {
    **dict.fromkeys(["sweden", "sverige", "ruotsi"], "SE"),
    **dict.fromkeys(["finland", "suomi"], "FI"),
    **dict.fromkeys(["norway", "norge", "norja", "noreg"], "NO"),
    **dict.fromkeys(["denmark", "danmark", "tanska"], "DK"),
    **dict.fromkeys(["iceland", "island", "islanti"], "IS"),
    **dict.fromkeys(["estonia", "estland", "viro", "eesti"], "EE"),
    **dict.fromkeys(["latvia", "lettland", "latvija"], "LV"),
    **dict.fromkeys(["lithuania", "litauen", "liettua", "lietuva"], "LT"),
    **dict.fromkeys(["germany", "tyskland", "saksa", "deutschland"], "DE"),
    **dict.fromkeys(["netherlands", "the netherlands", "nederländerna", "alankomaat"], "NL"),
    **dict.fromkeys(["belgium", "belgien", "belgia"], "BE"),
    **dict.fromkeys(["france", "frankrike", "ranska"], "FR"),
    **dict.fromkeys(["spain", "spanien", "espanja", "españa"], "ES"),
    **dict.fromkeys(["italy", "italien", "italia"], "IT"),
    **dict.fromkeys(["poland", "polen", "puola", "polska"], "PL"),
    **dict.fromkeys(["austria", "österrike", "itävalta", "österreich"], "AT"),
    **dict.fromkeys(["switzerland", "schweiz", "sveitsi"], "CH"),
    **dict.fromkeys(["ireland", "irland", "irlanti"], "IE"),
    **dict.fromkeys(["portugal", "portugali"], "PT"),
    **dict.fromkeys(["united kingdom", "storbritannien", "iso-britannia", "great britain"], "GB"),
    **dict.fromkeys(["united states", "usa", "förenta staterna", "yhdysvallat"], "US"),
}


def country_code_for(country: Mapping[str, Any] | None) -> str | None:
    """ISO alpha-2 code of a Severa country reference, or ``None`` when unknown.

    Severa's address country has no code, only ``guid``/``name``/``englishName``:
    ``code2`` (added from Severa's country list) wins, then the names are looked up.
    """
    if not country:
        return None
    code = clean_text(country.get("code2"))
    if code and len(code) == 2:
        return code.upper()
    for key in ("englishName", "name"):
        name = clean_text(country.get(key))
        if name is None:
            continue
        if len(name) == 2 and name.isalpha():
            return name.upper()
        found = _COUNTRY_NAMES.get(name.casefold())
        if found:
            return found
    return None


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


def customer_label(number: Any, name: Any) -> str:
    """How a person finds the customer: ``customer 1049 'Foo AB'``."""
    return f"customer {number if number not in (None, '') else '(no number)'} '{name or ''}'"


def customer_number_problem(number: str | None) -> str | None:
    """Why a customer number cannot be a Severa customer number (R-5.1), or ``None``.

    Severa stores it as an int64: digits only, no leading zero (``00123`` would come
    back as ``123`` and no longer match eEkonomi, R-2.2).
    """
    if not number:
        return "has no customer number; give it a number in eEkonomi"
    if not number.isdigit() or not number.isascii():
        return (
            f"customer number '{number}' is not numeric; Severa only accepts digits, "
            "so renumber the customer in eEkonomi"
        )
    if number.startswith("0") or len(number) > 18:
        return (
            f"customer number '{number}' does not fit Severa's integer customer numbers "
            "(leading zero or more than 18 digits); renumber the customer in eEkonomi"
        )
    return None


def name_key(name: str) -> str:
    """Customer names compared for uniqueness: case and spacing do not count."""
    return " ".join(name.split()).casefold()


# -- Severa ---------------------------------------------------------------------------


class SeveraCommunication(SeveraSchema):
    """ContactCommunicationModel: a contact's e-mail or phone (Severa keeps them apart)."""

    value = fields.String(required=True)
    kind = fields.Method(
        deserialize="load_kind", data_key="communicationType", load_only=True, allow_none=True
    )
    communication_type = fields.Method(
        "dump_type_ref", data_key="communicationType", dump_only=True
    )
    contact = fields.Method("dump_contact_ref", dump_only=True)
    is_forbidden_to_use = fields.Boolean(data_key="isForbiddenToUse", dump_default=False)

    def load_kind(self, value: Mapping[str, Any]) -> str | None:
        return cast("str | None", value.get("type"))

    def dump_type_ref(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"guid": obj["communication_type_guid"]}

    def dump_contact_ref(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"guid": obj["contact_guid"]}


class SeveraContact(SeveraSchema):
    """ContactModel ⇄ the contact/reference columns of R-5.1."""

    guid = fields.String(load_only=True, allow_none=True)
    address_guid = fields.String(data_key="addressGuid", allow_none=True)
    contact_is_active = fields.Boolean(data_key="isActive", load_default=True, load_only=True)
    contact_is_deleted = fields.Boolean(data_key="isDeleted", load_default=False, load_only=True)
    first_name = fields.String(data_key="firstName", allow_none=True)
    last_name = fields.String(data_key="lastName", allow_none=True)
    contact_name = fields.String(data_key="name", allow_none=True, load_only=True)
    emails = fields.List(fields.String(), allow_none=True, load_only=True)
    phone_numbers = fields.List(
        fields.String(), data_key="phoneNumbers", allow_none=True, load_only=True
    )
    communications = fields.List(
        fields.Nested(SeveraCommunication), load_default=list, load_only=True
    )
    customer = fields.Method("dump_customer_ref", dump_only=True)

    @post_load
    def collect_contact_details(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Name, e-mail, phone and mobile of the contact (R-5.1).

        Typed communications (``EmailAddress``, ``Phone``, ``MobilePhone``) are used
        when the caller supplies them; otherwise the contact's read-only ``emails`` and
        ``phoneNumbers`` give e-mail and phone (they cannot tell a mobile apart).
        """
        by_kind: dict[str, str] = {}
        for item in data.pop("communications"):
            text = clean_text(item.get("value"))
            if text and item.get("kind"):
                by_kind.setdefault(item["kind"], text)
        emails = [e for e in (data.pop("emails", None) or []) if clean_text(e)]
        phones = [p for p in (data.pop("phone_numbers", None) or []) if clean_text(p)]
        full_name = clean_text(data.get("contact_name")) or clean_text(
            " ".join(filter(None, (data.get("first_name"), data.get("last_name"))))
        )
        return {
            "guid": data.get("guid"),
            "address_guid": data.get("address_guid"),
            "usable": data["contact_is_active"] and not data["contact_is_deleted"],
            "contact_name": " ".join(full_name.split()) if full_name else None,
            "contact_email": by_kind.get("EmailAddress") or (emails[0].strip() if emails else None),
            "contact_phone": by_kind.get("Phone")
            or (phones[0].strip() if phones and not by_kind else None),
            "contact_mobile": by_kind.get("MobilePhone"),
        }

    @pre_dump
    def split_name(self, record: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        first, last = split_contact_name(record["contact_name"])
        return {**record, "first_name": first, "last_name": last}

    def dump_customer_ref(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"guid": obj["customer_guid"]}


class SeveraAddress(SeveraSchema):
    """AddressModel ⇄ the address columns of R-5.1 (address, postal code, city, country,
    phone)."""

    guid = fields.String(load_only=True, allow_none=True)
    is_billing_address = fields.Boolean(
        data_key="isBillingAddress", load_default=False, dump_default=True
    )
    is_postal_address = fields.Boolean(
        data_key="isPostalAddress", load_default=False, dump_default=True
    )
    contact_guids = fields.Method(deserialize="load_guids", data_key="contacts", load_only=True)
    addressline = fields.String(allow_none=True)  # Severa's one multi-line string
    postal_code = fields.String(data_key="postalCode", allow_none=True)
    city = fields.String(allow_none=True)
    country = fields.Dict(allow_none=True, load_only=True)
    country_ref = fields.Method("dump_country_ref", data_key="country", dump_only=True)
    phone = fields.String(allow_none=True)

    def load_guids(self, value: Any) -> list[str]:
        return [str(item["guid"]) for item in value or [] if item.get("guid")]

    def dump_country_ref(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        guid = obj.get("country_guid")
        return {"guid": guid} if guid else None

    @post_load
    def split_lines(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        line1, line2 = split_address_lines(data.pop("addressline", None))
        country = data.pop("country", None)
        return {
            **data,
            "contact_guids": data.get("contact_guids") or [],
            "address_line1": line1,
            "address_line2": line2,
            "postal_code": clean_text(data.get("postal_code")),
            "city": clean_text(data.get("city")),
            "phone": clean_text(data.get("phone")),
            "country_code": country_code_for(country),
            "country_name": _country_name(country),
        }

    @post_dump
    def omit_unset_country(self, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        if payload.get("country") is None:
            payload.pop("country", None)
        return payload

    @pre_dump
    def join_lines(self, record: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        lines = [record.get("address_line1"), record.get("address_line2")]
        return {**record, "addressline": "\n".join(line for line in lines if line) or None}


def _country_name(country: Mapping[str, Any] | None) -> str | None:
    if not country:
        return None
    return clean_text(country.get("englishName")) or clean_text(country.get("name"))


def address_problems(address: Mapping[str, Any]) -> list[str]:
    """What keeps the chosen address from being an eEkonomi invoice address (R-2.1)."""
    problems = [
        f"has no {label}"
        for label, key in (("postal code", "postal_code"), ("city", "city"))
        if not address.get(key)
    ]
    if address.get("country_code") is None:
        name = address.get("country_name")
        problems.append(
            f"has a country '{name}' that could not be matched to a country code"
            if name
            else "has no country"
        )
    return problems


def choose_invoicing_address(
    addresses: Sequence[Mapping[str, Any]], headquarter_guid: str | None
) -> Mapping[str, Any] | None:
    """R-5.1: the first invoicing address, else the main address.

    The main address is the customer's ``headquarterAddress``. When that is not set
    either, the first postal address and then the first address listed are taken, so
    that a customer with one unflagged address still transfers.
    """
    for address in addresses:
        if address["is_billing_address"]:
            return address
    for address in addresses:
        if headquarter_guid and address.get("guid") == headquarter_guid:
            return address
    for address in addresses:
        if address["is_postal_address"]:
            return address
    return addresses[0] if addresses else None


def first_linked_contact(
    contacts: Sequence[Mapping[str, Any]], address: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """R-5.1: the first usable contact person linked to the invoicing address."""
    guid = address.get("guid")
    linked = set(address.get("contact_guids") or [])
    for contact in contacts:
        if not contact["usable"] or not contact["contact_name"]:
            continue
        if (guid and contact.get("address_guid") == guid) or contact.get("guid") in linked:
            return contact
    return None


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
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise ValidationError(f"customer number {value!r} is not a whole number")
        return str(int(value))

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


# -- the API the engine calls ---------------------------------------------------------

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
    label = customer_label(record["number"], record["name"])
    try:
        terms_id = choose_terms_of_payment(
            record["payment_term_days"], terms_of_payment, default_terms_id
        )
    except ValueError as error:
        raise MappingError(label, str(error)) from error
    schema = shared(EEkonomiCustomer)
    payload: dict[str, Any] = schema.dump({**record, "terms_of_payment_id": terms_id})
    raise_if_invalid(schema, payload, label)
    return payload


def eekonomi_customer_to_record(
    payload: Mapping[str, Any], *, terms_of_payment: Sequence[Mapping[str, Any]] | None = None
) -> CustomerRecord:
    """eEkonomi CustomerApi → record.

    Payment days come from the embedded ``TermsOfPayment``, else from
    ``terms_of_payment`` by ``TermsOfPaymentId``.
    """
    label = customer_label(payload.get("CustomerNumber"), payload.get("Name"))
    try:
        loaded = shared(EEkonomiCustomer).load(payload)
    except ValidationError as error:
        raise mapping_error(label, error) from error
    if loaded.get("payment_term_days") is None and terms_of_payment:
        for terms in terms_of_payment:
            if terms.get("Id") == payload.get("TermsOfPaymentId"):
                loaded["payment_term_days"] = terms.get("NumberOfDays")
    return _as_record(loaded)


def check_importable_into_severa(record: CustomerRecord, existing_names: Iterable[str]) -> None:
    """R-5.1: may this eEkonomi customer be created in Severa?

    Its number must be numeric and its name unused. ``existing_names`` are Severa's
    customer names (for an update, leave out the customer's own current name). Names
    are compared without regard to case and spacing: Severa users would not tell
    "Foo AB" and "foo  ab" apart either.

    Raises:
        MappingError: naming every problem at once.
    """
    label = customer_label(record["number"], record["name"])
    problems = []
    number_problem = customer_number_problem(record["number"])
    if number_problem:
        problems.append(number_problem)
    taken = {name_key(name) for name in existing_names if name}
    if name_key(record["name"]) in taken:
        problems.append(
            f"Severa already has a customer named '{record['name']}'; customer names must "
            "be unique in Severa, so rename one of them"
        )
    if problems:
        raise MappingError(label, "; ".join(problems))


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


def record_to_severa_address(
    record: CustomerRecord, *, country_guids: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Record → Severa AddressModel body (POST /v1/customers/{guid}/addresses).

    The address is flagged as the invoicing and postal address. ``country_guids`` maps
    ISO alpha-2 → Severa country guid (``/v1/localization/countries``).
    """
    country_guid = None
    code = record["country_code"]
    if code and country_guids is not None:
        country_guid = country_guids.get(code)
        if country_guid is None:
            raise MappingError(
                customer_label(record["number"], record["name"]),
                f"country {code} is not in Severa's country list; correct the customer's "
                "country in eEkonomi",
            )
    return cast(
        dict[str, Any], shared(SeveraAddress).dump({**record, "country_guid": country_guid})
    )


def record_to_severa_contact(
    record: CustomerRecord, *, customer_guid: str, address_guid: str | None = None
) -> dict[str, Any] | None:
    """Record → Severa ContactModel body (POST /v1/contactpersons), ``None`` without a
    contact name. Linked to ``address_guid`` so it reads back as the invoicing
    address's contact. E-mail and phones go separately, see
    :func:`record_to_severa_contact_communications`."""
    if not record["contact_name"]:
        return None
    return cast(
        dict[str, Any],
        shared(SeveraContact).dump(
            {**record, "customer_guid": customer_guid, "address_guid": address_guid}
        ),
    )


def record_to_severa_contact_communications(
    record: CustomerRecord,
    *,
    contact_guid: str,
    communication_types: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Record → ContactCommunicationModel bodies (POST /v1/contactcommunications).

    Severa cannot store e-mail or phone on the contact itself. ``communication_types``
    is ``GET /v1/communicationtypes``; the first active type of each kind is used.
    ``isForbiddenToUse`` is sent as ``false`` since the spec's default is ``true``.

    Raises:
        MappingError: Severa has no active communication type for a value we have.
    """
    wanted = (
        ("EmailAddress", record["contact_email"]),
        ("Phone", record["contact_phone"]),
        ("MobilePhone", record["contact_mobile"]),
    )
    bodies = []
    schema = shared(SeveraCommunication)
    for kind, value in wanted:
        if not value:
            continue
        type_guid = next(
            (
                t["guid"]
                for t in communication_types
                if t.get("type") == kind and t.get("isActive", True) and t.get("guid")
            ),
            None,
        )
        if type_guid is None:
            raise MappingError(
                customer_label(record["number"], record["name"]),
                f"Severa has no active communication type '{kind}'; add one in Severa",
            )
        bodies.append(
            cast(
                dict[str, Any],
                schema.dump(
                    {
                        "value": value,
                        "communication_type_guid": type_guid,
                        "contact_guid": contact_guid,
                    }
                ),
            )
        )
    return bodies
