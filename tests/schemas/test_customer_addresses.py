"""R-5.1 the invoicing address: one rule picks it for a read and for an update, and an
update changes only the fields the schema names."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.customer_addresses import (
    SEVERA_ADDRESS_UPDATABLE,
    record_to_severa_address_update,
    severa_invoicing_address,
    split_address_lines,
)
from schemas.customers import (
    SEVERA_CUSTOMER_UPDATABLE,
    eekonomi_customer_to_record,
    record_to_severa_customer_update,
    severa_customer_to_record,
)
from tests.schemas.conftest import load_fixture

HEAD_OFFICE = "a1d7c0de-0000-4a00-8000-00000000000a"


def address(guid: str, line: str, **flags: bool) -> dict[str, Any]:
    base = load_fixture("severa/customer_addresses")[0]
    return {**base, "guid": guid, "addressline": line, "contacts": [],
            "isBillingAddress": False, "isPostalAddress": False, "isVisitAddress": False,
            **flags}  # fmt: skip


def customer(addresses: list[dict[str, Any]], head_office: str | None) -> dict[str, Any]:
    reference = {"guid": head_office} if head_office else None
    return {**load_fixture("severa/customer"), "headquarterAddress": reference,
            "addresses": addresses, "contacts": []}  # fmt: skip


LAYOUTS = {
    "invoicing address after the head office": (
        [address(HEAD_OFFICE, "Huvudgatan 1", isVisitAddress=True),
         address("b", "Faktura 2", isBillingAddress=True)], HEAD_OFFICE, "Faktura 2",
    ),
    "two invoicing addresses: the first": (
        [address("a", "Faktura 1", isBillingAddress=True),
         address("b", "Faktura 2", isBillingAddress=True)], None, "Faktura 1",
    ),
    "a postal address listed before the head office": (
        [address("a", "Box 71", isPostalAddress=True),
         address(HEAD_OFFICE, "Huvudgatan 1", isVisitAddress=True)], HEAD_OFFICE, "Huvudgatan 1",
    ),
    "no head office: the postal address": (
        [address("a", "Besök 1", isVisitAddress=True),
         address("b", "Box 71", isPostalAddress=True)], None, "Box 71",
    ),
    "nothing flagged: the first": (
        [address("a", "Gata 1"), address("b", "Gata 2")], None, "Gata 1",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("addresses", "head_office", "line"), LAYOUTS.values(), ids=LAYOUTS)
def test_r_5_1_given_an_address_layout_then_the_update_writes_to_the_address_the_read_maps(
    addresses: list[dict[str, Any]], head_office: str | None, line: str
) -> None:
    payload = customer(addresses, head_office)

    read = severa_customer_to_record(payload)
    written = severa_invoicing_address(payload, payload["addresses"])

    assert written is not None
    assert read["address_line1"] == line
    assert split_address_lines(written["addressline"])[0] == line
    assert written is next(a for a in payload["addresses"] if a["addressline"] == line)


def test_r_5_1_given_no_address_then_there_is_no_invoicing_address_to_update() -> None:
    assert severa_invoicing_address(customer([], None), []) is None


def test_r_1_1_an_update_changes_only_the_customer_fields_the_schema_names() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))
    assert record["payment_term_days"] is not None  # there is something to leave alone

    update = record_to_severa_customer_update(record)

    assert set(update) == set(SEVERA_CUSTOMER_UPDATABLE)
    assert update["name"] == record["name"]
    assert not {"number", "paymentTerm", "currency"} & set(update)


def test_r_1_1_an_update_changes_only_the_address_fields_the_schema_names() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))

    update = record_to_severa_address_update(record)

    assert set(update) == set(SEVERA_ADDRESS_UPDATABLE)
    assert (update["postalCode"], update["city"]) == (record["postal_code"], record["city"])
    assert not {"isBillingAddress", "isPostalAddress", "country"} & set(update)
