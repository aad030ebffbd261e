"""Severa's wire format: money objects, free texts and the ``{guid, name, ...}`` sub-models.

A Severa record names another by embedding a small sub-model of it (a customer inside
a project is ``{guid, name, number}``); the same sub-model shapes appear in many
resources. They are built here, in one place each, so two resources cannot drift
apart in how they show the same record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

Record = dict[str, Any]


def money_output(amount: Any, currency: str | None) -> Record:
    """Severa's ``MoneyOutputModel`` of an amount (a wire number, or a
    :func:`~sandbox.core.round_money` result, answered as a JSON number)."""
    if isinstance(amount, Decimal):
        amount = float(amount)
    return {"amount": amount, "currencyCode": currency, "multiCurrencyInfo": []}


def money_of(value: Mapping[str, Any] | None) -> Record | None:
    """The stored ``MoneyOutputModel`` of a validated money input (``None`` clears)."""
    return money_output(value["amount"], value["currencyCode"]) if value else None


def new_guid() -> str:
    return str(uuid.uuid4())


def pick(record: Mapping[str, Any], *names: str) -> Record:
    """``{name: record.get(name)}`` for ``names``: a reference sub-model."""
    return {name: record.get(name) for name in names}


def named(record: Mapping[str, Any]) -> Record:
    """``{guid, name}``: the most common sub-model (phase, product category, account)."""
    return pick(record, "guid", "name")


def customer_ref(customer: Mapping[str, Any]) -> Record:
    """A customer inside a contact, address, project, fee or invoice."""
    return pick(customer, "guid", "name", "number")


def currency_ref(currency: Mapping[str, Any]) -> Record:
    """A currency inside a customer or project."""
    return pick(currency, "guid", "code", "name", "symbol")


def invoice_ref(invoice: Mapping[str, Any]) -> Record:
    """The invoice a source item (fee, hour, travel expense) was billed on."""
    return pick(invoice, "guid", "number", "date")


def user_ref(user: Mapping[str, Any]) -> Record:
    """A user inside a fee or travel expense (hours and projects show more of it)."""
    return {**pick(user, "guid", "code", "name"), "companyGuid": None}


def free_text(text: Any) -> Record:
    """``FreeTextModel2``: the writable ``value`` plus its read-only renderings."""
    value = None if text is None else str(text)
    return {
        "value": value,
        "text": value,
        "plainText": value,
        "allowTags": False,
        "tagContext": None,
    }


def drop_null_refs(record: Record, names: Iterable[str]) -> Record:
    """Omit ``names`` where they are ``null``: the document types them as ``$ref``
    sub-models, and a ``$ref`` property cannot be ``null`` in OpenAPI 3.0, so Severa
    leaves them out instead (``lastUpdatedBy`` always, until a record is updated)."""
    for name in names:
        if name in record and record[name] is None:
            del record[name]
    if record.get("lastUpdatedBy") is None:
        record.pop("lastUpdatedBy", None)
    return record
