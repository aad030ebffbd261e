"""Creates that happen once though answers get lost, land late or race (R-6.1).

Some records have no uniqueness rule at the vendor to refuse a second copy — eEkonomi
invoice drafts, Severa project fees, the addresses and contacts of a Severa customer —
so two things must never happen to them:

* **A create re-sent on a single miss.** A POST whose answer is lost (time-out,
  dropped connection) may still land: the server goes on after our client gives up, a
  34 s write behind a 30 s time-out lands 4 s later. So the record stays *unresolved*:
  its pending mark is kept with the time of the lost answer, the record is looked up
  again on each attempt, and it is created again only once the look-up still misses
  ``LATE_WRITE_TIMEOUTS`` HTTP time-outs after that time — when a write it sent can no
  longer land. Until then each attempt ends in :class:`UnresolvedCreate`, a transient
  error that asks to retry after the rest of the wait.
* **Two executions creating at once.** A task that outlasts the broker's visibility
  timeout is handed out again while it still runs. The binding and pending mark are
  read before the slow part of a settle (reading rows, mapping), so both executions
  would POST. A per-record lock, taken right before the write with a token of this
  attempt, closes that: whoever holds it re-reads the binding and the pending mark and
  writes; the other gets :class:`RecordBusy` and retries later — by then the record is
  bound (it settles as unchanged) or, if the holder died, the lock has expired and the
  pending mark says what to look up. The lock outlives the write it guards
  (``LOCK_TIMEOUTS`` HTTP time-outs) and is released when the guarded block ends.

Creates of records the vendor keeps unique (customer and article numbers, cost-center
item codes) do not need this: a second POST is refused and the first record found
(:mod:`worker.sync.upsert`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from worker.clients.http import AmbiguousWriteError
from worker.errors import TransientError
from worker.keys import key
from worker.lua import lua_script
from worker.sync.bindings import Binder, Binding, Pending
from worker.sync.engine import SyncContext

#: A create whose answer was lost counts as not landed once this many HTTP time-outs
#: have passed since: the client gave up after one, and a server still working on the
#: request another time-out later is beyond what either vendor's front end allows.
LATE_WRITE_TIMEOUTS = 2.0
#: The record lock lives this many HTTP time-outs: longer than the writes it guards
#: (each ends by its time-out), short enough that a dead holder frees it soon.
LOCK_TIMEOUTS = 4.0

_LOCK = lua_script(__file__, "record_lock")
_RELEASE = lua_script(__file__, "lock_release")
_SENDING = lua_script(__file__, "record_sending")
T = TypeVar("T")


class RecordBusy(TransientError):
    """Another execution of this record is writing it now: try again after a while."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnresolvedCreate(TransientError):
    """A create whose answer was lost is not found yet, and might still land: look it
    up again after ``retry_after`` seconds — never create it again before."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class CreateClaim:
    """The record as seen under its lock: re-read right before the write."""

    ctx: SyncContext
    binder: Binder
    natural_key: str
    lock_key: str
    token: str
    #: The record's binding now (another execution may have made it meanwhile).
    binding: Binding | None
    #: A create sent before whose outcome is unknown (``None``: none).
    pending: Pending | None

    def pending_on(self, side: str) -> Pending | None:
        return self.pending if self.pending is not None and self.pending.covers(side) else None

    def hold_unless_settled(self, side: str, what: str) -> None:
        """A pending create on ``side`` was looked up and not found: raise
        :class:`UnresolvedCreate` while a write it sent could still land."""
        pending = self.pending_on(side)
        if pending is not None:
            hold_unless_settled(self.ctx, pending, what)

    def send(self, side: str, create: Callable[[], T]) -> T:
        """Mark the create pending on ``side`` (with the time) and send it — only while
        this attempt still holds the lock. A lost answer re-stamps the mark, so the
        wait for a late write counts from when the answer was lost."""
        ttl_ms = _lock_ttl_ms(self.ctx)
        stamp = Pending(side, time.time()).stored()
        keys = [self.lock_key, self.binder.pending_key]
        if not _SENDING(self.ctx.redis, keys, [self.token, ttl_ms, self.natural_key, stamp]):
            raise RecordBusy(
                f"{self.binder.register} {self.natural_key}: the record lock expired before "
                "the write; another attempt may be writing it",
                retry_after=1.0,
            )
        try:
            return create()
        except AmbiguousWriteError:
            self.binder.mark_pending(self.natural_key, side)
            raise


def hold_unless_settled(ctx: SyncContext, pending: Pending, what: str) -> None:
    """``pending`` was looked up and not found. Raises :class:`UnresolvedCreate` while a
    write it sent could still land (``LATE_WRITE_TIMEOUTS`` HTTP time-outs since its mark);
    returns once the create can be sent again."""
    remaining = pending.at + LATE_WRITE_TIMEOUTS * ctx.settings.http_timeout - time.time()
    if remaining > 0:
        raise UnresolvedCreate(
            f"{what}: an earlier create got no answer and is not found yet; it may still "
            f"land, so it is looked up again in {remaining:.0f} s before it could be created "
            "again",
            retry_after=min(float(ctx.settings.task_retry_backoff_max), remaining + 0.5),
        )


@contextmanager
def creating(ctx: SyncContext, register: str, natural_key: str) -> Iterator[CreateClaim]:
    """Hold the record's lock for the block (see the module docstring) and yield the
    record's binding and pending mark as they are now.

    Raises:
        RecordBusy: another attempt holds the lock.
    """
    binder = ctx.binder(register)
    lock_key = key(ctx.connection_id, "record-lock", register, natural_key)
    token = uuid.uuid4().hex
    ttl_ms = _lock_ttl_ms(ctx)
    acquired, pttl, raw_binding, raw_pending = _LOCK(
        ctx.redis,
        [lock_key, binder.bindings_key, binder.pending_key],
        [token, ttl_ms, natural_key],
    )
    if not acquired:
        raise RecordBusy(
            f"{register} {natural_key}: another attempt is writing this record",
            retry_after=min(max(1.0, pttl / 1000.0), ctx.settings.http_timeout),
        )
    try:
        yield CreateClaim(
            ctx, binder, natural_key, lock_key, token,
            binder.parse(raw_binding, natural_key), Pending.parse(raw_pending),
        )  # fmt: skip
    finally:
        _RELEASE(ctx.redis, [lock_key], [token])


def _lock_ttl_ms(ctx: SyncContext) -> int:
    return int(LOCK_TIMEOUTS * ctx.settings.http_timeout * 1000)
