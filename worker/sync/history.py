"""Record history (``python -m worker history RECORD``, issue 19): every sync of one
record — when, which run, direction, what changed — kept ``history_days`` days.

The engine opens a recording around each record's settle (:func:`recording`); the
write helpers note what they change on a side (:func:`note_change`: a create's fields,
an update's fields old → new); when the record settled as created, updated or failed,
the entry is added to the record's list in Redis (:func:`record_sync`). A record that
settled unchanged made no change, and is not listed (a register of 10 000 records
transfers every 15 minutes). Entries older than ``history_days`` are dropped when the
next one is added, and a record with no sync for that long loses its list (the key
expires).
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

import redis

from schemas.sides import Side
from worker.keys import key
from worker.lua import lua_script

__all__ = ["HistoryEntry", "RecordHistory", "note_change", "queue_sync", "record_sync", "recording"]

#: Outcomes that are a sync of the record (unchanged is not).
RECORDED = frozenset({"created", "updated", "failed"})
#: Entries kept per record at most, whatever their age.
MAX_ENTRIES = 500

_ADD = lua_script(__file__, "history_add")

_changes: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "history_changes", default=None
)


@contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """Collect the :func:`note_change` calls of one record's settle."""
    changes: list[dict[str, Any]] = []
    token = _changes.set(changes)
    try:
        yield changes
    finally:
        _changes.reset(token)


def note_change(side: str, action: str, fields: Mapping[str, Any]) -> None:
    """A write to ``side``: ``create`` with the fields sent, or ``update`` with each
    changed field as ``[old, new]``. Outside a recording (a test, a tool) it is a no-op."""
    changes = _changes.get()
    if changes is not None:
        changes.append({"side": str(side), "action": action, "fields": _plain(dict(fields))})


@dataclass
class HistoryEntry:
    """One sync of one record."""

    register: str
    record_key: str
    run_id: str
    outcome: str
    direction: str = ""
    number: str = ""
    at: float = field(default_factory=time.time)
    changes: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        # Shallow: ``dataclasses.asdict`` deep-copies the changes, which are plain
        # already (:func:`note_change`) and only serialized — a tenth of a created
        # record's history cost.
        return {f.name: getattr(self, f.name) for f in _FIELDS}


class RecordHistory:
    """The connection's per-record history lists (newest first) and the index from a
    number a person types (an invoice's Severa number, say) to the record's key."""

    def __init__(self, client: redis.Redis, connection_id: str) -> None:
        self.client = client
        self.connection_id = connection_id
        self.numbers_key = key(connection_id, "history", "numbers")

    def key_of(self, register: str, record_key: str) -> str:
        return key(self.connection_id, "history", register, record_key)

    def add(self, entry: HistoryEntry, days: int) -> None:
        """Add ``entry``, keep the list ``days`` and drop entries older than that —
        one command (``history_add.lua``)."""
        keys, args = self._add_args(entry, days)
        _ADD(self.client, keys, args)

    def queue_add(self, pipe: Any, entry: HistoryEntry, days: int) -> None:
        """:meth:`add` queued on ``pipe``, a pipeline sent by
        :meth:`~worker.lua.LuaScript.run_last` (a script in a pipeline goes as a bare
        ``EVALSHA``): part of the record's settle round trip."""
        keys, args = self._add_args(entry, days)
        _ADD.queue(self.client, pipe, keys, args)

    def _add_args(self, entry: HistoryEntry, days: int) -> tuple[list[str], list[Any]]:
        number = (
            f"{entry.register}:{entry.number}"
            if entry.number and entry.number != entry.record_key
            else ""
        )
        keys = [self.key_of(entry.register, entry.record_key), self.numbers_key]
        args = [
            json.dumps(entry.as_dict(), ensure_ascii=False, default=str),
            MAX_ENTRIES,
            days * 86400,
            repr(entry.at - days * 86400),
            number,
            entry.record_key,
        ]
        return keys, args

    def entries(self, register: str, record_key: str, days: int) -> list[HistoryEntry]:
        since = time.time() - days * 86400
        found = []
        for raw in self.client.lrange(self.key_of(register, record_key), 0, -1):
            try:
                entry = HistoryEntry(**json.loads(raw))
            except (ValueError, TypeError):
                continue  # an entry of another version: history is a record, not state
            if entry.at >= since:
                found.append(entry)
        return found

    def key_of_number(self, register: str, number: str) -> str | None:
        """The record key a number was shown with (``None``: never seen)."""
        found = self.client.hget(self.numbers_key, f"{register}:{number}")
        return None if found is None else str(found)


_FIELDS = fields(HistoryEntry)


def record_sync(
    client: redis.Redis,
    connection_id: str,
    entry: HistoryEntry,
    days: int,
) -> None:
    """Add ``entry`` when its outcome is a sync (:data:`RECORDED`)."""
    if entry.outcome in RECORDED:
        RecordHistory(client, connection_id).add(entry, days)


def queue_sync(
    pipe: Any, client: redis.Redis, connection_id: str, entry: HistoryEntry, days: int
) -> None:
    """:func:`record_sync` queued on ``pipe`` (sent by
    :meth:`~worker.lua.LuaScript.run_last`)."""
    if entry.outcome in RECORDED:
        RecordHistory(client, connection_id).queue_add(pipe, entry, days)


def direction_of(side: str) -> str:
    """A settled record's direction from the side it was read on (``""``: none)."""
    if side in (Side.SEVERA, Side.EEKONOMI):
        return str(Side(side).outward)
    return ""


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
