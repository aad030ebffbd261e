"""Staging: what one run read of each side, written into Redis in pipelined batches.

A run stages every record it reads, keyed by natural key (:mod:`worker.sync.engine`,
step 2), instead of holding the register in memory: the worker's memory stays flat
however large the register is, and a record changed on both sides becomes one unit of
work. The keys are the run's (:class:`~worker.sync.runstate.RunState`); this module
decides what goes in — and what does not: a record read back exactly as we last
synced it (an *echo*) is only indexed, never staged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from schemas.sides import Side
from worker.sync.bindings import Binder, Binding, CorruptRecordState, KeyIndex
from worker.sync.runstate import RunState


@dataclass
class Staged:
    """What a run read of one natural key on each side (``None``: not changed/read)."""

    severa: dict[str, Any] | None = None
    eekonomi: dict[str, Any] | None = None

    def on(self, side: str) -> dict[str, Any] | None:
        return self.severa if side == Side.SEVERA else self.eekonomi


class Stager:
    """Writes a side's records of one run into Redis, in pipelined batches."""

    BATCH = 500
    #: A streamed side flushes sooner: each flush is also the fan-out of its records.
    STREAM_BATCH = 100

    def __init__(
        self,
        client: redis.Redis,
        run: RunState,
        side: str,
        on_staged: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.client = client
        #: Called with each flushed batch's keys once they are in Redis (streamed fan-out).
        self.on_staged = on_staged
        self.batch = self.BATCH if on_staged is None else self.STREAM_BATCH
        #: The run being staged; a register may keep scratch data under ``run.scratch_key``.
        self.run = run
        self.run_id = run.run_id
        self.side = side
        self.index = KeyIndex(client, run.connection_id, run.register, side)
        self.bindings_key = Binder(client, run.connection_id, run.register).bindings_key
        self._items: dict[Any, Any] = {}
        self._ids: dict[Any, Any] = {}
        self._digests: dict[str, str | Callable[[], str]] = {}
        self.count = 0
        #: Records read but not staged: as last synced (our own writes read back).
        self.echoes = 0

    def add(
        self,
        natural_key: str,
        vendor_id: str,
        payload: dict[str, Any],
        digest: str | Callable[[], str] = "",
    ) -> None:
        """Stage one record read from this side (its latest version wins).

        ``digest`` is the content hash of the record's canonical form, or a function
        that computes it (``values.digest_of``, bound): only records that have a binding
        can be echoes, so it is computed for those alone — a first transfer maps none of
        its records twice. When it equals what the binding says was last synced on this
        side, the record is an echo — typically our own write read back by the next run
        — and is not staged: it would only settle as unchanged, at the cost of a task.
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
        self.run.note_progress(pipe)
        if self._items:
            self.run.stage(pipe, self.side, self._items)
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
        for natural_key, raw in zip(keys, self.client.hmget(self.bindings_key, keys), strict=True):
            if raw and _is_echo(raw, self.side, self._digests[natural_key]):
                del self._items[natural_key]
                self.echoes += 1


def _is_echo(raw: Any, side: str, digest: str | Callable[[], str]) -> bool:
    """Whether the binding ``raw`` says ``digest`` is what was last synced on ``side``
    (computed only now, when the binding could say so; ``""``: the record could not be
    mapped, never an echo).

    An unreadable binding is no echo: the record is staged, and its settle reports the
    binding (:class:`~worker.sync.bindings.CorruptRecordState`) instead of the read
    failing for the whole register. Neither is the side of an incomplete create.
    """
    try:
        binding = Binding.from_json(raw)
    except CorruptRecordState:
        return False
    if binding.incomplete == side or not binding.hash_on(side):
        return False
    value = digest() if callable(digest) else digest
    return bool(value) and binding.hash_on(side) == value
