"""The error list (R-4.3): every record that could not be transferred, with a reason a
person can act on — kept in Redis per connection.

One entry per (register, direction, record): a repeat failure updates ``last_seen`` and
``count`` instead of adding a line, and the entry resolves itself (is removed) when the
record later transfers. Entries carry the vendor's own message, code, field and
``ErrorId`` (to quote to Visma support), never request bodies or tokens.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from worker.keys import DEFAULT_CONNECTION, key

#: Oldest entries are dropped beyond this many per connection.
MAX_ENTRIES = 10_000

RECORD = "record"
CONFIG = "config"
WARNING = "warning"


@dataclass
class RecordRef:
    """How a person finds the record on each side (numbers and names, plus ids)."""

    number: str = ""
    name: str = ""
    severa_id: str = ""
    eekonomi_id: str = ""


@dataclass
class ErrorEntry:
    register: str
    direction: str  # a Direction value
    record_key: str
    record: RecordRef
    reason: str
    kind: str = RECORD
    vendor_message: str = ""
    vendor_code: str = ""
    vendor_field: str = ""
    vendor_error_id: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0
    count: int = 0
    run_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return entry_id(self.register, self.direction, self.record_key)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, entry_id_: str = "") -> ErrorEntry:
        """The entry stored as ``text``; one that cannot be read becomes a ``config``
        entry saying so under its own id — listed (and dismissable) like any other,
        never retried, and never in the way of the entries that can be read."""
        try:
            data = json.loads(text)
            data["record"] = RecordRef(**data.get("record") or {})
            return cls(**data)
        except (ValueError, TypeError, AttributeError) as exc:
            register, direction, record_key = (entry_id_.split("|", 2) + ["", "", ""])[:3]
            return cls(
                register=register,
                direction=direction,
                record_key=record_key,
                record=RecordRef(number=record_key),
                reason=f"this error-list entry cannot be read ({exc}); dismiss it with "
                f"`python -m worker errors dismiss --all` (with the --connection and "
                f"--register {register} it is listed under)",
                kind=CONFIG,
            )


def errors_command(connection_id: str, register: str, *words: str) -> str:
    """The ``errors`` subcommand a person runs for one register of one connection, as an
    entry's reason names it (``python -m worker errors --register R reset 1001``)."""
    connection = "" if connection_id == DEFAULT_CONNECTION else f" --connection {connection_id}"
    return f"`python -m worker errors{connection} --register {register} {' '.join(words)}`"


def entry_id(register: str, direction: str, record_key: str) -> str:
    return f"{register}|{direction}|{record_key}"


class ErrorList:
    def __init__(self, client: redis.Redis, connection_id: str) -> None:
        self.client = client
        self.connection_id = connection_id
        self.entries_key = key(connection_id, "errors")
        self.order_key = key(connection_id, "errors", "by-last-seen")

    def record(self, entry: ErrorEntry, now: float | None = None) -> ErrorEntry:
        """Add or update the entry for this record; return it with counts filled in."""
        now = time.time() if now is None else now
        existing = self.get(entry.register, entry.direction, entry.record_key)
        entry.first_seen = existing.first_seen if existing else now
        entry.count = (existing.count if existing else 0) + 1
        entry.last_seen = now
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.entries_key, entry.id, entry.to_json())
        pipe.zadd(self.order_key, {entry.id: now})
        pipe.execute()
        self._trim()
        return entry

    def resolve(self, register: str, direction: str, record_key: str) -> bool:
        """The record transferred: its entry (if any) disappears."""
        return self.resolve_all(register, [direction], record_key) > 0

    def resolve_last(self, register: str, direction: str, record_key: str) -> None:
        """:meth:`resolve` as part of the settle of the record being settled: within
        the engine's settle (:func:`resolves_with_settle`) the entry goes in the command
        that counts the record (``settle.lua``), not in a round trip of its own — an
        invoice's totals check clears its warning on every transfer (issue 20).
        Outside a settle it is resolved now."""
        settling = _SETTLE_RESOLVES.get()
        if settling is None:
            self.resolve(register, direction, record_key)
        else:
            settling.append(entry_id(register, direction, record_key))

    def resolve_all(self, register: str, directions: Iterable[str], record_key: str) -> int:
        """The record transferred: its entries in every direction disappear (one round
        trip — this runs for every record that settles); returns how many there were."""
        return self.resolve_ids(
            [entry_id(register, direction, record_key) for direction in directions]
        )

    def resolve_ids(self, ids: list[str]) -> int:
        """Drop the entries ``ids`` (any not there is no-op); how many there were."""
        if not ids:
            return 0
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self.entries_key, *ids)
        pipe.zrem(self.order_key, *ids)
        removed, _ = pipe.execute()
        return int(removed)

    def get(self, register: str, direction: str, record_key: str) -> ErrorEntry | None:
        wanted = entry_id(register, direction, record_key)
        raw = self.client.hget(self.entries_key, wanted)
        return ErrorEntry.from_json(raw, wanted) if raw is not None else None

    def entries(
        self, *, register: str | None = None, kind: str | None = None, search: str | None = None
    ) -> Iterator[ErrorEntry]:
        """Newest first, optionally filtered."""
        ids = [_text(i) for i in self.client.zrevrange(self.order_key, 0, -1)]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for id_, raw in zip(chunk, self.client.hmget(self.entries_key, chunk), strict=True):
                if raw is None:
                    continue
                entry = ErrorEntry.from_json(raw, id_)
                if register and entry.register != register:
                    continue
                if kind and entry.kind != kind:
                    continue
                if search and search.lower() not in json.dumps(asdict(entry)).lower():
                    continue
                yield entry

    def count(self) -> int:
        return int(self.client.hlen(self.entries_key))

    def _trim(self) -> None:
        excess = int(self.client.zcard(self.order_key)) - MAX_ENTRIES
        if excess > 0:
            oldest = self.client.zrange(self.order_key, 0, excess - 1)
            if oldest:
                names = [_text(i) for i in oldest]
                self.client.hdel(self.entries_key, *names)
                self.client.zrem(self.order_key, *names)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


#: The error-list entries the record being settled resolves in its settle's command
#: (:meth:`ErrorList.resolve_last`); ``None`` outside an engine settle.
_SETTLE_RESOLVES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "settle_resolves", default=None
)


@contextmanager
def resolves_with_settle() -> Iterator[list[str]]:
    """Collect the :meth:`ErrorList.resolve_last` calls of one record's settle; the
    caller passes the entry ids to its count (or resolves them itself when the settle
    does not get there)."""
    resolved: list[str] = []
    token = _SETTLE_RESOLVES.set(resolved)
    try:
        yield resolved
    finally:
        _SETTLE_RESOLVES.reset(token)
