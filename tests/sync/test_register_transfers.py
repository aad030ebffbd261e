"""Register transfers end to end (R-1.1–R-1.3, R-4.2, R-4.3, R-6.1–R-6.3): real worker
processes, the real Redis, both sandboxes over HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import Counter
from typing import Any

import pytest
import requests

from sandbox.core import Fault
from tests.sync.conftest import (
    World,
    kill_workers,
    run_in_worker,
    start_worker,
    wait_for_run,
    wait_for_run_as_beat_would,
)
from worker.queues import record_queue
from worker.sync.errorlist import ErrorList
from worker.sync.runs import Runs

pytestmark = pytest.mark.integration

REGISTERS = ("customers", "products", "projects")


def _eekonomi(world: World, collection: str) -> list[dict[str, Any]]:
    return list(world.eekonomi.dump_store()[collection])


def _severa(world: World, collection: str) -> list[dict[str, Any]]:
    return list(world.severa.dump_store()[collection])


def _assert_customers_exactly_once(world: World) -> None:
    """Every good Severa customer is in eEkonomi once, and the reverse (R-6.1)."""
    in_eekonomi = Counter(str(c["CustomerNumber"]) for c in _eekonomi(world, "customers"))
    in_severa = Counter(str(c["number"]) for c in _severa(world, "customers"))
    assert [n for n, k in in_eekonomi.items() if k > 1] == []
    assert [n for n, k in in_severa.items() if k > 1] == []
    listed = {e.record_key for e in ErrorList(world.redis, world.connection_id).entries()}
    for number in in_severa:
        assert number in in_eekonomi or number in listed, number
    for number in in_eekonomi:
        assert number in in_severa or number in listed, number


def _errors(world: World) -> dict[str, str]:
    return {
        f"{e.register}:{e.record_key}": e.reason
        for e in ErrorList(world.redis, world.connection_id).entries()
    }


def test_given_demo_data_when_each_register_runs_twice_then_records_land_once_and_the_second_run_writes_nothing(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    worker = start_worker(world, celery_app)
    first = {r: run_in_worker(world, celery_app, r, worker.queue) for r in REGISTERS}
    assert first["customers"]["created"] >= 40
    assert first["products"]["created"] >= 10
    assert first["projects"]["created"] >= 15
    for report in first.values():
        assert report["status"] == "finished"
        assert report["settled"] == report["expected"]
    _assert_customers_exactly_once(world)
    articles = Counter(a["Number"].casefold() for a in _eekonomi(world, "articles"))
    assert [n for n, k in articles.items() if k > 1] == []
    items = [
        i["ShortName"]
        for c in _eekonomi(world, "costCenters")
        if c["Name"] == "Projekt"
        for i in c["Items"]
    ]
    assert len(items) == len(set(items))
    assert {"1001", "1002", "1020"} <= set(items)

    world.clear_logs()
    second = {r: run_in_worker(world, celery_app, r, worker.queue) for r in REGISTERS}
    assert world.writes() == []
    for report in second.values():
        assert report["created"] == report["updated"] == 0
        assert report["status"] == "finished"


def test_r_6_2_bad_records_are_listed_with_their_own_reason_and_good_ones_transfer(
    world: World, celery_app: Any
) -> None:
    # Two more kinds of bad record on top of those in the demo data.
    seeded = world.severa.dump_store()
    template = next(c for c in seeded["customers"] if c["number"] == 1002)
    address = next(a for a in seeded["addresses"] if a["customer"]["guid"] == template["guid"])
    extra_customers, extra_addresses = [], []
    for number, changes in (
        (1061, {"vatNumber": "SE12345678"}),  # VIES refuses it in eEkonomi (4025)
        (1062, {"name": "Ett kundnamn som är mycket längre än de femtio tecken eEkonomi tar"}),
    ):
        guid = f"00000000-0000-4000-8000-00000000{number:04d}"
        extra_customers.append({**template, "guid": guid, "number": number,
                                "name": changes.get("name", f"Extra kund {number} AB"),
                                "vatNumber": changes.get("vatNumber")})  # fmt: skip
        owner = {"guid": guid, "name": "x", "number": number}
        extra_addresses.append({**address, "guid": guid.replace("4000", "4001"),
                                "customer": owner})  # fmt: skip
    world.severa.seed_store(
        {"customers": extra_customers, "addresses": extra_addresses}, replace=False
    )
    worker = start_worker(world, celery_app)
    for register in REGISTERS:
        run_in_worker(world, celery_app, register, worker.queue)

    errors = _errors(world)
    expected = {
        "customers:1049": "no address",
        "customers:1050": "no postal code",
        "customers:1039": "longer than 50",
        "customers:K-77": "not numeric",
        "customers:5004": "already has a customer named",
        "customers:1061": "VIES",
        "customers:1062": "longer than 50",
        "products:lic-01": "also used by",
        "projects:1000000021": "longer than 9",
    }
    for record, words in expected.items():
        assert record in errors, f"{record} not listed: {sorted(errors)}"
        assert words in errors[record], errors[record]
    no_code = [r for k, r in errors.items() if k.startswith("products:guid:")]
    assert len(no_code) == 2
    assert all("is empty; give it a unique code" in r for r in no_code)
    kinds = {r for r in errors.values()}
    assert len(kinds) >= 10  # each bad record has its own reason
    _assert_customers_exactly_once(world)
    entry = ErrorList(world.redis, world.connection_id).get("customers", "severa→eekonomi", "1061")
    assert entry is not None
    assert (entry.vendor_code, entry.vendor_field) == ("4025", "VatNumber")
    assert entry.vendor_error_id


def test_given_a_fixed_record_when_the_next_run_comes_then_it_transfers_and_leaves_the_list(
    world: World, celery_app: Any
) -> None:
    worker = start_worker(world, celery_app)
    run_in_worker(world, celery_app, "customers", worker.queue)
    assert "customers:1050" in _errors(world)
    customer = next(c for c in _severa(world, "customers") if c["number"] == 1050)
    address = next(a for a in _severa(world, "addresses")
                   if a["customer"]["guid"] == customer["guid"])  # fmt: skip
    edited = requests.post(
        f"{world.severa_url}/_sandbox/edit/addresses/{address['guid']}",
        json={"postalCode": "598 30", "city": "Vimmerby"},
        timeout=10,
    )
    assert edited.status_code == 200, edited.text
    report = run_in_worker(world, celery_app, "customers", worker.queue)
    assert report["created"] == 1
    assert "customers:1050" not in _errors(world)
    assert "1050" in {c["CustomerNumber"] for c in _eekonomi(world, "customers")}


def _wait_fault_taken(world: World, app_name: str, timeout: float = 30.0) -> None:
    app = world.severa if app_name == "severa" else world.eekonomi
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not app.faults:
            return
        time.sleep(0.05)
    raise AssertionError(f"the armed fault was never hit: {app.faults}")


@pytest.mark.parametrize(
    ("where", "fault"),
    [
        # Killed while its create is on the wire: eEkonomi does the write after the
        # worker died, so the record exists but is not bound (crash after create).
        ("during a create", Fault("/v2/customers", method="POST", action="delay", delay=2.0)),
        # Killed while the register task reads: no watermark may move.
        ("while reading", Fault("/v2/customers", method="GET", action="delay", delay=2.0)),
        # Killed while updating a customer that exists on both sides.
        ("during an update", Fault("/v2/customers/*", method="PUT", action="delay", delay=2.0)),
        # Killed half-way through creating an eEkonomi customer in Severa (customer,
        # address and contact exist; its e-mail and phones not yet).
        (
            "severa",
            Fault("/rest-api/v1/contactcommunications", method="POST", action="delay", delay=2.0),
        ),  # fmt: skip
    ],
    ids=["during-create", "while-reading", "during-update", "half-way-into-severa"],
)
def test_r_6_1_given_sigkill_mid_run_when_a_new_worker_starts_then_every_customer_is_transferred_once(  # noqa: E501
    world: World, celery_app: Any, where: str, fault: Fault
) -> None:
    worker = start_worker(world, celery_app)
    app_name = "severa" if where == "severa" else "eekonomi"
    (world.severa if app_name == "severa" else world.eekonomi).add_fault(fault)
    result = celery_app.send_task(  # type: ignore[attr-defined]
        "sync.transfer_customers", args=[world.connection_id], queue=worker.queue
    )
    _wait_fault_taken(world, app_name)
    time.sleep(0.3)
    kill_workers(world)
    time.sleep(fault.delay + 0.5)  # let the sandbox finish the write the worker gave up
    replacement = start_worker(world, celery_app, queue=worker.queue)
    report = wait_for_run_as_beat_would(world, celery_app, str(result.id), worker.queue, 120)
    assert report["status"] == "finished"
    _assert_customers_exactly_once(world)
    world.clear_logs()
    again = run_in_worker(world, celery_app, "customers", replacement.queue)
    assert again["created"] == again["updated"] == 0
    assert world.writes() == []


def test_r_6_1_given_write_then_drop_on_creates_then_each_customer_is_created_once(
    world: World, celery_app: Any
) -> None:
    world.eekonomi.add_fault(
        Fault("/v2/customers", method="POST", action="write_then_drop", times=3)
    )
    worker = start_worker(world, celery_app)
    report = run_in_worker(world, celery_app, "customers", worker.queue)
    assert report["status"] == "finished"
    _assert_customers_exactly_once(world)
    dropped = [e for e in world.eekonomi.log if e.status == 0]
    assert len(dropped) == 3
    listed = _errors(world)
    assert not any("kept failing" in reason for reason in listed.values())


def test_r_6_1_given_a_record_message_lost_in_transit_when_the_run_goes_quiet_then_its_records_are_sent_again(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    """kombu's Redis transport pops a message off the queue before it records it as
    unacknowledged, so a worker killed in between loses it (kombu #305). Here a record
    message is taken off the queue by hand — the same loss, on purpose — and the run
    still finishes, every customer once: the stalled-run tick (beat, every minute; here
    every few seconds) sends the run's unsettled records again once it has gone quiet
    for longer than a dead worker's messages take to come back."""
    world.eekonomi.add_fault(
        Fault("/v2/customers", method="POST", action="delay", delay=1.0, times=2)
    )
    worker = start_worker(world, celery_app)
    result = celery_app.send_task(  # type: ignore[attr-defined]
        "sync.transfer_customers", args=[world.connection_id], queue=worker.queue
    )
    waiting = record_queue(worker.queue, "customers")  # kombu's list for the queue
    deadline = time.monotonic() + 30
    lost = None
    while lost is None and time.monotonic() < deadline:
        lost = world.redis.rpop(waiting)
        time.sleep(0.01)
    assert lost is not None, "no record message ever waited in the queue"
    body = json.loads(lost)
    _, run_id, lost_keys = json.loads(base64.b64decode(body["body"]))[0]
    assert run_id == str(result.id)
    assert lost_keys

    report = wait_for_run_as_beat_would(world, celery_app, run_id, worker.queue, 120)

    assert report["status"] == "finished"
    assert report["settled"] == report["expected"]
    _assert_customers_exactly_once(world)
    in_eekonomi = {str(c["CustomerNumber"]) for c in _eekonomi(world, "customers")}
    listed = set(_errors(world))
    for number in lost_keys:
        assert number in in_eekonomi or f"customers:{number}" in listed, number


def _more_severa_customers(world: World, count: int) -> None:
    """``count`` copies of the first demo customer (numbers 200001…), each with its own
    address and contact person, so the customers list takes several pages."""
    store = world.severa.dump_store()
    template = next(c for c in store["customers"] if c.get("headquarterAddress"))
    address = next(a for a in store["addresses"] if a["customer"]["guid"] == template["guid"])
    seed: dict[str, list[dict[str, Any]]] = {"customers": [], "addresses": []}
    for i in range(count):
        number = 200_001 + i
        guid, address_guid = str(uuid.uuid4()), str(uuid.uuid4())
        ref = {"guid": guid, "name": f"Strömkund {number} AB", "number": number}
        seed["customers"].append(
            {
                **template,
                **ref,
                "vatNumber": None,
                "headquarterAddress": {**template["headquarterAddress"], "guid": address_guid},
            }
        )
        seed["addresses"].append({**address, "guid": address_guid, "customer": ref})
    world.severa.seed_store(seed, replace=False)


def test_given_many_severa_customers_when_transferring_then_creates_start_before_the_read_ends(
    world: World, celery_app: Any
) -> None:
    """Severa is the customers' master, so its records only flow to eEkonomi: they fan
    out while Severa's list is still being paged (engine: ``Register.streamed_side``).
    Each customers page is slowed down so the overlap shows in the request logs."""
    _more_severa_customers(world, 250)
    world.severa.add_fault(
        Fault("/rest-api/v1/customers", method="GET", action="delay", delay=0.7, times=10)
    )
    worker = start_worker(world, celery_app)
    result = celery_app.send_task(  # type: ignore[attr-defined]
        "sync.transfer_customers", args=[world.connection_id], queue=worker.queue
    )
    runs, seen = Runs(world.redis, world.connection_id), []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        during = runs.get(str(result.id))
        if during is not None and during.status not in ("running", "finishing"):
            break
        if during is not None:
            seen.append(during.expected)
        time.sleep(0.05)
    report = wait_for_run(world, str(result.id), timeout=10, result=result)
    assert report["status"] == "finished"
    assert report["settled"] == report["expected"] == 305
    # While streaming, the report's "expected" counts what has fanned out so far.
    assert any(0 < expected < 305 for expected in seen), sorted(set(seen))
    _assert_customers_exactly_once(world)
    pages = [
        e.time for e in world.severa.log if e.method == "GET" and e.path.endswith("/v1/customers")
    ]
    creates = [
        e.time for e in world.eekonomi.log if e.method == "POST" and e.path == "/v2/customers"
    ]
    assert len(pages) >= 3
    assert len(creates) >= 250
    assert min(creates) < max(pages), "no customer was created before the last page was read"


def _more_severa_products(world: World, count: int) -> None:
    """``count`` copies of a good demo product (codes FAIR-000…), one article each."""
    template = next(p for p in world.severa.dump_store()["products"] if p["code"] != "LIC-01")
    copies = [
        {**template, "guid": str(uuid.uuid4()), "code": f"FAIR-{i:03d}", "name": f"Kopia {i}"}
        for i in range(count)
    ]
    world.severa.seed_store({"products": copies}, replace=False)


def test_given_a_products_run_on_a_slow_endpoint_when_customers_start_then_they_do_not_queue_behind_it(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    """Each register's records have their own queue (worker.queues) and the worker takes
    turns between the queues, so a register whose endpoint is slow — or whose rate limit
    is spent — does not hold back another register's records sent after it."""
    _more_severa_products(world, 120)
    world.eekonomi.add_fault(
        Fault("/v2/articles", method="POST", action="delay", delay=0.1, times=200)
    )
    worker = start_worker(world, celery_app)
    products = celery_app.send_task(  # type: ignore[attr-defined]
        "sync.transfer_products", args=[world.connection_id], queue=worker.queue
    )
    fanned_out = products.get(timeout=60)  # the run task returns once it has fanned out
    assert fanned_out["expected"] >= 120, fanned_out
    customers = celery_app.send_task(  # type: ignore[attr-defined]
        "sync.transfer_customers", args=[world.connection_id], queue=worker.queue
    )
    assert wait_for_run(world, str(customers.id), timeout=120)["status"] == "finished"
    assert wait_for_run(world, str(products.id), timeout=120)["status"] == "finished"
    articles = [
        e.time for e in world.eekonomi.log if e.method == "POST" and e.path == "/v2/articles"
    ]
    first_customer = min(
        e.time for e in world.eekonomi.log if e.method == "POST" and e.path == "/v2/customers"
    )
    before = sum(1 for t in articles if t < first_customer)
    assert len(articles) >= 120
    assert before < len(articles) / 2, (
        f"{before} of {len(articles)} articles were created before the first customer"
    )


KNOWN_BAD = {
    "customers:1049", "customers:1050", "customers:1039", "customers:K-77",
    "customers:5004", "products:lic-01", "projects:1000000021",
}  # fmt: skip


def test_r_6_3_given_a_storm_of_transient_faults_then_everything_transfers_and_nothing_extra_is_listed(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    world.eekonomi.add_fault(Fault("/v2/customers", method="POST", status=503, times=4))
    world.eekonomi.add_fault(Fault("/v2/articles", method="POST", status=500, times=2))
    world.eekonomi.add_fault(Fault("/v2/articles", method="GET", status=502, times=3))
    world.eekonomi.add_fault(
        Fault("/v2/costcenters", method="GET", status=429, times=2,
              body={"ErrorCode": 4010, "DeveloperErrorMessage": "quota. Try again in 1 seconds."})
    )  # fmt: skip
    world.eekonomi.add_fault(Fault("/v2/customers", method="GET", action="drop", times=2))
    world.severa.add_fault(Fault("/rest-api/v1/projects", method="GET", status=500, times=3))
    world.severa.add_fault(Fault("/rest-api/v1/products", method="GET", status=429, times=3,
                                 headers=[("Retry-After", "1")]))  # fmt: skip
    worker = start_worker(world, celery_app)
    for register in REGISTERS:
        report = run_in_worker(world, celery_app, register, worker.queue)
        assert report["status"] == "finished", report
    assert world.eekonomi.faults == []  # every fault was hit
    assert world.severa.faults == []
    listed = _errors(world)
    assert {k for k in listed if not k.startswith("products:guid:")} == KNOWN_BAD, listed
    _assert_customers_exactly_once(world)
