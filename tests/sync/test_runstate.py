"""A run's state in Redis (worker/sync/runstate.py) and the engine steps built on it.

Real Redis (the scripts are Lua, which fakeredis runs only with ``lupa``). Each test
uses a fresh connection id, so tests sharing the session's Redis never meet.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest
import redis

from schemas.sides import Side
from worker.clients.http import ApiTransientError
from worker.sync.engine import (
    Outcome,
    RunRefused,
    Staged,
    Stager,
    SyncContext,
    prefetched,
    reading_order,
    settle_record,
    start_run,
)
from worker.sync.errorlist import ErrorEntry, ErrorList, RecordRef, entry_id
from worker.sync.locks import AlreadyRunning
from worker.sync.register import RegisterSpec
from worker.sync.runs import FAILED, FINISHED, RUNNING, Runs
from worker.sync.runstate import LOCK_TTL, WATERMARK_OVERLAP, RunState

REGISTER = "widgets"  # a register no setting is required for (its spec requires nothing)


def run_of(client: redis.Redis, connection_id: str, run_id: str = "run-1") -> RunState:
    return RunState(client, connection_id, run_id, REGISTER)


# -- start: the lock and the report -----------------------------------------------------


def test_given_no_run_when_begun_then_it_holds_the_lock_and_a_second_run_is_refused(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    report = run.begin(None)
    assert (report.status, report.transfer) == (RUNNING, REGISTER)
    assert run.lock.holder() == "run-1"
    with pytest.raises(AlreadyRunning) as refused:
        run_of(redis_client, connection_id, "run-2").begin(None)
    assert refused.value.holder == "run-1"
    assert RunState.current(redis_client, connection_id, REGISTER) is not None


def test_given_a_redelivered_start_when_begun_again_then_the_same_report_goes_on(
    redis_client: redis.Redis, connection_id: str
) -> None:
    first = run_of(redis_client, connection_id).begin(None)
    redis_client.delete(run_of(redis_client, connection_id).lock.key)  # its lock expired
    again = run_of(redis_client, connection_id)
    resumed = again.begin(again.report())
    assert resumed.started_at == first.started_at
    assert again.lock.holder() == "run-1"
    assert len(Runs(redis_client, connection_id).history(REGISTER)) == 1


def test_given_a_run_whose_lock_expired_when_the_next_begins_then_it_is_failed_as_abandoned(
    redis_client: redis.Redis, connection_id: str
) -> None:
    stale = run_of(redis_client, connection_id, "stale")
    stale.begin(None)
    redis_client.delete(stale.lock.key)
    run_of(redis_client, connection_id, "next").begin(None)
    report = stale.report()
    assert report is not None
    assert (report.status, report.message) == (FAILED, "abandoned: not all records settled")


def test_given_a_step_that_needs_no_register_when_the_lock_is_asked_for_then_it_says_so(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = RunState(redis_client, connection_id, "run-1")
    run.note_attempt()  # touches only the run's own keys
    with pytest.raises(ValueError, match="needs to know the run's register"):
        _ = run.lock


# -- read, stage and fan out -----------------------------------------------------------


def test_given_staged_streamed_and_retried_keys_when_the_rest_fans_out_then_each_once(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    run.begin(None)
    pipe = redis_client.pipeline(transaction=False)
    run.stage(pipe, Side.SEVERA, {str(n): f'{{"n": {n}}}' for n in range(7)})
    pipe.execute()
    run.note_streamed(["0", "1"])
    assert int(redis_client.hget(run.key, "expected") or 0) == 2  # provisional, for progress
    run.add_keys(["9"])  # an error-list retry
    expected = run.expected()
    batches = list(run.rest(3))
    assert expected == 8
    assert sorted(k for batch in batches for k in batch) == ["2", "3", "4", "5", "6", "9"]
    assert max(len(batch) for batch in batches) <= 3
    assert redis_client.exists(run.rest_key) == 0
    assert run.load_staged("3") == {Side.SEVERA: {"n": 3}, Side.EEKONOMI: None}


def test_given_a_redelivered_start_when_it_restarts_the_fan_out_then_nothing_counts_as_streamed(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    run.begin(None)
    run.add_keys(["a", "b"])
    run.note_streamed(["a"])
    run.restart_fan_out("records.q")
    assert sorted(k for batch in run.rest(10) for k in batch) == ["a", "b"]
    assert run.queue() == "records.q"


# -- settle ----------------------------------------------------------------------------


def test_given_a_fanned_out_run_when_records_settle_then_each_counts_once_and_the_last_says_so(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    run.begin(None)
    run.add_keys(["a", "b"])
    assert run.mark_fanned_out(2) is False
    assert run.settle("a", "created") is False
    assert run.settle("a", "created") is False  # a redelivered record task
    assert run.unsettled() == ["b"]
    assert run.settle("b", "failed") is True
    assert run.settle("b", "failed") is False  # the finish is claimed once
    report = run.report()
    assert report is not None
    assert (report.settled, report.created, report.failed, report.status) == (
        2,
        1,
        1,
        "finishing",
    )


def test_given_records_settled_before_the_fan_out_ends_then_the_fan_out_says_finish(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    run.begin(None)
    run.settle("a", "unchanged")
    assert run.mark_fanned_out(1) is True


def test_given_a_listed_record_when_it_settles_then_its_entries_resolve_and_the_lock_lives_on(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    run.begin(None)
    errors = ErrorList(redis_client, connection_id)
    entry = ErrorEntry(REGISTER, "severa→eekonomi", "a", RecordRef(name="A"), "bad")
    errors.record(entry)
    redis_client.pexpire(run.lock.key, 1000)
    run.settle("a", "created", [entry_id(REGISTER, "severa→eekonomi", "a")])
    assert errors.count() == 0
    assert redis_client.pttl(run.lock.key) > LOCK_TTL * 1000 - 5000


def test_given_a_quiet_run_when_checked_twice_then_only_the_first_check_says_quiet(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    run.begin(None)
    run.restart_fan_out(None)  # a start stamps its progress
    assert run.quiet_for(30) is None
    assert run.quiet_for(0) == "start"  # not fanned out: its start is what to resend
    run.mark_fanned_out(1)
    assert run.quiet_for(0) == "records"
    assert run.quiet_for(30) is None


# -- finish and fail -------------------------------------------------------------------


def test_given_a_finished_run_then_watermarks_move_lock_frees_and_only_the_settled_set_stays(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    run.begin(None)
    pipe = redis_client.pipeline(transaction=False)
    run.stage(pipe, Side.EEKONOMI, {"a": "{}"})
    pipe.execute()
    run.note_streamed(["a"])
    read_at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    run.note_watermark(Side.EEKONOMI, read_at)
    run.settle("a", "created")
    report = run.finish()
    assert report.status == FINISHED
    assert run.watermarks.get(Side.EEKONOMI) == read_at
    assert run.watermarks.since(Side.EEKONOMI) == read_at - WATERMARK_OVERLAP
    assert run.watermarks.since(Side.SEVERA) is None
    assert run.lock.holder() is None
    gone = (run.staged_key(Side.EEKONOMI), run.keys_key, run.streamed_key)
    assert redis_client.exists(*gone) == 0
    assert redis_client.exists(run.settled_key) == 1


def test_given_a_failed_run_then_the_lock_frees_and_the_watermarks_stay(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    run.begin(None)
    run.note_watermark(Side.SEVERA, datetime(2026, 11, 24, tzinfo=UTC))
    report = run.fail("Severa is down")
    assert report is not None
    assert (report.status, report.message) == (FAILED, "Severa is down")
    assert run.lock.holder() is None
    assert run.watermarks.get(Side.SEVERA) is None


def test_given_a_one_record_run_when_it_ends_then_its_report_closes_and_the_lock_frees(
    redis_client: redis.Redis, connection_id: str
) -> None:
    run = run_of(redis_client, connection_id)
    assert run.begin_one().status == RUNNING
    assert int(redis_client.hget(run.key, "expected") or 0) == 1
    with pytest.raises(AlreadyRunning):
        run_of(redis_client, connection_id, "run-2").begin_one()
    report = run.end_one()
    assert report is not None
    assert report.status == FINISHED
    assert run.lock.holder() is None


# -- the engine's steps ----------------------------------------------------------------


class FailingRead:
    """A register whose Severa read meets an outage (its other methods are never used)."""

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

    def read(self, ctx: SyncContext, side: str, since: Any, stage: Stager) -> Any:
        raise ApiTransientError(
            "the API had a server error", api=Side.SEVERA, method="GET", path="/x", status=503
        )

    def streamed_side(self, ctx: SyncContext) -> str | None:
        return None

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:  # pragma: no cover
        raise AssertionError("not called")

    def settle(
        self, ctx: SyncContext, natural_key: str, staged: Staged
    ) -> Outcome:  # pragma: no cover
        raise AssertionError("not called")

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:  # pragma: no cover
        raise AssertionError("not called")


def test_given_a_redelivered_start_when_its_read_meets_a_503_then_the_run_fails_and_frees_the_lock(
    redis_client: redis.Redis, connection_id: str
) -> None:
    """The first start took the lock in a worker that died mid fan-out; the redelivered
    start takes the run up without taking the lock itself. When its read fails it must
    still release the lock — the lock is the run's, not the process's."""
    run_of(redis_client, connection_id).begin(None)
    ctx = SyncContext(connection_id, cast(Any, None), redis_client, cast(Any, None))
    with pytest.raises(RunRefused, match="server error") as refused:
        start_run(ctx, FailingRead(), "run-1", lambda keys: None)
    assert refused.value.report is not None
    assert refused.value.report.status == FAILED
    assert run_of(redis_client, connection_id).lock.holder() is None
    # An outage is not a person's to fix: no error-list entry for it.
    assert ErrorList(redis_client, connection_id).count() == 0


def test_given_a_streamed_side_then_it_is_read_last() -> None:
    assert reading_order(None) == (Side.SEVERA, Side.EEKONOMI)
    assert reading_order(Side.EEKONOMI) == (Side.SEVERA, Side.EEKONOMI)
    assert reading_order(Side.SEVERA) == (Side.EEKONOMI, Side.SEVERA)


class SeenStaged(FailingRead):
    """A register whose settle notes the Severa copy it was given (and writes nothing)."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        self.seen[natural_key] = staged.severa
        return Outcome("unchanged", Side.SEVERA)

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        return RecordRef(number=natural_key)


def test_a_record_tasks_records_are_read_ahead_once_and_a_record_outside_them_afresh(
    redis_client: redis.Redis, connection_id: str
) -> None:
    """engine.prefetched (issue 20): a record task reads all its records in one round
    trip, and each record's settle takes its part of that read instead of reading
    again — once: a second settle of the record (a retry) reads afresh, as does a
    record the task did not read ahead."""
    run = run_of(redis_client, connection_id)
    run.begin(None)
    staged = run.staged_key(Side.SEVERA)
    for number in ("w1", "w2", "w3"):
        redis_client.hset(staged, number, json.dumps({"number": number, "version": 1}))
    ctx = SyncContext(connection_id, cast(Any, None), redis_client, cast(Any, None))
    register = SeenStaged()
    with prefetched(ctx, REGISTER, "run-1", ["w1", "w2"]):
        for number in ("w1", "w2", "w3"):
            redis_client.hset(staged, number, json.dumps({"number": number, "version": 2}))
        settle_record(ctx, register, "run-1", "w1")
        assert register.seen["w1"] == {"number": "w1", "version": 1}  # as read ahead
        settle_record(ctx, register, "run-1", "w3")
        assert register.seen["w3"] == {"number": "w3", "version": 2}  # not read ahead
        redis_client.srem(run.settled_key, "w1")  # as if its count was lost: settled again
        settle_record(ctx, register, "run-1", "w1")
        assert register.seen["w1"] == {"number": "w1", "version": 2}  # taken once only
    settle_record(ctx, register, "run-1", "w2")
    assert register.seen["w2"] == {"number": "w2", "version": 2}  # outside the task
