"""``SyncTask``: what every task shares — connection scoping and the retry policy.

Every task takes a connection id as its first argument (state and work are scoped by
it), retries only :class:`~worker.errors.TransientError` with exponential back-off and
jitter, and never carries a secret in its arguments (they are visible in Flower).
Transfer and record tasks also retry when Redis itself is lost (``REDIS_LOST``: a
restart, a failover): their run's state is in Redis, so they go on from it once it is
back instead of leaving the run open.

Record tasks (:class:`RecordTask`) settle a few records each (``RECORDS_PER_TASK``)
and retry the same way but by hand, so that a record still failing after its last
retry is settled as failed — listed in the error list and counted — instead of leaving
its run open forever. Anything else one record raises is that record's failure alone:
the task goes on with the next.
"""

from __future__ import annotations

import random
from contextlib import AbstractContextManager
from typing import Any

from celery import Task

from config import get_settings
from worker import fairness
from worker.errors import TransientError
from worker.keys import check_connection_id
from worker.queues import RUN_QUEUE, record_queue
from worker.state import redis_client
from worker.sync import service
from worker.sync.engine import REDIS_LOST

#: While Redis is away even a retry's message cannot be sent: keep trying to send it for
#: about a minute (a restart from its append-only file) rather than drop the task.
RETRY_SEND_POLICY = {"max_retries": 40, "interval_start": 0.5, "interval_step": 0.5,
                     "interval_max": 2.0}  # fmt: skip


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


#: Records settled by one record task. A task per record spent more of the worker's CPU
#: on the message, its acknowledgement and its events than on the record itself
#: (bench/README.md). At ten per task that was still about a sixth of a created record's
#: worker CPU (the worker's main process publishes three task events and receives the
#: message for each task, issue 20); twenty-five pays it once per twenty-five records
#: while a run of a few hundred records still spreads over every worker process, Flower
#: still shows which records a task had, and a connection's tasks still hold at most
#: ``CONNECTION_MAX_RUNNING`` processes (below the service's four), so a longer task of
#: one connection never holds a process another connection's task would wait for alone.
RECORDS_PER_TASK = 25


class RecordTask(SyncTask):
    """A task that settles some records of a run (see the module docstring)."""

    abstract = True
    #: Redis lost mid-chunk: the chunk is tried again; its records settled already are
    #: left alone (engine.settle_record), so none is settled twice.
    autoretry_for: tuple[type[Exception], ...] = REDIS_LOST
    retry_kwargs = {"retry_policy": RETRY_SEND_POLICY}
    #: Thousands run per transfer: their outcome is counted in the run report and shown
    #: by Flower from the task events, so storing each result in Redis buys nothing.
    ignore_result = True

    def settle(
        self, connection_id: str, register: str, run_id: str, keys: list[str]
    ) -> dict[str, Any]:
        """Settle ``keys`` in order; a transient error stops the task at that record
        (the API is struggling: the next records would likely fail too) and the records
        not yet settled go on after back-off.

        The retry count belongs to the first record of the task: the task retries itself
        only while its first record keeps failing, and hands the rest to a new task (its
        count at zero) once a record has settled — so every record gets the full retry
        budget, and one out of retries is given up (listed, counted) alone.
        """
        summary: dict[str, Any] = {"records": keys, "outcomes": {}}
        with self._running_slot(connection_id, run_id, keys) as running:
            if not running:  # the connection has all its slots: parked, sent on later
                return {"records": [], "waiting": keys}
            service.record_task_started(connection_id, run_id)
            with (
                service.reference_data_held(connection_id),
                service.records_read_ahead(connection_id, register, run_id, keys),
            ):
                return self._settle_each(connection_id, register, run_id, keys, summary)

    def _running_slot(
        self, connection_id: str, run_id: str, keys: list[str]
    ) -> AbstractContextManager[bool]:
        """One of the connection's running slots (:mod:`worker.fairness`)."""
        settings = get_settings()
        queue = (self.request.delivery_info or {}).get("routing_key")
        message = {"task": self.name, "args": [connection_id, run_id, keys], "queue": queue,
                   "retries": int(self.request.retries or 0)}  # fmt: skip
        return fairness.slot(
            redis_client(), connection_id, cap=settings.connection_max_running,
            lifetime=settings.broker_visibility_timeout, message=message, send=send_parked,
        )  # fmt: skip

    def _settle_each(
        self,
        connection_id: str,
        register: str,
        run_id: str,
        keys: list[str],
        summary: dict[str, Any],
    ) -> dict[str, Any]:
        queue = (self.request.delivery_info or {}).get("routing_key")
        for index, natural_key in enumerate(keys):
            try:
                settled = service.settle(connection_id, register, run_id, natural_key)
            except TransientError as exc:
                retries = 0 if index else int(self.request.retries or 0)
                if index == 0 and retries < self.max_retries:
                    raise self.retry(exc=exc, countdown=self.countdown(retries, exc)) from None
                rest = keys[index:]
                if index == 0:
                    settled = service.give_up(connection_id, register, run_id, natural_key, exc)
                    self._count(summary, settled)
                    rest = keys[1:]
                summary["records"] = keys[: len(keys) - len(rest)]
                if rest:
                    self.apply_async(
                        args=[connection_id, run_id, rest],
                        queue=queue,
                        countdown=self.countdown(retries, exc) if index else 0,
                    )
                return summary
            except REDIS_LOST:
                raise  # not this record's fault: the task retries (autoretry_for)
            except Exception as exc:  # noqa: BLE001 - the chunk's other records go on
                # Outside the record's own settle (its context could not be built, say):
                # still this record's failure alone, listed and counted.
                settled = service.settle_failed(connection_id, register, run_id, natural_key, exc)
            self._count(summary, settled)
        return summary

    @staticmethod
    def _count(summary: dict[str, Any], settled: dict[str, Any]) -> None:
        outcomes = summary["outcomes"]
        outcomes[settled["outcome"]] = outcomes.get(settled["outcome"], 0) + 1
        if "run" in settled:
            summary["run"] = settled["run"]  # this record closed the run

    def countdown(self, retries: int, exc: TransientError) -> float:
        """Exponential back-off with full jitter, never sooner than the error asks: the
        API's ``Retry-After``, or the rest of a wait for a write that may still land
        (:class:`~worker.sync.creates.UnresolvedCreate`)."""
        ceiling = min(float(self.retry_backoff_max), 2.0 * (2**retries))
        wait = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy
        hinted = getattr(exc, "retry_after", None)
        return max(wait, float(hinted or 0))


def send_parked(message: dict[str, Any]) -> None:
    """Send a record task's message parked by :mod:`worker.fairness` again."""
    from worker import app  # noqa: PLC0415

    app.send_task(message["task"], args=message["args"], queue=message["queue"],
                  retries=message.get("retries", 0))  # fmt: skip


def send_records(
    record_task: Any, connection_id: str, run_id: str, keys: list[str], queue: str | None
) -> None:
    """Send ``keys`` as record tasks of up to ``RECORDS_PER_TASK`` records each."""
    for start in range(0, len(keys), RECORDS_PER_TASK):
        chunk = keys[start : start + RECORDS_PER_TASK]
        record_task.apply_async(args=[connection_id, run_id, chunk], queue=queue)


class TransferFailed(Exception):  # noqa: N818 - reads as the state it reports
    """The transfer as a whole did not run: it was refused (the connection needs
    re-authorization, settings are missing, another run holds the register) or it
    failed (a side could not be read). Raised so that the task ends *failed* — in
    Flower, its API and the result backend — with the reason as its message; records
    that failed in a run that went through are counted in its report, not here."""


#: Run statuses of a start that did not go through (service.start_transfer).
NOT_RUN = frozenset({"refused", "failed"})


class TransferTask(SyncTask):
    """A task that starts one transfer of a register: read and fan out (R-4.1)."""

    abstract = True
    #: Redis lost mid read or fan-out: the same run (same task id) goes on after back-off
    #: (engine.start_run); past the last retry, the stall check resends its start.
    autoretry_for: tuple[type[Exception], ...] = (TransientError, *REDIS_LOST)
    retry_kwargs = {"retry_policy": RETRY_SEND_POLICY}
    #: An expected outcome: Celery logs it in one line, without a traceback.
    throws = (TransferFailed,)

    def start(self, register: str, connection_id: str, record_task: Any) -> dict[str, Any]:
        """Start ``register``'s run (its id is this task's id) and fan its records out
        as ``record_task`` messages; returns the report as of the fan-out.

        The records go to their register's queue in their run's family (worker.queues):
        registers share the worker processes fairly, and a deployment (or a test) that
        routes a connection's transfers to its own queue keeps all of their work there.
        """
        run_id = str(self.request.id)
        run_queue = (self.request.delivery_info or {}).get("routing_key") or RUN_QUEUE
        queue = record_queue(run_queue, register)

        def enqueue(keys: list[str]) -> None:
            send_records(record_task, connection_id, run_id, keys, queue)

        summary = service.start_transfer(connection_id, register, run_id, enqueue, queue)
        if summary.get("status") in NOT_RUN:
            raise TransferFailed(f"{register}: {summary.get('message') or summary['status']}")
        return summary


def record_keys(keys: list[str] | str) -> list[str]:
    """A record task's keys: a list, or one key (a message of an earlier version)."""
    return [keys] if isinstance(keys, str) else keys
