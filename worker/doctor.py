"""``doctor``: one line per check, each failing line saying what to fix.

The checks run in dependency order (settings → Redis → workers → APIs) and a failed
check does not hide the others, so one run shows everything that needs fixing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis
import requests

from config import Settings, SettingsError, load_settings
from config.redact import mask_url, redact
from worker.embedded_redis_url import NoRedisConfigured, resolve_redis_url
from worker.liveness import last_heartbeat

OK, WARN, FAIL = "OK", "WARN", "FAIL"


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    detail: str

    def line(self) -> str:
        """The printed line; any password in a URL of the detail (an exception text may
        quote one) is masked."""
        return redact(f"[{self.status:^4}] {self.name:<10} {self.detail}")


def run_checks(
    load: Callable[[], Settings] = load_settings, timeout: float = 3.0
) -> Iterator[Check]:
    try:
        settings = load()
    except SettingsError as exc:
        for name, problem in sorted(exc.problems.items()):
            yield Check(FAIL, "settings", f"{name}: {problem}")
        return
    mode = "demo mode (local sandboxes)" if settings.demo else "real Visma APIs"
    yield Check(OK, "settings", f"valid; {mode}; connections: {', '.join(settings.connections)}")

    client = None
    try:
        url = resolve_redis_url(settings)
    except NoRedisConfigured as exc:
        yield Check(FAIL, "redis", str(exc))
    else:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, decode_responses=True
        )
        yield from _check_redis(client, url)

    if client is not None:
        yield from _check_workers(settings, client, timeout)

    apis = (
        _check_http("severa", settings.severa_base_url + "/v1/invoicestatuses", settings, timeout),
        _check_http("eekonomi", settings.eekonomi_api_url + "/companysettings", settings, timeout),
    )
    yield from apis
    down = {check.name for check in apis if check.status == FAIL}
    if client is not None:
        yield from _check_connections(settings, client, down)


def _check_connections(settings: Settings, client: redis.Redis, down: set[str]) -> Iterator[Check]:
    """Per connection: authorized, settings, transfers, error list (doctor_connections)."""
    from worker.doctor_connections import connection_checks  # noqa: PLC0415
    from worker.keys import CONNECTIONS_KEY  # noqa: PLC0415

    try:
        registered = sorted(str(c) for c in client.smembers(CONNECTIONS_KEY))
    except redis.RedisError:
        return  # the Redis check has said so
    ids = list(dict.fromkeys([*settings.connections, *registered]))
    yield from connection_checks(client, ids, down)


def _check_redis(client: redis.Redis, url: str) -> Iterator[Check]:
    try:
        info = client.info()
    except redis.RedisError as exc:
        yield Check(
            FAIL,
            "redis",
            f"{mask_url(url)} does not answer ({exc}) → start Redis there, "
            "or unset REDIS_URL to use the embedded one via `python -m worker serve`",
        )
        return
    policy = str(info.get("maxmemory_policy", "?"))
    detail = f"{mask_url(url)} answers (Redis {info.get('redis_version')}, policy {policy})"
    if policy != "noeviction":
        yield Check(
            WARN,
            "redis",
            detail + " → set maxmemory-policy noeviction: evicted "
            "broker keys or locks break Celery",
        )
    else:
        yield Check(OK, "redis", detail)


def _check_workers(settings: Settings, client: redis.Redis, timeout: float) -> Iterator[Check]:
    from worker import app  # noqa: PLC0415 - importing Celery only once Redis is known good

    try:
        replies = app.control.inspect(timeout=timeout).ping() or {}
    except Exception as exc:  # noqa: BLE001 - any broker failure is reported, not raised
        yield Check(FAIL, "workers", f"cannot ask workers ({exc})")
        return
    if replies:
        yield Check(OK, "workers", f"{len(replies)} online: {', '.join(sorted(replies))}")
    else:
        yield Check(WARN, "workers", "none online → start the service: `python -m worker serve`")
    yield from check_beat(settings, client)


#: Connections whose beat heartbeat is shown one line each; beyond, one summary line.
BEAT_LINES = 10


def check_beat(
    settings: Settings, client: redis.Redis, now: float | None = None
) -> Iterator[Check]:
    """Beat's heartbeat per connection served — the ``CONNECTIONS`` ids and every one in
    the registry, as beat's heartbeat tick sends one to each. A late one means beat (or
    the worker that runs the heartbeat) stopped. Up to :data:`BEAT_LINES` connections
    get a line each; with more, the late ones are named and the rest summed up, so a
    deployment of a thousand firms does not print a thousand lines."""
    from worker.connections import registry  # noqa: PLC0415 - needs Redis known good

    try:
        ids = list(dict.fromkeys([*settings.connections, *registry(client).ids()]))
        beats = {connection_id: last_heartbeat(client, connection_id) for connection_id in ids}
    except redis.RedisError as exc:
        yield Check(WARN, "beat", f"cannot read the heartbeats ({exc})")
        return
    now = time.time() if now is None else now
    limit = 3 * settings.heartbeat_interval
    late = {c: at for c, at in beats.items() if at is None or now - at > limit}
    shown = beats if len(beats) <= BEAT_LINES else late
    for connection_id, at in list(shown.items())[:BEAT_LINES]:
        if at is None:
            yield Check(WARN, "beat", f"{connection_id}: no heartbeat yet → is beat running?")
        elif connection_id in late:
            detail = f"last heartbeat {now - at:.0f}s ago → beat or the worker stopped"
            yield Check(WARN, "beat", f"{connection_id}: {detail}")
        else:
            yield Check(OK, "beat", f"{connection_id}: last heartbeat {now - at:.0f}s ago")
    if len(beats) > BEAT_LINES:
        more = max(0, len(late) - BEAT_LINES)
        tail = f" ({more} more late not shown)" if more else ""
        status = WARN if late else OK
        yield Check(status, "beat", f"{len(beats) - len(late)} of {len(beats)} connections "
                                    f"with a heartbeat in the last {limit:.0f}s{tail}")  # fmt: skip


def _check_http(name: str, url: str, settings: Settings, timeout: float) -> Check:
    """Reachability only: the host answers (without a token, with 401). Whether it
    accepts a connection's credentials is checked per connection (``auth`` lines)."""
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        hint = (
            "→ start the sandboxes (`python -m worker serve` does in demo mode)"
            if settings.demo
            else f"→ check {name.upper()} base URL settings and the network"
        )
        return Check(FAIL, name, f"{url} unreachable ({type(exc).__name__}) {hint}")
    if response.status_code >= 500:
        return Check(FAIL, name, f"{url} answers HTTP {response.status_code} → the API is down; "
                     "transfers retry by themselves")  # fmt: skip
    return Check(OK, name, f"{url} reachable (credentials: see the auth lines)")
