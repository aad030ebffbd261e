"""Issue 14 item 1 and A: nothing lost, nothing stuck when a record or a run meets the
unexpected — an exception of ours, a stored value that cannot be read.

The engine runs in this process against the real Redis (its scripts are Lua) with a
register of the test, so each fault is placed exactly; the registers of the product
meet the same engine in ``tests/sync/test_reliability.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import pytest
import redis

from schemas.sides import Side
from worker.clients.http import ApiTransientError
from worker.errors import RecordError
from worker.sync.bindings import Binder, Binding, CorruptRecordState
from worker.sync.engine import (
    Outcome,
    RunRefused,
    Staged,
    Stager,
    SyncContext,
    link_of,
    run_now,
    settle_record,
    start_run,
)
from worker.sync.errorlist import CONFIG, RECORD, ErrorList, RecordRef
from worker.sync.register import RegisterSpec
from worker.sync.runs import FAILED, FINISHED, Runs
from worker.sync.runstate import RunState, Watermarks

REGISTER = "widgets"  # requires no setting


class Widgets:
    """A register of the test: ``read`` stages the given keys; ``settle`` runs the
    given per-key behaviour (the default binds the record and says created)."""

    name = REGISTER
    spec = RegisterSpec(
        name=REGISTER,
        title="Transfer widgets",
        task="sync.transfer_widgets",
        record_task="sync.transfer_widget",
        tasks_module="tasks.widgets",
        requires=(),
        interval_setting="register_interval_minutes",
        natural_key="widget number",
        help="a register of the test",
    )

    def __init__(
        self,
        keys: list[str],
        faults: dict[str, Callable[[], Any]] | None = None,
        read_fault: Exception | None = None,
    ) -> None:
        self.keys = keys
        self.faults = faults or {}
        self.read_fault = read_fault
        self.settled: list[str] = []
        self.fetched: list[str] = []

    def read(self, ctx: SyncContext, side: str, since: Any, stage: Stager) -> datetime | None:
        if self.read_fault is not None:
            raise self.read_fault
        if side == Side.SEVERA:
            for key in self.keys:
                stage.add(key, f"g-{key}", {"number": key})
        return None

    def streamed_side(self, ctx: SyncContext) -> str | None:
        return None

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        self.fetched.append(natural_key)
        return Staged(severa={"number": natural_key, "fetched": True})

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        link_of(ctx, REGISTER, natural_key)  # reads the binding, as every register does
        if natural_key in self.faults:
            self.faults[natural_key]()
        ctx.binder(REGISTER).bind(natural_key, Binding(severa_id=f"g-{natural_key}"))
        self.settled.append(natural_key)
        return Outcome("created", Side.SEVERA)

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        return RecordRef(number=natural_key, name=f"widget {natural_key}")


def context(client: redis.Redis, connection_id: str) -> SyncContext:
    return SyncContext(connection_id, cast(Any, None), client, cast(Any, None))


def entries(client: redis.Redis, connection_id: str) -> dict[str, Any]:
    return {e.record_key: e for e in ErrorList(client, connection_id).entries()}


def missing_key() -> None:
    raise KeyError("Rows")


# -- item 1: an unexpected exception is one record's failure ----------------------------


def test_given_a_key_error_at_102_then_101_103_104_settle_and_102_is_listed_with_its_log_id(
    redis_client: redis.Redis, connection_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    widgets = Widgets(["101", "102", "103", "104"], {"102": missing_key})
    with caplog.at_level(logging.ERROR, logger="worker.sync.engine"):
        report = run_now(context(redis_client, connection_id), widgets, "run-1")
    assert sorted(widgets.settled) == ["101", "103", "104"]
    assert (report.status, report.created, report.failed) == (FINISHED, 3, 1)
    entry = entries(redis_client, connection_id)["102"]
    assert entry.kind == RECORD  # tried again by the next transfer
    found = re.search(r"internal error ([0-9a-f]{12}) \(KeyError: 'Rows'\)", entry.reason)
    assert found, entry.reason
    logged = [r for r in caplog.records if f"internal error {found.group(1)}" in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None  # the id finds the traceback
    assert RunState.current(redis_client, connection_id, REGISTER) is None  # lock freed


def test_given_a_listed_internal_error_when_the_fault_is_gone_then_the_next_run_settles_it(
    redis_client: redis.Redis, connection_id: str
) -> None:
    ctx = context(redis_client, connection_id)
    run_now(ctx, Widgets(["101", "102"], {"102": missing_key}), "run-1")
    again = Widgets(["101"])  # 102 did not change: only the error list brings it back
    report = run_now(ctx, again, "run-2")
    assert "102" in again.settled
    assert report.failed == 0
    assert entries(redis_client, connection_id) == {}


def test_given_a_read_that_raises_unexpectedly_then_the_run_fails_with_an_id_and_frees_its_lock(
    redis_client: redis.Redis, connection_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Widgets(["1"], read_fault=TypeError("'NoneType' object is not subscriptable"))
    with (
        caplog.at_level(logging.ERROR, logger="worker.sync.engine"),
        pytest.raises(RunRefused, match=r"internal error [0-9a-f]{12} \(TypeError") as refused,
    ):
        start_run(context(redis_client, connection_id), broken, "run-1", lambda keys: None)
    assert refused.value.report is not None
    assert refused.value.report.status == FAILED
    assert RunState.current(redis_client, connection_id, REGISTER) is None
    assert any(r.exc_info for r in caplog.records)
    # The next run is not refused "already running": it starts and finishes.
    report = run_now(context(redis_client, connection_id), Widgets(["1"]), "run-2")
    assert report.status == FINISHED


# -- A: a killed run-start redelivered into a 503 ---------------------------------------


@pytest.mark.parametrize("lock_expired", [False, True], ids=["lock-held", "lock-expired"])
def test_given_a_killed_start_redelivered_into_a_503_then_the_run_fails_and_the_next_one_starts(
    redis_client: redis.Redis, connection_id: str, lock_expired: bool
) -> None:
    """The first start took the lock and died mid fan-out; its redelivery meets a 503 on
    the read. Whether the lock was still held by the run or had expired meanwhile, the
    failed run releases it and the next scheduled run starts at once."""
    RunState(redis_client, connection_id, "run-1", REGISTER).begin(None)
    if lock_expired:
        redis_client.delete(RunState(redis_client, connection_id, "run-1", REGISTER).lock.key)
    outage = ApiTransientError(
        "the API had a server error", api=Side.SEVERA, method="GET", path="/x", status=503
    )
    ctx = context(redis_client, connection_id)
    with pytest.raises(RunRefused, match="server error"):
        start_run(ctx, Widgets(["1"], read_fault=outage), "run-1", lambda keys: None)
    assert Runs(redis_client, connection_id).get("run-1").status == FAILED  # type: ignore[union-attr]
    assert RunState.current(redis_client, connection_id, REGISTER) is None
    assert run_now(ctx, Widgets(["1"]), "run-2").status == FINISHED


# -- stored values that cannot be read ---------------------------------------------------


def test_given_a_truncated_binding_then_that_record_is_listed_with_the_reset_and_others_settle(
    redis_client: redis.Redis, connection_id: str
) -> None:
    ctx = context(redis_client, connection_id)
    run_now(ctx, Widgets(["101", "102", "103"]), "run-1")
    binder = Binder(redis_client, connection_id, REGISTER)
    redis_client.hset(binder.bindings_key, "102", '{"severa_id": "g-1')  # truncated
    report = run_now(ctx, Widgets(["101", "102", "103"]), "run-2")  # staging reads it too
    assert (report.status, report.failed) == (FINISHED, 1)
    reason = entries(redis_client, connection_id)["102"].reason
    assert "stored binding of widgets 102 cannot be read" in reason
    assert (
        f"python -m worker errors --connection {connection_id} --register widgets reset 102"
        in reason
    )
    # The reset forgets it (and marks a create pending on any side: look up first).
    assert binder.forget("102") is True
    assert binder.pending_for("102", Side.EEKONOMI) is not None
    again = Widgets([])
    assert run_now(ctx, again, "run-3").failed == 0
    assert again.settled == ["102"]
    assert entries(redis_client, connection_id) == {}


def test_given_a_binding_that_is_no_object_then_it_is_a_corrupt_record_state() -> None:
    with pytest.raises(CorruptRecordState, match="widgets 7"):
        Binding.from_json("[1, 2]", REGISTER, "7")
    assert isinstance(CorruptRecordState(REGISTER, "7", "binding", "x", "default"), RecordError)
    future = Binding.from_json('{"severa_id": "g", "of_a_later_version": "x"}')
    assert future.severa_id == "g"


def test_given_a_corrupt_staged_copy_then_the_record_is_read_afresh(
    redis_client: redis.Redis, connection_id: str
) -> None:
    ctx = context(redis_client, connection_id)
    widgets = Widgets(["7", "8"])
    seen: list[str] = []

    def stage_then_spoil(keys: list[str]) -> None:
        run = RunState(redis_client, connection_id, "run-1", REGISTER)
        redis_client.hset(run.staged_key(Side.SEVERA), "7", "{not json")
        for key in keys:
            seen.append(key)
            settle_record(ctx, widgets, "run-1", key)

    start_run(ctx, widgets, "run-1", stage_then_spoil, stream=False)
    assert sorted(seen) == ["7", "8"]
    assert widgets.fetched == ["7"]
    assert sorted(widgets.settled) == ["7", "8"]


def test_given_a_corrupt_run_report_then_status_and_the_next_run_still_work(
    redis_client: redis.Redis, connection_id: str
) -> None:
    ctx = context(redis_client, connection_id)
    run_now(ctx, Widgets(["1"]), "run-1")
    run = RunState(redis_client, connection_id, "run-1", REGISTER)
    redis_client.hset(run.key, mapping={"created": "x1", "started_at": "soon"})
    report = Runs(redis_client, connection_id).last(REGISTER)
    assert report is not None
    assert "stored created, started_at unreadable" in report.message
    assert run_now(ctx, Widgets(["2"]), "run-2").status == FINISHED


def test_given_a_corrupt_error_list_entry_then_it_is_listed_as_such_and_runs_go_on(
    redis_client: redis.Redis, connection_id: str
) -> None:
    ctx = context(redis_client, connection_id)
    run_now(ctx, Widgets(["101", "102"], {"102": missing_key}), "run-1")
    errors = ErrorList(redis_client, connection_id)
    entry_id = next(iter(errors.entries())).id
    redis_client.hset(errors.entries_key, entry_id, '{"register": "wid')
    shown = entries(redis_client, connection_id)["102"]
    assert shown.kind == CONFIG
    assert "errors dismiss --all" in shown.reason
    again = Widgets([])
    assert run_now(ctx, again, "run-2").status == FINISHED
    assert again.settled == ["102"]  # its record is still retried, and resolves it
    assert errors.count() == 0


def test_given_a_corrupt_watermark_then_the_run_fails_naming_the_reset_and_the_reset_works(
    redis_client: redis.Redis, connection_id: str
) -> None:
    ctx = context(redis_client, connection_id)
    marks = Watermarks(redis_client, connection_id, REGISTER)
    redis_client.hset(marks.key, Side.SEVERA, "yesterday-ish")
    with pytest.raises(RunRefused, match="--register widgets reset --watermarks"):
        run_now(ctx, Widgets(["1"]), "run-1")
    assert RunState.current(redis_client, connection_id, REGISTER) is None
    assert marks.forget() is True
    assert run_now(ctx, Widgets(["1"]), "run-2").status == FINISHED
