"""Conflicts (issue 19): an edit on the side that is not master, overwritten by the
master's version, is logged — or, with ``conflicts=hold``, held in the error list until
a person decides. Real worker, real Redis, both sandboxes over HTTP, the demo data
(``customers_master=severa``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from tests.sync.conftest import World, run_in_worker, start_worker
from worker.sync.errorlist import RECORD, ErrorList

pytestmark = pytest.mark.integration

PHONE = "08-999 99 99"


def _eekonomi_customer(world: World, number: str) -> dict[str, Any]:
    return next(
        c for c in world.eekonomi.dump_store()["customers"] if c["CustomerNumber"] == number
    )


def _edit_in_eekonomi(world: World, number: str, changes: dict[str, Any]) -> None:
    customer = _eekonomi_customer(world, number)
    answer = requests.post(
        f"{world.eekonomi_url}/_sandbox/ui/customers/{customer['Id']}/edit",
        json=changes,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def _edit_in_severa(world: World, number: str, changes: dict[str, Any]) -> None:
    customer = next(c for c in world.severa.dump_store()["customers"] if c["number"] == int(number))
    answer = requests.post(
        f"{world.severa_url}/_sandbox/edit/customers/{customer['guid']}", json=changes, timeout=10
    )
    assert answer.status_code == 200, answer.text


def _cli(world: World, command: str, *args: str) -> str:
    from worker.cli import main

    result = CliRunner().invoke(main, [command, "--connection", world.connection_id, *args])
    assert result.exit_code == 0, result.output
    return result.output


def _conflicts(world: World) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(_cli(world, "conflicts", "--json"))["conflicts"]
    return entries


def test_an_overwritten_edit_is_logged_and_with_hold_it_waits(
    world: World, celery_app: Any
) -> None:
    worker = start_worker(world, celery_app)
    bad = run_in_worker(world, celery_app, "customers", worker.queue)["failed"]  # the demo's
    severa_phone = _eekonomi_customer(world, "1002")["Telephone"]
    # The case: an eEkonomi edit stays (Severa is master and did not change) ...
    _edit_in_eekonomi(world, "1002", {"Telephone": PHONE})
    report = run_in_worker(world, celery_app, "customers", worker.queue)
    assert report["updated"] == 0
    assert _conflicts(world) == []
    # ... until a Severa edit makes the next run write Severa's version over it: logged.
    _edit_in_severa(world, "1002", {"email": "ny@example.se"})
    report = run_in_worker(world, celery_app, "customers", worker.queue)
    assert report["updated"] == 1
    assert _eekonomi_customer(world, "1002")["Telephone"] == severa_phone
    (conflict,) = _conflicts(world)
    assert (conflict["register"], conflict["record_key"]) == ("customers", "1002")
    assert (conflict["master"], conflict["overwritten_side"], conflict["action"]) == (
        "severa", "eekonomi", "overwritten",
    )  # fmt: skip
    assert conflict["fields"]["phone"] == {"overwritten": PHONE, "written": severa_phone}
    assert conflict["at"] > 0
    assert f"eekonomi had '{PHONE}'" in _cli(world, "conflicts")

    # With conflicts=hold, the record waits in the error list and eEkonomi keeps its edit.
    from config import company

    company.update(world.redis, world.connection_id, {"conflicts": "hold"})
    _edit_in_eekonomi(world, "1002", {"Telephone": PHONE})
    _edit_in_severa(world, "1002", {"email": "igen@example.se"})
    report = run_in_worker(world, celery_app, "customers", worker.queue)
    assert (report["updated"], report["failed"]) == (0, bad + 1)
    assert _eekonomi_customer(world, "1002")["Telephone"] == PHONE
    listed = {
        e.record_key: e.reason
        for e in ErrorList(world.redis, world.connection_id).entries(register="customers")
        if e.kind == RECORD
    }
    assert "held (conflicts=hold)" in listed["1002"]
    assert "conflicts overwrite --register customers 1002" in listed["1002"]
    assert _conflicts(world)[0]["action"] == "held"
    # A later run holds it again; a person lets Severa win once.
    report = run_in_worker(world, celery_app, "customers", worker.queue)
    assert report["failed"] == bad + 1
    assert "customers 1002: updated" in _cli(world, "conflicts", "overwrite", "--register",
                                             "customers", "1002")  # fmt: skip
    assert _eekonomi_customer(world, "1002")["Telephone"] == severa_phone
    assert _eekonomi_customer(world, "1002")["EmailAddress"] == "igen@example.se"
