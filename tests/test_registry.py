"""Every declared register is wired everywhere it must be (CONTRIBUTING.md, "Add a
register"): a forgotten queue, task, setting, CLI name or sandbox resource fails here,
not in production."""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import pytest
from click.testing import CliRunner

from config.company import CompanySettingsSchema
from sandbox.eekonomi import EEkonomiSandbox
from sandbox.severa import SeveraSandbox
from worker.queues import RUN_QUEUE, family, record_queue
from worker.registry import BY_NAME, NAMES, REGISTERS, UnknownRegister, register_named, spec_of
from worker.sync.engine import Register

IDS = [register.name for register in REGISTERS]


def test_the_seven_transfers_of_r_4_1_are_registered_once_each() -> None:
    assert NAMES == (
        "customers", "products", "projects", "invoices", "sent", "paid", "supplier_invoices"
    )  # fmt: skip
    assert len(set(NAMES)) == len(NAMES) == len(BY_NAME)
    titles = {register.spec.title for register in REGISTERS}
    assert titles == {
        "Transfer customers", "Transfer products", "Transfer projects", "Transfer invoices",
        "Check sent invoices", "Check paid invoices", "Fetch supplier invoices",
    }  # fmt: skip


def test_given_an_unknown_name_then_the_error_lists_the_registers() -> None:
    with pytest.raises(UnknownRegister, match="one of customers, products"):
        register_named("suppliers")


@pytest.mark.parametrize("register", REGISTERS, ids=IDS)
def test_each_register_names_itself_and_declares_a_synchronizer(register: Register) -> None:
    assert register.spec.name == register.name
    for method in ("read", "fetch", "streamed_side", "settle", "describe"):
        assert callable(getattr(register, method)), method


@pytest.mark.parametrize("register", REGISTERS, ids=IDS)
def test_each_register_has_its_record_queue(register: Register, celery_app: Any) -> None:
    queue = record_queue(RUN_QUEUE, register.name)
    assert queue in family()
    assert celery_app.amqp.queues[queue].routing_key == queue


@pytest.mark.parametrize("register", REGISTERS, ids=IDS)
def test_each_register_has_both_tasks_findable_by_name(register: Register, celery_app: Any) -> None:
    spec = register.spec
    assert spec.tasks_module in celery_app.conf.include
    module = importlib.import_module(spec.tasks_module)
    source = inspect.getsource(module)
    for task_name in (spec.task, spec.record_task):
        assert celery_app.tasks[task_name].name == task_name
        function = task_name.rsplit(".", 1)[-1]
        # `grep "def transfer_customers" tasks/` finds the task (no names built at run time)
        assert re.search(rf"^def {function}\(", source, re.M), f"def {function} in {module}"


@pytest.mark.parametrize("register", REGISTERS, ids=IDS)
def test_each_register_needs_only_settings_that_exist(register: Register) -> None:
    declared = set(CompanySettingsSchema().fields)
    assert set(register.spec.requires) <= declared
    assert register.spec.interval_setting in declared


@pytest.mark.parametrize("register", REGISTERS, ids=IDS)
def test_each_register_is_a_cli_choice_with_its_help(register: Register) -> None:
    from worker.cli import main

    result = CliRunner().invoke(main, ["run", "--help"])
    assert register.name in result.output
    assert register.spec.help
    assert spec_of(register.name).key_of_number(" 1001 ")


@pytest.mark.parametrize("register", REGISTERS, ids=IDS)
def test_each_register_reads_and_writes_resources_both_sandboxes_serve(
    register: Register,
) -> None:
    apps = {"/rest-api/": SeveraSandbox(), "/v2/": EEkonomiSandbox()}
    assert register.spec.sandbox_paths
    for path in register.spec.sandbox_paths:
        app = next(app for prefix, app in apps.items() if path.startswith(prefix))
        concrete = re.sub(r"\{\w+\}", "6f1c2f3e-5b0a-4c1e-9a51-0e4e6b0a7c11", path)
        _, _, known = app.router.match("GET", concrete)
        assert known, f"{register.name}: no sandbox serves {path}"
