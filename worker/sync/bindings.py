"""Bindings (code-models rule 11): which Severa record is which eEkonomi record.

Idempotency lives here. Per connection and register, a record is known by its
*natural key* — customer number, article number (= Severa code), project number (=
cost-center item short code) — and its binding holds both sides' ids plus the hash of
the body last written to (or found equal on) the other side. The engine

* updates when a binding exists, creates and then binds when it does not;
* skips a record whose mapped body hashes as last written ("unchanged": no request);
* marks a create as *pending* before it sends the POST and clears the mark once the
  binding is stored. A pending mark found later means a crash (or an ambiguous answer)
  may have left the record created but unbound, so the engine looks it up by natural
  key on the vendor before creating it again (R-6.1) — which is the only case that
  costs the extra lookup request.

A pending mark also says *when* the create was sent (or its answer was lost), so a
create whose answer never came is held until a write it may still cause would have
landed (:mod:`worker.sync.creates`). A binding may be *incomplete* on a side: a create
there stopped half-way (a Severa customer without its contact), so that side is not yet
the record's truth and the create is finished on the next attempt.

:class:`KeyIndex` keeps, per side, natural key → vendor id of every record the runs
have read, so the first transfer can match records that exist on both sides without
one lookup request per record.

Everything here can be lost and found again (README, "If Redis is lost"): a binding is
re-made from the natural key or a marker the record carries. So a stored value that
cannot be read is reported with the command that forgets it
(:class:`CorruptRecordState`), never read over and over.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

import redis

from schemas.sides import Side
from worker.errors import RecordError
from worker.keys import DEFAULT_CONNECTION, key
from worker.lua import lua_script
from worker.sync.errorlist import errors_command

SIDES = (Side.SEVERA, Side.EEKONOMI)


class CorruptRecordState(RecordError):
    """A stored value of one record (its binding) cannot be read: the record goes to the
    error list with the command that forgets the value, and the other records go on."""

    def __init__(
        self, register: str, natural_key: str, what: str, problem: str, connection_id: str
    ) -> None:
        self.register = register
        self.natural_key = natural_key
        reset = errors_command(connection_id, register, "reset", natural_key)
        super().__init__(
            f"the stored {what} of {register} {natural_key} cannot be read ({problem}); "
            f"forget it with {reset} — the next transfer links the record again by its "
            "natural key"
        )


@dataclass
class Binding:
    """Both ids of one record, and what was last written to each side."""

    severa_id: str = ""
    eekonomi_id: str = ""
    #: Hash of the body last written to / found equal on each side.
    severa_hash: str = ""
    eekonomi_hash: str = ""
    #: Register-specific detail, e.g. which Severa register an article came from.
    severa_kind: str = ""
    #: The side on which the create stopped half-way (``""``: none): that side's record
    #: is not the record's truth until the create is finished.
    incomplete: str = ""

    @classmethod
    def from_json(
        cls,
        raw: str | bytes,
        register: str = "",
        natural_key: str = "",
        connection_id: str = DEFAULT_CONNECTION,
    ) -> Binding:
        """The binding stored as ``raw``; fields of another version are ignored.

        Raises:
            CorruptRecordState: ``raw`` is not a stored binding (truncated, say).
        """
        try:
            data = json.loads(raw)
            known = {f.name for f in fields(cls)}
            return cls(**{k: str(v) for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError) as exc:
            raise CorruptRecordState(
                register, natural_key, "binding", str(exc), connection_id
            ) from None

    def id_on(self, side: str) -> str:
        return self.severa_id if side == Side.SEVERA else self.eekonomi_id

    def hash_on(self, side: str) -> str:
        return self.severa_hash if side == Side.SEVERA else self.eekonomi_hash

    def encoded(self) -> str:
        """As stored in the register's bindings hash (:meth:`from_json` reads it)."""
        return json.dumps(asdict(self))


#: The side of a pending mark that ``errors reset`` leaves: a create may have happened on
#: either side, so whichever side a create is next due on is looked up first.
ANY_SIDE = "*"


@dataclass(frozen=True)
class Pending:
    """A create that was sent, or about to be, on ``side`` — when, by our clock (``0``: a
    mark of an earlier version, or of ``errors reset``, which keep no time)."""

    side: str
    at: float = 0.0

    def covers(self, side: str) -> bool:
        """Whether a create on ``side`` may have happened."""
        return self.side in (side, ANY_SIDE)

    @classmethod
    def parse(cls, raw: Any) -> Pending | None:
        if not raw:
            return None
        side, _, at = str(raw).partition("@")
        try:
            return cls(side, float(at) if at else 0.0)
        except ValueError:
            return cls(side)  # an unreadable time: as old as can be

    def stored(self) -> str:
        return f"{self.side}@{self.at:.3f}"


#: ``lua/claim.lua``: :meth:`Binder.claim_create` in one command.
_CLAIM = lua_script(__file__, "claim")


class Binder:
    """The bindings of one register of one connection."""

    def __init__(self, client: redis.Redis, connection_id: str, register: str) -> None:
        self.client = client
        self.connection_id = connection_id
        self.register = register
        self.bindings_key = key(connection_id, "bindings", register)
        self.pending_key = key(connection_id, "pending", register)

    def get(self, natural_key: str) -> Binding | None:
        raw = self.client.hget(self.bindings_key, natural_key)
        return self.parse(raw, natural_key)

    def parse(self, raw: Any, natural_key: str) -> Binding | None:
        """A binding read by the caller (``None`` when there is none)."""
        return (
            Binding.from_json(raw, self.register, natural_key, self.connection_id) if raw else None
        )

    def bind(self, natural_key: str, binding: Binding) -> None:
        """Store the binding and clear any pending create of the record, atomically."""
        pipe = self.client.pipeline(transaction=True)
        self.queue_bind(pipe, natural_key, binding)
        pipe.execute()

    def queue_bind(self, pipe: Any, natural_key: str, binding: Binding) -> None:
        """:meth:`bind`'s two writes, queued on ``pipe``."""
        pipe.hset(self.bindings_key, natural_key, binding.encoded())
        pipe.hdel(self.pending_key, natural_key)

    def bind_last(self, natural_key: str, binding: Binding) -> None:
        """:meth:`bind` as the last step of a record's settle: within the engine's
        settle (:func:`binds_with_settle`) it is written in the round trip that counts
        the record, not in one of its own — a created record's writes then cost one
        round trip instead of two. Only for a binding nothing reads again before the
        settle ends. Any other record's binding — a customer or an article an invoice's
        settle transfers first, whose binding the invoice reads next — is written now.

        Safe after a crash as :meth:`bind` is: until the settle's round trip, the
        record's pending mark stays, so a retry looks the record up by natural key
        before it could create it again (R-6.1).
        """
        settling = _SETTLE_BINDS.get()
        if settling is None or settling[0] != (self.register, natural_key):
            self.bind(natural_key, binding)
        else:
            settling[1].append((self, natural_key, binding))

    def mark_pending(self, natural_key: str, side: str) -> None:
        """About to create ``natural_key`` on ``side`` (or its answer was just lost):
        remember it, and when, until it is bound."""
        self.client.hset(self.pending_key, natural_key, Pending(side, time.time()).stored())

    def claim_create(self, natural_key: str, side: str) -> bool:
        """:meth:`mark_pending` that also says whether the caller must look the record
        up before creating it, in one round trip — the create path runs for every new
        record. It must when a create on ``side`` was pending before (it may have been
        done by a worker that then died, R-6.1), or when the record is bound by now:
        the caller read its binding earlier (a record task reads its records' bindings
        when it starts, :func:`~worker.sync.engine.prefetched`), and another execution
        of the record — a redelivered task — may have created and bound it since."""
        before, bound = _CLAIM(
            self.client,
            [self.pending_key, self.bindings_key],
            [natural_key, Pending(side, time.time()).stored()],
        )
        pending = Pending.parse(before)
        return bool(bound) or (pending is not None and pending.covers(side))

    def pending(self, natural_key: str) -> Pending | None:
        return Pending.parse(self.client.hget(self.pending_key, natural_key))

    def pending_for(self, natural_key: str, side: str) -> Pending | None:
        """The record's pending create if it may have happened on ``side``."""
        pending = self.pending(natural_key)
        return pending if pending is not None and pending.covers(side) else None

    def pending_on(self, natural_key: str) -> str | None:
        pending = self.pending(natural_key)
        return pending.side if pending else None

    def clear_pending(self, natural_key: str) -> None:
        self.client.hdel(self.pending_key, natural_key)

    def forget(self, natural_key: str) -> bool:
        """Drop the record's binding (``errors reset``); whether it had one. A create is
        marked pending on any side instead, so the next attempt finds the record by its
        natural key or marker before it could create it again (R-6.1)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.bindings_key, natural_key)
        pipe.hset(self.pending_key, natural_key, Pending(ANY_SIDE).stored())
        removed, _ = pipe.execute()
        return bool(removed)

    def count(self) -> int:
        return int(self.client.hlen(self.bindings_key))


#: The bindings of the record being settled that wait for its settle's round trip
#: (:meth:`Binder.bind_last`); ``None`` outside an engine settle.
_SETTLE_BINDS: contextvars.ContextVar[
    tuple[tuple[str, str], list[tuple[Binder, str, Binding]]] | None
] = contextvars.ContextVar("settle_binds", default=None)


@contextmanager
def binds_with_settle(
    register: str, natural_key: str
) -> Iterator[list[tuple[Binder, str, Binding]]]:
    """Collect the :meth:`Binder.bind_last` calls for the record being settled (the
    ``register``'s ``natural_key``); the caller queues them (:func:`queue_binds`) in the
    round trip that counts the record."""
    queued: list[tuple[Binder, str, Binding]] = []
    token = _SETTLE_BINDS.set(((register, natural_key), queued))
    try:
        yield queued
    finally:
        _SETTLE_BINDS.reset(token)


def queue_binds(pipe: Any, queued: list[tuple[Binder, str, Binding]]) -> None:
    """Queue the collected bindings on ``pipe`` (and forget them)."""
    for binder, natural_key, binding in queued:
        binder.queue_bind(pipe, natural_key, binding)
    queued.clear()


def write_binds(client: redis.Redis, queued: list[tuple[Binder, str, Binding]]) -> None:
    """Write the collected bindings now: the settle did not get to its round trip."""
    if queued:
        pipe = client.pipeline(transaction=True)
        queue_binds(pipe, queued)
        pipe.execute()


class KeyIndex:
    """Natural key → vendor id of every record read on one side of one register."""

    def __init__(self, client: redis.Redis, connection_id: str, register: str, side: str) -> None:
        self.client = client
        self.key = key(connection_id, "index", register, side)

    def add_many(self, pairs: Mapping[str, str]) -> None:
        if pairs:
            self.client.hset(self.key, mapping=dict[Any, Any](pairs))

    def get(self, natural_key: str) -> str | None:
        value = self.client.hget(self.key, natural_key)
        return str(value) if value else None

    def get_many(self, natural_keys: Iterable[str]) -> dict[str, str]:
        keys = list(natural_keys)
        if not keys:
            return {}
        values = self.client.hmget(self.key, keys)
        return {k: str(v) for k, v in zip(keys, values, strict=True) if v}

    def remove(self, natural_key: str) -> None:
        self.client.hdel(self.key, natural_key)
