"""Customers (R-5.1): the contact person — which Severa contact is the customer's
reference, its e-mail and phones, and how it is written back into Severa.

Severa keeps contact persons apart from the customer and their e-mail and phones apart
from the contact (contact communications); eEkonomi keeps one reference on the customer.

Decision on a rule the spec leaves open: the contact is the first *active* contact
person linked to the invoicing address (by the contact's ``addressGuid`` or the
address's ``contacts``), in the order given. No link, no contact: the spec ties the
reference to the invoicing address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from marshmallow import fields, post_load, pre_dump

from schemas.base import MappingError, SeveraSchema, clean_text, shared
from schemas.customer_identity import customer_label
from schemas.records import CustomerRecord

__all__ = [
    "SeveraCommunication",
    "SeveraContact",
    "first_linked_contact",
    "record_to_severa_contact",
    "record_to_severa_contact_communications",
    "split_contact_name",
]


def split_contact_name(name: str) -> tuple[str, str]:
    """R-5.1: into Severa the contact name is split at the first space.

    ``"Anna Maria Svensson"`` → ``("Anna", "Maria Svensson")``. Severa requires both
    names to be non-empty, so a one-word name keeps the word as first name and ``"-"``
    as last name.
    """
    first, _, last = " ".join(name.split()).partition(" ")
    return first, last or "-"


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
