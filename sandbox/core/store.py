"""The store's one collection type: records by id, in insertion order, with indexes.

Both vendors keep some values unique (eEkonomi's customer, article and project numbers,
Severa's codes and names) and both answer sub-resource lists (a customer's addresses, an
invoice's rows). Scanning a collection for either made a write ten times slower at
10 000 records than at 500 — the sandbox's CPU, not the rate limits, then bounded a
benchmark. So every collection declares its indexes up front and :meth:`Collection.put`
and :meth:`Collection.remove` maintain them on every write; a resource module asks the
index and cannot forget one.

Indexes are *maintained*, not *enforced*: whether a duplicate is an error, and which
error, is vendor behaviour (often a switch), so :meth:`Collection.holder` reports the
conflict and the resource raises its own error. A record edited in place must be put
back (``put``) to be re-indexed; lookups check each hit against the record as it is now,
so a stale index entry never reports a wrong holder.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping, ValuesView
from typing import Any

Record = dict[str, Any]

#: What an index is keyed on: a dotted field path (``"customer.guid"``) or a function.
IndexKey = str | Callable[[Record], Any]


def dig(record: Mapping[str, Any] | None, dotted: str) -> Any:
    """``dig(r, "customer.guid")``; ``None`` when any step is missing."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _key_function(key: IndexKey) -> Callable[[Record], Any]:
    if callable(key):
        return key
    if "." not in key:
        return lambda record: record.get(key)
    return lambda record: dig(record, key)


class Collection:
    """One vendor collection: records by id (the ``key`` field) in insertion order.

    ``unique`` and ``indexes`` name the indexes (name → :data:`IndexKey`); both are
    looked up with :meth:`by`, and :meth:`holder` answers "who else has this value" for
    the unique ones. Each record also gets a sequence number at its first insert, for
    keyset paging (:meth:`after`). ``None`` values are not indexed.
    """

    def __init__(
        self,
        name: str,
        *,
        key: str = "Id",
        unique: Mapping[str, IndexKey] | None = None,
        indexes: Mapping[str, IndexKey] | None = None,
    ) -> None:
        self.name = name
        self.key = key
        self.unique = frozenset(unique or {})
        declared = {**(indexes or {}), **(unique or {})}
        self._index_keys = {index: _key_function(k) for index, k in declared.items()}
        self.records: dict[str, Record] = {}
        self.clear()

    # -- reading -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self.records

    def __iter__(self) -> Iterator[str]:
        return iter(self.records)

    def __getitem__(self, record_id: str) -> Record:
        return self.records[record_id]

    def __setitem__(self, record_id: str, record: Record) -> None:
        """``collection[id] = record`` is :meth:`put` (the id must be the record's)."""
        if str(record[self.key]) != record_id:
            raise KeyError(f"{record_id!r} is not the record's {self.key}")
        self.put(record)

    def __delitem__(self, record_id: str) -> None:
        """``del collection[id]`` is :meth:`remove`; ``KeyError`` when there is none."""
        if self.remove(record_id) is None:
            raise KeyError(record_id)

    def get(self, record_id: str | None) -> Record | None:
        """The record with this id (exact, then lower-case: GUIDs arrive in any case)."""
        if not record_id:
            return None
        found = self.records.get(record_id)
        if found is None and record_id.lower() != record_id:
            found = self.records.get(record_id.lower())
        return found

    def values(self) -> ValuesView[Record]:
        return self.records.values()

    def ordered(self) -> list[Record]:
        return list(self.records.values())

    def by(self, index: str, value: Any) -> list[str]:
        """Ids whose ``index`` value is ``value`` now, in insertion order."""
        if value is None:
            return []
        key_of = self._index_keys[index]
        return [
            record_id
            for record_id in self._members[index].get(value, ())
            if record_id in self.records and key_of(self.records[record_id]) == value
        ]

    def holder(self, index: str, value: Any, *, other_than: str | None = None) -> str | None:
        """The id of a record other than ``other_than`` holding ``value`` in a unique index."""
        if index not in self.unique:
            raise KeyError(f"{self.name} has no unique index {index!r}")
        for record_id in self.by(index, value):
            if record_id != other_than:
                return record_id
        return None

    def seq(self, record_id: str) -> int:
        """The sequence number the record got at its first insert (0 if unknown)."""
        return self._seq.get(record_id, 0)

    def after(self, last_seq: int, source: list[str] | None = None) -> Iterator[str]:
        """Ids with a sequence number above ``last_seq`` (of ``source`` if given)."""
        if source is None:
            start = bisect.bisect_right(self._seqs, last_seq)
            for position in range(start, len(self._order)):
                yield self._order[position]
        else:
            for record_id in source:
                if self._seq.get(record_id, 0) > last_seq:
                    yield record_id

    # -- writing -------------------------------------------------------------------

    def put(self, record: Record) -> Record:
        """Insert or replace the record with id ``record[key]``; re-index it."""
        record_id = str(record[self.key])
        if record_id not in self.records:
            self._seq[record_id] = self._next
            self._order.append(record_id)
            self._seqs.append(self._next)
            self._next += 1
        self.records[record_id] = record
        for index, key_of in self._index_keys.items():
            self._reindex(index, record_id, key_of(record))
        return record

    def remove(self, record_id: str) -> Record | None:
        """Remove and return the record (``None`` when there is none)."""
        record = self.records.pop(record_id, None)
        if record is None:
            return None
        position = bisect.bisect_left(self._seqs, self._seq[record_id])
        del self._order[position]
        del self._seqs[position]
        del self._seq[record_id]
        for index in self._index_keys:
            self._reindex(index, record_id, None)
        return record

    def clear(self) -> None:
        self.records = {}
        self._seq: dict[str, int] = {}
        self._order: list[str] = []
        self._seqs: list[int] = []
        self._next = 1
        self._keys: dict[str, dict[str, Any]] = {index: {} for index in self._index_keys}
        self._members: dict[str, dict[Any, list[str]]] = {i: {} for i in self._index_keys}

    def _reindex(self, index: str, record_id: str, value: Any) -> None:
        keys, members = self._keys[index], self._members[index]
        old = keys.get(record_id)
        if record_id in keys and old == value:
            return
        if record_id in keys:
            holders = members.get(old)
            if holders is not None and record_id in holders:
                holders.remove(record_id)
                if not holders:
                    del members[old]
            del keys[record_id]
        if value is None:
            return
        keys[record_id] = value
        holders = members.setdefault(value, [])
        holders.append(record_id)
        if len(holders) > 1 and self._seq[holders[-2]] > self._seq[record_id]:
            holders.sort(key=self._seq.__getitem__)
