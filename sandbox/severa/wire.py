"""Severa's wire format: date-times, money, and the ``{guid, name, ...}`` sub-models.

A Severa record names another by embedding a small sub-model of it (a customer inside
a project is ``{guid, name, number}``); the same sub-model shapes appear in many
resources. They are built here, in one place each, so two resources cannot drift
apart in how they show the same record.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]


def fmt_time(moment: datetime) -> str:
    """Severa date-time on the wire: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    """ISO-8601 date or date-time; no offset means UTC (the server's zone)."""
    text = value.strip()
    if not text:
        raise ValueError("empty")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def dig(record: Mapping[str, Any], dotted: str) -> Any:
    """``dig(r, "customer.guid")``; ``None`` when any step is missing."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def money(amount: float | int | None, currency: str | None) -> Record:
    """``MoneyOutputModel``."""
    return {"amount": amount, "currencyCode": currency, "multiCurrencyInfo": []}


def money_of(value: Mapping[str, Any] | None) -> Record | None:
    """The stored ``MoneyOutputModel`` of a validated money input (``None`` clears)."""
    return money(value["amount"], value["currencyCode"]) if value else None


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
