"""The eEkonomi store: one :class:`Company` per tenant, each with its own collections.

Every token is bound to one company and sees only its records, so the store is split by
company first. A company's collections are :class:`~sandbox.core.store.Collection`\\ s
keyed by ``Id`` (``Code`` for countries and currencies) with the indexes eEkonomi's
rules need: the values it keeps unique (customer, article and project numbers, an item's
short name within its cost center) and the links the computed fields follow (a
customer's invoices for ``UnpaidInvoicesAmount``, a cost center's items).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.core.store import Collection, IndexKey, Record
from sandbox.eekonomi.constants import stable_id
from sandbox.eekonomi.errors import not_found

#: Store collections, in dump order (``costCenterItems`` travel inside ``costCenters``).
COLLECTIONS = (
    "companySettings",
    "units",
    "termsOfPayments",
    "countries",
    "currencies",
    "articleAccountCodings",
    "customers",
    "articles",
    "costCenters",
    "projects",
    "suppliers",
    "customerInvoiceDrafts",
    "customerInvoices",
    "supplierInvoices",
)
STORED = (*(name for name in COLLECTIONS if name != "companySettings"), "costCenterItems")


def item_short_name(item: Record) -> tuple[Any, str]:
    """An item's short name within its cost center, compared case-insensitively."""
    return (item.get("CostCenterId"), str(item.get("ShortName") or "").lower())


#: What eEkonomi keeps unique per collection (index name → key).
UNIQUE: dict[str, dict[str, IndexKey]] = {
    "customers": {"number": "CustomerNumber"},
    "articles": {"number": "Number"},
    "projects": {"number": "Number"},
    "costCenterItems": {"short_name": item_short_name},
}
#: The links computed fields follow (index name → key).
INDEXES: dict[str, dict[str, IndexKey]] = {
    "costCenterItems": {"center": "CostCenterId"},
    "customerInvoices": {"customer": "CustomerId"},
    "customerInvoiceDrafts": {"customer": "CustomerId"},
    "projects": {"customer": "CustomerId"},
}


def _collection(name: str) -> Collection:
    key = "Code" if name in ("countries", "currencies") else "Id"
    return Collection(name, key=key, unique=UNIQUE.get(name), indexes=INDEXES.get(name))


@dataclass
class Company:
    """One eEkonomi company: its records (by collection, then id) and its settings."""

    id: str
    name: str
    api_module: bool
    settings: Record = field(default_factory=dict)
    data: dict[str, Collection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in STORED:
            self.data.setdefault(name, _collection(name))

    def coll(self, name: str) -> Collection:
        return self.data[name]

    def clear(self) -> None:
        for records in self.data.values():
            records.clear()

    def find(self, collection: str, ident: str, what: str) -> Record:
        """The record with id ``ident``, or 404 / 3000 naming it as ``what``."""
        record = self.coll(collection).get(ident.lower())
        if record is None:
            raise not_found(f"The {what} with id '{ident}'")
        return record

    @property
    def bank_account_id(self) -> str:
        """The company's default cheque account (``/v2/bankaccounts``, not served): where
        customer payments are registered and supplier invoices are paid from."""
        return stable_id("bankaccount", self.id)

    def counts(self) -> dict[str, int]:
        return {name: len(records) for name, records in self.data.items()}
