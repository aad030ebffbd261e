"""What one operation works with: the company, the rules and the time.

Resource modules are plain functions of a :class:`Ctx` rather than methods of the app,
so each can be read (and tested through the API) on its own; the app builds the context
from the caller's token, the back office from ``?company=``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sandbox.core.clock import Clock
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.switches import EEkonomiSwitches
from sandbox.eekonomi.wire import iso


def random_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Ctx:
    """One API call (or back-office action) on one company."""

    company: Company
    switches: EEkonomiSwitches
    clock: Clock
    new_id: Callable[[], str] = random_id
    client_id: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)

    def now(self) -> datetime:
        return self.clock.now()

    def now_iso(self) -> str:
        return iso(self.clock.now())

    def today(self) -> date:
        return self.clock.today()
