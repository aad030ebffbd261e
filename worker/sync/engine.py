"""The register-transfer engine: read → stage → fan out per record → settle → finish.

One run of one register for one connection (R-4.1) goes through these steps:

1. **Refuse or start.** The connection must be authorized and the settings the
   register needs set (R-3); only one run per (connection, register) holds the lock
   (rule 12) — a second start reports "already running" and does not wait.
2. **Read and stage.** Each side's records changed since that side's watermark (minus
   a small overlap) are streamed into Redis, keyed by *natural key*, while the side's
   key index (natural key → vendor id) is updated. Staging in Redis rather than memory
   keeps the worker's memory flat however large the register is, and keying by natural
   key merges a record changed on both sides into one unit of work (the master system
   decides, R-1.1/R-1.2). Records still in the error list are added, so a fixed record
   transfers on the next run even if it did not change (R-6.2).
3. **Fan out.** One unit of work per natural key: a per-record Celery task in the
   service (it retries transient errors with back-off, rule 3), or a direct call for
   ``run --now``. The register's :meth:`Register.settle` maps and writes it. Where a
   register allows it (:meth:`Register.streamed_side`), one side's batches fan out
   while that side is still being read, so writing starts after its first page.
4. **Settle.** Each record is counted once (a Redis set guards against a redelivered
   task counting twice, and a record already settled is not settled again) as
   created / updated / unchanged / failed / skipped; failures go to the error list
   with a reason a person can act on, successes resolve theirs. Whatever one record
   raises stays that record's: an unexpected exception is listed as an *internal
   error* whose id finds its traceback in the log (:func:`internal_error`).
5. **Finish.** The last record settled (or the fan-out itself, when nothing was read)
   closes the run: watermarks advance only now — a crash before leaves them where
   they were, so the next run reads the same records again, and the bindings make
   that a no-op — the lock is released and the staged data deleted. A run that
   cannot get there (a side cannot be read, anything raised while reading or fanning
   out) ends *failed* with its reason and releases its lock at once.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import redis

from config import company
from config.settings import Settings
from schemas.sides import Direction, Side
from worker.clients.factory import Clients
from worker.clients.http import ApiError
from worker.connection_status import get_status
from worker.errors import ConfigError, MappingError, SyncError, TransientError
from worker.sync import history
from worker.sync.bindings import (
    Binder,
    Binding,
    KeyIndex,
    binds_with_settle,
    write_binds,
)
from worker.sync.errorlist import (
    CONFIG,
    RECORD,
    ErrorEntry,
    ErrorList,
    RecordRef,
    entry_id,
    resolves_with_settle,
)
from worker.sync.locks import AlreadyRunning
from worker.sync.register import RegisterSpec
from worker.sync.runs import ACTIVE, RunReport, Runs
from worker.sync.runstate import RunState

# Registers import these from the engine too (explicit re-exports).
from worker.sync.staging import Staged as Staged
from worker.sync.staging import Stager as Stager
from worker.sync.values import batches as batches
from worker.sync.values import differs as differs
from worker.sync.values import digest_of as digest_of
from worker.sync.values import same_value as same_value

log = logging.getLogger(__name__)

#: Redis itself away or too slow (a restart, a failover): what a task retries after a
#: back-off instead of failing, since its state in Redis is still there to go on from.
REDIS_LOST: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


@dataclass
class Outcome:
    """How one record settled; ``counter`` is one of the run report's counters."""

    counter: str
    side: str = ""
    detail: str = ""


@dataclass
class SyncContext:
    """Everything a register needs for one connection; built once per process/run."""

    connection_id: str
    settings: Settings
    redis: redis.Redis
    clients: Clients
    values: dict[str, Any] = field(default_factory=dict)  # the connection's R-3 settings

    def binder(self, register: str) -> Binder:
        return Binder(self.redis, self.connection_id, register)

    def index(self, register: str, side: str) -> KeyIndex:
        return KeyIndex(self.redis, self.connection_id, register, side)


class Register(Protocol):
    """One register's transfer: how to read each side and how to settle one record."""

    #: The register's name: the stem of its task, schema and sync modules.
    name: str
    #: Its declaration: tasks, settings it needs, natural key, help (worker.registry).
    spec: RegisterSpec

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        """Stage ``side``'s records changed since ``since`` (all when ``None``); return
        the server's clock at the start of the read (the next watermark)."""
        ...

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        """Read one record by natural key on both sides (error-list retries, re-sync)."""
        ...

    def streamed_side(self, ctx: SyncContext) -> str | None:
        """The side whose records may be settled while that side is still being read.

        That side is read last, the other one first and in full, and each staged batch
        fans out at once — the first writes start after the first page instead of after
        the whole register is read. Safe only when settling a record of that side never
        writes to that side (its list is still being paged) and needs nothing from the
        rest of that side's read (no checks across its records). ``None``: read both
        sides in full before the fan-out.
        """
        ...

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        """Map and write one record; raise :class:`~worker.errors.RecordError` (or
        :class:`~schemas.base.MappingError`) for this record's failure, let transient
        errors propagate so the task retries."""
        ...

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        """How a person finds the record on each side (for the error list)."""
        ...


class RunRefused(Exception):  # noqa: N818 - reads as the state it reports
    """The run did not start: settings missing, connection not authorized, or running."""

    def __init__(self, message: str, report: RunReport | None = None) -> None:
        super().__init__(message)
        self.report = report


# -- step 1: refuse or start -----------------------------------------------------------


def start_run(
    ctx: SyncContext,
    register: Register,
    run_id: str,
    enqueue: Callable[[list[str]], None],
    *,
    stream: bool = True,
    queue: str | None = None,
) -> RunReport:
    """Steps 1–3 of the module docstring; returns the report as of the fan-out.

    ``queue`` names where ``enqueue`` sends the records; it is kept with the run so that
    records resent after a lost message (:func:`~worker.sync.stalls.stalled_records`) go
    there too.

    ``stream=False`` reads both sides whole before the fan-out even where the register
    could stream: when ``enqueue`` settles in this process (``run --now``), streaming
    would hold a Severa page token open for as long as the settling takes, and page
    tokens expire after some minutes (severa-notes §4).

    Raises:
        RunRefused: the run could not start (its report, when one was made, says why).
    """
    refuse_unless_authorized(ctx, register.name)
    require_settings(ctx, register)
    run = RunState(ctx.redis, ctx.connection_id, run_id, register.name)
    existing = run.report()
    if existing is not None and existing.status not in ACTIVE:
        return existing  # a redelivered start of a run that has already ended
    report = take_lock(run, existing)
    try:
        run.restart_fan_out(queue)
        read_and_stage(ctx, register, run, enqueue, stream=stream)
        add_error_list_retries(run)
        if fan_out_rest(run, enqueue):
            return finish_run(run)
    except REDIS_LOST:
        raise  # nothing can be recorded now; the task retries this run (same id), or the
        # stall check resends its start (stalled_records), and it goes on or ends failed
    except Exception as exc:  # noqa: BLE001 - whatever stops the run must free its lock
        raise end_failed(run, exc, report) from exc
    run.extend_lock()
    return run.report() or report


def refuse_unless_authorized(ctx: SyncContext, register: str) -> None:
    """A connection that needs a person (re-authorization, say) runs nothing (R-2)."""
    status = get_status(ctx.redis, ctx.connection_id)
    if not status.ok:
        raise RunRefused(f"{register}: the connection needs attention: {status.reason}")


def require_settings(ctx: SyncContext, register: Register) -> None:
    """Load the connection's settings into ``ctx``; refuse when the register lacks one (R-3)."""
    try:
        ctx.values = company.require(
            ctx.redis, ctx.connection_id, register.name, register.spec.requires
        )
    except (company.SettingsMissing, company.SettingsUnreadable) as exc:
        raise RunRefused(str(exc)) from None


def take_lock(run: RunState, existing: RunReport | None) -> RunReport:
    """Only one run per (connection, register) at a time (rule 12): a second start is
    refused at once, it does not wait; a redelivered start of this run goes on."""
    try:
        return run.begin(existing)
    except AlreadyRunning as exc:
        raise RunRefused(str(exc)) from None


def end_failed(run: RunState, exc: Exception, report: RunReport) -> RunRefused:
    """The run cannot go on (a side cannot be read, the queue cannot be reached, a
    fault of ours): the watermarks stay put and the lock is released, so the next run
    starts over. A configuration error also goes to the error list — a person must act;
    an outage just ends the run, and the next one tries again. Anything else is an
    internal error: its traceback goes to the worker log under the id the report names.
    """
    message = str(exc) if isinstance(exc, SyncError) else internal_error(exc, run.register)
    report = run.fail(message) or report
    if isinstance(exc, ConfigError):
        _record_config(run, message)
    return RunRefused(message, report)


def internal_error(exc: BaseException, where: str) -> str:
    """Log ``exc`` with its traceback under a new id; the line a person sees instead.

    An unexpected exception is a fault of the sync, not of the data: the person needs
    to know that, and support needs the traceback — which the id finds in the log.
    """
    error_id = uuid.uuid4().hex[:12]
    log.error("internal error %s in %s: %r", error_id, where, exc, exc_info=exc)
    return (
        f"internal error {error_id} ({type(exc).__name__}: {exc}); a fault of the sync, "
        f"not of the data — the worker log has its details under 'internal error "
        f"{error_id}' (please report it); it is tried again on the next transfer"
    )


# -- step 2: read and stage ------------------------------------------------------------


def read_and_stage(
    ctx: SyncContext,
    register: Register,
    run: RunState,
    enqueue: Callable[[list[str]], None],
    *,
    stream: bool,
) -> None:
    """Read each side since its watermark into the run's staging; a streamed side's
    batches fan out as they are staged (:meth:`Register.streamed_side`)."""
    streamed = register.streamed_side(ctx) if stream else None

    def fan_out_now(keys: list[str]) -> None:
        run.note_streamed(keys)
        enqueue(keys)

    for side in reading_order(streamed):
        read_side(ctx, register, run, side, fan_out_now if side == streamed else None)


def reading_order(streamed: str | None) -> tuple[Side, Side]:
    """The streamed side last: the other side must be staged whole before any record of
    the streamed side settles against it."""
    if streamed in (None, Side.EEKONOMI):
        return (Side.SEVERA, Side.EEKONOMI)
    return (Side.EEKONOMI, Side.SEVERA)


def read_side(
    ctx: SyncContext,
    register: Register,
    run: RunState,
    side: Side,
    on_staged: Callable[[list[str]], None] | None,
) -> None:
    """Stage ``side``'s records changed since its watermark (minus the overlap) and note
    the server's clock at the start of the read: the run's next watermark for it."""
    stager = Stager(ctx.redis, run, side, on_staged)
    server_time = register.read(ctx, side, run.watermarks.since(side), stager)
    stager.flush()
    if server_time is not None:
        run.note_watermark(side, server_time)


def add_error_list_retries(run: RunState) -> None:
    """Records still in the error list are tried again though they did not change, so a
    record fixed at its source transfers on the next run (R-6.2)."""
    run.add_keys(
        [
            entry.record_key
            for entry in run.errors.entries(register=run.register)
            if entry.kind in (RECORD, CONFIG) and entry.direction != Direction.CONNECTION
        ]
    )


# -- step 3: fan out -------------------------------------------------------------------

#: Natural keys per ``enqueue`` call of the fan-out.
FAN_OUT_BATCH = 500


def fan_out_rest(run: RunState, enqueue: Callable[[list[str]], None]) -> bool:
    """Send every record not streamed yet and mark the run fanned out; True when all its
    records have settled already, so the caller finishes the run. Both sides were read,
    so the run's own error-list entry (a failed read before) resolves."""
    expected = run.expected()
    for batch in run.rest(FAN_OUT_BATCH):
        enqueue(batch)
    run.errors.resolve(run.register, Direction.CONNECTION, "(run)")
    return run.mark_fanned_out(expected)


# -- step 4: settle --------------------------------------------------------------------


def settle_record(
    ctx: SyncContext, register: Register, run_id: str, natural_key: str
) -> tuple[Outcome, RunReport | None]:
    """Step 4 for one natural key; returns the outcome and, when this record was the
    last of the run, the finished report. Transient errors propagate (task retries);
    so do Redis's own, since nothing can be recorded without it.

    Any other failure is this record's alone — a record error, a configuration error,
    or an unexpected exception (an *internal error*, :func:`internal_error`): it goes to
    the error list and the caller goes on with the next record. A record that already
    settled in this run (a task redelivered while another execution of it ran) is left
    alone.
    """
    run = RunState(ctx.redis, ctx.connection_id, run_id, register.name)
    read = _take_prefetched(register.name, run_id, natural_key)
    if read is None:
        read = run.load_with(natural_key, _link_keys(ctx, register.name))
    loaded, settled, link_raw = read
    if settled:
        # A retry of the run's last record after its finish was cut short (Redis lost
        # right after the last settle): finish the run now rather than leave it
        # "finishing", its lock held, until the stall check does.
        finished = finish_run(run) if run.is_finishing() else None
        return Outcome("unchanged", detail="already settled in this run"), finished
    staged = Staged(**loaded)
    with (
        history.recording() as changes,
        binds_with_settle(register.name, natural_key) as binds,
        resolves_with_settle() as also_resolved,
    ):
        token = _READ_LINK.set(None)
        try:
            if staged.severa is None and staged.eekonomi is None:
                staged = register.fetch(ctx, natural_key)  # requests: link_of reads anew
            else:
                _READ_LINK.set((register.name, natural_key, link_raw))
            outcome = register.settle(ctx, natural_key, staged)
        except (TransientError, redis.RedisError):
            write_binds(ctx.redis, binds)  # what was written and bound stays bound
            ErrorList(ctx.redis, ctx.connection_id).resolve_ids(also_resolved)
            raise
        except Exception as exc:  # noqa: BLE001 - one record's failure must not stop the others
            outcome = record_failure(ctx, register, run_id, natural_key, staged, exc)
        finally:
            _READ_LINK.reset(token)
        # The history entry goes first, the record's binding (Binder.bind_last) next and
        # the count last, as three steps did before, in the one round trip of the count:
        # the history's script, then settle.lua with the binding.
        pipe = ctx.redis.pipeline(transaction=False)
        entry, days = _history_entry(ctx, register, run_id, natural_key, staged, outcome, changes)
        history.queue_sync(pipe, ctx.redis, ctx.connection_id, entry, days)
        binding = _settled_binding(binds)
    return outcome, count_settled(run, natural_key, outcome, pipe, binding, also_resolved)


def _settled_binding(binds: list[tuple[Binder, str, Binding]]) -> Binding | None:
    """The record's binding for its settle's command: the last of its
    :meth:`~Binder.bind_last` calls (they queue only the record being settled)."""
    binding = binds[-1][2] if binds else None
    binds.clear()
    return binding


@contextmanager
def prefetched(ctx: SyncContext, register: str, run_id: str, keys: list[str]) -> Iterator[None]:
    """Read what :func:`settle_record` reads of each of ``keys`` — staged copies,
    settled flag, binding, indexed ids — in one round trip for all of them, and let it
    take each record's part instead of a round trip of its own (a record task's
    records, issue 20).

    Read before the first record settles, it is older by the time a later record
    settles; what that allows is what a redelivered task running beside this one
    allowed before: a record settled meanwhile is counted once all the same
    (``settle.lua``), and a create checks the binding afresh in the round trip that
    marks it pending (:meth:`~worker.sync.bindings.Binder.claim_create`). Staged
    copies do not change during a run.
    """
    run = RunState(ctx.redis, ctx.connection_id, run_id, register)
    loads = run.load_many(keys, _link_keys(ctx, register)) if keys else {}
    token = _PREFETCHED.set(((register, run_id), loads))
    try:
        yield
    finally:
        _PREFETCHED.reset(token)


def _take_prefetched(
    register: str, run_id: str, natural_key: str
) -> tuple[dict[str, dict[str, Any] | None], bool, list[Any]] | None:
    """The record's part of :func:`prefetched`, once (a retry of it reads afresh)."""
    held = _PREFETCHED.get()
    if held is None or held[0] != (register, run_id):
        return None
    return held[1].pop(natural_key, None)


#: A record task's records as read when it started (:func:`prefetched`).
_PREFETCHED: contextvars.ContextVar[
    tuple[tuple[str, str], dict[str, tuple[dict[str, dict[str, Any] | None], bool, list[Any]]]]
    | None
] = contextvars.ContextVar("prefetched", default=None)


def _history_entry(
    ctx: SyncContext,
    register: Register,
    run_id: str,
    natural_key: str,
    staged: Staged,
    outcome: Outcome,
    changes: list[dict[str, Any]],
) -> tuple[history.HistoryEntry, int]:
    """The record's history entry (:mod:`worker.sync.history`) and the days it is kept
    (``history_days``)."""
    entry = history.HistoryEntry(
        register=register.name, record_key=natural_key, run_id=run_id, outcome=outcome.counter,
        direction=history.direction_of(outcome.side), changes=changes, detail=outcome.detail,
        number=_describe(register, natural_key, staged).number,
    )  # fmt: skip
    return entry, int(ctx.values.get("history_days") or 90)


def record_failure(
    ctx: SyncContext,
    register: Register,
    run_id: str,
    natural_key: str,
    staged: Staged,
    exc: BaseException,
) -> Outcome:
    """Put a failed record in the error list (R-4.3) and return its outcome.

    The direction is the side that was read — or, when only the other direction has an
    entry for the record already, that one: a record that fails again (a create in
    Severa still unfinished, now that Severa shows the half-made customer) updates its
    entry instead of adding a second.
    """
    errors = ErrorList(ctx.redis, ctx.connection_id)
    side = Side.SEVERA if staged.severa is not None else Side.EEKONOMI
    other = Side.EEKONOMI if side == Side.SEVERA else Side.SEVERA
    if errors.get(register.name, side.outward, natural_key) is None and errors.get(
        register.name, other.outward, natural_key
    ):
        side = other
    known = isinstance(exc, SyncError)
    where = f"{register.name} {natural_key}"
    entry = ErrorEntry(
        register=register.name,
        direction=side.outward,
        record_key=natural_key,
        record=_describe(register, natural_key, staged),
        reason=_reason(exc) if known else internal_error(exc, where),
        kind=CONFIG if isinstance(exc, ConfigError) else RECORD,
        run_id=run_id,
    )
    if isinstance(exc, ApiError):
        entry.vendor_message = exc.vendor.message or ""
        entry.vendor_code = "" if exc.vendor.code is None else str(exc.vendor.code)
        entry.vendor_field = exc.vendor.field or ""
        entry.vendor_error_id = exc.vendor.error_id or ""
    errors.record(entry)
    log.warning("%s %s failed: %s", register.name, natural_key, entry.reason)
    return Outcome("failed", side, entry.reason)


def count_and_maybe_finish(
    ctx: SyncContext, register: str, run_id: str, natural_key: str, outcome: Outcome
) -> RunReport | None:
    """Count the record's outcome (see :func:`count_settled`); the finished report if it
    was the run's last."""
    return count_settled(
        RunState(ctx.redis, ctx.connection_id, run_id, register), natural_key, outcome
    )


def count_settled(
    run: RunState,
    natural_key: str,
    outcome: Outcome,
    pipe: Any = None,
    binding: Binding | None = None,
    also_resolved: list[str] | None = None,
) -> RunReport | None:
    """Count the record once; a record that did not fail also resolves its error-list
    entries (R-4.3). The last record of the run finishes it (step 5). ``pipe``: writes
    sent first in the same round trip, ``binding``: the record's binding, written in
    the count's command (:meth:`RunState.settle`), ``also_resolved``: other entries
    its settle resolved (:meth:`~worker.sync.errorlist.ErrorList.resolve_last`)."""
    resolved = (
        []
        if outcome.counter == "failed"
        else [entry_id(run.register, d, natural_key) for d in Direction.of_records()]
    )
    resolved += also_resolved or []
    last = run.settle(natural_key, outcome.counter, resolved, pipe, binding)
    return finish_run(run) if last else None


# -- step 5: finish --------------------------------------------------------------------


def finish_run(run: RunState) -> RunReport:
    """Advance the watermarks, release the lock, drop the staged data; log the R-4.2 line."""
    report = run.finish()
    log.info("%s", report.summary())
    return report


# -- a whole run or one record, in this process ----------------------------------------


def run_now(ctx: SyncContext, register: Register, run_id: str) -> RunReport:
    """The whole run in this process, record after record (``run --now``, tests)."""
    finished: list[RunReport] = []

    def settle_all(batch: list[str]) -> None:
        for natural_key in batch:
            _, report = settle_record(ctx, register, run_id, natural_key)
            if report is not None:
                finished.append(report)

    report = start_run(ctx, register, run_id, settle_all, stream=False)
    if finished:
        return finished[-1]
    return Runs(ctx.redis, ctx.connection_id).get(run_id) or report


def resync_record(ctx: SyncContext, register: Register, natural_key: str, run_id: str) -> Outcome:
    """Re-read one record on both sides and settle it now (``errors retry``).

    It runs as a one-record run under the register's lock, so it never races a
    scheduled run, and moves no watermark.
    """
    require_settings(ctx, register)
    run = RunState(ctx.redis, ctx.connection_id, run_id, register.name)
    try:
        run.begin_one()
    except AlreadyRunning as exc:
        raise RunRefused(str(exc)) from None
    try:
        outcome, _ = settle_record(ctx, register, run_id, natural_key)
    finally:
        run.end_one()
    return outcome


# -- helpers ---------------------------------------------------------------------------


def _describe(register: Register, natural_key: str, staged: Staged) -> RecordRef:
    """The record's reference for its entry — bare, when even that cannot be made of
    what was read (the entry must be written whatever the record looks like)."""
    try:
        return register.describe(natural_key, staged)
    except Exception:  # noqa: BLE001 - the entry matters more than its decoration
        return RecordRef(number=natural_key)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MappingError):
        return str(exc)
    return str(exc) or type(exc).__name__


def _record_config(run: RunState, message: str) -> None:
    run.errors.record(
        ErrorEntry(
            register=run.register,
            direction=Direction.CONNECTION,
            record_key="(run)",
            record=RecordRef(name=f"{run.register} transfer"),
            reason=message,
            kind=CONFIG,
            run_id=run.run_id,
        )
    )


@dataclass
class Link:
    """What is known of a record's two sides: its binding and, failing that, the ids
    the key indexes have seen (a record on both sides but not yet bound)."""

    binding: Binding
    severa_id: str
    eekonomi_id: str


#: The record being settled — (register, natural key) — and its binding and indexed ids
#: as read with its staged copies (:func:`settle_record`), until :func:`link_of` takes them.
_READ_LINK: contextvars.ContextVar[tuple[str, str, list[Any]] | None] = contextvars.ContextVar(
    "read_link", default=None
)


def _link_keys(ctx: SyncContext, register: str) -> list[str]:
    """The hashes :func:`link_of` reads a record's field of: binding, both key indexes."""
    return [
        ctx.binder(register).bindings_key,
        ctx.index(register, Side.SEVERA).key,
        ctx.index(register, Side.EEKONOMI).key,
    ]


def link_of(ctx: SyncContext, register: str, natural_key: str) -> Link:
    """The record's binding and indexed ids (once per record).

    Within :func:`settle_record` they were read in the round trip that read the staged
    copies and the settled flag, right before the register's settle — as fresh as a read
    here would be — and are taken once; otherwise (or a second time) they are read now.
    """
    read = _READ_LINK.get()
    if read is not None and read[:2] == (register, natural_key):
        _READ_LINK.set(None)
        raw, severa_id, eekonomi_id = read[2]
    else:
        pipe = ctx.redis.pipeline(transaction=False)
        for name in _link_keys(ctx, register):
            pipe.hget(name, natural_key)
        raw, severa_id, eekonomi_id = pipe.execute()
    binding = ctx.binder(register).parse(raw, natural_key) or Binding()
    return Link(
        binding, binding.severa_id or severa_id or "", binding.eekonomi_id or eekonomi_id or ""
    )


def flowing_side(staged: Staged, link: Link, master: str) -> str | None:
    """R-1.1/R-1.2: the side whose read version is to be written to the other side —
    the master's, or either side's when the other side has no such record yet."""
    if staged.severa is not None and (master == Side.SEVERA or not link.eekonomi_id):
        return Side.SEVERA
    if staged.eekonomi is not None and (master == Side.EEKONOMI or not link.severa_id):
        return Side.EEKONOMI
    return None
