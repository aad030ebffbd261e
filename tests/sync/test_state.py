"""Engine state in Redis: run lock, run reports, error list, connection settings."""

from __future__ import annotations

import time
from typing import Any

import fakeredis
import pytest
import redis
from marshmallow import ValidationError

from config import company
from worker.registry import spec_of
from worker.sync.bindings import Binder, Binding, binds_with_settle, queue_binds
from worker.sync.errorlist import ErrorEntry, ErrorList, RecordRef
from worker.sync.locks import AlreadyRunning, transfer_lock
from worker.sync.runs import FINISHED, Runs


@pytest.fixture
def fake() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def test_given_a_running_transfer_when_started_again_then_already_running(
    redis_client: redis.Redis, connection_id: str
) -> None:
    with transfer_lock(redis_client, connection_id, "customers", "run-1"):
        with (
            pytest.raises(AlreadyRunning, match="already running") as caught,
            transfer_lock(redis_client, connection_id, "customers", "run-2"),
        ):
            pass
        assert caught.value.holder == "run-1"
        # Another register or another connection is not blocked.
        with transfer_lock(redis_client, connection_id, "products", "run-3"):
            pass
    with transfer_lock(redis_client, connection_id, "customers", "run-4"):
        pass


def test_run_report_counts_and_summary_line(fake: fakeredis.FakeRedis) -> None:
    runs = Runs(fake, "default")
    report = runs.start("customers")
    runs.set_expected(report.run_id, 4)
    for counter in ("created", "created", "updated", "failed"):
        runs.count(report.run_id, counter)
    final = runs.finish(report.run_id)
    assert final is not None
    assert (final.created, final.updated, final.failed, final.settled) == (2, 1, 1, 4)
    assert final.status == FINISHED
    assert final.summary().startswith("customers: 2 created, 1 updated, 0 unchanged, 1 failed")
    assert runs.last("customers") == final
    assert runs.last("products") is None


def test_error_list_counts_repeats_and_resolves_itself(fake: fakeredis.FakeRedis) -> None:
    errors = ErrorList(fake, "default")

    def failure(reason: str) -> ErrorEntry:
        return ErrorEntry(
            register="customers",
            direction="severa→eekonomi",
            record_key="1042",
            record=RecordRef(number="1042", name="Acme AB", severa_id="g-1"),
            reason=reason,
            vendor_message="InvoicePostalCode is required",
            vendor_error_id="e-1",
        )

    first = errors.record(failure("the customer has no address"), now=100.0)
    second = errors.record(failure("the customer has no address"), now=200.0)
    assert (second.first_seen, second.last_seen, second.count) == (100.0, 200.0, 2)
    assert first.id == second.id
    assert [e.record.name for e in errors.entries(register="customers")] == ["Acme AB"]
    assert list(errors.entries(register="products")) == []
    assert errors.resolve("customers", "severa→eekonomi", "1042") is True
    assert errors.count() == 0


def test_connection_settings_validate_and_transfers_refuse_without_them(
    fake: fakeredis.FakeRedis,
) -> None:
    with pytest.raises(company.SettingsMissing) as caught:
        company.require(fake, "default", "invoices", spec_of("invoices").requires)
    assert "status_to_transfer (Severa invoice status that marks" in str(caught.value)
    with pytest.raises(ValidationError):
        company.update(fake, "default", {"customers_master": "fortnox"})
    with pytest.raises(ValidationError):
        company.update(fake, "default", {"no_such_setting": "x"})
    company.update(fake, "default", {"customers_master": "severa"})
    assert (
        company.require(fake, "default", "customers", ("customers_master",))["customers_master"]
        == "severa"
    )
    assert company.load(fake, "other")["customers_master"] is None


def test_r_6_1_a_claimed_create_says_whether_one_was_pending_until_the_record_is_bound(
    redis_client: redis.Redis, connection_id: str
) -> None:
    """The create path marks a create pending and learns, in the same round trip,
    whether an earlier attempt (perhaps a killed worker's) had already marked it — the
    cue to look the record up before creating it again (``claim.lua``, so a real
    Redis)."""
    binder = Binder(redis_client, connection_id, "customers")
    assert binder.claim_create("1042", "eekonomi") is False
    assert binder.pending_on("1042") == "eekonomi"
    assert binder.claim_create("1042", "eekonomi") is True  # the retry after a crash
    binder.bind("1042", Binding(severa_id="g-1", eekonomi_id="e-1"))
    assert binder.pending_on("1042") is None
    assert binder.claim_create("1043", "eekonomi") is False  # another record: no cue


def test_r_6_1_bind_last_waits_for_the_settle_round_trip_only_for_the_record_settled() -> None:
    """A created record's binding goes in the round trip that counts it; any other
    record's — a customer an invoice's settle transfers first and then reads the
    binding of — is written at once, or the invoice would not find it."""
    client = fakeredis.FakeRedis(decode_responses=True)
    customers = Binder(client, "default", "customers")
    with binds_with_settle("invoices", "inv-1") as queued:
        customers.bind_last("1042", Binding(severa_id="g-1", eekonomi_id="e-1"))
        assert (customers.get("1042") or Binding()).eekonomi_id == "e-1"
        assert queued == []
    customers.mark_pending("1043", "eekonomi")
    with binds_with_settle("customers", "1043") as queued:
        customers.bind_last("1043", Binding(severa_id="g-2", eekonomi_id="e-2"))
        assert customers.get("1043") is None
        assert customers.pending_on("1043") == "eekonomi"  # a crash now: looked up first
        pipe = client.pipeline(transaction=False)
        queue_binds(pipe, queued)
        pipe.execute()
    assert (customers.get("1043") or Binding()).eekonomi_id == "e-2"
    assert customers.pending_on("1043") is None


def test_r_6_1_a_claim_on_a_record_bound_since_its_binding_was_read_says_look_it_up(
    redis_client: redis.Redis, connection_id: str
) -> None:
    """A record task reads its records' bindings when it starts (engine.prefetched);
    a redelivered execution of the same task may create and bind one of them before
    this one gets to it. Its claim then finds the binding and says look the record
    up, so it is not created twice — even though the other execution's bind cleared
    the pending mark that would otherwise have been the cue."""
    binder = Binder(redis_client, connection_id, "customers")
    assert binder.claim_create("1042", "eekonomi") is False  # the other execution
    binder.bind("1042", Binding(severa_id="g-1", eekonomi_id="e-1"))
    assert binder.claim_create("1042", "eekonomi") is True  # this one, read unbound


def test_r_6_1_a_run_counts_as_stalled_only_after_quiet_seconds_without_an_attempt(
    redis_client: redis.Redis, connection_id: str
) -> None:
    from types import SimpleNamespace

    from worker.keys import key
    from worker.sync.locks import RunLock
    from worker.sync.stalls import Stalled, note_attempt, stalled_records

    ctx: Any = SimpleNamespace(redis=redis_client, connection_id=connection_id)
    run_key = key(connection_id, "run", "run-1")
    redis_client.hset(run_key, mapping={"status": "running", "fanned_out": "0", "queue": "q"})
    redis_client.sadd(key(connection_id, "run", "run-1", "keys"), "1", "2", "3")
    redis_client.sadd(key(connection_id, "run", "run-1", "settled"), "2")
    assert stalled_records(ctx, "customers", quiet=0) is None  # holds no lock
    RunLock(redis_client, connection_id, "customers", 60).acquire("run-1")
    note_attempt(ctx, "run-1")
    assert stalled_records(ctx, "customers", quiet=30) is None  # still fanning out
    assert stalled_records(ctx, "customers", quiet=0) == Stalled(
        "customers", "run-1", "q", [], start=True
    )  # quiet while fanning out: its start is resent
    redis_client.hset(run_key, "fanned_out", "1")
    note_attempt(ctx, "run-1")
    assert stalled_records(ctx, "customers", quiet=30) is None  # a record task just started
    assert stalled_records(ctx, "customers", quiet=0) == Stalled(
        "customers", "run-1", "q", ["1", "3"]
    )
    assert stalled_records(ctx, "customers", quiet=30) is None  # its quiet clock restarted
    note_attempt(ctx, "no-such-run")
    assert redis_client.exists(key(connection_id, "run", "no-such-run")) == 0


def _cut_short_finish(redis_client: redis.Redis, connection_id: str) -> Any:
    """A run whose last record settled ('finishing', its lock held, a watermark read)
    and whose finish never ran: Redis was lost, or the worker killed, in between."""
    from types import SimpleNamespace

    from worker.keys import key
    from worker.sync.locks import RunLock

    run_key = key(connection_id, "run", "run-9")
    redis_client.hset(run_key, mapping={
        "status": "finishing", "fanned_out": "1", "register": "customers",
        "watermark:severa": "2026-12-07T00:00:00Z", "progress_at": str(int(time.time()) - 5),
    })  # fmt: skip
    redis_client.sadd(key(connection_id, "run", "run-9", "keys"), "1")
    redis_client.sadd(key(connection_id, "run", "run-9", "settled"), "1")
    RunLock(redis_client, connection_id, "customers", 60).acquire("run-9")
    return SimpleNamespace(redis=redis_client, connection_id=connection_id)


def _finished(redis_client: redis.Redis, connection_id: str) -> tuple[str, str | None]:
    from worker.keys import key
    from worker.sync.locks import RunLock

    status = redis_client.hget(key(connection_id, "run", "run-9"), "status")
    return str(status), RunLock(redis_client, connection_id, "customers", 60).holder()


def test_r_6_1_a_run_whose_finish_was_cut_short_is_finished_by_the_stall_check(
    redis_client: redis.Redis, connection_id: str
) -> None:
    from worker.sync.runstate import Watermarks
    from worker.sync.stalls import stalled_records

    ctx = _cut_short_finish(redis_client, connection_id)
    assert stalled_records(ctx, "customers", quiet=3600) is None  # not quiet yet: left alone
    assert _finished(redis_client, connection_id) == ("finishing", "run-9")
    assert stalled_records(ctx, "customers", quiet=0) is None
    assert _finished(redis_client, connection_id) == ("finished", None)
    mark = Watermarks(redis_client, connection_id, "customers").get("severa")
    assert mark is not None
    assert mark.isoformat().startswith("2026-12-07T00:00:00")


def test_r_6_1_a_retried_last_record_finishes_a_run_whose_finish_was_cut_short(
    redis_client: redis.Redis, connection_id: str
) -> None:
    from types import SimpleNamespace

    from config import get_settings
    from worker.sync.engine import SyncContext, settle_record

    _cut_short_finish(redis_client, connection_id)
    # No clients: a record already settled reaches no API.
    ctx = SyncContext(connection_id, get_settings(), redis_client, None)  # type: ignore[arg-type]
    outcome, report = settle_record(ctx, SimpleNamespace(name="customers"), "run-9", "1")  # type: ignore[arg-type]
    assert outcome.detail == "already settled in this run"
    assert report is not None
    assert report.status == "finished"
    assert _finished(redis_client, connection_id) == ("finished", None)
