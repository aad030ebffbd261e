"""The queue family (worker.queues): a worker started the documented way consumes the
run queue and every register's record queue, and every register has one."""

from __future__ import annotations

import shlex
from typing import Any

from worker.queues import RUN_QUEUE, family, record_queue
from worker.registry import NAMES
from worker.supervisor import read_procfile


def test_given_a_run_queue_then_its_records_go_to_a_queue_of_that_family() -> None:
    assert record_queue("sync", "customers") == "sync.customers"
    assert family("q-1") == ["q-1", *(f"q-1.{name}" for name in NAMES)]


def test_the_celery_app_declares_the_default_family(celery_app: Any) -> None:
    declared = celery_app.amqp.queues
    assert celery_app.conf.task_default_queue == RUN_QUEUE
    for name in family():
        assert declared[name].routing_key == name


def test_the_procfile_worker_consumes_every_declared_queue() -> None:
    """Without ``-Q`` a worker consumes every queue in ``task_queues``; a ``-Q`` that
    named only ``sync`` would leave every record task unconsumed."""
    argv = shlex.split(read_procfile()["worker"])
    assert "-Q" not in argv
    assert "--queues" not in argv
