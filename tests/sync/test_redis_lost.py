"""Issue 14: a lost Redis leaves nothing stuck — a run start or a record task that meets
it goes on once Redis is back, and a run whose start never finished its fan-out is
picked up by the stalled-run check (bench/README.md, "What the bench found" 1 and 3).

Redis is lost through :class:`~tests.redis_cut.RedisCut`: the worker talks to the real
Redis through a relay that the test cuts (connections dropped, new ones refused) and
restores, with the data kept — as a ``redis-server`` killed and restarted from its
append-only file.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from sandbox.core import Fault
from tests.conftest import WorkerProcess
from tests.redis_cut import RedisCut
from tests.sync.conftest import World, wait_for_run
from tests.sync.test_engine_faults import REGISTER, Widgets, context
from tests.sync.test_register_transfers import _assert_customers_exactly_once
from worker.keys import run_key
from worker.sync.engine import run_now, start_run
from worker.sync.runs import FINISHED, Runs
from worker.sync.runstate import RunState
from worker.sync.stalls import Stalled, stalled_records

#: How long Redis stays away: longer than a request that was under way when it went.
AWAY = 4.0


@pytest.fixture
def cut(redis_url: str) -> Iterator[RedisCut]:
    relay = RedisCut(redis_url)
    yield relay
    relay.close()


def _behind(world: World, relay: RedisCut) -> dict[str, str]:
    """A worker's settings with every Redis connection (broker, results, state) through
    ``relay``, and a short visibility timeout: a message a dead worker held comes back
    in seconds, as it would after the production setting's minutes."""
    return {**world.env, "REDIS_URL": relay.url, "BROKER_VISIBILITY_TIMEOUT": "15",
            "TASK_RETRY_BACKOFF_MAX": "5"}  # fmt: skip


def _worker_behind(world: World, celery_app: Any, relay: RedisCut) -> WorkerProcess:
    worker = WorkerProcess(_behind(world, relay), queue=f"q-{uuid.uuid4().hex[:10]}", concurrency=2)
    world.workers.append(worker)
    worker.wait_ready(celery_app)
    return worker


def _wait_as_the_service_would(
    world: World, celery_app: Any, relay: RedisCut, worker: WorkerProcess, run_id: str
) -> dict[str, Any]:
    """Wait for the run while doing what ``serve`` and beat do: a worker whose main process
    exited is started again on its queue (worker/restarts.py) — kombu's acknowledgement
    can fail with an AttributeError while Redis is away (celery/kombu#582), whatever this
    service does — and the stalled-run check is sent every few seconds (beat: every
    minute), which resends a start whose message died with that worker once it is quiet."""
    deadline = time.monotonic() + 150
    while True:
        if worker.process.poll() is not None:
            worker = WorkerProcess(_behind(world, relay), queue=worker.queue, concurrency=2)
            world.workers.append(worker)
            worker.wait_ready(celery_app)
        celery_app.send_task(
            "sync.resume_stalled_runs", args=[world.connection_id], queue=worker.queue
        )
        try:
            return wait_for_run(world, run_id, timeout=min(5.0, deadline - time.monotonic()))
        except AssertionError:
            if time.monotonic() >= deadline - 0.5:
                raise


def _when_taken(app: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while app.faults and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not app.faults, f"the armed fault was never hit: {app.faults}"


def _lose_redis_for(relay: RedisCut, seconds: float) -> None:
    relay.cut()
    time.sleep(seconds)
    relay.restore()


@pytest.mark.integration
def test_given_redis_lost_while_record_tasks_settle_then_they_retry_and_the_run_finishes(
    world: World, celery_app: Any, cut: RedisCut
) -> None:
    """A record task whose create returns while Redis is away cannot count it: it
    retries once Redis is back — within seconds (the stalled-run check sent meanwhile
    resends only after 30 s of quiet) — and no customer is created twice."""
    worker = _worker_behind(world, celery_app, cut)
    world.eekonomi.add_fault(Fault("/v2/customers", method="POST", action="delay", delay=2.0))
    result = celery_app.send_task(
        "sync.transfer_customers", args=[world.connection_id], queue=worker.queue
    )
    _when_taken(world.eekonomi)  # a record task is inside its create
    _lose_redis_for(cut, AWAY)

    report = _wait_as_the_service_would(world, celery_app, cut, worker, str(result.id))

    assert report["status"] == "finished", report
    _assert_customers_exactly_once(world)


@pytest.mark.integration
def test_given_redis_lost_while_a_run_reads_then_its_start_retries_and_the_run_finishes(
    world: World, celery_app: Any, cut: RedisCut
) -> None:
    """The run start's read returns while Redis is away, so it cannot stage what it read:
    the start retries with the same run id once Redis is back and finishes the run —
    not a report left "running" and a lock held for half an hour."""
    worker = _worker_behind(world, celery_app, cut)
    world.eekonomi.add_fault(Fault("/v2/customers", method="GET", action="delay", delay=2.0))
    result = celery_app.send_task(
        "sync.transfer_customers", args=[world.connection_id], queue=worker.queue
    )
    _when_taken(world.eekonomi)  # the start is reading eEkonomi's customers
    _lose_redis_for(cut, AWAY)

    report = _wait_as_the_service_would(world, celery_app, cut, worker, str(result.id))

    assert report["status"] == "finished", report
    assert RunState.current(world.redis, world.connection_id, "customers") is None
    _assert_customers_exactly_once(world)


def test_given_a_start_that_lost_redis_mid_fan_out_then_the_stall_check_resends_it_and_it_finishes(  # noqa: E501
    redis_client: redis.Redis, connection_id: str, cut: RedisCut
) -> None:
    """Past its last retry, a start that lost Redis mid fan-out leaves its run running and
    its lock held. Once it has been quiet for the stall limit, the stalled-run check asks
    for its start again (same run id), which goes on and finishes the run."""
    lost = redis.Redis.from_url(cut.url, decode_responses=True)
    keys = [str(n) for n in range(101, 131)]

    def enqueue_into_a_lost_redis(batch: list[str]) -> None:
        cut.cut()
        lost.ping()  # the broker is the same Redis: the send fails

    with pytest.raises(redis.ConnectionError):
        start_run(context(lost, connection_id), Widgets(keys), "run-1", enqueue_into_a_lost_redis)
    cut.restore()
    ctx = context(redis_client, connection_id)
    assert Runs(redis_client, connection_id).get("run-1").status == "running"  # type: ignore[union-attr]
    assert stalled_records(ctx, REGISTER, quiet=60) is None  # it only just went quiet

    redis_client.hset(run_key(connection_id, "run-1"), "progress_at", int(time.time()) - 120)
    stalled = stalled_records(ctx, REGISTER, quiet=60)
    assert stalled is not None, "a run that never fanned out in full is never resent"
    assert stalled == Stalled(REGISTER, "run-1", None, [], start=True)
    assert stalled_records(ctx, REGISTER, quiet=60) is None  # its quiet clock restarted

    widgets = Widgets(keys)
    report = run_now(ctx, widgets, "run-1")  # the resent start, as the worker runs it
    assert (report.status, report.created) == (FINISHED, len(keys))
    assert sorted(widgets.settled) == keys
    assert RunState.current(redis_client, connection_id, REGISTER) is None
