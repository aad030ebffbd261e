"""The transfer commands of the CLI (R-4.1–R-4.3, R-3): run, status, errors, settings —
against both sandboxes over HTTP and the real Redis."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from sandbox.core import Fault
from tests.sync.conftest import World, start_worker
from worker.cli import main
from worker.sync.errorlist import ErrorEntry, ErrorList, RecordRef
from worker.sync.locks import RunLock

pytestmark = pytest.mark.integration


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_r_4_2_given_run_now_then_the_report_line_and_status_show_the_counts(world: World) -> None:
    result = cli("run", "customers", "--now", "--connection", world.connection_id)
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("customers: ")
    assert " created, " in line
    assert "(run " in line
    assert result.exit_code == 1  # the demo has bad customers: failed > 0 exits 1
    status = json.loads(cli("status", "--json", "--connection", world.connection_id).output)
    customers = status["transfers"]["customers"]
    assert customers["status"] == "finished"
    assert customers["created"] >= 40
    assert customers["failed"] == 5
    assert status["errors"] == 5
    assert status["transfers"]["projects"] is None
    table = cli("status", "--connection", world.connection_id).output
    assert re.search(r"^customers +finished", table, re.M)
    assert re.search(r"^projects +never run", table, re.M)


def test_r_4_3_errors_lists_filters_and_retries_a_fixed_record_by_number(world: World) -> None:
    cli("run", "customers", "--now", "--connection", world.connection_id)
    listed = json.loads(cli("errors", "--json", "--connection", world.connection_id).output)
    by_key = {e["record_key"]: e for e in listed}
    entry = by_key["1050"]
    assert entry["register"] == "customers"
    assert entry["direction"] == "severa→eekonomi"
    assert entry["record"]["name"] == "Vimmerby Evenemang AB"
    assert "postal code" in entry["reason"]
    assert entry["count"] == 1
    assert entry["first_seen"] <= entry["last_seen"]
    text = cli("errors", "--search", "Vimmerby", "--connection", world.connection_id).output
    assert "1050 'Vimmerby Evenemang AB'" in text
    assert "1 entry" in text
    empty = cli("errors", "--register", "projects", "--connection", world.connection_id)
    assert "No entry matches" in empty.output

    customer = next(c for c in world.severa.dump_store()["customers"] if c["number"] == 1050)
    address = next(
        a for a in world.severa.dump_store()["addresses"]
        if a["customer"]["guid"] == customer["guid"]
    )  # fmt: skip
    requests.post(
        f"{world.severa_url}/_sandbox/edit/addresses/{address['guid']}",
        json={"postalCode": "598 30", "city": "Vimmerby"},
        timeout=10,
    ).raise_for_status()
    retried = cli("errors", "--connection", world.connection_id, "retry", "1050")
    assert "customers 1050: created" in retried.output
    assert retried.exit_code == 0
    remaining = json.loads(cli("errors", "--json", "--connection", world.connection_id).output)
    assert "1050" not in {e["record_key"] for e in remaining}


def test_r_4_3_errors_dismiss_removes_the_named_entries_and_only_them(
    celery_app: Any, redis_client: Any, connection_id: str
) -> None:
    errors = ErrorList(redis_client, connection_id)
    listed = [("customers", "1050", "1050"), ("customers", "1051", "1051"),
              ("products", "lic-01", "LIC-01")]  # fmt: skip
    for register, record_key, number in listed:
        errors.record(ErrorEntry(
            register=register, direction="severa→eekonomi", record_key=record_key,
            record=RecordRef(number=number, name=f"Post {number}"), reason="has no address",
        ))  # fmt: skip
    usage = cli("errors", "--connection", connection_id, "dismiss")
    assert usage.exit_code == 2
    assert "--all" in usage.output
    result = cli("errors", "--connection", connection_id, "dismiss", "1050", "LIC-01", "999")
    assert result.exit_code == 0
    assert "customers 1050 (severa→eekonomi): dismissed" in result.output
    assert "products LIC-01 (severa→eekonomi): dismissed" in result.output
    assert "999: not in the error list" in result.output
    assert [e.record_key for e in errors.entries()] == ["1051"]
    nothing = cli("errors", "--connection", connection_id, "dismiss", "1050")
    assert nothing.exit_code == 1
    every = cli("errors", "--register", "customers", "--connection", connection_id,
                "dismiss", "--all")  # fmt: skip
    assert "1 entry dismissed" in every.output
    assert errors.count() == 0


def test_r_3_given_settings_missing_when_a_transfer_starts_then_it_refuses_naming_them(
    world: World,
) -> None:
    cli("settings", "set", "customers_master=", "--connection", world.connection_id)
    result = cli("run", "customers", "--now", "--connection", world.connection_id)
    assert result.exit_code == 1
    assert "customers_master (master system for customers" in result.output
    assert world.writes() == []


def test_given_a_run_holding_the_lock_when_another_starts_then_it_reports_already_running(
    world: World,
) -> None:
    lock = RunLock(world.redis, world.connection_id, "customers", 60)
    lock.acquire("someone-else")
    try:
        result = cli("run", "customers", "--now", "--connection", world.connection_id)
    finally:
        lock.release()
    assert "already running" in result.output
    assert "someone-else" in result.output
    assert result.exit_code == 1


def test_r_3_0_settings_are_chosen_by_name_from_the_live_apis_and_checked(world: World) -> None:
    bad = cli("settings", "set", "cost_center_id=Nope", "--connection", world.connection_id)
    assert bad.exit_code == 2
    assert "Projekt" in bad.output  # the options come from eEkonomi
    good = cli("settings", "set", "status_to_transfer=Att överföra",
               "--connection", world.connection_id)  # fmt: skip
    assert good.exit_code == 0
    statuses = world.severa.dump_store()["invoiceStatuses"]
    wanted = next(s["guid"] for s in statuses if s["name"] == "Att överföra")
    assert "status_to_transfer = Att överföra" in good.output  # by its name, not its id
    shown = cli("settings", "show", "--connection", world.connection_id).output
    assert "R-3.6" in shown
    assert "Att överföra" in shown
    assert wanted not in shown
    checked = cli("settings", "check", "--connection", world.connection_id)
    assert "customers          ready" in checked.output
    assert checked.exit_code == 0
    choices = cli("settings", "choices", "--connection", world.connection_id).output
    assert "Att överföra" in choices
    assert "Tjänster" not in choices  # codings are not a setting


def _route(celery_app: Any, routes: dict[str, Any] | None) -> None:
    """Set ``task_routes`` for the app's next sends: Celery builds its router once per
    process from the routes of that moment, so an earlier test's send would keep the old."""
    celery_app.conf.task_routes = routes
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)


def test_r_6_4_given_a_worker_when_run_is_enqueued_then_the_cli_follows_it_to_the_report(
    world: World, celery_app: Any
) -> None:
    worker = start_worker(world, celery_app)
    # The CLI enqueues on the default queue; route this connection's tasks to the
    # test worker's queue as a deployment routing a connection to its own queue would.
    _route(celery_app, {"sync.transfer_projects": {"queue": worker.queue}})
    try:
        result = cli("run", "projects", "--connection", world.connection_id)
    finally:
        _route(celery_app, None)
    # 1001-1003 already exist in the eEkonomi demo (same numbers, R-5.3): updated, not created.
    assert "projects: 17 created, 3 updated" in result.output, result.output


def test_given_a_run_whose_lock_expired_when_the_next_starts_then_the_old_one_is_marked_abandoned(
    world: World,
) -> None:
    from worker.sync.runs import Runs

    runs = Runs(world.redis, world.connection_id)
    stale = runs.start("projects", "stale-run")
    runs.set_expected(stale.run_id, 10)  # never settles: its records were lost
    cli("run", "projects", "--now", "--connection", world.connection_id)
    old = runs.get("stale-run")
    assert old is not None
    assert old.status == "failed"
    assert "abandoned" in old.message
    latest = runs.last("projects")
    assert latest is not None
    assert latest.status == "finished"


# -- issue 14 items 5 and 6: one clear line, never a traceback; beat goes on ----------------


def _spoil_settings(world: World, connection_id: str) -> None:
    world.redis.set(f"sync:conn:{connection_id}:settings", '{"customers_master": "sev')


def test_given_corrupt_settings_json_then_commands_say_so_in_one_line_and_settings_set_repairs_it(
    world: World,
) -> None:
    _spoil_settings(world, world.connection_id)
    conn = ("--connection", world.connection_id)
    commands = (
        ("settings", "show", *conn),
        ("settings", "check", *conn),
        ("errors", *conn, "retry", "1001"),
        ("run", "customers", "--now", *conn),
    )
    for args in commands:
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "cannot be read" in result.output, (args, result.output)
        assert "settings set" in result.output
    repaired = cli("settings", "set", "customers_master=severa", *conn)
    assert repaired.exit_code == 0, repaired.output
    assert "could not be read and were replaced" in repaired.output
    shown = json.loads(cli("settings", "show", "--json", *conn).output)
    assert shown["customers_master"] == "severa"
    assert shown["status_to_transfer"] is None  # nothing of the unreadable value was kept


def test_given_one_connection_with_corrupt_settings_then_beat_starts_the_others_and_shows_it_on_that_one(  # noqa: E501
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import time

    from config import company
    from worker.state import register_connection
    from worker.sync import service

    broken = f"{world.connection_id}-b"
    register_connection(world.redis, broken)
    _spoil_settings(world, broken)
    sent: list[tuple[str, str]] = []
    with caplog.at_level(logging.ERROR, logger="worker.sync.service"):
        for _ in range(2):  # two beat ticks
            started = service.start_due_transfers(
                lambda register, connection_id: sent.append((register, connection_id)),
                time.time(),
            )
    assert started[broken] == []
    assert ("customers", world.connection_id) in sent  # the others are not held up
    assert len([r for r in caplog.records if broken in r.getMessage()]) == 1  # logged once
    entries = list(ErrorList(world.redis, broken).entries())
    assert [e.kind for e in entries] == ["config"]
    assert "cannot be read" in entries[0].reason
    status = json.loads(cli("status", "--json", "--connection", broken).output)
    assert status["errors"] == 1  # shown on that connection
    company.update(world.redis, broken, {"customers_master": "severa"}, replace_unreadable=True)
    service.start_due_transfers(lambda register, connection_id: None, time.time())
    assert ErrorList(world.redis, broken).count() == 0  # gone once beat can read it


def test_given_api_failures_or_a_bad_connection_id_then_commands_end_in_one_clear_line(
    world: World,
) -> None:
    # A connection never authorized: eEkonomi needs re-authorization.
    fresh = f"{world.connection_id}-n"
    result = cli("settings", "set", "cost_center_id=Projekt", "--connection", fresh)
    assert result.exit_code == 2
    assert result.output.startswith("not saved: ")
    assert "python -m worker connect" in result.output
    assert len(result.output.strip().splitlines()) == 1
    # The API keeps failing.
    world.eekonomi.add_fault(Fault("/v2/costcenters", method="GET", times=50))
    failing = cli("settings", "set", "cost_center_id=Projekt", "--connection", world.connection_id)
    world.eekonomi.faults.clear()
    assert failing.exit_code == 2
    assert failing.output.startswith("not saved: ")
    assert "503" in failing.output
    choices = cli("settings", "choices", "--connection", fresh)
    assert choices.exit_code == 1
    assert "python -m worker connect" in choices.output
    invalid = ("--connection", "Not A Valid Id!")
    for args in (("status", *invalid), ("errors", *invalid), ("errors", *invalid, "retry"),
                 ("settings", "show", *invalid)):  # fmt: skip
        bad = cli(*args)
        assert bad.exit_code == 2, (args, bad.output)
        assert "invalid connection id 'Not A Valid Id!'" in bad.output
