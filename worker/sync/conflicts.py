"""Conflicts (issue 19): the side that is not master changed a linked record since the
last sync, and the master's version is about to be written over it.

R-1.1/R-1.2 say the master wins, and it still does by default — but never silently.
Before such a write, :func:`guard_overwrite` compares the record as the other side has
it now with the hash of what was last synced there (the binding). When they differ, a
person edited it: each field about to be overwritten is kept in the connection's
conflict log (record, field, both values, when, which run) — ``python -m worker
conflicts`` shows it. With the connection setting ``conflicts=hold`` the write does not
happen: the record waits in the error list until a person decides — copies the values
to keep into the master, or lets the master win once with ``python -m worker conflicts
overwrite --register R KEY``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import redis

from schemas.base import MappingError
from schemas.records import content_hash
from schemas.sides import Side
from worker.keys import key
from worker.sync.engine import SyncContext

__all__ = ["Conflict", "ConflictHeld", "ConflictLog", "allow_overwrite", "guard_overwrite"]

#: Entries kept per connection (the oldest go first).
LOG_LENGTH = 10_000
#: Fields that are no value a person edits: a product's Severa register.
_NOT_COMPARED = frozenset({"kind"})
#: Fields a write leaves alone when the master has no value (work types: no price/VAT).
_UNSET_IS_KEPT = frozenset({"net_price", "gross_price", "vat_rate"})


class ConflictHeld(MappingError):
    """``conflicts=hold``: the master's write waits for a person (error list)."""


@dataclass
class Conflict:
    """One overwrite of a non-master edit (or one held)."""

    register: str
    record_key: str
    label: str
    master: str
    overwritten_side: str
    #: field → {"overwritten": the other side's value, "written": the master's}
    fields: dict[str, dict[str, Any]]
    at: float = field(default_factory=time.time)
    run_id: str = ""
    action: str = "overwritten"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ConflictLog:
    """The connection's conflict log, newest first (a Redis list of JSON entries)."""

    def __init__(self, client: redis.Redis, connection_id: str) -> None:
        self.client = client
        self.key = key(connection_id, "conflicts")
        self.allowed_key = key(connection_id, "conflicts", "allowed")

    def add(self, conflict: Conflict) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(self.key, json.dumps(conflict.as_dict(), ensure_ascii=False, default=str))
        pipe.ltrim(self.key, 0, LOG_LENGTH - 1)
        pipe.execute()

    def entries(self, register: str | None = None) -> list[Conflict]:
        found = []
        for raw in self.client.lrange(self.key, 0, -1):
            try:
                conflict = Conflict(**json.loads(raw))
            except (ValueError, TypeError):
                continue  # an entry of another version: the log is a record, not state
            if register is None or conflict.register == register:
                found.append(conflict)
        return found


def allow_overwrite(client: redis.Redis, connection_id: str, register: str, record: str) -> None:
    """A person lets the master win once for ``record`` (after ``conflicts=hold``)."""
    client.sadd(ConflictLog(client, connection_id).allowed_key, f"{register}:{record}")


def guard_overwrite(
    ctx: SyncContext,
    register: str,
    natural_key: str,
    *,
    last_hash: str,
    current: Mapping[str, Any],
    written: Mapping[str, Any],
    label: str,
) -> None:
    """Right before the master's ``written`` record replaces the other side's
    ``current`` one (both as records of the register's schema): log or hold a conflict
    when the other side changed since the last sync (its hash is not ``last_hash``).

    Raises:
        ConflictHeld: ``conflicts=hold`` and no person has allowed this overwrite.
    """
    if not last_hash or content_hash(current) == last_hash:
        return
    changed = overwritten_fields(current, written)
    if not changed:
        return
    master = str(ctx.values.get(f"{register}_master") or Side.SEVERA)
    other = Side.EEKONOMI if master == Side.SEVERA else Side.SEVERA
    log = ConflictLog(ctx.redis, ctx.connection_id)
    conflict = Conflict(register, natural_key, label, master, other, changed)
    allowed = bool(ctx.redis.srem(log.allowed_key, f"{register}:{natural_key}"))
    if ctx.values.get("conflicts") == "hold" and not allowed:
        conflict.action = "held"
        log.add(conflict)
        shown = "; ".join(
            f"{name}: {_side_name(other)} {v['overwritten']!r}, {_side_name(master)} "
            f"{v['written']!r}"
            for name, v in changed.items()
        )
        raise ConflictHeld(
            label,
            f"{_side_name(other)} changed it since the last sync and {_side_name(master)} "
            f"is master ({shown}); held (conflicts=hold): copy the values to keep into "
            f"{_side_name(master)}, or let {_side_name(master)} win with `python -m worker "
            f"conflicts overwrite --register {register} {natural_key}`",
        )
    log.add(conflict)


def overwritten_fields(
    current: Mapping[str, Any], written: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each field whose value the write replaces, with both values."""
    out = {}
    for name, value in written.items():
        if name in _NOT_COMPARED or (value is None and name in _UNSET_IS_KEPT):
            continue
        before = current.get(name)
        if _plain(before) != _plain(value):
            out[name] = {"overwritten": _plain(before), "written": _plain(value)}
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _side_name(side: str) -> str:
    return "Severa" if side == Side.SEVERA else "eEkonomi"
