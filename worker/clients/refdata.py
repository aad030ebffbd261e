"""Reference data cached per connection with a short expiry.

Units, account codings, terms of payment, VAT rates, invoice statuses and cost centers
change rarely but are consulted for nearly every record; re-reading them per record
would multiply requests (and rate-limit waits). They are cached in Redis — shared by
all worker processes — for ``REFERENCE_DATA_TTL`` seconds. Writes the sync makes to
cached data (a new cost-center item) call :meth:`ReferenceCache.forget`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis

from worker.clients.eekonomi import EEkonomiClient
from worker.clients.paging import Record
from worker.clients.severa import SeveraClient
from worker.keys import key

#: The most decoded values :func:`_decoded` keeps (a few per connection a process serves).
DECODED_KEPT = 64
_DECODED: dict[str, tuple[bytes | str, Any]] = {}


def _decoded(key: str, raw: bytes | str) -> Any:
    """``raw`` (a value as read from Redis) decoded — reused from the last decoding of
    that key when the bytes are the same.

    Every invoice reads its reference lists afresh (another process may have changed
    them), but they are the same bytes invoice after invoice, and decoding a cost-center
    list of every project's item costs more than comparing the bytes. The value is
    shared, so its users must not change it (none does: the mapping reads them)."""
    kept = _DECODED.get(key)
    if kept is not None and kept[0] == raw:
        return kept[1]
    value = json.loads(raw)
    if key not in _DECODED and len(_DECODED) >= DECODED_KEPT:
        del _DECODED[next(iter(_DECODED))]
    _DECODED[key] = (raw, value)
    return value


class ReferenceCache:
    def __init__(self, client: redis.Redis, *, connection_id: str, ttl: int) -> None:
        self.client = client
        self.connection_id = connection_id
        self.ttl = ttl
        #: Values read inside :meth:`scope`, kept in this process until it ends.
        self._held: dict[str, Any] | None = None
        #: Values read ahead inside :meth:`scope` (:meth:`hold_read`), not decoded yet.
        self._read_ahead: dict[str, bytes | str] = {}

    def _key(self, name: str) -> str:
        return key(self.connection_id, "refdata", name)

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Within the block, each value is read from Redis (and decoded) once.

        One record may consult the same reference data many times — an invoice's cost
        centers and units once per row, with hundreds of items each — and decoding them
        per use cost more CPU than the rest of the invoice. Holding them in the process
        is safe only for a short, bounded span (another process may :meth:`forget`
        them), so the span is one record task (a few records, seconds at most), not the
        process's life."""
        outer, outer_ahead = self._held, self._read_ahead
        if outer is None:
            self._held, self._read_ahead = {}, {}
        try:
            yield
        finally:
            self._held, self._read_ahead = outer, outer_ahead

    def read_ahead(self, pipe: redis.client.Pipeline, names: Iterable[str]) -> list[str]:
        """Queue on ``pipe`` (one GET each, in its order) the reads of those ``names`` not
        held yet; returns the names queued, for :meth:`hold_read` with their replies.

        A record that needs several reference lists then reads them in a round trip it
        makes anyway, instead of one round trip per list (an invoice: four). Only inside
        :meth:`scope`: outside it nothing is held, so nothing is queued."""
        if self._held is None or self.ttl <= 0:
            return []
        queued = [n for n in dict.fromkeys(names) if n not in self._held]
        queued = [n for n in queued if n not in self._read_ahead]
        for name in queued:
            pipe.get(self._key(name))
        return queued

    def hold_read(self, names: Sequence[str], replies: Sequence[Any]) -> None:
        """Keep what :meth:`read_ahead` queued, as read (decoded on first use, so a list
        the record does not consult costs no decoding); an absent value is read and
        loaded by :meth:`get` as usual."""
        if self._held is None:
            return
        for name, raw in zip(names, replies, strict=True):
            if raw is not None:
                self._read_ahead[name] = raw

    def get(self, name: str, load: Callable[[], Any]) -> Any:
        if self._held is not None and name in self._held:
            return self._held[name]
        raw = self._read_ahead.pop(name, None) if self._held is not None else None
        value = _decoded(self._key(name), raw) if raw is not None else self._read(name, load)
        if self._held is not None:
            self._held[name] = value
        return value

    def _read(self, name: str, load: Callable[[], Any]) -> Any:
        if self.ttl > 0:
            cached = self.client.get(self._key(name))
            if cached is not None:
                return json.loads(cached)
        value = load()
        if self.ttl > 0:
            self.client.set(self._key(name), json.dumps(value), ex=self.ttl)
        return value

    def forget(self, *names: str) -> None:
        if self._held is not None:
            for name in names:
                self._held.pop(name, None)
                self._read_ahead.pop(name, None)
        if names:
            self.client.delete(*(self._key(n) for n in names))


class ReferenceData:
    """The reference registers of both sides, read through the cache."""

    #: Cache names of the lists, for :meth:`ReferenceCache.read_ahead`.
    UNITS = "eekonomi:units"
    TERMS = "eekonomi:terms"
    COST_CENTERS = "eekonomi:costcenters"
    COMPANY = "eekonomi:company"

    def __init__(
        self, *, severa: SeveraClient, eekonomi: EEkonomiClient, cache: ReferenceCache
    ) -> None:
        self.severa = severa
        self.eekonomi = eekonomi
        self.cache = cache

    def _all(self, name: str, listing: Callable[[], Iterable[Record]]) -> list[Record]:
        result: list[Record] = self.cache.get(name, lambda: list(listing()))
        return result

    # eEkonomi
    def units(self) -> list[Record]:
        return self._all(self.UNITS, self.eekonomi.list_units)

    def article_account_codings(self) -> list[Record]:
        return self._all("eekonomi:codings", self.eekonomi.list_article_account_codings)

    def terms_of_payments(self) -> list[Record]:
        return self._all(self.TERMS, self.eekonomi.list_terms_of_payments)

    def cost_centers(self) -> list[Record]:
        return self._all(self.COST_CENTERS, self.eekonomi.list_cost_centers)

    def company_settings(self) -> Record:
        result: Record = self.cache.get(self.COMPANY, self.eekonomi.get_company_settings)
        return result

    # Severa
    def vat_rates(self) -> list[Record]:
        return self._all("severa:vatrates", self.severa.list_vat_rates)

    def invoice_statuses(self) -> list[Record]:
        return self._all("severa:invoicestatuses", self.severa.list_invoice_statuses)

    def currencies(self) -> list[Record]:
        return self._all("severa:currencies", self.severa.list_currencies)
