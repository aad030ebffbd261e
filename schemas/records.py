"""The canonical records both vendors' schemas load into and dump from (R-5).

A key here is the *same* attribute name in the Severa schema and in the eEkonomi
schema of a register, so reading the two schema classes side by side is reading the
R-5 table. Records hold no vendor ids (the binder keeps those) and no vendor-only
settings (coding, unit and terms ids are chosen when dumping).

:func:`content_hash` lets the engine tell "unchanged since the last write" (R-6.1).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, TypedDict

__all__ = ["CustomerRecord", "ProductKind", "ProductRecord", "ProjectRecord", "content_hash"]


class CustomerRecord(TypedDict):
    """A customer as both systems share it (R-5.1). ``None`` = not set."""

    number: str  # digits when it comes from Severa; eEkonomi allows any text
    name: str
    is_active: bool
    is_private_person: bool  # always False from Severa: "company"
    corporate_identity_number: str | None  # the one Severa org/VAT value, as written
    vat_number: str | None  # only when VAT-number shaped (EU prefix), compact form
    address_line1: str | None
    address_line2: str | None  # Severa's 2nd, 3rd, … lines joined with ", "
    postal_code: str
    city: str
    country_code: str | None  # ISO 3166-1 alpha-2
    phone: str | None
    email: str | None
    website: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    contact_mobile: str | None
    payment_term_days: int | None  # None: the standard terms apply
    currency_code: str | None  # ISO 4217; None: the company currency


#: Where a product record came from in Severa; decides its default unit (R-5.2).
#: Articles read from eEkonomi are always ``product`` (R-1.2).
ProductKind = Literal["product", "work_type", "mileage", "daily_allowance", "other_expense"]


class ProductRecord(TypedDict):
    """A Severa product, work type or travel-expense type, or an eEkonomi article (R-5.2)."""

    kind: ProductKind
    number: str  # the Severa code = the eEkonomi article number
    name: str
    is_active: bool
    unit: str  # eEkonomi's Swedish unit abbreviation: tim, km, st, dag, …
    net_price: Decimal | None  # excl. VAT; None where Severa keeps no price on the type
    gross_price: Decimal | None  # incl. VAT, from vat_rate
    vat_rate: Decimal | None  # percent, e.g. Decimal("25")


class ProjectRecord(TypedDict):
    """A Severa project as an eEkonomi cost-center item (R-5.3)."""

    number: str  # the item's short code ("förkortning"), at most 9 characters
    name: str
    is_active: bool  # project open


#: Types that are their own canonical form (exactly these: a subclass takes the long way).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _canonical(value: Any) -> Any:
    # Plain dicts, lists and leaves first, by exact type: a record is made of them, and
    # ``isinstance`` against the ``Mapping`` ABC on every leaf was most of the hash.
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): _canonical(v) for k, v in value.items()}
    if kind is list:
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        # 125, 125.0 and 125.00 are the same price: normalize before hashing.
        return format(value.normalize(), "f")
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_hash(record: Mapping[str, Any]) -> str:
    """A stable SHA-256 of a canonical record, independent of key order and of how a
    Decimal is written, so the engine can skip records unchanged since the last write."""
    text = json.dumps(_canonical(record), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
