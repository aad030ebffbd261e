"""What the tasks and the CLI call: one entry per step, context built once per thread.

Tasks stay thin (code-models rule 2): they pass ids in and get a small JSON-able
summary back. Building a connection's clients (session, auth, token store, limiter,
reference cache) is done once per thread and connection — once per process with the
prefork pool — not per record.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import redis

from config import company, get_settings
from schemas.sides import Direction
from worker.clients.factory import build_clients
from worker.errors import TransientError
from worker.registry import REGISTERS, register_named
from worker.state import redis_client
from worker.sync.engine import (
    REDIS_LOST,
    Outcome,
    RunRefused,
    Staged,
    SyncContext,
    count_and_maybe_finish,
    prefetched,
    record_failure,
    run_now,
    settle_record,
    start_run,
)
from worker.sync.errorlist import CONFIG, ErrorEntry, ErrorList, RecordRef
from worker.sync.runs import RunReport
from worker.sync.runstate import RunState
from worker.sync.stalls import Stalled, note_attempt, stalled_records

log = logging.getLogger(__name__)


def _context(connection_id: str) -> SyncContext:
    """This thread's context of a connection, built again when the registry says its
    credentials changed (``connections add --replace``, or removed and added again).

    One per thread, not per process: with the worker's thread pool (``WORKER_POOL``
    ``threads``) the tasks of one connection run side by side in one process, and a
    context holds what one task at a time may change — its settings as read for the
    task, the reference data held for it, the HTTP session and its token. With the
    prefork pool each process has one thread, so this is one per process as before."""
    from worker.connections import registry_key  # noqa: PLC0415

    held = _HELD.contexts.get(connection_id)
    if held is not None:
        return held
    generation = redis_client().hget(registry_key(connection_id), "generation")
    ctx = _built_context(connection_id, str(generation or ""), threading.get_ident())
    if connection_id in _HELD.connections:
        _HELD.contexts[connection_id] = ctx
    return ctx


#: Contexts kept per process: one per connection and thread in use. Bounded, so that a
#: thread pool serving many connections keeps the recent ones (a context is an HTTP
#: session, clients and caches: tens of KB) and builds an evicted one again on demand.
CONTEXTS_KEPT = 2048


@functools.lru_cache(maxsize=CONTEXTS_KEPT)
def _built_context(connection_id: str, generation: str, thread: int) -> SyncContext:
    settings = get_settings()
    client = redis_client()
    return SyncContext(
        connection_id, settings, client, build_clients(settings, connection_id, redis_client=client)
    )


def plain_context(connection_id: str) -> SyncContext:
    """This process's context of a connection without reading its settings: for what
    needs only the clients — listing the choices with which ``settings set`` repairs
    settings that cannot be read, say."""
    return _context(connection_id)


class _Held(threading.local):
    """What this thread holds within :func:`reference_data_held`: the connections, each
    one's settings as read once, and its context as found once (the registry's
    generation is read once per record task, not once per record). Per thread, like the
    contexts (:func:`_context`)."""

    def __init__(self) -> None:
        self.connections: set[str] = set()
        self.values: dict[str, dict[str, Any]] = {}
        self.contexts: dict[str, SyncContext] = {}


_HELD = _Held()


def context_for(connection_id: str) -> SyncContext:
    """This process's context of a connection, with the connection's settings re-read
    (once per record task within :func:`reference_data_held`).

    Raises:
        company.SettingsUnreadable: the stored settings cannot be read.
    """
    ctx = _context(connection_id)
    values = _HELD.values.get(connection_id)
    if values is None:
        values = company.load(ctx.redis, connection_id)
        if connection_id in _HELD.connections:
            _HELD.values[connection_id] = values
    ctx.values = values
    return ctx


def start_transfer(
    connection_id: str,
    register: str,
    run_id: str,
    enqueue: Callable[[list[str]], None],
    queue: str | None = None,
) -> dict[str, Any]:
    """A register task's body: start the run and fan out (to ``queue``); the summary for
    Flower."""
    try:
        report = start_run(
            _context(connection_id), register_named(register), run_id, enqueue, queue=queue
        )
    except RunRefused as exc:
        summary = exc.report.as_dict() if exc.report else {"transfer": register}
        return {**summary, "status": "refused", "message": str(exc)}
    return report.as_dict()


@contextmanager
def reference_data_held(connection_id: str) -> Iterator[None]:
    """Within the block — one record task — each reference register (company settings,
    terms of payment, units, …) is read from Redis and decoded once, not once per record:
    two of a customer create's Redis round trips otherwise (bench/README.md). So are the
    connection's settings (:func:`context_for`) and whether its credentials were
    replaced (:func:`_context`): a change made with ``settings set`` or ``connections
    add --replace`` applies from the next record task on, as it does to the reference
    data."""
    _HELD.connections.add(connection_id)
    try:
        with _context(connection_id).clients.reference.cache.scope():
            yield
    finally:
        _HELD.connections.discard(connection_id)
        _HELD.values.pop(connection_id, None)
        _HELD.contexts.pop(connection_id, None)


#: Added to the broker's visibility timeout and the longest retry countdown before a
#: silent run's records count as lost (stalls.stalled_records).
STALL_MARGIN = 10.0


def record_task_started(connection_id: str, run_id: str) -> None:
    """A record task of the run starts or retries (stalls.note_attempt)."""
    note_attempt(_context(connection_id), run_id)


def stalled_runs(connection_id: str) -> list[Stalled]:
    """The connection's running runs whose remaining records were lost in transit
    (stalls.stalled_records), each with the records to send again."""
    settings = get_settings()
    quiet = settings.broker_visibility_timeout + settings.task_retry_backoff_max + STALL_MARGIN
    ctx = _context(connection_id)
    found = (stalled_records(ctx, register.name, quiet) for register in REGISTERS)
    return [stalled for stalled in found if stalled is not None]


@contextmanager
def records_read_ahead(
    connection_id: str, register: str, run_id: str, keys: list[str]
) -> Iterator[None]:
    """A record task's records read in one round trip before the first settles
    (engine.prefetched). When the connection's context cannot be built, nothing is read
    ahead: each record's settle meets the problem and lists it as its own."""
    try:
        ctx = context_for(connection_id)
    except REDIS_LOST:
        raise
    except Exception:  # noqa: BLE001 - settle() reports it for each record
        ctx = None
    if ctx is None:
        yield
        return
    with prefetched(ctx, register, run_id, keys):
        yield


def settle(connection_id: str, register: str, run_id: str, natural_key: str) -> dict[str, Any]:
    """A per-record task's body; transient errors propagate for the task to retry.

    Settings that became unreadable during the run are transient for the record: it
    retries, and if they stay unreadable it is listed as still failing — retried by the
    next run once ``settings set`` has repaired them, never dropped.
    """
    try:
        ctx = context_for(connection_id)
    except company.SettingsUnreadable as exc:
        raise TransientError(str(exc)) from None
    outcome, report = settle_record(ctx, register_named(register), run_id, natural_key)
    return _summary(natural_key, outcome, report)


def give_up(
    connection_id: str, register: str, run_id: str, natural_key: str, error: TransientError
) -> dict[str, Any]:
    """The record kept failing transiently past its retries: list it and settle it."""
    reason = TransientError(f"kept failing after all retries, try again later: {error}")
    return settle_failed(connection_id, register, run_id, natural_key, reason)


def settle_failed(
    connection_id: str, register: str, run_id: str, natural_key: str, error: Exception
) -> dict[str, Any]:
    """Settle the record as failed with ``error`` (listed, counted) — unless another
    execution has settled it meanwhile (a redelivered task ran beside this one), whose
    outcome stands."""
    ctx = _context(connection_id)  # its settings may be what cannot be read
    run = RunState(ctx.redis, connection_id, run_id, register)
    loaded, settled = run.load(natural_key)
    if settled:
        return _summary(natural_key, Outcome("unchanged", detail="already settled"), None)
    outcome = record_failure(ctx, register_named(register), run_id, natural_key,
                             Staged(**loaded), error)  # fmt: skip
    report = count_and_maybe_finish(ctx, register, run_id, natural_key, outcome)
    return _summary(natural_key, outcome, report)


def transfer_now(connection_id: str, register: str, run_id: str) -> RunReport:
    """The whole transfer in this process (``run --now``)."""
    return run_now(_context(connection_id), register_named(register), run_id)


def _summary(natural_key: str, outcome: Outcome, report: RunReport | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"record": natural_key, "outcome": outcome.counter}
    if report is not None:
        summary["run"] = report.as_dict()  # this record closed the run: its final report
    return summary


def due_transfers(connection_id: str, now: float) -> list[str]:
    """The registers whose scheduled transfer is due for a connection (R-6.4): the
    interval (each register's ``spec.interval_setting``) has passed since the last run
    started, no run is going on, and the settings the register needs are set."""
    from worker.sync.locks import RunLock  # noqa: PLC0415
    from worker.sync.runs import Runs  # noqa: PLC0415

    client = redis_client()
    values = company.load(client, connection_id)
    runs = Runs(client, connection_id)
    settings = get_settings()
    waits_for_person = settings.demo and not settings.demo_autorun
    due = []
    for register in REGISTERS:
        spec = register.spec
        if company.missing_for(values, spec.requires):
            continue
        if RunLock(client, connection_id, spec.name, 1).holder() is not None:
            continue  # running (a run whose lock expired is no obstacle)
        last = runs.last_transfer(spec.name)
        if last is None and waits_for_person:
            continue  # DEMO_AUTORUN=false: a person starts the first transfer
        interval = 60.0 * float(values[spec.interval_setting])
        if last is not None and now - last.started_at < interval:
            continue
        due.append(spec.name)
    return due


def start_due_transfers(send: Callable[[str, str], object], now: float) -> dict[str, list[str]]:
    """For every active connection of the registry (paused ones are skipped),
    ``send(register, connection_id)`` each due transfer; a connection whose schedule
    cannot be read is skipped (:func:`guarded`) and the others go on."""
    from worker.connections import registry  # noqa: PLC0415

    client = redis_client()
    started: dict[str, list[str]] = {}
    for connection_id in registry(client).active_ids():
        due = guarded(client, connection_id, functools.partial(due_transfers, connection_id, now))
        for register in due or []:
            send(register, connection_id)
        started[connection_id] = due or []
    return started


#: The error-list entry of a connection whose beat step failed (its register, its key).
BEAT_PROBLEM = ("settings", "(beat)")
T = TypeVar("T")


def guarded(client: redis.Redis, connection_id: str, step: Callable[[], T]) -> T | None:
    """``step()`` for one connection of beat's fan-out; ``None`` when it failed.

    One connection's fault (its settings JSON cannot be read, say) must not stop beat
    for every other connection. It is shown on that connection — a ``config`` entry in
    its error list, which ``status`` counts — and logged once per distinct problem, not
    every minute; it goes away by itself once the step works again.
    """
    errors = ErrorList(client, connection_id)
    register, record_key = BEAT_PROBLEM
    try:
        result = step()
    except Exception as exc:  # noqa: BLE001 - the other connections go on
        reason = str(exc) if isinstance(exc, company.SettingsUnreadable) else repr(exc)
        known = errors.get(register, Direction.CONNECTION, record_key)
        if known is None or known.reason != reason:
            log.error("connection %s: beat skips it: %s", connection_id, reason, exc_info=exc)
            errors.record(ErrorEntry(
                register=register, direction=Direction.CONNECTION, record_key=record_key,
                record=RecordRef(name=f"connection {connection_id}"), reason=reason, kind=CONFIG,
            ))  # fmt: skip
        return None
    errors.resolve(register, Direction.CONNECTION, record_key)
    return result
