"""Failure is a state everyone sees (issue 17, item 1): a transfer that did not run ends
its task *failed* — in Celery's result backend and in Flower's API, with the reason —
and the sync's own Prometheus metrics on Flower's ``/metrics`` show the connection's
state and each transfer's last run.

Real parts throughout: a Celery worker process, Flower (``python -m worker flower``)
and both sandboxes over HTTP; the tokens are revoked in the eEkonomi sandbox as a
password change would.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.sync.conftest import World, start_worker, wait_for_run
from tests.test_flower import FlowerProcess, _start_flower, _stop

pytestmark = pytest.mark.integration


def _task_info(flower: FlowerProcess, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Flower's view of a task once it has ended (Flower learns it from the events)."""
    deadline = time.monotonic() + timeout
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{flower.base}/api/task/info/{task_id}", auth=flower.login(), timeout=10
        )
        if answer.status_code == 200:
            info = answer.json()
            if info.get("state") in ("SUCCESS", "FAILURE"):
                return info
        time.sleep(0.5)
    raise AssertionError(f"Flower never saw task {task_id} end: {info}")


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(f"severa_sync_{name}{{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.partition("}")[0]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_given_revoked_tokens_then_the_transfer_task_fails_in_flower_and_the_metrics_say_so(
    world: World, celery_app: Any, tmp_path: Path
) -> None:
    worker = start_worker(world, celery_app)
    flower = _start_flower(tmp_path, world.env)
    try:
        # A run that goes through is a successful task, its counts in the metrics.
        first = celery_app.send_task(  # type: ignore[attr-defined]
            "sync.transfer_customers", args=[world.connection_id], queue=worker.queue
        )
        report = wait_for_run(world, str(first.id), 120)
        assert report["status"] == "finished"
        assert _task_info(flower, str(first.id))["state"] == "SUCCESS"
        metrics = requests.get(f"{flower.base}/metrics", auth=flower.login(), timeout=10).text
        labels = {"connection": world.connection_id, "transfer": "customers"}
        assert _metric(metrics, "last_run_records", **labels, outcome="created") == float(
            report["created"]
        )
        assert _metric(metrics, "last_success_timestamp_seconds", **labels) is not None
        assert _metric(metrics, "connection_state", connection=world.connection_id,
                       state="active") == 1.0  # fmt: skip

        # A password change in eEkonomi: every token of the company is revoked.
        with world.eekonomi.lock:
            world.eekonomi.identity.revoke_where(lambda grant: True)
        failed = celery_app.send_task(  # type: ignore[attr-defined]
            "sync.transfer_products", args=[world.connection_id], queue=worker.queue
        )
        failed.get(timeout=120, propagate=False)
        assert failed.state == "FAILURE"
        assert "products" in str(failed.result)
        info = _task_info(flower, str(failed.id))
        assert info["state"] == "FAILURE", info
        assert "TransferFailed" in info["exception"], info
        assert "connect" in info["exception"], info  # the reason says what to do

        metrics = requests.get(f"{flower.base}/metrics", auth=flower.login(), timeout=10).text
        state = {"connection": world.connection_id, "state": "needs_authorization"}
        assert _metric(metrics, "connection_state", **state) == 1.0, metrics[-3000:]
        products = {"connection": world.connection_id, "transfer": "products"}
        assert _metric(metrics, "last_run_failed", **products) == 1.0
        assert _metric(metrics, "last_success_timestamp_seconds", **products) is None
    finally:
        _stop(flower)


def _doctor(world: World) -> tuple[int, list[str]]:
    from tests.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "worker", "doctor", "--timeout", "2"],
        cwd=ROOT, env=world.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    mine = [line for line in result.stdout.splitlines() if f" {world.connection_id}" in line]
    return result.returncode, mine


def test_doctor_fails_on_a_401_names_the_connection_and_says_what_to_do(world: World) -> None:
    from worker.sync.service import transfer_now

    assert transfer_now(world.connection_id, "customers", uuid.uuid4().hex).status == "finished"
    _, lines = _doctor(world)
    auth = [line for line in lines if " auth " in line]
    assert len(auth) == 2, lines
    assert all(line.startswith("[ OK ]") for line in auth), lines
    customers = next(line for line in lines if f"{world.connection_id} customers:" in line)
    assert customers.startswith("[ OK ]"), lines
    products = next(line for line in lines if f"{world.connection_id} products:" in line)
    assert products.startswith("[WARN]"), lines
    assert "run products" in products, lines

    # A password change in eEkonomi: the saved tokens answer 401 and cannot be renewed.
    with world.eekonomi.lock:
        world.eekonomi.identity.revoke_where(lambda grant: True)
    code, lines = _doctor(world)
    assert code == 1
    failed = [line for line in lines if line.startswith("[FAIL] auth")]
    assert failed, lines
    assert f"connect --connection {world.connection_id}" in failed[0]
    # The check itself found the revoked tokens: the connection now needs a person.
    code, lines = _doctor(world)
    assert any("needs re-authorization" in line for line in lines), lines
