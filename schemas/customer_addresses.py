"""Customers (R-5.1, R-2.1): the invoicing address — which Severa address it is, how its
lines become eEkonomi's two, its country — and what an update may change on it.

Severa keeps any number of addresses per customer, flagged invoicing, postal or visit,
and one of them as the head office (``headquarterAddress``); eEkonomi keeps one
invoice address on the customer. :func:`choose_invoicing_address` is the one rule that
picks the Severa address: the read of a customer maps it, and an update from eEkonomi
writes to it (:func:`severa_invoicing_address`), so the two can never disagree.

Decision on a rule the spec leaves open: address lines beyond the first are joined with
``", "`` onto eEkonomi's second line. Text longer than eEkonomi's ``maxLength`` fails
the record with the field named; it is never truncated (a cut address is wrong on every
invoice afterwards).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from marshmallow import ValidationError, fields, post_dump, post_load, pre_dump

from schemas.base import MappingError, SeveraSchema, clean_text, mapping_error, shared
from schemas.customer_identity import customer_label
from schemas.records import CustomerRecord

__all__ = [
    "SEVERA_ADDRESS_UPDATABLE",
    "SeveraAddress",
    "address_problems",
    "choose_invoicing_address",
    "country_code_for",
    "headquarter_guid_of",
    "record_to_severa_address",
    "record_to_severa_address_update",
    "severa_invoicing_address",
    "split_address_lines",
]

#: R-1.1: the AddressModel fields an update from eEkonomi (the master) may change on the
#: Severa invoicing address — also the JSON Patch paths. The invoicing/postal flags stay
#: a person's choice in Severa; the country is set when the address is created (its
#: Severa guid is learnt from addresses read, and an update does not resolve it).
SEVERA_ADDRESS_UPDATABLE = ("addressline", "postalCode", "city", "phone")

A = TypeVar("A", bound=Mapping[str, Any])


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


def headquarter_guid_of(customer: Mapping[str, Any]) -> str | None:
    """The guid of a Severa customer's head-office address (``headquarterAddress``)."""
    reference = customer.get("headquarterAddress")
    return clean_text(reference.get("guid")) if isinstance(reference, Mapping) else None


def severa_invoicing_address(customer: Mapping[str, Any], addresses: Sequence[A]) -> A | None:
    """R-5.1 on Severa's own JSON: which of ``addresses`` (AddressModel, as Severa lists
    them) is the customer's invoicing address — ``None`` when it has none.

    The same rule a read of the customer applies (:func:`choose_invoicing_address`), so
    an update from eEkonomi writes to the very address the next read maps: with two
    rules, a customer whose addresses are a postal address and the head office would
    have one address read and the other written, on every run.

    Raises:
        MappingError: an address Severa sent cannot be read.
    """
    try:
        loaded = shared(SeveraAddress).load(list(addresses), many=True)
    except ValidationError as error:
        label = customer_label(customer.get("number"), customer.get("name"))
        raise mapping_error(label, error) from error
    chosen = choose_invoicing_address(loaded, headquarter_guid_of(customer))
    return next((raw for raw, one in zip(addresses, loaded, strict=True) if one is chosen), None)


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


def record_to_severa_address_update(record: CustomerRecord) -> dict[str, Any]:
    """Record → the fields of the Severa invoicing address an update may change
    (:data:`SEVERA_ADDRESS_UPDATABLE`), as AddressModel keys."""
    body = record_to_severa_address(record)
    return {name: body[name] for name in SEVERA_ADDRESS_UPDATABLE if name in body}
