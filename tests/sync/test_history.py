"""Record history (issue 19): every sync of a record — when, run, direction, what
changed — kept ``history_days``. Real worker, real Redis, both sandboxes over HTTP,
the demo data."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis
import requests
from click.testing import CliRunner

from tests.sync.conftest import World, run_in_worker, start_worker
from worker.sync.history import HistoryEntry, RecordHistory

pytestmark = pytest.mark.integration


def _history(world: World, *args: str) -> str:
    from worker.cli import main

    result = CliRunner().invoke(main, ["history", *args, "--connection", world.connection_id])
    assert result.exit_code == 0, result.output
    return result.output


def test_history_shows_each_sync_of_a_record(world: World, celery_app: Any) -> None:
    worker = start_worker(world, celery_app)
    first = run_in_worker(world, celery_app, "customers", worker.queue)
    customer = next(c for c in world.severa.dump_store()["customers"] if c["number"] == 1002)
    answer = requests.post(
        f"{world.severa_url}/_sandbox/edit/customers/{customer['guid']}",
        json={"email": "ny@example.se"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    second = run_in_worker(world, celery_app, "customers", worker.queue)
    run_in_worker(world, celery_app, "customers", worker.queue)  # unchanged: not a sync
    run_in_worker(world, celery_app, "products", worker.queue)

    found = json.loads(_history(world, "1002", "--json"))["history"]

    assert [(e["run_id"], e["outcome"]) for e in found] == [
        (second["run_id"], "updated"),
        (first["run_id"], "updated"),  # on both sides already: linked, Severa's values
    ]
    assert all(e["register"] == "customers" for e in found)
    assert all(e["direction"] == "severa→eekonomi" for e in found)
    (update,) = found[0]["changes"]
    assert (update["side"], update["action"]) == ("eekonomi", "update")
    assert update["fields"]["EmailAddress"][1] == "ny@example.se"
    assert found[1]["changes"][0]["action"] == "update"
    assert found[0]["at"] > found[1]["at"]
    (new,) = json.loads(_history(world, "1006", "--json"))["history"]
    assert (new["outcome"], new["run_id"]) == ("created", first["run_id"])
    (create,) = new["changes"]
    assert (create["side"], create["action"]) == ("eekonomi", "create")
    assert create["fields"]["CustomerNumber"] == "1006"
    text = _history(world, "1002")
    assert "EmailAddress:" in text
    assert "→ 'ny@example.se'" in text
    # An article number as a person types it; a failure with its reason.
    assert json.loads(_history(world, "utb-01", "--json"))["history"][0]["outcome"] == "created"
    failed = json.loads(_history(world, "1049", "--json"))["history"]
    assert {e["outcome"] for e in failed} == {"failed"}
    assert "no address" in failed[0]["detail"]
    # A Severa invoice, by its guid.
    run_in_worker(world, celery_app, "projects", worker.queue)
    invoices = run_in_worker(world, celery_app, "invoices", worker.queue)
    draft = next(
        d for d in world.eekonomi.dump_store()["customerInvoiceDrafts"]
        if str(d.get("SubscriptionNumber") or "").startswith("severa:")
    )  # fmt: skip
    guid = draft["SubscriptionNumber"].removeprefix("severa:")
    (sync,) = json.loads(_history(world, guid, "--json"))["history"]
    assert (sync["register"], sync["outcome"]) == ("invoices", "created")
    assert sync["run_id"] == invoices["run_id"]


def test_history_keeps_entries_for_history_days(
    redis_client: redis.Redis, connection_id: str
) -> None:
    """Older entries are dropped when a new one is added (``history_add.lua``, so a
    real Redis), and one that cannot be read counts as the oldest."""
    client = redis_client
    store = RecordHistory(client, connection_id)
    client.rpush(store.key_of("customers", "1"), "not json")
    now = time.time()
    store.add(HistoryEntry("customers", "1", "old", "updated", at=now - 3 * 86400), days=2)
    store.add(HistoryEntry("customers", "1", "new", "updated", at=now), days=2)
    assert [e.run_id for e in store.entries("customers", "1", days=2)] == ["new"]
    assert client.llen(store.key_of("customers", "1")) == 1
    assert 0 < client.ttl(store.key_of("customers", "1")) <= 2 * 86400
