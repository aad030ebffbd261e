"""The dry run (issue 19): ``plan`` writes nothing to either API, changes none of the
sync's state, and predicts exactly what the following real transfer does. Real worker
processes, the real Redis, both sandboxes over HTTP, the demo data."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
import requests
from click.testing import CliRunner

from tests.sync.conftest import World, run_in_worker, start_worker
from worker.registry import NAMES

pytestmark = pytest.mark.integration

COUNTERS = {"create": "created", "update": "updated", "unchanged": "unchanged",
            "fail": "failed", "skip": "skipped"}  # fmt: skip


def _state(world: World) -> dict[bytes, bytes]:
    """Every key the sync keeps for the connection (bindings, indexes, watermarks, error
    list, runs, pending marks), by value — but the tokens and the reference-data cache,
    which reads may refresh."""
    raw = redis.Redis(connection_pool=redis.ConnectionPool(
        world.redis.connection_pool.connection_class,
        **{**world.redis.connection_pool.connection_kwargs, "decode_responses": False},
    ))  # fmt: skip
    prefix = f"sync:conn:{world.connection_id}:".encode()
    state = {}
    for name in raw.scan_iter(match=prefix + b"*", count=1000):
        if any(part in name for part in (b":tokens", b":refdata", b":reference", b":ratelimit")):
            continue
        state[name] = raw.dump(name)
    return state


def _plan(world: World, register: str) -> dict[str, Any]:
    from worker.cli import main

    result = CliRunner().invoke(
        main, ["plan", register, "--json", "--connection", world.connection_id]
    )
    assert result.exit_code == 0, result.output
    plans: dict[str, Any] = json.loads(result.output)
    assert list(plans) == [register]
    return plans[register]


def test_plan_writes_nothing_and_predicts_each_transfer(world: World, celery_app: Any) -> None:
    worker = start_worker(world, celery_app)
    for register in NAMES:
        before = _state(world)
        world.clear_logs()

        planned = _plan(world, register)

        assert world.writes() == [], register
        after = _state(world)
        assert after.keys() == before.keys(), (register, after.keys() ^ before.keys())
        assert after == before, register
        report = run_in_worker(world, celery_app, register, worker.queue)
        assert report["status"] == "finished", report
        predicted = {COUNTERS[k]: planned[k] for k in COUNTERS}
        assert predicted == {v: report[v] for v in COUNTERS.values()}, (register, planned)
        assert len(planned["records"]) == sum(predicted.values())
        failed = {r["key"] for r in planned["records"] if r["action"] == "fail"}
        from worker.sync.errorlist import RECORD, ErrorList

        listed = {
            e.record_key
            for e in ErrorList(world.redis, world.connection_id).entries(register=register)
            if e.kind == RECORD and e.run_id == report["run_id"]
        }
        assert failed == listed, register


def test_plan_shows_an_update_field_by_field(world: World, celery_app: Any) -> None:
    worker = start_worker(world, celery_app)
    run_in_worker(world, celery_app, "products", worker.queue)
    product = next(p for p in world.severa.dump_store()["products"] if p.get("code") == "UTB-01")
    answer = requests.post(
        f"{world.severa_url}/_sandbox/edit/products/{product['guid']}",
        json={"name": "Utbildningsdag heldag"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    world.clear_logs()

    planned = _plan(world, "products")

    assert world.writes() == []
    (update,) = [r for r in planned["records"] if r["action"] == "update"]
    assert update["number"] == "UTB-01"
    (write,) = update["writes"]
    assert (write["side"], write["method"]) == ("eekonomi", "PUT")
    assert write["fields"] == {"Name": ["Utbildningsdag", "Utbildningsdag heldag"]}
    report = run_in_worker(world, celery_app, "products", worker.queue)
    assert (report["updated"], report["created"]) == (1, 0)
