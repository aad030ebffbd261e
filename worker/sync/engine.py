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
   task counting twice) as created / updated / unchanged / failed / skipped; failures
   go to the error list with a reason a person can act on, successes resolve theirs.
5. **Finish.** The last record settled (or the fan-out itself, when nothing was read)
   closes the run: watermarks advance only now — a crash before leaves them where
   they were, so the next run reads the same records again, and the bindings make
   that a no-op — the lock is released and the staged data deleted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import redis

from config import company
from config.settings import Settings
from schemas.base import MappingError
from schemas.records import content_hash
from schemas.sides import Direction, Side
from worker.clients.factory import Clients
from worker.clients.http import ApiError
from worker.connection_status import get_status
from worker.errors import ConfigError, RecordError
from worker.keys import key
from worker.sync.bindings import Binder, Binding, KeyIndex
from worker.sync.errorlist import CONFIG, RECORD, ErrorEntry, ErrorList, RecordRef, entry_id
from worker.sync.locks import AlreadyRunning, RunLock
from worker.sync.register import RegisterSpec
from worker.sync.runs import FAILED, RunReport, Runs

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Re-read this much before the watermark: clocks and commit order are not exact.
WATERMARK_OVERLAP = timedelta(minutes=2)
#: A run's lock lives this long without progress (every settled record extends it).
LOCK_TTL = 1800.0
#: Staged data of a run that never finished is dropped after this long.
STAGING_TTL = 7 * 24 * 3600


_SETTLE = """
local added = redis.call('SADD', KEYS[2], ARGV[1])
if added == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
  redis.call('HINCRBY', KEYS[1], 'settled', 1)
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'progress_at', t[1])
if #ARGV > 5 then
  redis.call('HDEL', KEYS[4], unpack(ARGV, 6))
  redis.call('ZREM', KEYS[5], unpack(ARGV, 6))
end
local s = redis.call('HMGET', KEYS[1], 'status', 'fanned_out', 'expected', 'settled')
if s[1] == 'running' and s[2] == '1' and tonumber(s[4]) >= tonumber(s[3]) then
  redis.call('HSET', KEYS[1], 'status', 'finishing')
  return 1
end
return 0
"""
#: ``_SETTLE`` counts a record once (KEYS[2], the run's settled set), notes when the run
#: last made progress (:func:`stalled_records`), keeps that set and the run's lock
#: (KEYS[3]) alive, drops the error-list entries (KEYS[4], KEYS[5]) of a
#: record that transferred (ARGV[6:]: an entry resolves itself, R-4.3), and says whether
#: this record was the run's last — one round trip, as it runs once per record.

_FANNED_OUT = """
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'expected', ARGV[1], 'fanned_out', '1', 'progress_at', t[1])
local s = redis.call('HMGET', KEYS[1], 'status', 'settled')
if s[1] == 'running' and tonumber(s[2] or '0') >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'finishing')
  return 1
end
return 0
"""

_STREAMED = """
redis.call('SADD', KEYS[2], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'fanned_out') ~= '1' then
  redis.call('HSET', KEYS[1], 'expected', redis.call('SCARD', KEYS[2]))
end
"""
#: ``_STREAMED`` notes a streamed batch (KEYS[2]) and, for progress bars, counts what
#: has fanned out so far as the run's provisional ``expected`` (KEYS[1]). The finish
#: waits for the fan-out's own count (``_FANNED_OUT``), and a redelivered start of a
#: run that has it leaves it alone, so this never ends a run early.


@dataclass
class Outcome:
    """How one record settled; ``counter`` is one of the run report's counters."""

    counter: str
    side: str = ""
    detail: str = ""


@dataclass
class Staged:
    """What a run read of one natural key on each side (``None``: not changed/read)."""

    severa: dict[str, Any] | None = None
    eekonomi: dict[str, Any] | None = None

    def on(self, side: str) -> dict[str, Any] | None:
        return self.severa if side == Side.SEVERA else self.eekonomi


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


class Stager:
    """Writes a side's records of one run into Redis, in pipelined batches."""

    BATCH = 500
    #: A streamed side flushes sooner: each flush is also the fan-out of its records.
    STREAM_BATCH = 100

    def __init__(
        self,
        ctx: SyncContext,
        register: str,
        run_id: str,
        side: str,
        on_staged: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.client = ctx.redis
        #: Called with each flushed batch's keys once they are in Redis (streamed fan-out).
        self.on_staged = on_staged
        self.batch = self.BATCH if on_staged is None else self.STREAM_BATCH
        self.run_id = run_id
        self.side = side
        self.index = ctx.index(register, side)
        self.bindings_key = ctx.binder(register).bindings_key
        self.items_key = key(ctx.connection_id, "run", run_id, "staged", side)
        self.keys_key = key(ctx.connection_id, "run", run_id, "keys")
        self._items: dict[Any, Any] = {}
        self._ids: dict[Any, Any] = {}
        self._digests: dict[str, str] = {}
        self.count = 0
        #: Records read but not staged: as last synced (our own writes read back).
        self.echoes = 0

    def add(
        self, natural_key: str, vendor_id: str, payload: dict[str, Any], digest: str = ""
    ) -> None:
        """Stage one record read from this side (its latest version wins).

        ``digest`` is the content hash of the record's canonical form. When it equals
        what the binding says was last synced on this side, the record is an echo —
        typically our own write read back by the next run — and is not staged: it
        would only settle as unchanged, at the cost of a task.
        """
        self._items[natural_key] = json.dumps(payload, ensure_ascii=False, default=str)
        if digest:
            self._digests[natural_key] = digest
        if vendor_id:
            self._ids[natural_key] = vendor_id
        self.count += 1
        if len(self._items) >= self.batch:
            self.flush()

    def note_id(self, natural_key: str, vendor_id: str) -> None:
        """Index a record of this side without staging it (read for matching only)."""
        self._ids[natural_key] = vendor_id
        if len(self._ids) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        self._drop_echoes()
        pipe = self.client.pipeline(transaction=False)
        if self._items:
            pipe.hset(self.items_key, mapping=self._items)
            pipe.sadd(self.keys_key, *self._items.keys())
            pipe.expire(self.items_key, STAGING_TTL)
            pipe.expire(self.keys_key, STAGING_TTL)
        if self._ids:
            pipe.hset(self.index.key, mapping=self._ids)
        pipe.execute()
        if self.on_staged is not None and self._items:
            self.on_staged(list(self._items))
        self._items.clear()
        self._ids.clear()
        self._digests.clear()

    def _drop_echoes(self) -> None:
        keys = [k for k in self._items if k in self._digests]
        if not keys:
            return
        field = "severa_hash" if self.side == Side.SEVERA else "eekonomi_hash"
        for natural_key, raw in zip(keys, self.client.hmget(self.bindings_key, keys), strict=True):
            if raw and json.loads(raw).get(field) == self._digests[natural_key]:
                del self._items[natural_key]
                self.echoes += 1


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


# -- run lifecycle ---------------------------------------------------------------------


def watermarks_key(connection_id: str, register: str) -> str:
    return key(connection_id, "watermarks", register)


def read_watermark(
    client: redis.Redis, connection_id: str, register: str, side: str
) -> datetime | None:
    raw = client.hget(watermarks_key(connection_id, register), side)
    return datetime.fromisoformat(str(raw)) if raw else None


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
    records resent after a lost message (:func:`stalled_records`) go there too.

    ``stream=False`` reads both sides whole before the fan-out even where the register
    could stream: when ``enqueue`` settles in this process (``run --now``), streaming
    would hold a Severa page token open for as long as the settling takes, and page
    tokens expire after some minutes (severa-notes §4).

    Raises:
        RunRefused: the run could not start (its report, when one was made, says why).
    """
    runs = Runs(ctx.redis, ctx.connection_id)
    status = get_status(ctx.redis, ctx.connection_id)
    if not status.ok:
        raise RunRefused(f"{register.name}: the connection needs attention: {status.reason}")
    try:
        ctx.values = company.require(
            ctx.redis, ctx.connection_id, register.name, register.spec.requires
        )
    except company.SettingsMissing as exc:
        raise RunRefused(str(exc)) from None
    lock = RunLock(ctx.redis, ctx.connection_id, register.name, LOCK_TTL)
    existing = runs.get(run_id)
    if existing is not None and existing.status not in ("running", "finishing"):
        return existing  # a redelivered start of a run that has already ended
    try:
        if existing is not None and lock.holder() in (run_id, None):
            # A redelivered start of the same run (its worker died mid fan-out): go on.
            if lock.holder() is None:
                lock.acquire(run_id)
            report = existing
        else:
            lock.acquire(run_id)
            previous = runs.last(register.name)
            if previous is not None and previous.status in ("running", "finishing"):
                # Its lock expired before all its records settled (records lost with a
                # flushed queue, say): say so instead of showing it running forever.
                runs.finish(previous.run_id, FAILED, "abandoned: not all records settled")
            report = runs.start(register.name, run_id)
    except AlreadyRunning as exc:
        raise RunRefused(str(exc)) from None
    try:
        keys_key = key(ctx.connection_id, "run", run_id, "keys")
        run_key = key(ctx.connection_id, "run", run_id)
        streamed_key = key(ctx.connection_id, "run", run_id, "streamed")
        ctx.redis.delete(streamed_key)  # a redelivered start fans out everything again
        if queue:
            ctx.redis.hset(run_key, "queue", queue)

        def fan_out_now(keys: list[str]) -> None:
            ctx.redis.eval(_STREAMED, 2, run_key, streamed_key, STAGING_TTL, *keys)
            enqueue(keys)

        streamed = register.streamed_side(ctx) if stream else None
        order = (
            (Side.SEVERA, Side.EEKONOMI)
            if streamed in (None, Side.EEKONOMI)
            else (Side.EEKONOMI, Side.SEVERA)
        )
        for side in order:
            since = read_watermark(ctx.redis, ctx.connection_id, register.name, side)
            stager = Stager(
                ctx, register.name, run_id, side, fan_out_now if side == streamed else None
            )
            server_time = register.read(
                ctx, side, since - WATERMARK_OVERLAP if since else None, stager
            )
            stager.flush()
            if server_time is not None:
                ctx.redis.hset(run_key, f"watermark:{side}", server_time.isoformat())
        retry_keys = _error_list_keys(ctx, register.name)
        if retry_keys:
            ctx.redis.sadd(keys_key, *retry_keys)
            ctx.redis.expire(keys_key, STAGING_TTL)
        expected = int(ctx.redis.scard(keys_key))
        rest_key = key(ctx.connection_id, "run", run_id, "rest")
        ctx.redis.sdiffstore(rest_key, [keys_key, streamed_key])
        ctx.redis.expire(rest_key, STAGING_TTL)
        for batch in batches(_scan_members(ctx.redis, rest_key), 500):
            enqueue(batch)
        ctx.redis.delete(rest_key)
        ErrorList(ctx.redis, ctx.connection_id).resolve(
            register.name, Direction.CONNECTION, "(run)"
        )
        if ctx.redis.eval(_FANNED_OUT, 1, run_key, expected):
            return finish_run(ctx, register.name, run_id)
    except (ConfigError, ApiError) as exc:
        # The run cannot read a side: nothing was written; the watermarks stay put.
        lock.release()
        report = runs.finish(run_id, FAILED, str(exc)) or report
        if isinstance(exc, ConfigError):  # a person must act; an outage just ends the run
            _record_config(ctx, register.name, str(exc), run_id)
        raise RunRefused(str(exc), report) from exc
    lock.extend_for(run_id)
    return runs.get(run_id) or report


def settle_record(
    ctx: SyncContext, register: Register, run_id: str, natural_key: str
) -> tuple[Outcome, RunReport | None]:
    """Step 4 for one natural key; returns the outcome and, when this record was the
    last of the run, the finished report. Transient errors propagate (task retries)."""
    staged = load_staged(ctx, run_id, natural_key)
    if staged.severa is None and staged.eekonomi is None:
        staged = register.fetch(ctx, natural_key)
    try:
        outcome = register.settle(ctx, natural_key, staged)
    except (RecordError, ConfigError) as exc:
        outcome = record_failure(ctx, register, run_id, natural_key, staged, exc)
    return outcome, count_and_maybe_finish(ctx, register.name, run_id, natural_key, outcome)


def record_failure(
    ctx: SyncContext,
    register: Register,
    run_id: str,
    natural_key: str,
    staged: Staged,
    exc: BaseException,
) -> Outcome:
    """Put a failed record in the error list (R-4.3) and return its outcome."""
    side = Side.SEVERA if staged.severa is not None else Side.EEKONOMI
    entry = ErrorEntry(
        register=register.name,
        direction=side.outward,
        record_key=natural_key,
        record=register.describe(natural_key, staged),
        reason=_reason(exc),
        kind=CONFIG if isinstance(exc, ConfigError) else RECORD,
        run_id=run_id,
    )
    if isinstance(exc, ApiError):
        entry.vendor_message = exc.vendor.message or ""
        entry.vendor_code = "" if exc.vendor.code is None else str(exc.vendor.code)
        entry.vendor_field = exc.vendor.field or ""
        entry.vendor_error_id = exc.vendor.error_id or ""
    ErrorList(ctx.redis, ctx.connection_id).record(entry)
    log.warning("%s %s failed: %s", register.name, natural_key, entry.reason)
    return Outcome("failed", side, entry.reason)


def count_and_maybe_finish(
    ctx: SyncContext, register: str, run_id: str, natural_key: str, outcome: Outcome
) -> RunReport | None:
    """Count the record's outcome; a record that did not fail also resolves its
    error-list entries (R-4.3). Returns the finished report if it was the run's last."""
    run_key = key(ctx.connection_id, "run", run_id)
    settled_key = key(ctx.connection_id, "run", run_id, "settled")
    lock = RunLock(ctx.redis, ctx.connection_id, register, LOCK_TTL)
    errors = ErrorList(ctx.redis, ctx.connection_id)
    resolved = (
        []
        if outcome.counter == "failed"
        else [entry_id(register, direction, natural_key) for direction in Direction.of_records()]
    )
    finishing = ctx.redis.eval(
        _SETTLE,
        5,
        run_key,
        settled_key,
        lock.key,
        errors.entries_key,
        errors.order_key,
        natural_key,
        outcome.counter,
        STAGING_TTL,
        run_id,
        lock.ttl_ms,
        *resolved,
    )
    if finishing:
        return finish_run(ctx, register, run_id)
    return None


@dataclass(frozen=True)
class Stalled:
    """A run whose remaining records no message will bring: resend ``keys`` to ``queue``."""

    register: str
    run_id: str
    queue: str | None
    keys: list[str]


_ATTEMPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'progress_at', redis.call('TIME')[1])
end
"""


_QUIET = """
local s = redis.call('HMGET', KEYS[1], 'status', 'fanned_out', 'progress_at')
local now = tonumber(redis.call('TIME')[1])
if s[1] ~= 'running' or s[2] ~= '1' or now - tonumber(s[3] or '0') < tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'progress_at', now)
return 1
"""
#: ``_QUIET`` says whether a fanned-out run (KEYS[1]) has been quiet for ARGV[1] seconds
#: and, if so, restarts its quiet clock in the same step: of two ticks looking at once,
#: only one resends the run's records.


def note_attempt(ctx: SyncContext, run_id: str) -> None:
    """A record task of ``run_id`` starts or retries, so the run is not stalled
    (:func:`stalled_records`); a finished, expired or ad-hoc run is left alone."""
    ctx.redis.eval(_ATTEMPT, 1, key(ctx.connection_id, "run", run_id))


def stalled_records(ctx: SyncContext, register: str, quiet: float) -> Stalled | None:
    """The unsettled records of ``register``'s running run if it has fanned out and no
    record task of it has started or settled anything for ``quiet`` seconds.

    Why: the Redis transport pops a message off its queue before it records it as
    unacknowledged; a worker killed in between loses the message (kombu #305), and its
    records would wait for the run's lock to expire and the next run. ``quiet`` is
    longer than a dead worker's messages take to come back (the visibility timeout) and
    than the longest retry countdown, and every record task stamps the run when it
    starts or retries (:func:`note_attempt`): a record still being tried keeps its run
    from going quiet, so what is resent is lost, never in flight — two attempts at one
    record at once could both create it. The run's quiet clock then restarts, so the
    records are not resent again at once.
    """
    run_id = RunLock(ctx.redis, ctx.connection_id, register, LOCK_TTL).holder()
    if not run_id:
        return None
    run_key = key(ctx.connection_id, "run", run_id)
    if not ctx.redis.eval(_QUIET, 1, run_key, quiet):
        return None
    settled_key = key(ctx.connection_id, "run", run_id, "settled")
    keys_key = key(ctx.connection_id, "run", run_id, "keys")
    unsettled = sorted(str(k) for k in ctx.redis.sdiff([keys_key, settled_key]))
    if not unsettled:
        return None
    queue = ctx.redis.hget(run_key, "queue")
    log.warning(
        "%s run %s settled nothing for %.0f s with %d record(s) left: sending them again",
        register, run_id, quiet, len(unsettled),
    )  # fmt: skip
    return Stalled(register, run_id, str(queue) if queue else None, unsettled)


def finish_run(ctx: SyncContext, register: str, run_id: str) -> RunReport:
    """Step 5: advance the watermarks, release the lock, drop the staged data."""
    run_key = key(ctx.connection_id, "run", run_id)
    marks = {
        side: ctx.redis.hget(run_key, f"watermark:{side}") for side in (Side.SEVERA, Side.EEKONOMI)
    }
    moved: dict[Any, Any] = {side: str(v) for side, v in marks.items() if v}
    if moved:
        ctx.redis.hset(watermarks_key(ctx.connection_id, register), mapping=moved)
    runs = Runs(ctx.redis, ctx.connection_id)
    report = runs.finish(run_id)
    RunLock(ctx.redis, ctx.connection_id, register, LOCK_TTL).release_for(run_id)
    ctx.redis.delete(
        *(
            key(ctx.connection_id, "run", run_id, "staged", side)
            for side in (Side.SEVERA, Side.EEKONOMI)
        ),
        key(ctx.connection_id, "run", run_id, "keys"),
        key(ctx.connection_id, "run", run_id, "streamed"),
    )
    if report is None:  # pragma: no cover - the run hash was just written
        raise RuntimeError(f"run {run_id} vanished")
    log.info("%s", report.summary())
    return report


def load_staged(ctx: SyncContext, run_id: str, natural_key: str) -> Staged:
    pipe = ctx.redis.pipeline(transaction=False)
    for side in (Side.SEVERA, Side.EEKONOMI):
        pipe.hget(key(ctx.connection_id, "run", run_id, "staged", side), natural_key)
    severa, eekonomi = (json.loads(raw) if raw else None for raw in pipe.execute())
    return Staged(severa=severa, eekonomi=eekonomi)


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


# -- helpers ---------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MappingError):
        return str(exc)
    return str(exc) or type(exc).__name__


def _record_config(ctx: SyncContext, register: str, message: str, run_id: str) -> None:
    ErrorList(ctx.redis, ctx.connection_id).record(
        ErrorEntry(
            register=register,
            direction=Direction.CONNECTION,
            record_key="(run)",
            record=RecordRef(name=f"{register} transfer"),
            reason=message,
            kind=CONFIG,
            run_id=run_id,
        )
    )


def _error_list_keys(ctx: SyncContext, register: str) -> list[str]:
    return [
        entry.record_key
        for entry in ErrorList(ctx.redis, ctx.connection_id).entries(register=register)
        if entry.kind == RECORD
    ]


def _scan_members(client: redis.Redis, set_key: str) -> Iterator[str]:
    for member in client.sscan_iter(set_key, count=1000):
        yield member.decode() if isinstance(member, bytes) else str(member)


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter), without holding more."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def same_value(current: Any, desired: Any) -> bool:
    """Equal as the vendor stores it: ``None`` and ``""`` alike, numbers by value."""
    if current in (None, "") and desired in (None, ""):
        return True
    numbers = (int, float)
    if (
        isinstance(current, numbers)
        and isinstance(desired, numbers)
        and not isinstance(current, bool)
        and not isinstance(desired, bool)
    ):
        return Decimal(str(current)) == Decimal(str(desired))
    return bool(current == desired)


def differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """The fields of ``desired`` whose value ``current`` does not already have."""
    return [name for name, value in desired.items() if not same_value(current.get(name), value)]


def resync_record(ctx: SyncContext, register: Register, natural_key: str, run_id: str) -> Outcome:
    """Re-read one record on both sides and settle it now (``errors retry``).

    It runs as a one-record run under the register's lock, so it never races a
    scheduled run, and moves no watermark.
    """
    try:
        ctx.values = company.require(
            ctx.redis, ctx.connection_id, register.name, register.spec.requires
        )
    except company.SettingsMissing as exc:
        raise RunRefused(str(exc)) from None
    lock = RunLock(ctx.redis, ctx.connection_id, register.name, LOCK_TTL)
    try:
        lock.acquire(run_id)
    except AlreadyRunning as exc:
        raise RunRefused(str(exc)) from None
    runs = Runs(ctx.redis, ctx.connection_id)
    runs.start(register.name, run_id)
    ctx.redis.hset(key(ctx.connection_id, "run", run_id), "expected", 1)
    try:
        outcome, _ = settle_record(ctx, register, run_id, natural_key)
    finally:
        runs.finish(run_id)
        lock.release()
    return outcome


def digest_of(to_record: Callable[[T], Mapping[str, Any]], payload: T) -> str:
    """The content hash of ``to_record(payload)``, the canonical form, or ``""`` when it
    cannot be mapped (a bad record is always staged, so that it is settled and listed)."""
    try:
        return content_hash(to_record(payload))
    except (MappingError, ValueError, KeyError, TypeError):
        return ""


@dataclass
class Link:
    """What is known of a record's two sides: its binding and, failing that, the ids
    the key indexes have seen (a record on both sides but not yet bound)."""

    binding: Binding
    severa_id: str
    eekonomi_id: str


def link_of(ctx: SyncContext, register: str, natural_key: str) -> Link:
    """The record's binding and indexed ids, in one round trip (once per record)."""
    pipe = ctx.redis.pipeline(transaction=False)
    pipe.hget(ctx.binder(register).bindings_key, natural_key)
    pipe.hget(ctx.index(register, Side.SEVERA).key, natural_key)
    pipe.hget(ctx.index(register, Side.EEKONOMI).key, natural_key)
    raw, severa_id, eekonomi_id = pipe.execute()
    binding = Binding.from_json(raw) if raw else Binding()
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
