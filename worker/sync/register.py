"""What declares a register: everything the rest of the service needs to know about it.

A *register* is one of the seven things the sync transfers on its own (R-4.1):
customers, products, projects, invoices, sent, paid and supplier invoices. A *transfer*
is one run of a register. Each register module in ``worker/sync/`` declares one
:class:`RegisterSpec` — its tasks, the settings it needs, its natural key, its help
text — as the ``spec`` of the synchronizer class that does the work (the register's
``Register`` in :mod:`worker.sync.engine`); :mod:`worker.registry` collects them, and
the queues, the CLI, beat, the demo and the company settings read them from there — so
adding a register never means hunting for hand-kept lists (CONTRIBUTING.md, "Add a
register").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def strip_number(number: str) -> str:
    """A record number as typed by a person, as its natural key (most registers)."""
    return number.strip()


@dataclass(frozen=True)
class RegisterSpec:
    """One register, declared once (see the module docstring).

    Attributes:
        name: the stem shared by ``schemas/``, ``worker/sync/``, ``tasks/`` and
            ``tests/``, the CLI's name for it and the suffix of its record queue.
        title: the transfer's name in R-4.1 ("Transfer customers").
        task: the Celery task that starts a transfer (read and fan out).
        record_task: the Celery task that settles a few records of a run.
        tasks_module: the module defining both tasks (the worker imports it).
        requires: the connection settings (R-3) without which a transfer refuses to
            start.
        interval_setting: the connection setting holding the minutes between
            scheduled transfers (R-6.4).
        natural_key: what identifies a record on both sides, as a person calls it.
        help: one line for the CLI's help.
        key_of_number: a record number typed by a person → its natural key.
        sandbox_paths: the vendor API paths the register reads or writes (the sandboxes
            must serve each; a test checks it).
    """

    name: str
    title: str
    task: str
    record_task: str
    tasks_module: str
    requires: tuple[str, ...]
    interval_setting: str
    natural_key: str
    help: str
    key_of_number: Callable[[str], str] = strip_number
    sandbox_paths: tuple[str, ...] = field(default=())
