"""Fault injection: the next N matching requests misbehave in a chosen way.

The failures that hurt a sync client are rare against the real services and cannot be
provoked there: a 503 burst, a time-out, a connection cut before the write, and — worst
— a connection cut *after* the write (the client cannot tell whether the record exists).
The back office arms them here (``POST /_sandbox/faults``) so tests can pin the client's
answer to each.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.http import JSON, Request

FAULT_ACTIONS = ("status", "delay", "drop", "write_then_drop")


@dataclass
class Fault:
    """One armed fault: the next ``times`` requests matching ``method``/``path`` misbehave.

    ``action`` is one of:
      * ``status`` — answer ``status`` with ``body`` (JSON) without doing the work;
      * ``delay`` — sleep ``delay`` seconds, then handle normally (client time-outs);
      * ``drop`` — close the connection before doing any work;
      * ``write_then_drop`` — do the work (the write happens), then close the connection
        without answering: the *ambiguous* failure.
    ``path`` is a glob on the request path (``/v1/customers*``). ``tenant`` (set by a
    multi-company sandbox from ``?company=``) limits the fault to that tenant's requests.
    ``probability`` below 1 lets a matching request pass untouched that often (the fault
    is not used up by it): a chaos run arms "1 in 30 creates, at most 5" once rather than
    timing each fault. ``label`` names the fault in the fired counts (default: action,
    method and path), which ``GET /_sandbox/faults/fired`` returns.
    """

    path: str
    times: int = 1
    method: str | None = None
    action: str = "status"
    status: int = 503
    body: JSON = None
    delay: float = 0.0
    headers: list[tuple[str, str]] = field(default_factory=list)
    tenant: str | None = None
    probability: float = 1.0
    label: str = ""

    @property
    def name(self) -> str:
        """How the fired counts call this fault."""
        return self.label or f"{self.action} {self.method or '*'} {self.path}"

    def matches(self, request: Request, tenant: str | None = None) -> bool:
        if self.method and self.method.upper() != request.method.upper():
            return False
        if self.tenant is not None and self.tenant != tenant:
            return False
        return fnmatch.fnmatchcase(request.path.lower(), self.path.lower())

    @classmethod
    def from_json(cls, item: dict[str, Any], tenant: str | None = None) -> Fault:
        """A fault from the back office's JSON; ``TypeError``/``ValueError`` when bad."""
        values = dict(item)
        headers = [(str(k), str(v)) for k, v in values.pop("headers", [])]
        values.setdefault("tenant", tenant)
        fault = cls(**values, headers=headers)
        if fault.action not in FAULT_ACTIONS:
            raise ValueError(f"fault action must be one of {FAULT_ACTIONS}")
        if not 0.0 <= float(fault.probability) <= 1.0:
            raise ValueError("fault probability must be between 0 and 1")
        return fault


class Faults(list[Fault]):
    """The armed faults of one app, in arming order (a list, so tests can look at it);
    the app's lock-taking methods below are what the request path uses."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        #: How often each fault has fired, by :attr:`Fault.name` (kept after it is used
        #: up or disarmed, so a run can read what actually happened).
        self.fired: Counter[str] = Counter()
        self._random = random.Random()

    def arm(self, fault: Fault) -> None:
        if fault.action not in FAULT_ACTIONS:
            raise ValueError(f"fault action must be one of {FAULT_ACTIONS}")
        with self.lock:
            self.append(fault)

    def take(self, request: Request, tenant: str | None = None) -> Fault | None:
        """The first armed fault matching ``request`` (used up by one), or ``None``."""
        with self.lock:
            for fault in self:
                if fault.times > 0 and fault.matches(request, tenant):
                    if fault.probability < 1.0 and self._random.random() >= fault.probability:
                        continue
                    fault.times -= 1
                    self.fired[fault.name] += 1
                    if fault.times == 0:
                        self.remove(fault)
                    return fault
        return None

    def listing(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """The armed faults as JSON; with ``tenant``, only those limited to it."""
        with self.lock:
            return [dict(f.__dict__) for f in self if tenant is None or f.tenant == tenant]

    def fired_counts(self, reset: bool = False) -> dict[str, int]:
        """How often each fault fired since the last reset (``reset``: start again)."""
        with self.lock:
            counts = dict(self.fired)
            if reset:
                self.fired.clear()
            return counts

    def disarm(self, tenant: str | None = None) -> None:
        """Disarm every fault, or with ``tenant`` only those limited to it."""
        with self.lock:
            self[:] = [f for f in self if tenant is not None and f.tenant != tenant]
