"""The state of one run in Redis: its keys, its lock, its watermarks and its scripts.

A run of one register for one connection (:mod:`worker.sync.engine`) lives in Redis,
not in a process: the register task that starts it, the record tasks that settle it —
in other processes, redelivered, retried — and the beat's stall check all act on the
same keys. :class:`RunState` is the one place that names those keys and moves them, so
each step of the engine reads as what it does (stage, settle, finish) and no module
builds a run's key by hand.

The keys of a run (``worker.keys.run_key``):

* the run hash — its report (:mod:`worker.sync.runs`), its ``expected`` count, whether
  it has ``fanned_out``, its ``progress_at`` clock, the ``queue`` its records went to
  and the ``watermark:<side>`` each side's read started at;
* ``staged:<side>`` — natural key → the record as read (JSON);
* ``keys`` — every natural key of the run; ``settled`` — those counted (a redelivered
  record task must not count twice); ``streamed`` — those fanned out while their side
  was still read; ``rest`` — the fan-out's scratch; ``scratch`` — a prefix a register
  may use for its own joins while it reads.

Beside them, per register: the lock (:class:`~worker.sync.locks.RunLock`) and the
watermarks (:class:`Watermarks`). Changes that must be atomic across keys are Lua
scripts in ``lua/`` (:mod:`worker.lua`).

Every lock operation of a run names the run id as the holder — never a token of the
process that happens to act — because the run is one thing across processes: a
redelivered start or the last record's task releases the lock the first start took.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import redis

from schemas.sides import Side
from worker.errors import ConfigError
from worker.keys import run_key, watermarks_key
from worker.lua import lua_script
from worker.sync.bindings import Binder, Binding
from worker.sync.errorlist import ErrorList, errors_command
from worker.sync.locks import RunLock
from worker.sync.runs import ACTIVE, FAILED, FINISHED, FINISHING, ONE_RECORD, RunReport, Runs

#: Re-read this much before the watermark: clocks and commit order are not exact.
WATERMARK_OVERLAP = timedelta(minutes=2)
#: A run's lock lives this long without progress (every settled record extends it).
LOCK_TTL = 1800.0
#: Staged data of a run that never finished is dropped after this long.
STAGING_TTL = 7 * 24 * 3600

SIDES = (Side.SEVERA, Side.EEKONOMI)

log = logging.getLogger(__name__)

_SETTLE = lua_script(__file__, "settle")
_FANNED_OUT = lua_script(__file__, "fanned_out")
_STREAMED = lua_script(__file__, "streamed")
_ATTEMPT = lua_script(__file__, "attempt")
_QUIET = lua_script(__file__, "quiet")


class CorruptRunState(ConfigError):
    """A stored value of a register's runs cannot be read: the run ends failed with the
    command that forgets it (a person must act; retrying would only fail again)."""


class Watermarks:
    """How far a register's last finished run read each side, by the server's clock.

    They move only when a run finishes (:meth:`RunState.finish`): a run that crashes
    leaves them where they were, so the next run reads the same records again, and the
    bindings make that a no-op.
    """

    def __init__(self, client: redis.Redis, connection_id: str, register: str) -> None:
        self.client = client
        self.connection_id = connection_id
        self.register = register
        self.key = watermarks_key(connection_id, register)

    def get(self, side: str) -> datetime | None:
        """Raises :class:`CorruptRunState` when the stored time cannot be read."""
        raw = self.client.hget(self.key, side)
        if not raw:
            return None
        try:
            return datetime.fromisoformat(str(raw))
        except ValueError:
            raise CorruptRunState(
                f"the stored watermark of {self.register} ({side}) cannot be read "
                f"({str(raw)[:40]!r}); forget it with "
                f"{errors_command(self.connection_id, self.register, 'reset', '--watermarks')}"
                " — the next transfer then reads every record and links them again by "
                "natural key"
            ) from None

    def forget(self) -> bool:
        """Drop the watermarks (``errors reset --watermarks``): the next run reads all."""
        return bool(self.client.delete(self.key))

    def since(self, side: str) -> datetime | None:
        """Where the next read of ``side`` starts: the watermark minus the overlap, or
        ``None`` (read everything) when the side was never read."""
        mark = self.get(side)
        return mark - WATERMARK_OVERLAP if mark else None

    def advance(self, marks: Mapping[str, str]) -> None:
        """Set the watermarks a finished run read from (side → ISO time)."""
        if marks:
            self.client.hset(self.key, mapping={str(side): mark for side, mark in marks.items()})


class RunState:
    """One run of one register of one connection, as kept in Redis (module docstring).

    Cheap to build — a few key names — so each process, task and step builds its own.
    ``register`` is needed for the lock, the watermarks and the report's history; a step
    that only touches the run's own keys (a record task's attempt stamp, reading what
    was staged) can do without, as a run id is unique within its connection.
    """

    def __init__(
        self, client: redis.Redis, connection_id: str, run_id: str, register: str | None = None
    ) -> None:
        self.client = client
        self.connection_id = connection_id
        self.run_id = run_id
        self._register = register
        self.key = run_key(connection_id, run_id)
        self.keys_key = run_key(connection_id, run_id, "keys")
        self.settled_key = run_key(connection_id, run_id, "settled")
        self.streamed_key = run_key(connection_id, run_id, "streamed")
        self.rest_key = run_key(connection_id, run_id, "rest")
        #: A prefix for a register's own scratch keys during its read (customers' joins).
        self.scratch_key = run_key(connection_id, run_id, "scratch")
        self.reports = Runs(client, connection_id)
        self.errors = ErrorList(client, connection_id)
        #: The answers of the writes a :meth:`settle` sent before its script.
        self.piped: list[Any] = []

    @property
    def register(self) -> str:
        if self._register is None:
            raise ValueError(f"run {self.run_id}: this step needs to know the run's register")
        return self._register

    @functools.cached_property
    def lock(self) -> RunLock:
        """The register's lock, which this run holds while it is active."""
        return RunLock(self.client, self.connection_id, self.register, LOCK_TTL)

    @functools.cached_property
    def watermarks(self) -> Watermarks:
        return Watermarks(self.client, self.connection_id, self.register)

    def staged_key(self, side: str) -> str:
        return run_key(self.connection_id, self.run_id, "staged", side)

    @classmethod
    def current(cls, client: redis.Redis, connection_id: str, register: str) -> RunState | None:
        """The run holding ``register``'s lock, if one does."""
        holder = RunLock(client, connection_id, register, LOCK_TTL).holder()
        return cls(client, connection_id, holder, register) if holder else None

    def report(self) -> RunReport | None:
        return self.reports.get(self.run_id)

    # -- start -------------------------------------------------------------------------

    def begin(self, existing: RunReport | None) -> RunReport:
        """Take the register's lock and open the run's report — or, for a redelivered
        start of this same run (its worker died mid fan-out), take up ``existing``, the
        report that start opened, again.

        Raises:
            AlreadyRunning: another run holds the lock.
        """
        holder = self.lock.holder() if existing is not None else None
        if existing is not None and holder in (self.run_id, None):
            if holder is None:
                self.lock.acquire(self.run_id)
            return existing
        self.lock.acquire(self.run_id)
        self._close_abandoned()
        return self.reports.start(self.register, self.run_id)

    def _close_abandoned(self) -> None:
        """The register's previous run, if its lock expired before all its records
        settled (records lost with a flushed queue, say): say so instead of showing it
        running forever."""
        previous = self.reports.last(self.register)
        if previous is not None and previous.status in ACTIVE:
            self.reports.finish(previous.run_id, FAILED, "abandoned: not all records settled")

    def begin_one(self) -> RunReport:
        """A one-record run (``errors retry``) under the register's lock: no read, no
        fan-out, one record expected.

        Raises:
            AlreadyRunning: another run holds the lock.
        """
        self.lock.acquire(self.run_id)
        report = self.reports.start(self.register, self.run_id)
        self.client.hset(self.key, mapping={"expected": 1, "message": ONE_RECORD})
        return report

    def restart_fan_out(self, queue: str | None) -> None:
        """Forget what a previous start of this run streamed — a redelivered start fans
        out everything again — remember the queue its records go to, so records resent
        after a lost message (:meth:`unsettled`) go there too, and stamp its progress."""
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(self.streamed_key)
        if queue:
            pipe.hset(self.key, "queue", queue)
        self.note_progress(pipe)
        pipe.execute()

    def note_progress(self, pipe: Any) -> None:
        """Add to ``pipe`` a stamp of the run's progress while it reads: a start still
        reading is not quiet, so the stall check does not resend it (:meth:`quiet_for`)."""
        pipe.hset(self.key, "progress_at", int(time.time()))

    def stage(self, pipe: Any, side: str, items: Mapping[str, str]) -> None:
        """Add to ``pipe`` the writes that stage ``items`` (natural key → JSON) read from
        ``side`` — part of the stager's one round trip per batch."""
        staged = self.staged_key(side)
        pipe.hset(staged, mapping=dict(items))
        pipe.sadd(self.keys_key, *items.keys())
        pipe.expire(staged, STAGING_TTL)
        pipe.expire(self.keys_key, STAGING_TTL)

    def note_streamed(self, keys: Sequence[str]) -> None:
        """``keys`` fan out now, while their side is still being read (``streamed.lua``)."""
        _STREAMED(self.client, [self.key, self.streamed_key], [STAGING_TTL, *keys])

    def note_watermark(self, side: str, server_time: datetime) -> None:
        """Where ``side``'s read started; it becomes the watermark when the run finishes."""
        self.client.hset(self.key, f"watermark:{side}", server_time.isoformat())

    def add_keys(self, keys: Sequence[str]) -> None:
        """Add natural keys not read this run (error-list retries, R-6.2)."""
        if keys:
            pipe = self.client.pipeline(transaction=False)
            pipe.sadd(self.keys_key, *keys)
            pipe.expire(self.keys_key, STAGING_TTL)
            pipe.execute()

    def expected(self) -> int:
        """How many records the run has: every natural key staged or added."""
        return int(self.client.scard(self.keys_key))

    def rest(self, size: int) -> Iterator[list[str]]:
        """The run's natural keys not streamed yet, in lists of up to ``size``.

        They are copied aside first (``rest``), so that records settling meanwhile do not
        change what is being scanned, and never held all at once in memory.
        """
        self.client.sdiffstore(self.rest_key, [self.keys_key, self.streamed_key])
        self.client.expire(self.rest_key, STAGING_TTL)
        batch: list[str] = []
        for member in self.client.sscan_iter(self.rest_key, count=1000):
            batch.append(_text(member))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch
        self.client.delete(self.rest_key)

    def mark_fanned_out(self, expected: int) -> bool:
        """Every record has been sent; True when all have already settled, so the caller
        finishes the run (``fanned_out.lua``)."""
        return bool(_FANNED_OUT(self.client, [self.key], [expected]))

    def extend_lock(self) -> bool:
        return self.lock.extend_for(self.run_id)

    # -- settle ------------------------------------------------------------------------

    def load_staged(self, natural_key: str) -> dict[str, dict[str, Any] | None]:
        """What the run read of ``natural_key`` on each side (``None``: not read)."""
        return self.load(natural_key)[0]

    def load(self, natural_key: str) -> tuple[dict[str, dict[str, Any] | None], bool]:
        """What the run read of ``natural_key`` on each side, and whether the record has
        settled in this run already (a task redelivered while, or after, another
        execution settled it) — one round trip.

        A staged copy that cannot be read counts as not read on either side: the caller
        reads the record afresh (:meth:`~worker.sync.engine.Register.fetch`).
        """
        staged, settled, _ = self.load_with(natural_key, ())
        return staged, settled

    def load_with(
        self, natural_key: str, hashes: Sequence[str]
    ) -> tuple[dict[str, dict[str, Any] | None], bool, list[Any]]:
        """:meth:`load`, plus the field ``natural_key`` of each of ``hashes`` (raw) read
        in the same round trip — the record's binding and key indexes, which its settle
        reads next (:func:`~worker.sync.engine.settle_record`)."""
        return self.load_many([natural_key], hashes)[natural_key]

    def load_many(
        self, natural_keys: Sequence[str], hashes: Sequence[str]
    ) -> dict[str, tuple[dict[str, dict[str, Any] | None], bool, list[Any]]]:
        """:meth:`load_with` for each of ``natural_keys``, all in one round trip (a record
        task's records, :func:`~worker.sync.engine.prefetched`).

        One ``HMGET`` per hash and one ``SMISMEMBER`` for all the keys, not a command
        per key and hash: the worker's CPU for a Redis command is mostly per command
        (packing, parsing), so 25 records cost six commands instead of 150 (issue 20).
        """
        keys = list(natural_keys)
        if not keys:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for side in SIDES:
            pipe.hmget(self.staged_key(side), keys)
        pipe.smismember(self.settled_key, keys)
        for name in hashes:
            pipe.hmget(name, keys)
        columns = pipe.execute()
        return {
            natural_key: self._loaded(natural_key, [column[i] for column in columns])
            for i, natural_key in enumerate(keys)
        }

    def _loaded(
        self, natural_key: str, answers: list[Any]
    ) -> tuple[dict[str, dict[str, Any] | None], bool, list[Any]]:
        *raws, settled = answers[: len(SIDES) + 1]
        also = answers[len(SIDES) + 1 :]
        staged: dict[str, dict[str, Any] | None] = dict.fromkeys(map(str, SIDES))
        try:
            staged = {str(side): _staged_record(raw) for side, raw in zip(SIDES, raws, strict=True)}
        except (ValueError, TypeError):
            log.warning("run %s: the staged copy of %s cannot be read; reading it afresh",
                        self.run_id, natural_key)  # fmt: skip
        return staged, bool(settled), also

    def settle(
        self,
        natural_key: str,
        counter: str,
        resolved: Sequence[str] = (),
        pipe: Any = None,
        binding: Binding | None = None,
    ) -> bool:
        """Count ``natural_key`` once under ``counter``, keep the run's lock alive and drop
        the error-list entries ``resolved`` — one command per record (``settle.lua``).
        True when it was the run's last record: the caller finishes the run.

        ``binding``: the record's binding, written first in the same command
        (:meth:`~worker.sync.bindings.Binder.bind_last`). ``pipe``: a pipeline (no
        transaction) of writes to send before, in the same round trip (the record's
        history entry); its answers are in :attr:`piped` after."""
        binder = Binder(self.client, self.connection_id, self.register)
        keys = [
            self.key,
            self.settled_key,
            self.lock.key,
            self.errors.entries_key,
            self.errors.order_key,
            binder.bindings_key,
            binder.pending_key,
        ]
        args = [
            natural_key,
            counter,
            STAGING_TTL,
            self.run_id,
            self.lock.ttl_ms,
            "" if binding is None else binding.encoded(),
            *resolved,
        ]
        if pipe is None or not len(pipe):
            self.piped = []
            return bool(_SETTLE(self.client, keys, args))
        *self.piped, last = _SETTLE.run_last(self.client, pipe, keys, args)
        return bool(last)

    def note_attempt(self) -> None:
        """A record task starts or retries: the run is not stalled (``attempt.lua``)."""
        _ATTEMPT(self.client, [self.key])

    def quiet_for(self, seconds: float) -> str | None:
        """What to resend when the running run made no progress for ``seconds``: its
        records (``"records"``, it had fanned out) or its start (``"start"``, it had
        not — the start's task failed or was lost mid read or fan-out); ``"finish"`` when
        every record settled but the finish was cut short (Redis lost, the worker
        killed, between the last settle and :meth:`finish`); ``None`` while it is not
        quiet. A quiet run's clock restarts, so only one caller acts (``quiet.lua``)."""
        answer = int(_QUIET(self.client, [self.key], [seconds]))
        return {1: "records", 2: "start", 3: "finish"}.get(answer)

    def unsettled(self) -> list[str]:
        """The run's natural keys not settled yet, sorted."""
        return sorted(_text(k) for k in self.client.sdiff([self.keys_key, self.settled_key]))

    def queue(self) -> str | None:
        """The queue the run's records were sent to (``None``: the default)."""
        value = self.client.hget(self.key, "queue")
        return _text(value) if value else None

    # -- end ---------------------------------------------------------------------------

    def is_finishing(self) -> bool:
        """Every record settled and the run holds its lock, but it has not finished: its
        finish was cut short (:meth:`quiet_for`)."""
        status = self.client.hget(self.key, "status")
        return (
            status is not None
            and _text(status) == FINISHING
            and (self.lock.holder() == self.run_id)
        )

    def finish(self) -> RunReport:
        """Advance the watermarks, close the report, release the lock, drop the staged
        data. The settled set stays until it expires: a record task redelivered after the
        finish must still find its record counted."""
        pipe = self.client.pipeline(transaction=False)
        for side in SIDES:
            pipe.hget(self.key, f"watermark:{side}")
        marks = {str(side): _text(v) for side, v in zip(SIDES, pipe.execute(), strict=True) if v}
        self.watermarks.advance(marks)
        report = self.reports.finish(self.run_id, FINISHED)
        self.lock.release_for(self.run_id)
        self.client.delete(
            *(self.staged_key(side) for side in SIDES), self.keys_key, self.streamed_key
        )
        if report is None:  # pragma: no cover - the run hash was just written
            raise RuntimeError(f"run {self.run_id} vanished")
        return report

    def fail(self, message: str) -> RunReport | None:
        """The run cannot go on: release the lock and end the report as failed. The
        watermarks stay where they were, so the next run reads the same records."""
        self.lock.release_for(self.run_id)
        return self.reports.finish(self.run_id, FAILED, message)

    def end_one(self) -> RunReport | None:
        """Close a one-record run (:meth:`begin_one`) and release its lock."""
        report = self.reports.finish(self.run_id, FINISHED, ONE_RECORD)
        self.lock.release_for(self.run_id)
        return report


def _staged_record(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    record = json.loads(raw)
    if not isinstance(record, dict):
        raise TypeError("a staged record is a JSON object")
    return record


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
