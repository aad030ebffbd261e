"""The connection registry (issue 16): `connections add|list|show|pause|resume|remove`
against the real Redis, through the command line as an operator uses it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result

from worker.cli import main
from worker.keys import CONNECTIONS_KEY, key, shared_key

SECRET = "s3cret-" + uuid.uuid4().hex


@pytest.fixture
def env(celery_app: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's process settings: the test Redis, fresh caches."""
    from config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def cli(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def _fresh() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def _listed(connection_id: str) -> dict[str, Any]:
    result = cli("connections", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.output)}
    return rows[connection_id]


def test_add_reads_the_secret_from_stdin_and_stores_it_sealed(
    env: None, redis_client: redis.Redis
) -> None:
    connection_id = _fresh()
    result = cli(
        "connections", "add", connection_id, "--severa-url", "https://severa.example/rest-api",
        "--severa-client-id", "firm-a", stdin=SECRET + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    stored = redis_client.hgetall(key(connection_id, "registry"))
    assert stored["severa_client_id"] == "firm-a"
    assert SECRET not in json.dumps(stored)  # encrypted at rest
    row = _listed(connection_id)
    assert row["state"] == "needs authorization"  # no eEkonomi consent yet
    assert row["credentials"] == "registry"
    assert set(row["transfers"]) >= {"customers", "invoices"}
    assert SECRET not in cli("connections", "list", "--json").output
    from worker.connections import registry

    assert registry().credentials(connection_id).client_secret == SECRET
    again = cli("connections", "add", connection_id, "--severa-client-id", "x", stdin="y\n")
    assert again.exit_code == 1
    assert "--replace" in again.output


def test_add_without_a_secret_refuses(env: None) -> None:
    result = cli("connections", "add", _fresh(), "--severa-client-id", "firm", stdin="")
    assert result.exit_code == 1
    assert "no Severa client secret" in result.output


def test_pause_and_resume_change_what_beat_schedules(env: None) -> None:
    from worker.connections import registry

    connection_id = _fresh()
    assert cli("connections", "add", connection_id, "--shared-severa").exit_code == 0
    assert connection_id in registry().active_ids()
    assert "paused" in cli("connections", "pause", connection_id).output
    assert _listed(connection_id)["state"] == "paused"
    assert connection_id not in registry().active_ids()
    assert connection_id in registry().ids()
    cli("connections", "resume", connection_id)
    assert connection_id in registry().active_ids()
    shown = cli("connections", "show", connection_id)
    assert shown.exit_code == 0
    assert connection_id in shown.output


def test_remove_deletes_every_key_of_the_connection_and_nothing_else(
    env: None, redis_client: redis.Redis
) -> None:
    gone, kept = _fresh(), _fresh()
    near = gone + "-2"  # an id that starts with the removed one
    for connection_id in (gone, kept, near):
        cli("connections", "add", connection_id, "--shared-severa")
        redis_client.set(key(connection_id, "tokens", "eekonomi"), "sealed")
        redis_client.hset(key(connection_id, "watermarks", "customers"), "severa", "1")
        redis_client.sadd(key(connection_id, "run", "r1", "keys"), "10")
    bucket = shared_key("ratelimit", "severa", "t-" + gone, "client")
    redis_client.hset(bucket, "tokens", "1")
    before = {c: sorted(redis_client.scan_iter(match=key(c, "*"))) for c in (kept, near)}

    refused = cli("connections", "remove", gone)  # not a terminal: must say --yes
    assert refused.exit_code == 1
    assert "--yes" in refused.output
    result = cli("connections", "remove", gone, "--yes")

    assert result.exit_code == 0, result.output
    assert "4 key(s) deleted" in result.output  # registry, tokens, watermarks, run keys
    assert list(redis_client.scan_iter(match=key(gone, "*"))) == []
    assert not redis_client.sismember(CONNECTIONS_KEY, gone)
    for connection_id, names in before.items():
        assert sorted(redis_client.scan_iter(match=key(connection_id, "*"))) == names
    assert redis_client.exists(bucket)
    unknown = cli("connections", "show", gone)
    assert unknown.exit_code == 1
    assert "connections add" in unknown.output
    for connection_id in (kept, near):
        cli("connections", "remove", connection_id, "--yes")
    redis_client.delete(bucket)


def test_the_connections_setting_and_severa_settings_keep_working(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config import get_settings
    from worker.connections import registry

    listed = _fresh()
    monkeypatch.setenv("CONNECTIONS", f"default,{listed}")
    get_settings.cache_clear()
    assert {"default", listed} <= set(registry().ids())
    credentials = registry().credentials("default")
    assert credentials.client_id == get_settings().severa_client_id
    assert credentials.source.startswith("settings")
    assert _listed(listed)["in_settings"] is True


def test_remove_refuses_while_a_transfer_runs(env: None, redis_client: redis.Redis) -> None:
    connection_id = _fresh()
    cli("connections", "add", connection_id, "--shared-severa")
    redis_client.set(key(connection_id, "lock", "customers"), "run-1", ex=60)  # a run holds it

    refused = cli("connections", "remove", connection_id, "--yes")

    assert refused.exit_code == 1
    assert "transferring customers" in refused.output
    assert redis_client.exists(key(connection_id, "registry"))
    forced = cli("connections", "remove", connection_id, "--yes", "--force")
    assert forced.exit_code == 0
    assert not redis_client.exists(key(connection_id, "lock", "customers"))


def test_a_damaged_registry_entry_shows_on_its_connection_only(
    env: None, redis_client: redis.Redis
) -> None:
    from worker.connections import registry

    damaged, fine = _fresh(), _fresh()
    for connection_id in (damaged, fine):
        cli("connections", "add", connection_id, "--shared-severa")
    redis_client.delete(key(damaged, "registry"))
    redis_client.set(key(damaged, "registry"), "not a hash")

    assert _listed(damaged)["state"] == "unreadable"
    assert _listed(fine)["state"] == "needs authorization"
    assert {damaged, fine} <= set(registry().active_ids())  # beat still reaches both
    assert "cannot be read" in cli("connections", "show", damaged).output
    for connection_id in (damaged, fine):
        assert cli("connections", "remove", connection_id, "--yes", "--force").exit_code == 0
    assert not redis_client.exists(key(damaged, "registry"))


def test_add_without_the_firms_severa_client_is_refused_unless_shared_is_asked_for(
    env: None,
) -> None:
    from worker.connections import registry

    connection_id = _fresh()
    refused = cli("connections", "add", connection_id)
    assert refused.exit_code == 1
    assert "--severa-client-id" in refused.output
    assert "--shared-severa" in refused.output
    assert connection_id not in registry().ids()
    assert cli("connections", "add", connection_id, "--shared-severa").exit_code == 0
    assert connection_id in registry().ids()
