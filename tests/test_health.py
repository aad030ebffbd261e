"""The health reading shared by the metrics, ``doctor`` and the alerts (worker/health.py):
what counts as stuck, overdue, paused — on fakeredis, as the facts are plain keys."""

from __future__ import annotations

import time

import fakeredis
import pytest

from config import company
from worker.connection_status import mark_needs_reauthorization
from worker.health import (
    ACTIVE_STATE,
    NEEDS_AUTHORIZATION,
    PAUSED,
    STUCK_AFTER,
    TransferHealth,
    connection_health,
)
from worker.keys import lock_key
from worker.sync.errorlist import ErrorEntry, ErrorList, RecordRef
from worker.sync.runs import ONE_RECORD, Runs

DEMO = {
    "customers_master": "severa", "products_master": "severa", "cost_center_id": "c1",
    "default_article_number": "ALLM", "supplier_invoices_billable": True,
    "status_to_transfer": "s1", "status_transferred": "s2", "status_sent": "s3",
    "status_paid": "s4",
}  # fmt: skip


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


def _by_name(client: fakeredis.FakeRedis, now: float | None = None) -> dict[str, TransferHealth]:
    health = connection_health(client, "c", now)
    return {t.transfer: t for t in health.transfers}


def test_states_follow_authorization_and_settings(client: fakeredis.FakeRedis) -> None:
    assert connection_health(client, "c").state == PAUSED  # no settings: nothing can run
    company.update(client, "c", DEMO)
    assert connection_health(client, "c").state == ACTIVE_STATE
    mark_needs_reauthorization(client, "c", "invalid_grant")
    health = connection_health(client, "c")
    assert (health.state, health.reason) == (NEEDS_AUTHORIZATION, "invalid_grant")


def test_a_running_run_without_its_lock_or_progress_is_stuck(
    client: fakeredis.FakeRedis,
) -> None:
    company.update(client, "c", DEMO)
    runs = Runs(client, "c")
    report = runs.start("customers", "r1")
    assert _by_name(client)["customers"].stuck  # says running, holds no lock
    client.set(lock_key("c", "customers"), "r1")
    assert not _by_name(client)["customers"].stuck
    later = report.started_at + STUCK_AFTER + 1
    assert _by_name(client, later)["customers"].stuck  # no progress for too long


def test_overdue_counts_from_the_last_success_and_ignores_one_record_retries(
    client: fakeredis.FakeRedis,
) -> None:
    company.update(client, "c", DEMO)
    runs = Runs(client, "c")
    good = runs.start("products", "ok")
    runs.finish("ok")
    retry = runs.start("products", "retry")
    runs.finish("retry", message=ONE_RECORD)
    products = _by_name(client)["products"]
    assert products.last.run_id == "ok"
    assert products.last_success.run_id == "ok"
    assert not products.overdue(time.time())
    assert products.overdue(good.started_at + 2 * 15 * 60 + 61)
    assert retry.run_id == "retry"


def test_error_list_size_is_counted_per_register(client: fakeredis.FakeRedis) -> None:
    errors = ErrorList(client, "c")
    for number in ("1", "2"):
        ref = RecordRef(number=number)
        entry = ErrorEntry(register="customers", direction="severa→eekonomi",
                           record_key=number, record=ref, reason="x")  # fmt: skip
        errors.record(entry)
    health = connection_health(client, "c")
    assert health.errors == {"customers": 2}
    assert health.error_count == 2
