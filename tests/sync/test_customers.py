"""Transfer customers (R-1.1, R-5.1) through :mod:`worker.sync.customers`: that the
synchronizer writes what the schemas decide — here, which Severa address is the
customer's invoicing address — against both sandboxes over HTTP and the real Redis."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from config import company
from tests.sync.conftest import World
from worker.cli import main

pytestmark = pytest.mark.integration

NUMBER = 1071
GUID = f"00000000-0000-4000-8000-00000000{NUMBER:04d}"
POSTAL = GUID.replace("4000-8000", "4001-8000")
HEAD_OFFICE = GUID.replace("4000-8000", "4002-8000")


def run_customers_now(world: World) -> None:
    CliRunner().invoke(
        main, ["run", "customers", "--now", "--connection", world.connection_id],
        catch_exceptions=False,
    )  # fmt: skip


def seed_customer_with_postal_and_head_office(world: World) -> None:
    """A Severa customer with no invoicing address: a postal address listed first, and
    its head office (``headquarterAddress``), neither flagged for invoicing."""
    seeded = world.severa.dump_store()
    template = next(c for c in seeded["customers"] if c["number"] == 1002)
    address = next(a for a in seeded["addresses"] if a["customer"]["guid"] == template["guid"])
    owner = {"guid": GUID, "name": "Huvudkontoret AB", "number": NUMBER}
    flags = {"isBillingAddress": False, "isPostalAddress": False, "isVisitAddress": False}
    postal = {**address, **flags, "guid": POSTAL, "customer": owner, "isPostalAddress": True,
              "addressline": "Box 71", "postalCode": "101 71", "city": "Stockholm"}  # fmt: skip
    head_office = {**address, **flags, "guid": HEAD_OFFICE, "customer": owner,
                   "isVisitAddress": True, "addressline": "Storgatan 71",
                   "postalCode": "411 71", "city": "Göteborg"}  # fmt: skip
    customer = {**template, "guid": GUID, "number": NUMBER, "name": owner["name"],
                "vatNumber": None, "headquarterAddress": {"guid": HEAD_OFFICE}}  # fmt: skip
    world.severa.seed_store(
        {"customers": [customer], "addresses": [postal, head_office]}, replace=False
    )


def severa_address(world: World, guid: str) -> dict[str, Any]:
    return next(a for a in world.severa.dump_store()["addresses"] if a["guid"] == guid)


def test_r_5_1_given_only_a_postal_address_and_the_head_office_then_create_and_update_use_the_same_one(  # noqa: E501
    world: World,
) -> None:
    """The read of a customer (create in eEkonomi) and an update from eEkonomi (the
    master) must agree on the invoicing address: otherwise the update writes to one
    address, the next read maps the other, and the two systems never settle."""
    seed_customer_with_postal_and_head_office(world)
    listed = world.severa.dump_store()["addresses"]
    assert [a["guid"] for a in listed if a["customer"]["guid"] == GUID] == [POSTAL, HEAD_OFFICE]

    run_customers_now(world)  # Severa is the master: the customer is created in eEkonomi
    created = next(
        c for c in world.eekonomi.dump_store()["customers"] if c["CustomerNumber"] == str(NUMBER)
    )
    assert (created["InvoiceAddress1"], created["InvoicePostalCode"], created["InvoiceCity"]) == (
        "Storgatan 71", "411 71", "Göteborg",
    )  # fmt: skip

    company.update(world.redis, world.connection_id, {"customers_master": "eekonomi"})
    from worker.sync.service import context_for

    eekonomi = context_for(world.connection_id).clients.eekonomi
    current = eekonomi.get_customer(str(created["Id"]))
    assert current is not None
    eekonomi.update_customer(
        str(created["Id"]),
        {**current, "InvoiceAddress1": "Kungsgatan 9", "InvoicePostalCode": "411 19"},
    )
    run_customers_now(world)  # eEkonomi is the master now: the change goes to Severa

    head_office = severa_address(world, HEAD_OFFICE)
    assert (head_office["addressline"], head_office["postalCode"]) == ("Kungsgatan 9", "411 19")
    postal = severa_address(world, POSTAL)
    assert (postal["addressline"], postal["postalCode"]) == ("Box 71", "101 71")

    world.clear_logs()
    run_customers_now(world)  # settled: nothing left to write either way
    assert world.writes() == []
