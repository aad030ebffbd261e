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

:class:`KeyIndex` keeps, per side, natural key → vendor id of every record the runs
have read, so the first transfer can match records that exist on both sides without
one lookup request per record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import redis

from schemas.sides import Side
from worker.keys import key

SIDES = (Side.SEVERA, Side.EEKONOMI)


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

    @classmethod
    def from_json(cls, raw: str | bytes) -> Binding:
        return cls(**json.loads(raw))

    def id_on(self, side: str) -> str:
        return self.severa_id if side == Side.SEVERA else self.eekonomi_id

    def hash_on(self, side: str) -> str:
        return self.severa_hash if side == Side.SEVERA else self.eekonomi_hash


class Binder:
    """The bindings of one register of one connection."""

    def __init__(self, client: redis.Redis, connection_id: str, register: str) -> None:
        self.client = client
        self.register = register
        self.bindings_key = key(connection_id, "bindings", register)
        self.pending_key = key(connection_id, "pending", register)

    def get(self, natural_key: str) -> Binding | None:
        raw = self.client.hget(self.bindings_key, natural_key)
        return Binding.from_json(raw) if raw else None

    def bind(self, natural_key: str, binding: Binding) -> None:
        """Store the binding and clear any pending create of the record, atomically."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.bindings_key, natural_key, json.dumps(asdict(binding)))
        pipe.hdel(self.pending_key, natural_key)
        pipe.execute()

    def mark_pending(self, natural_key: str, side: str) -> None:
        """About to create ``natural_key`` on ``side``: remember it until it is bound."""
        self.client.hset(self.pending_key, natural_key, side)

    def claim_create(self, natural_key: str, side: str) -> str | None:
        """:meth:`mark_pending` that also returns the side a create was pending on
        before (``None``: none was), in one round trip — the create path runs for every
        new record. A create pending before may have been done by a worker that then
        died: the caller looks the record up before creating it again (R-6.1)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hget(self.pending_key, natural_key)
        pipe.hset(self.pending_key, natural_key, side)
        before, _ = pipe.execute()
        return str(before) if before else None

    def pending_on(self, natural_key: str) -> str | None:
        value = self.client.hget(self.pending_key, natural_key)
        return str(value) if value else None

    def clear_pending(self, natural_key: str) -> None:
        self.client.hdel(self.pending_key, natural_key)

    def count(self) -> int:
        return int(self.client.hlen(self.bindings_key))


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
