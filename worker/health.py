"""What a person responsible for the service needs to know about each connection.

One reading of Redis per connection — its state, settings, the last run and the last
successful run of every transfer, stuck runs, the error list — shared by the Prometheus
metrics (:mod:`worker.metrics`), ``doctor`` and the alerts, so the three never disagree
about what "failed" or "stuck" means. Read-only: looking never changes a run.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import redis

from config import company
from worker.connection_status import get_status
from worker.keys import run_key
from worker.registry import REGISTERS
from worker.sync.errorlist import ErrorList
from worker.sync.locks import RunLock
from worker.sync.runs import ACTIVE, FINISHED, HISTORY, RunReport, Runs
from worker.sync.runstate import LOCK_TTL

ACTIVE_STATE = "active"
NEEDS_AUTHORIZATION = "needs_authorization"
#: No transfer can start: the settings every transfer needs are missing or unreadable.
PAUSED = "paused"
STATES = (ACTIVE_STATE, NEEDS_AUTHORIZATION, PAUSED)

#: An active run that made no progress for this long is stuck: far longer than a lost
#: message takes to be resent (visibility timeout + retry back-off, see
#: ``service.stalled_runs``), so something the stall check cannot mend holds it.
STUCK_AFTER = LOCK_TTL


@dataclass(frozen=True)
class TransferHealth:
    transfer: str
    #: Seconds between scheduled runs (0: unknown, the settings cannot be read).
    interval: float
    #: Settings the transfer needs that are not set.
    missing: tuple[str, ...]
    last: RunReport | None
    last_success: RunReport | None
    stuck: bool

    def overdue(self, now: float) -> bool:
        """No successful run within twice the interval (one run may be under way)."""
        if self.missing or not self.interval:
            return False
        since = self.last_success.started_at if self.last_success else 0.0
        return now - since > 2 * self.interval + 60


@dataclass(frozen=True)
class ConnectionHealth:
    connection_id: str
    state: str
    reason: str
    settings_problem: str
    errors: Counter[str] = field(default_factory=Counter)
    transfers: tuple[TransferHealth, ...] = ()

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def _stuck(client: redis.Redis, connection_id: str, report: RunReport | None, now: float) -> bool:
    if report is None or report.status not in ACTIVE:
        return False
    holder = RunLock(client, connection_id, report.transfer, LOCK_TTL).holder()
    if holder != report.run_id:
        return True  # it says running, but its lock expired or another run holds it
    progress = client.hget(run_key(connection_id, report.run_id), "progress_at")
    last_move = max(report.started_at, float(progress or 0))
    return now - last_move > STUCK_AFTER


def _last_and_success(runs: Runs, transfer: str) -> tuple[RunReport | None, RunReport | None]:
    """The transfer's last run and last successful one: the recent history first, the
    whole kept history only when no success is among the recent runs (a few reads per
    scrape, not fifty)."""
    for limit in (10, HISTORY):
        history = runs.transfers(transfer, limit)
        success = next((r for r in history if r.status == FINISHED), None)
        if success is not None:
            break
    return (history[0] if history else None), success


def connection_health(
    client: redis.Redis, connection_id: str, now: float | None = None
) -> ConnectionHealth:
    """Everything above for one connection, read now."""
    now = time.time() if now is None else now
    status = get_status(client, connection_id)
    try:
        values = company.load(client, connection_id)
        problem = ""
    except company.SettingsUnreadable as exc:
        values, problem = {}, str(exc)
    runs = Runs(client, connection_id)
    transfers = []
    for register in REGISTERS:
        spec = register.spec
        missing = tuple(company.missing_for(values, spec.requires)) if values else spec.requires
        last, success = _last_and_success(runs, spec.name)
        minutes = values.get(spec.interval_setting) if values else None
        transfers.append(TransferHealth(
            spec.name, 60.0 * float(minutes or 0), tuple(missing), last, success,
            _stuck(client, connection_id, last, now),
        ))  # fmt: skip
    # Counted from the entries' ids ("register|direction|key"): no entry is decoded.
    ids = client.hkeys(ErrorList(client, connection_id).entries_key)
    errors = Counter(str(i).partition("|")[0] for i in ids)
    if not status.ok:
        state = NEEDS_AUTHORIZATION
    elif problem or all(t.missing for t in transfers):
        state = PAUSED
    else:
        state = ACTIVE_STATE
    return ConnectionHealth(connection_id, state, status.reason, problem, errors, tuple(transfers))
