"""Fairness between connections (issue 16): a connection's record tasks run at most
``CONNECTION_MAX_RUNNING`` at once across the workers; the others wait in its line in
Redis and are sent again as slots free up, so a run still settles every record."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import redis

from tests.sync.conftest import start_worker, wait_for_run
from tests.sync.test_hosting import Pair, _send, pairs  # noqa: F401 - the fixture
from worker import fairness


def test_given_a_full_connection_when_a_task_comes_then_it_waits_and_is_sent_when_one_ends(
    redis_client: redis.Redis,
) -> None:
    connection_id = f"t-{uuid.uuid4().hex[:12]}"
    sent: list[dict[str, Any]] = []
    args = {"cap": 2, "lifetime": 60, "send": sent.append}
    with fairness.slot(redis_client, connection_id, message={"n": 1}, **args) as first:
        with fairness.slot(redis_client, connection_id, message={"n": 2}, **args) as second:
            with fairness.slot(redis_client, connection_id, message={"n": 3}, **args) as third:
                assert (first, second, third) == (True, True, False)
            assert sent == []  # a parked task gives back no slot
        assert sent == [{"n": 3}]  # the second ended: the parked one goes on
    assert redis_client.zcard(fairness.running_key(connection_id)) == 0
    redis_client.delete(fairness.running_key(connection_id))


def test_given_slots_of_killed_tasks_when_beat_looks_then_the_waiting_are_sent(
    redis_client: redis.Redis,
) -> None:
    connection_id = f"t-{uuid.uuid4().hex[:12]}"
    sent: list[dict[str, Any]] = []
    args = {"cap": 1, "lifetime": 0, "send": sent.append}  # slots expire at once
    fairness.slot(redis_client, connection_id, message={"n": 1}, **args).__enter__()  # killed
    redis_client.rpush(fairness.waiting_key(connection_id), '{"n": 2}')
    assert fairness.resend_waiting(redis_client, connection_id, sent.append) == 1
    assert sent == [{"n": 2}]


pytestmark = pytest.mark.integration


def test_given_a_cap_of_one_when_a_connection_transfers_then_one_task_runs_at_a_time_and_all_settle(
    pairs: tuple[Pair, Pair],  # noqa: F811 - the fixture
    celery_app: Any,
) -> None:
    a, _ = pairs
    a.world.env["CONNECTION_MAX_RUNNING"] = "1"
    worker = start_worker(a.world, celery_app, concurrency=3)
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.01):
            seen.append(int(a.world.redis.zcard(fairness.running_key(a.id))))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        report = wait_for_run(a.world, _send(celery_app, worker.queue, a, "customers"), 180)
    finally:
        done.set()
        watcher.join()
    assert report["status"] == "finished"
    settled = report["created"] + report["updated"] + report["unchanged"] + report["failed"]
    assert settled == report["expected"] == 55  # the demo's 50 + 5 eEkonomi-only
    assert max(seen) == 1
    assert a.world.redis.llen(fairness.waiting_key(a.id)) == 0
