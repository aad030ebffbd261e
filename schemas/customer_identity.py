"""Customers (R-5.1, R-2.2): how a customer is told apart — its number, its name, its
org and VAT numbers — and the label a person finds it by.

These rules are shared by the customer itself (:mod:`schemas.customers`), its address
(:mod:`schemas.customer_addresses`) and its contact (:mod:`schemas.customer_contacts`),
so they live below all three.

Decision on a rule the spec leaves open: the one Severa org/VAT value always goes to
``CorporateIdentityNumber`` as written; it goes to ``VatNumber`` only when it is EU-VAT
shaped (EU country prefix + 8–12 letters/digits, e.g. ``SE5566778899 01``), in compact
form (``SE556677889901``), because eEkonomi checks ``VatNumber`` against VIES and refuses
the customer (4025) for a plain org number. Back into Severa the VAT number wins over a
plain org number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from schemas.base import MappingError, clean_text
from schemas.records import CustomerRecord

__all__ = [
    "EU_VAT_PREFIXES",
    "ascii_number",
    "check_importable_into_severa",
    "compact_vat_number",
    "customer_label",
    "customer_number_problem",
    "name_key",
    "severa_org_or_vat_number",
    "split_org_and_vat_number",
]

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


def customer_label(number: Any, name: Any) -> str:
    """How a person finds the customer: ``customer 1049 'Foo AB'``."""
    return f"customer {number if number not in (None, '') else '(no number)'} '{name or ''}'"


def ascii_number(text: str) -> int | None:
    """``text`` as a customer number when it is one (R-5.1: numeric), else ``None``.

    Only ASCII digits count: ``str.isdigit`` also says yes to ``'²'`` (which ``int``
    then refuses) and to ``'１２３'`` (which ``int`` reads as 123 — another customer).
    """
    return int(text) if text.isascii() and text.isdigit() else None


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
