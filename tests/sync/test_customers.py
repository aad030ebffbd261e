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


# -- issue 14: a half-done create is never the master's truth ----------------------------

HALF = "1093"


def _without_mobile_type(world: World) -> None:
    """Severa without the 'MobilePhone' communication type (nor any mobile number)."""
    from sandbox.severa import demo_data as severa_demo

    data = severa_demo()
    data["contactCommunications"] = [
        c for c in data["contactCommunications"]
        if c["communicationType"]["type"] != "MobilePhone"
    ]  # fmt: skip
    data["communicationTypes"] = [
        t for t in data["communicationTypes"] if t["type"] != "MobilePhone"
    ]
    world.severa.seed_store(data, replace=True)


def _eekonomi_customer(world: World) -> dict[str, Any]:
    return next(c for c in world.eekonomi.dump_store()["customers"] if c["CustomerNumber"] == HALF)


def test_given_a_severa_create_that_stops_half_way_then_it_never_flows_back_and_is_finished_on_retry(  # noqa: E501
    world: World,
) -> None:
    """An eEkonomi-only customer with a mobile number, Severa (the master) without a
    mobile type: the create stops after the customer, its address and contact exist.
    The half-made Severa customer must not be pushed back over the eEkonomi one (that
    wiped its contact e-mail and phone), its error entry must stay, and once Severa
    has the type the create is finished, not left half-done."""
    from worker.sync.errorlist import ErrorList
    from worker.sync.service import context_for

    _without_mobile_type(world)
    ctx = context_for(world.connection_id)
    template = next(c for c in world.eekonomi.dump_store()["customers"]
                    if c["CustomerNumber"] == "1001")  # fmt: skip
    body = {k: v for k, v in template.items() if k not in ("Id", "CreatedUtc", "ChangedUtc")}
    body.update(CustomerNumber=HALF, Name="Halvfärdig Handel AB", ContactPersonName="Hedda Halv",
                ContactPersonEmail="hedda@halv.se", ContactPersonPhone="08-123 45",
                ContactPersonMobile="070-123 45 67")  # fmt: skip
    ctx.clients.eekonomi.create_customer(body)
    assert ctx.values["customers_master"] == "severa"

    run_customers_now(world)
    errors = ErrorList(world.redis, world.connection_id)
    first = next(e for e in errors.entries(register="customers") if e.record_key == HALF)
    assert "no active communication type 'MobilePhone'" in first.reason
    made = [c for c in world.severa.dump_store()["customers"] if str(c["number"]) == HALF]
    assert len(made) == 1  # the customer exists in Severa, its contact without e-mail/phone

    run_customers_now(world)  # the Severa read now sees the half-made customer
    after = _eekonomi_customer(world)
    assert (after["ContactPersonEmail"], after["ContactPersonPhone"]) == (
        "hedda@halv.se", "08-123 45",
    )  # fmt: skip
    still = next(e for e in errors.entries(register="customers") if e.record_key == HALF)
    assert still.count == 2  # listed again, not resolved by a push back

    # Severa gets the type: the retry finishes the create (no second customer, address
    # or contact), and the entry resolves itself.
    mobile = {"guid": "00000000-0000-4000-8000-0000000c0003", "name": "Mobil",
              "type": "MobilePhone", "isActive": True}  # fmt: skip
    persons = world.severa.dump_store()["contactPersons"]
    contact = next(c for c in persons if c["customer"]["guid"] == made[0]["guid"])
    other = next(c for c in persons if c["customer"]["guid"] != made[0]["guid"])
    world.severa.seed_store({"communicationTypes": [mobile], "contactCommunications": [{
        "guid": "00000000-0000-4000-8000-0000000c0004", "value": "070-000 00 00",
        "contact": {"guid": other["guid"], "name": other["name"]},
        "communicationType": mobile, "isForbiddenToUse": False}]}, replace=False)  # fmt: skip
    ctx.clients.reference.cache.forget("severa:commtypes")
    retried = CliRunner().invoke(main, ["errors", "--connection", world.connection_id,
                                        "retry", HALF], catch_exceptions=False)  # fmt: skip
    assert f"customers {HALF}: created" in retried.output, retried.output
    store = world.severa.dump_store()
    assert [str(c["number"]) for c in store["customers"]].count(HALF) == 1
    persons = [p for p in store["contactPersons"] if p["customer"]["guid"] == made[0]["guid"]]
    assert len(persons) == 1
    values = sorted(c["value"] for c in store["contactCommunications"]
                    if c["contact"]["guid"] == contact["guid"])  # fmt: skip
    assert values == ["070-123 45 67", "08-123 45", "hedda@halv.se"]
    assert not any(e.record_key == HALF for e in errors.entries(register="customers"))
    run_customers_now(world)  # the other contact's new mobile number, Severa → eEkonomi
    world.clear_logs()
    run_customers_now(world)
    assert world.writes() == []  # settled both ways


# -- issue 14 item 8: only ASCII digits are customer numbers -----------------------------


@pytest.mark.parametrize("number", ["²", "１００１", "1001²"])
def test_given_a_customer_number_with_non_ascii_digits_then_no_severa_customer_is_fetched(
    world: World, number: str
) -> None:
    from worker.sync.customers import Customers
    from worker.sync.service import context_for

    world.clear_logs()
    staged = Customers().fetch(context_for(world.connection_id), number)
    assert staged.severa is None  # '１００１' is not customer 1001
    assert not any(e.path.endswith("/customers") for e in world.severa.log if e.method == "GET")
