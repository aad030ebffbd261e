"""``doctor``'s checks of each connection: what needs a person, and what to do about it.

The process checks (settings, Redis, workers) say whether the service runs; these say
whether it *works* for each connection: both APIs accept its credentials (a 401 is a
failure, not "the host answers"), its settings are complete, each transfer succeeded
within its interval, no run is stuck, and what the error list holds. They read the
same facts as the metrics (:mod:`worker.health`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from typing import Any

import redis

from worker.doctor import FAIL, OK, WARN, Check
from worker.health import NEEDS_AUTHORIZATION, ConnectionHealth, TransferHealth, connection_health

CLI = "severa-sync"


def connection_checks(
    client: redis.Redis,
    connections: list[str],
    down: set[str] = frozenset(),  # type: ignore[assignment]
) -> Iterator[Check]:
    """Every check of every connection, in that order; the APIs in ``down`` (``severa``,
    ``eekonomi``: their host did not answer) are not asked for each connection."""
    now = time.time()
    for connection_id in connections:
        try:
            health = connection_health(client, connection_id, now)
        except redis.RedisError as exc:
            yield Check(FAIL, "connection", f"{connection_id}: cannot be read ({exc})")
            continue
        yield from _authorization(health, down)
        yield from _settings(health)
        for transfer in health.transfers:
            yield from _transfer(connection_id, transfer, now)
        yield _error_list(health)


def _authorization(health: ConnectionHealth, down: Collection[str]) -> Iterator[Check]:
    cid = health.connection_id
    if health.state == NEEDS_AUTHORIZATION:
        yield Check(FAIL, "auth", f"{cid}: needs re-authorization ({health.reason}) → run "
                    f"`{CLI} connect --connection {cid}`")  # fmt: skip
        return
    for name, call in _api_calls(cid):
        if name.lower() in down:
            yield Check(WARN, "auth", f"{cid}: {name} not asked: its host does not answer")
            continue
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - every failure is the check's answer
            yield Check(FAIL, "auth", f"{cid}: {name} does not accept the connection: {exc}"
                        + _auth_hint(name, cid))  # fmt: skip
            continue
        yield Check(OK, "auth", f"{cid}: {name} accepts the connection's credentials")


def _auth_hint(api: str, connection_id: str) -> str:
    if api == "eEkonomi":
        return f" → run `{CLI} connect --connection {connection_id}`"
    return " → check SEVERA_CLIENT_ID / SEVERA_CLIENT_SECRET and the API user's rights"


def _api_calls(connection_id: str) -> list[tuple[str, Callable[[], Any]]]:
    """One authenticated read per API (the cheapest the clients have)."""
    from worker.sync.service import plain_context  # noqa: PLC0415 - builds the clients

    clients = plain_context(connection_id).clients
    return [
        ("Severa", lambda: next(iter(clients.severa.list_invoice_statuses()), None)),
        ("eEkonomi", clients.eekonomi.get_company_settings),
    ]


def _settings(health: ConnectionHealth) -> Iterator[Check]:
    cid = health.connection_id
    if health.settings_problem:
        yield Check(FAIL, "settings", f"{cid}: {health.settings_problem}")
        return
    missing = sorted({name for t in health.transfers for name in t.missing})
    if not missing:
        yield Check(OK, "settings", f"{cid}: every transfer has its settings")
        return
    waiting = ", ".join(t.transfer for t in health.transfers if t.missing)
    yield Check(FAIL, "settings", f"{cid}: {', '.join(missing)} not set, so {waiting} cannot "
                f"run → `{CLI} settings choices` lists the values, `{CLI} settings set "
                f"NAME=VALUE --connection {cid}` sets one")  # fmt: skip


def _transfer(connection_id: str, transfer: TransferHealth, now: float) -> Iterator[Check]:
    where = f"{connection_id} {transfer.transfer}"
    run = f"`{CLI} run {transfer.transfer} --connection {connection_id}`"
    if transfer.missing:
        return  # said once by the settings check
    last = transfer.last
    if transfer.stuck and last is not None:
        yield Check(FAIL, "transfer", f"{where}: run {last.run_id} makes no progress → check "
                    "the worker log; its lock expires after 30 minutes and the next run "
                    "starts over")  # fmt: skip
    if last is not None and last.status == "failed":
        yield Check(FAIL, "transfer", f"{where}: last run failed: {last.message} → fix "
                    f"that, then {run}")  # fmt: skip
    success = transfer.last_success
    if success is None:
        yield Check(WARN, "transfer", f"{where}: no successful run yet → is beat running? "
                    f"{run} starts one")  # fmt: skip
        return
    age = (now - success.started_at) / 60
    if transfer.overdue(now):
        yield Check(FAIL, "transfer", f"{where}: last successful run {age:.0f} min ago, every "
                    f"{transfer.interval / 60:.0f} min expected → `{CLI} status` shows why; "
                    "are the worker and beat running?")  # fmt: skip
    elif last is None or last.status != "failed":
        yield Check(OK, "transfer", f"{where}: last successful run {age:.0f} min ago")


def _error_list(health: ConnectionHealth) -> Check:
    cid = health.connection_id
    count = health.error_count
    if not count:
        return Check(OK, "errors", f"{cid}: the error list is empty")
    by = ", ".join(f"{n} {r}" for r, n in health.errors.most_common())
    return Check(WARN, "errors", f"{cid}: {count} record(s) in the error list ({by}) → "
                 f"`{CLI} errors --connection {cid}` says what to fix in each")  # fmt: skip
