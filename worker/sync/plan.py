"""The dry run (``python -m worker plan``, issue 19): what a transfer would do now.

A plan must be *exactly* what the next transfer does, so it is the transfer: the same
engine (:func:`~worker.sync.engine.start_run`, :func:`~worker.sync.engine.settle_record`)
and the same synchronizers, with two things changed:

* **State in a shadow.** The connection's Redis state (bindings, key indexes,
  watermarks, pending marks, error list, settings) is copied under a one-off
  connection id (``<id>-plan-<hex>``) and the run works on the copy, which is deleted
  afterwards: the real bindings, watermarks and error list never change. The
  connection's tokens are not copied; the API clients stay the real connection's.
* **Writes held back.** The clients' three write primitives (Severa ``_post`` and
  ``_patch``, eEkonomi ``_write``) are replaced, on copies of the clients, by ones
  that record the write and answer what the vendor would (the body with a new id, the
  current record with the changes) — after one GET of the current record for an
  update, so that each changed field is shown old → new. Nothing else is sent but
  reads (and token requests).

What the vendors would answer to a write is the limit of the method: a record that
fails only after its held-back writes (on what the simulated answer lacks — a country's
name on a new Severa address, say) is planned as its writes (create or update), and a
write the vendor would refuse cannot be foreseen. Every decision the synchronizer makes
on what it read is the real one.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import redis
import requests

from worker.clients.factory import Clients
from worker.errors import TransientError
from worker.keys import PREFIX
from worker.sync.engine import Register, Staged, SyncContext, settle_record, start_run
from worker.sync.runstate import RunState

__all__ = ["PLAN_ACTIONS", "Plan", "PlannedRecord", "plan_register", "shadow_state"]

#: Run-report counter → the plan's word for it.
PLAN_ACTIONS = {
    "created": "create",
    "updated": "update",
    "unchanged": "unchanged",
    "failed": "fail",
    "skipped": "skip",
}
#: Keys of a connection a shadow does without: its tokens (the clients keep the real
#: connection's) and the record history (a key per record, which a transfer only adds to).
NOT_COPIED = ("tokens", "history")
#: A shadow lives at most this long if its plan dies before deleting it (seconds).
SHADOW_TTL = 3600


@dataclass
class PlannedRecord:
    """One record of a plan: what its transfer would do, and each write it would send."""

    key: str
    action: str
    number: str = ""
    name: str = ""
    reason: str = ""
    writes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "action": self.action}
        if self.number or self.name:
            out.update(number=self.number, name=self.name)
        if self.reason:
            out["reason"] = self.reason
        if self.writes:
            out["writes"] = self.writes
        return out


@dataclass
class Plan:
    """A register's plan: the counts a run report would show, and the records."""

    register: str
    records: list[PlannedRecord] = field(default_factory=list)
    message: str = ""

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(PLAN_ACTIONS.values(), 0)
        for record in self.records:
            counts[record.action] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.counts(), "records": [r.as_dict() for r in self.records]}
        if self.message:
            out["message"] = self.message
        return out


# -- writes held back ---------------------------------------------------------------------


class HeldWrites:
    """Records the writes of the record being planned; answers them as the vendor would."""

    def __init__(self) -> None:
        self.current: list[dict[str, Any]] = []
        #: What held-back creates made: by path posted to, and by their planned id.
        self.posted: dict[str, list[dict[str, Any]]] = {}
        self.made: dict[str, dict[str, Any]] = {}

    def start(self) -> list[dict[str, Any]]:
        self.current = []
        return self.current

    def clients(self, clients: Clients) -> Clients:
        """Copies of ``clients`` whose writes are held back here."""
        severa, eekonomi = copy.copy(clients.severa), copy.copy(clients.eekonomi)
        find_severa, find_eekonomi = severa._find, eekonomi._find  # noqa: SLF001

        def severa_post(path: str, body: Mapping[str, Any]) -> dict[str, Any]:
            self._note("severa", "POST", path, new=dict(body))
            return self._made(path, {**body, "guid": f"plan-{uuid.uuid4()}"}, "guid")

        def severa_patch(path: str, changes: Mapping[str, Any]) -> dict[str, Any]:
            current = find_severa(path) or {}
            after = copy.deepcopy(current)
            fields = {}
            for pointer, value in changes.items():
                fields[pointer.strip("/")] = [_at(current, pointer), value]
                _put(after, pointer, value)
            self._note("severa", "PATCH", path, fields=fields)
            return after

        def eekonomi_write(method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
            if method == "POST":
                self._note("eekonomi", method, path, new=dict(body or {}))
                return self._made(path, {**(body or {}), "Id": f"plan-{uuid.uuid4()}"}, "Id")
            current = (find_eekonomi(path) or {}) if method == "PUT" else {}
            changed = {
                k: [current.get(k), v] for k, v in (body or {}).items() if current.get(k) != v
            }
            self._note("eekonomi", method, path, fields=changed)
            return {**current, **(body or {})}

        _answer_planned_ids(severa, self, lambda items: items)
        _answer_planned_ids(eekonomi, self, _eekonomi_page)
        severa._post = severa_post  # type: ignore[method-assign]  # noqa: SLF001
        severa._patch = severa_patch  # type: ignore[method-assign]  # noqa: SLF001
        eekonomi._write = eekonomi_write  # type: ignore[method-assign]  # noqa: SLF001
        return replace(clients, severa=severa, eekonomi=eekonomi)

    def _made(self, path: str, record: dict[str, Any], id_field: str) -> dict[str, Any]:
        self.posted.setdefault(path.rstrip("/"), []).append(record)
        self.made[str(record[id_field])] = record
        return record

    def _note(self, side: str, method: str, path: str, **what: Any) -> None:
        self.current.append({"side": side, "method": method, "path": path, **what})


def _eekonomi_page(items: list[dict[str, Any]]) -> dict[str, Any]:
    meta = {"CurrentPage": 1, "PageSize": max(len(items), 1), "TotalNumberOfPages": 1,
            "TotalNumberOfResults": len(items)}  # fmt: skip
    return {"Meta": meta, "Data": items}


def _answer_planned_ids(
    client: Any, held: HeldWrites, page: Callable[[list[dict[str, Any]]], Any]
) -> None:
    """A read that names a record only planned (its id is ``plan-…``) is answered here,
    as the vendor would answer it after the held-back creates: the record itself, and
    a list of what was posted to that path."""
    transport = client.transport = copy.copy(client.transport)
    attempt = transport._attempt  # noqa: SLF001

    def answered(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        parts = path.rstrip("/").split("/")
        if not any(part.startswith("plan-") for part in parts):
            return attempt(method, path, *args, **kwargs)
        response = requests.Response()
        response.url = transport.url(path)
        response.headers["Content-Type"] = "application/json"
        if parts[-1].startswith("plan-"):
            record = held.made.get(parts[-1])
            response.status_code = 404 if record is None else 200
            response._content = json.dumps(record or {}, default=str).encode()  # noqa: SLF001
            return response if record is not None else transport.failure_of(response)
        items = held.posted.get(path.rstrip("/"), [])
        response.status_code = 200
        response._content = json.dumps(page(items), default=str).encode()  # noqa: SLF001
        return response

    transport._attempt = answered  # noqa: SLF001


def _at(record: Mapping[str, Any], pointer: str) -> Any:
    value: Any = record
    for part in pointer.strip("/").split("/"):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _put(record: dict[str, Any], pointer: str, value: Any) -> None:
    *parents, last = pointer.strip("/").split("/")
    for part in parents:
        child = record.get(part)
        record[part] = child = child if isinstance(child, dict) else {}
        record = child
    record[last] = value


# -- state in a shadow ----------------------------------------------------------------------


def _namespace(connection_id: str) -> str:
    return f"{PREFIX}:conn:{connection_id}:"


@contextmanager
def shadow_state(client: redis.Redis, connection_id: str) -> Iterator[str]:
    """A copy of the connection's state under a one-off connection id, deleted on exit.

    Tokens are not copied (the clients keep using the real connection's). A marker key
    with a TTL says the shadow is in use; shadows whose marker expired (their plan
    died) are deleted by the next plan.
    """
    _sweep_dead_shadows(client, connection_id)
    shadow = f"{connection_id[:45]}-plan-{uuid.uuid4().hex[:12]}"
    source, target = _namespace(connection_id), _namespace(shadow)
    client.set(f"{target}plan", "1", ex=SHADOW_TTL)
    try:
        _copy_namespace(_binary(client), source, target)
        yield shadow
    finally:
        _delete_namespace(client, target)


def _binary(client: redis.Redis) -> redis.Redis:
    """A client on the same server that does not decode answers (DUMP is binary)."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return redis.Redis(connection_pool=redis.ConnectionPool(pool.connection_class, **kwargs))


def _copy_namespace(raw: redis.Redis, source: str, target: str) -> None:
    """DUMP/RESTORE every key of ``source`` a transfer reads under ``target``, TTLs kept."""
    names = [
        name
        for name in raw.scan_iter(match=f"{source}*".encode(), count=1000)
        if not name.decode().removeprefix(source).startswith(NOT_COPIED)
    ]
    for start in range(0, len(names), 200):
        chunk = names[start : start + 200]
        pipe = raw.pipeline(transaction=False)
        for name in chunk:
            pipe.dump(name)
            pipe.pttl(name)
        answers = pipe.execute()
        pipe = raw.pipeline(transaction=False)
        for name, dumped, ttl in zip(chunk, answers[::2], answers[1::2], strict=True):
            if dumped is not None:
                restored = target.encode() + name[len(source) :]
                pipe.restore(restored, max(int(ttl), 0), dumped, replace=True)
        pipe.execute()
    raw.close()


def _sweep_dead_shadows(client: redis.Redis, connection_id: str) -> None:
    prefix = f"{PREFIX}:conn:{connection_id[:45]}-plan-"
    seen: set[str] = set()
    for raw in client.scan_iter(match=f"{prefix}*", count=1000):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        seen.add(name[: name.index(":", len(prefix)) + 1])
    for namespace in seen:
        if not client.exists(f"{namespace}plan"):
            _delete_namespace(client, namespace)


def _delete_namespace(client: redis.Redis, namespace: str) -> None:
    batch: list[Any] = []
    for raw in client.scan_iter(match=f"{namespace}*", count=1000):
        batch.append(raw)
        if len(batch) >= 500:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)


# -- the plan ---------------------------------------------------------------------------------


def plan_register(ctx: SyncContext, register: Register) -> Plan:
    """What ``register``'s transfer would do now on ``ctx``'s connection (see the module
    docstring). Raises :class:`~worker.sync.engine.RunRefused` like a run would."""
    held = HeldWrites()
    plan = Plan(register.name)
    with shadow_state(ctx.redis, ctx.connection_id) as shadow:
        shadow_ctx = SyncContext(shadow, ctx.settings, ctx.redis, held.clients(ctx.clients))
        run_id = f"plan-{uuid.uuid4().hex}"
        settle = _settler(shadow_ctx, register, run_id, held, plan)
        report = start_run(shadow_ctx, register, run_id, settle, stream=False)
        plan.message = report.message
    return plan


def _settler(
    ctx: SyncContext, register: Register, run_id: str, held: HeldWrites, plan: Plan
) -> Callable[[list[str]], None]:
    run = RunState(ctx.redis, ctx.connection_id, run_id, register.name)

    def settle_all(batch: list[str]) -> None:
        for natural_key in batch:
            loaded, _ = run.load(natural_key)
            writes = held.start()
            try:
                outcome, _ = settle_record(ctx, register, run_id, natural_key)
                action, reason = PLAN_ACTIONS.get(outcome.counter, outcome.counter), ""
                if action == "fail":
                    reason = outcome.detail
                if action == "fail" and writes:
                    # It failed on what the held-back writes would have answered: the
                    # writes are the plan, the vendor's answer cannot be foreseen.
                    posted = any(w["method"] == "POST" for w in writes)
                    action, reason = ("create" if posted else "update"), ""
            except TransientError as exc:  # the real run would retry it later
                action, reason = "fail", f"would be retried: {exc}"
            number, name = _label(register, natural_key, Staged(**loaded))
            plan.records.append(PlannedRecord(natural_key, action, number, name, reason, writes))

    return settle_all


def _label(register: Register, natural_key: str, staged: Staged) -> tuple[str, str]:
    try:
        ref = register.describe(natural_key, staged)
    except Exception:  # noqa: BLE001 - a label is decoration; the key names the record
        return natural_key, ""
    return ref.number or natural_key, ref.name
