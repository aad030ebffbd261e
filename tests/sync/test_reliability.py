"""Issue 14 B, C and 7: nothing created twice when a write lands late, when a task runs
twice at once, or when the sync's Redis is lost — real worker processes, the real
Redis, both sandboxes over HTTP.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox.core import Fault
from tests.sync.conftest import DEMO_SETTINGS, VISIBILITY, World, run_in_worker, start_worker
from tests.sync.test_invoices import (
    _assert_each_invoice_once,
    _backoffice,
    _customer_number,
    _drafts_by_marker,
    _status_names,
    _to_transfer,
    fix_lic_collision,
    transfer_registers,
)
from tests.sync.test_supplier_invoices import _assert_one_fee_per_row

pytestmark = pytest.mark.integration

#: The client's time-out in these tests, and a write that lands this long after it.
TIMEOUT = 3.0
LATE = 7.0


def _posts(world: World, app: Any, path: str) -> int:
    return sum(1 for e in app.log if e.method == "POST" and e.path == path)


# -- B: a create that lands after the look-up ---------------------------------------------


def test_given_a_draft_create_that_lands_after_the_client_timed_out_then_it_is_waited_for_not_sent_again(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    """The POST of a draft times out on our side (3 s) and lands in eEkonomi 4 s later.
    The retry 1–2 s after the time-out looks for the draft and misses: the invoice
    must stay unresolved — looked up again, not sent again — until the late write has
    landed and is found. Drafts have no uniqueness rule that would refuse a copy."""
    world.env["HTTP_TIMEOUT"] = str(TIMEOUT)
    worker = start_worker(world, celery_app)
    transfer_registers(world, celery_app, worker.queue)
    invoices = _to_transfer(world)
    world.clear_logs()
    world.eekonomi.add_fault(
        Fault("/v2/customerinvoicedrafts", method="POST", action="delay", delay=LATE)
    )

    report = run_in_worker(world, celery_app, "invoices", worker.queue, timeout=120)
    time.sleep(LATE)  # whatever is still on its way has landed

    assert report["status"] == "finished"
    assert world.eekonomi.faults == []
    _assert_each_invoice_once(world, invoices)
    # Every POST made a draft: none was a second try of the one that landed late.
    assert _posts(world, world.eekonomi, "/v2/customerinvoicedrafts") == sum(
        _drafts_by_marker(world).values()
    )


def test_given_a_fee_create_that_lands_after_the_client_timed_out_then_it_is_waited_for_not_sent_again(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    world.env["HTTP_TIMEOUT"] = str(TIMEOUT)
    worker = start_worker(world, celery_app)
    assert run_in_worker(world, celery_app, "projects", worker.queue)["updated"] == 3
    world.severa.add_fault(
        Fault("/rest-api/v1/projectfees", method="POST", action="delay", delay=LATE)
    )

    report = run_in_worker(world, celery_app, "supplier_invoices", worker.queue, timeout=120)
    time.sleep(LATE)  # whatever is still on its way has landed

    assert report["status"] == "finished"
    assert world.severa.faults == []
    assert (report["created"] + report["updated"], report["failed"]) == (6, 1)
    _assert_one_fee_per_row(world)
    assert _posts(world, world.severa, "/rest-api/v1/projectfees") == 6


# -- C: a task slower than the visibility timeout -----------------------------------------


def test_given_a_record_task_slower_than_the_visibility_timeout_then_its_second_execution_adds_no_draft(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    """One invoice's rows take longer to read than the broker's visibility timeout, so
    Redis hands the record task out again while it still runs and a second execution
    settles the same invoices alongside. One draft per invoice, never two."""
    worker = start_worker(world, celery_app, concurrency=2)
    transfer_registers(world, celery_app, worker.queue)
    invoices = _to_transfer(world)
    slow = next(g for g, i in invoices.items() if _customer_number(i) == "1002")
    rows = f"/rest-api/v1/invoices/{slow}/invoicerows"
    world.clear_logs()
    world.severa.add_fault(Fault(rows, method="GET", action="delay", delay=VISIBILITY + 6))

    report = run_in_worker(world, celery_app, "invoices", worker.queue, timeout=180)
    time.sleep(VISIBILITY)  # the slower execution finishes after the run did

    assert report["status"] == "finished"
    reads = sum(1 for e in world.severa.log if e.method == "GET" and e.path == rows)
    assert reads >= 2, "the task was never handed out a second time"
    _assert_each_invoice_once(world, invoices)


# -- 7: the sync's Redis lost ---------------------------------------------------------------

EVERY_CREATING = ("customers", "products", "projects", "invoices", "supplier_invoices")


def _records(world: World) -> dict[str, set[str]]:
    """Every record id in both sandboxes, by collection (cost-center items too)."""
    found: dict[str, set[str]] = {}
    for app in (world.severa, world.eekonomi):
        for collection, records in app.dump_store().items():
            if not isinstance(records, list):
                continue
            ids = found.setdefault(f"{app.name} {collection}", set())
            for record in records:
                if isinstance(record, dict):
                    ids.add(str(record.get("guid") or record.get("Id") or sorted(record.items())))
                    for item in record.get("Items") or []:
                        found.setdefault(f"{app.name} {collection} items", set()).add(
                            str(item.get("Id"))
                        )
    return found


def _lose_redis(world: World) -> int:
    """Delete every key of the connection: what a failover to an empty replica leaves."""
    keys = list(world.redis.scan_iter(f"sync:conn:{world.connection_id}:*", count=1000))
    if keys:
        world.redis.delete(*keys)
    return len(keys)


def test_r_6_1_given_the_syncs_redis_lost_when_every_transfer_runs_again_then_no_record_is_created_twice(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    from config import company, get_settings
    from worker.connect import connect_eekonomi
    from worker.sync.choices import resolve

    worker = start_worker(world, celery_app)
    fix_lic_collision(world)
    for register in EVERY_CREATING:
        run_in_worker(world, celery_app, register, worker.queue)
    # One invoice's status change never happened (or a person undid it): its draft
    # exists and it is "to transfer" again.
    names = _status_names(world)
    transferred = next(
        i for i in world.severa.dump_store()["invoices"]
        if names[i["status"]["guid"]] == "Överförd"
    )  # fmt: skip
    _backoffice(world, "severa", f"invoices/{transferred['guid']}/status",
                {"status": "Att överföra"})  # fmt: skip
    before = _records(world)
    drafts_before = _drafts_by_marker(world)

    assert _lose_redis(world) > 20  # bindings, indexes, watermarks, runs, tokens …
    connect_eekonomi(get_settings(), world.connection_id, echo=lambda line: None)
    company.update(world.redis, world.connection_id, resolve(world.connection_id, DEMO_SETTINGS))
    reports = {r: run_in_worker(world, celery_app, r, worker.queue) for r in EVERY_CREATING}

    after = _records(world)
    grown = {k: sorted(after[k] - before.get(k, set())) for k in after}
    assert {k: v for k, v in grown.items() if v} == {}, reports
    assert _drafts_by_marker(world) == drafts_before
    again = next(i for i in world.severa.dump_store()["invoices"]
                 if i["guid"] == transferred["guid"])  # fmt: skip
    assert names[again["status"]["guid"]] == "Överförd"  # linked to its draft again
    assert reports["supplier_invoices"]["created"] == 0
