"""The records of one Severa organization: collections, indexes, seed and dump.

The store keeps records in Severa's wire format (camelCase, nested ``{guid, name}``
references), one shared :class:`~sandbox.core.Collection` per vendor collection, keyed
by guid in insertion order, indexed on the references its sub-resource lists follow.
Stored records are never mutated in place (every write replaces the dict), so list
answers can share them without copying. Each organization of the sandbox has its
own :class:`Store`, so no record can cross from one organization to another.

The organization-wide facts several resources need (its currency, country, settings,
the next free number) are answered here, once, from the stored records.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandbox.core import Collection, dig
from sandbox.severa.errors import invalid, not_found

Record = dict[str, Any]

#: Store collections, in the order of the dump. The first group has REST resources;
#: the second holds records Severa has but the OpenAPI subset exposes only embedded.
COLLECTIONS: tuple[str, ...] = (
    "organizationDetails", "organizationSettings", "currencies", "vatRates",
    "invoiceStatuses", "products", "workTypes", "travelExpenseTypes", "customers",
    "addresses", "contactPersons", "contactCommunications", "projects", "projectFees",
    "invoices", "invoiceRows", "workHours", "projectTravelExpenses",
    "users", "phases", "countries", "communicationTypes",
)  # fmt: skip

#: Secondary indexes (collection → dotted fields) for the sub-resource lists.
INDEXES: dict[str, tuple[str, ...]] = {
    "addresses": ("customer.guid",),
    "contactPersons": ("customer.guid", "addressGuid"),
    "contactCommunications": ("contact.guid",),
    "projects": ("customer.guid",),
    "projectFees": ("invoiceRowGuid", "project.guid"),
    "invoiceRows": ("invoiceGuid",),
    "workHours": ("invoiceRowGuid", "project.guid"),
    "projectTravelExpenses": ("invoiceRowGuid", "project.guid"),
    "invoices": ("customer.guid",),
}


class Store(dict[str, Collection]):
    """Every collection of one organization, plus the organization-wide facts."""

    def __init__(self) -> None:
        super().__init__(
            (name, Collection(name, key="guid", indexes={i: i for i in INDEXES.get(name, ())}))
            for name in COLLECTIONS
        )

    def col(self, name: str) -> Collection:
        return self[name]

    def find(self, collection: str, guid: str, what: str) -> Record:
        """The record a path parameter names; 404 when there is none."""
        found = self[collection].get(guid)
        if found is None:
            raise not_found(what, guid)
        return found

    def members(self, collection: str, index: str, key: str | None) -> list[Record]:
        """The records whose indexed field equals ``key``, in insertion order."""
        records = self[collection].records
        return [records[g] for g in self[collection].by(index, key)]

    def embed(
        self, collection: str, value: Record | None, shape: Callable[[Record], Record]
    ) -> Record | None:
        """The sub-model (``shape``) of the record a validated ``{guid}`` names, or
        ``None`` when it names none: how a write turns a reference into what Severa shows."""
        found = self[collection].get(value["guid"]) if value else None
        return shape(found) if found is not None else None

    def lookup(self, collection: str, key: Any, *fields_: str) -> Record:
        """A record by guid or by one of ``fields_`` (e.g. a customer by number);
        ``KeyError`` when none matches (the back office's way of naming records)."""
        col = self[collection]
        found = col.get(str(key))
        if found is not None:
            return found
        for record in col.ordered():
            if any(record.get(f) == key or str(record.get(f)) == str(key) for f in fields_):
                return record
        raise KeyError(f"no {collection} record {key!r}")

    def first(self, collection: str) -> Record:
        """The single record of a one-record collection (details, settings), or ``{}``."""
        found = self[collection].ordered()
        return found[0] if found else {}

    def org_currency(self) -> str:
        code = dig(self.first("organizationDetails"), "currency.code")
        return code if isinstance(code, str) else "SEK"

    def org_currency_ref(self) -> Record | None:
        code = self.org_currency()
        for cur in self["currencies"].records.values():
            if cur.get("code") == code:
                return {"guid": cur["guid"]}
        return None

    def org_country(self) -> Record | None:
        guid = dig(self.first("organizationDetails"), "country.guid")
        return self["countries"].get(guid) if guid else None

    def bump_setting(self, name: str, used: int) -> None:
        """Move the organization's ``next…Number`` setting past ``used``."""
        settings = self.first("organizationSettings")
        if settings and int(settings.get(name) or 0) <= used:
            self["organizationSettings"].put({**settings, name: used + 1})

    def next_number(self, collection: str, setting: str) -> int:
        """Next free number: the org setting, but never one already taken."""
        taken = {r.get("number") for r in self[collection].records.values()}
        candidate = int(self.first("organizationSettings").get(setting) or 1)
        while candidate in taken:
            candidate += 1
        return candidate

    def unique_number(self, collection: str, number: Any, own: str | None, what: str) -> None:
        """400 when another record of ``collection`` already has ``number``."""
        if number is None:
            return
        for record in self[collection].records.values():
            if record.get("number") == number and record["guid"] != own:
                raise invalid(f"{what} number {number} is already in use.", "number")

    def user(self, guid: str | None) -> Record | None:
        """A user as Severa embeds one (``createdBy``, project owner, …)."""
        user = self["users"].get(guid)
        if user is None:
            return None
        return {
            "guid": user["guid"],
            "code": user.get("code"),
            "firstName": user.get("firstName"),
            "lastName": user.get("lastName"),
            "name": user.get("name"),
        }

    def dump(self) -> dict[str, Any]:
        """Every collection, records in wire format (plus the documented extras)."""
        return {name: copy.deepcopy(col.ordered()) for name, col in self.items()}

    def seed(
        self,
        payload: dict[str, Any],
        *,
        replace: bool,
        new_guid: Callable[[], str],
        stamp: Callable[[], str],
    ) -> dict[str, int]:
        """Load records shaped like :meth:`dump`; ``replace`` empties every collection
        first. Records keep their guids and timestamps (a missing guid or
        ``createdDateTime`` is filled in); no validation, as befits a database restore."""
        unknown = sorted(set(payload) - set(COLLECTIONS) - {"_meta"})
        if unknown:
            raise ValueError(f"unknown Severa collections: {', '.join(unknown)}")
        if replace:
            for col in self.values():
                col.clear()
        counts: dict[str, int] = {}
        for name in COLLECTIONS:
            records = payload.get(name)
            if records is None:
                continue
            if not isinstance(records, list):
                raise ValueError(f"{name} must be a list of records")
            for record in records:
                item = copy.deepcopy(record)
                # A guid and a stamp are drawn for every record, used or not: the
                # committed demo data was generated with exactly that sequence.
                item.setdefault("guid", new_guid())
                item["guid"] = str(item["guid"])
                item.setdefault("createdDateTime", stamp())
                self[name].put(item)
            counts[name] = len(records)
        return counts
