"""``SyncTask``: what every task shares — connection scoping and the retry policy.

Every task takes a connection id as its first argument (state and work are scoped by
it), retries only :class:`~worker.errors.TransientError` with exponential back-off and
jitter, and never carries a secret in its arguments (they are visible in Flower).

Per-record tasks (:class:`RecordTask`) retry the same way but by hand, so that a
record still failing after its last retry is settled as failed — listed in the error
list and counted — instead of leaving its run open forever.
"""

from __future__ import annotations

import random
from typing import Any

from celery import Task

from config import get_settings
from worker.clients.http import ApiTransientError
from worker.errors import TransientError
from worker.keys import check_connection_id
from worker.sync import service


class SyncTask(Task):
    """Base class of all sync tasks (code-models rule 3)."""

    abstract = True
    autoretry_for: tuple[type[Exception], ...] = (TransientError,)
    retry_backoff = 2
    retry_jitter = True
    acks_late = True

    @property
    def retry_backoff_max(self) -> int:
        return get_settings().task_retry_backoff_max

    @property
    def max_retries(self) -> int:
        return get_settings().task_max_retries

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        connection_id = kwargs.get("connection_id", args[0] if args else None)
        check_connection_id(connection_id)  # type: ignore[arg-type]
        return super().__call__(*args, **kwargs)


class RecordTask(SyncTask):
    """A task that settles one record of a run (see the module docstring)."""

    abstract = True
    autoretry_for: tuple[type[Exception], ...] = ()
    #: Thousands run per transfer: their outcome is counted in the run report and shown
    #: by Flower from the task events, so storing each result in Redis buys nothing.
    ignore_result = True

    def settle(self, connection_id: str, register: str, run_id: str, key: str) -> dict[str, Any]:
        try:
            return service.settle(connection_id, register, run_id, key)
        except TransientError as exc:
            retries = int(self.request.retries or 0)
            if retries >= self.max_retries:
                return service.give_up(connection_id, register, run_id, key, exc)
            raise self.retry(exc=exc, countdown=self.countdown(retries, exc)) from None

    def countdown(self, retries: int, exc: TransientError) -> float:
        """Exponential back-off with full jitter, never sooner than the API asked."""
        ceiling = min(float(self.retry_backoff_max), 2.0 * (2**retries))
        wait = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy
        hinted = exc.retry_after if isinstance(exc, ApiTransientError) else None
        return max(wait, float(hinted or 0))


def register_tasks(
    register: str, record: str, *, name: str | None = None, record_name: str | None = None
) -> tuple[Any, Any]:
    """The two tasks of a register transfer (R-4.1), with explicit dotted names:
    ``sync.transfer_<register>`` (read and fan out) and ``sync.transfer_<record>``
    (settle one record), or ``name``/``record_name`` where R-4.1 names the transfer
    otherwise ("Check sent invoices"). Each register module calls this once."""
    from worker import app  # noqa: PLC0415 - the app imports task modules, not this one

    name = name or f"sync.transfer_{register}"
    record_name = record_name or f"sync.transfer_{record}"

    @app.task(base=RecordTask, name=record_name, bind=True)
    def transfer_record(self: RecordTask, connection_id: str, run_id: str, key: str) -> Any:
        return self.settle(connection_id, register, run_id, key)

    @app.task(base=SyncTask, name=name, bind=True)
    def transfer_register(self: SyncTask, connection_id: str) -> dict[str, Any]:
        run_id = str(self.request.id)
        # The records follow their run's queue, so a deployment (or a test) that routes
        # a connection's transfers to its own queue keeps all of their work there.
        queue = (self.request.delivery_info or {}).get("routing_key")

        def enqueue(keys: list[str]) -> None:
            for key in keys:
                transfer_record.apply_async(args=[connection_id, run_id, key], queue=queue)

        return service.start_transfer(connection_id, register, run_id, enqueue)

    transfer_register.__doc__ = (
        f"R-4.1 '{name}': read what changed on both sides, fan out one "
        f"{record_name} per record; returns the run report as of the fan-out "
        "(the last record's task returns the final report)."
    )
    transfer_record.__doc__ = f"Settle one {record} of a run; transient errors retry."
    return transfer_register, transfer_record
