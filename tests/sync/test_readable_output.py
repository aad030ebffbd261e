"""Readable everywhere (issue 17, item 6): names rather than ids, validation messages as
sentences, choices in any case, rule ids only beside their meaning; the worker's log
shows each task in one summary line and keeps the every-minute housekeeping at DEBUG."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from click.testing import CliRunner

from tests.sync.conftest import World, run_in_worker, start_worker
from worker.cli import main
from worker.logs import InspectLines, TaskLines, install

pytestmark = pytest.mark.integration


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_settings_take_any_case_explain_refusals_in_sentences_and_show_names(
    world: World,
) -> None:
    conn = ("--connection", world.connection_id)
    accepted = _cli("settings", "set", "customers_master=Severa", "sent_means=Delivered", *conn)
    assert accepted.exit_code == 0, accepted.output
    assert "customers_master = severa" in accepted.output

    refused = _cli("settings", "set", "products_master=visma", *conn)
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        "Not saved: products_master must be severa or eekonomi. Nothing was changed."
    )
    for bracket in "{}[]":
        assert bracket not in refused.output

    shown = _cli("settings", "show", *conn).output
    status_sent = next(line for line in shown.splitlines() if line.startswith("status_sent"))
    assert "Skickad" in status_sent
    statuses = world.severa.dump_store()["invoiceStatuses"]
    guid = next(s["guid"] for s in statuses if s["name"] == "Skickad")
    assert guid not in shown  # the id only in --json
    assert guid in _cli("settings", "show", "--json", *conn).output

    _cli("settings", "set", "cost_center_id=", *conn)
    missing = _cli("run", "projects", "--now", *conn)
    assert "cost_center_id (eEkonomi cost center whose items are the projects)" in missing.output


def test_the_worker_log_has_one_summary_line_per_task_and_no_housekeeping(
    world: World, celery_app: Any
) -> None:
    worker = start_worker(world, celery_app)
    for task in ("sync.heartbeat", "sync.resume_stalled_runs"):
        celery_app.send_task(task, args=[world.connection_id], queue=worker.queue).get(timeout=30)
    run_in_worker(world, celery_app, "customers", worker.queue)
    time.sleep(1)  # the task's own "succeeded" line follows its run's end
    log = worker.log.read_text(errors="replace")
    assert "sync.heartbeat[" not in log  # (the start-up banner lists the task names)
    assert "sync.resume_stalled_runs[" not in log
    done = [line for line in log.splitlines() if "sync.transfer_customers" in line
            and "succeeded" in line]  # fmt: skip
    assert len(done) == 1, log[-3000:]
    assert "{" not in done[0], done[0]  # not the whole result dict
    assert "customers " in done[0]
    records = [line for line in log.splitlines() if "sync.transfer_customer[" in line
               and "succeeded" in line]  # fmt: skip
    assert records
    print(f"{done[0]}\n{records[0]}")
    assert all("record(s):" in line and "{" not in line for line in records), records[:3]


def test_flowers_inspect_failures_at_start_up_are_debug_not_warnings() -> None:
    install()
    record = logging.LogRecord(
        "flower.inspector", logging.WARNING, __file__, 1, "Inspect method %s failed",
        ("stats",), None,
    )  # fmt: skip
    assert InspectLines().filter(record) is False  # dropped unless DEBUG is on
    assert logging.getLogger("flower.inspector").filters
    run = {"transfer": "paid", "status": "finished", "unchanged": 3, "skipped": 1}
    line = logging.LogRecord(
        "celery.app.trace", logging.INFO, __file__, 1, "Task %(name)s succeeded: %(return_value)s",
        ({"name": "sync.transfer_paid", "return_value": repr(run)},), None,
    )  # fmt: skip
    assert TaskLines().filter(line) is True
    assert (
        line.getMessage()
        == "Task sync.transfer_paid succeeded: paid finished: 3 unchanged, 1 skipped"
    )
