"""Reference data cached per connection with a short expiry.

Units, account codings, terms of payment, VAT rates, invoice statuses and cost centers
change rarely but are consulted for nearly every record; re-reading them per record
would multiply requests (and rate-limit waits). They are cached in Redis — shared by
all worker processes — for ``REFERENCE_DATA_TTL`` seconds. Writes the sync makes to
cached data (a new cost-center item) call :meth:`ReferenceCache.forget`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from worker.clients.eekonomi import EEkonomiClient
from worker.clients.paging import Record
from worker.clients.severa import SeveraClient
from worker.keys import key


class ReferenceCache:
    def __init__(self, client: redis.Redis, *, connection_id: str, ttl: int) -> None:
        self.client = client
        self.connection_id = connection_id
        self.ttl = ttl
        #: Values read inside :meth:`scope`, kept in this process until it ends.
        self._held: dict[str, Any] | None = None

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
        outer = self._held
        self._held = {} if outer is None else outer
        try:
            yield
        finally:
            self._held = outer

    def get(self, name: str, load: Callable[[], Any]) -> Any:
        if self._held is not None and name in self._held:
            return self._held[name]
        value = self._read(name, load)
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
        if names:
            self.client.delete(*(self._key(n) for n in names))


class ReferenceData:
    """The reference registers of both sides, read through the cache."""

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
        return self._all("eekonomi:units", self.eekonomi.list_units)

    def article_account_codings(self) -> list[Record]:
        return self._all("eekonomi:codings", self.eekonomi.list_article_account_codings)

    def terms_of_payments(self) -> list[Record]:
        return self._all("eekonomi:terms", self.eekonomi.list_terms_of_payments)

    def cost_centers(self) -> list[Record]:
        return self._all("eekonomi:costcenters", self.eekonomi.list_cost_centers)

    def company_settings(self) -> Record:
        result: Record = self.cache.get("eekonomi:company", self.eekonomi.get_company_settings)
        return result

    # Severa
    def vat_rates(self) -> list[Record]:
        return self._all("severa:vatrates", self.severa.list_vat_rates)

    def invoice_statuses(self) -> list[Record]:
        return self._all("severa:invoicestatuses", self.severa.list_invoice_statuses)

    def currencies(self) -> list[Record]:
        return self._all("severa:currencies", self.severa.list_currencies)
