"""``python -m worker users …`` as a person runs it: a subprocess against the real Redis,
the password from standard input (never argv), only its argon2 hash stored."""

from __future__ import annotations

import subprocess
import sys
import uuid

import redis

from tests.conftest import ROOT


def _users(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", "users", *args],
        cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_users_add_reads_the_password_from_stdin_and_stores_only_its_hash(
    service_env: dict[str, str], redis_client: redis.Redis
) -> None:
    from worker.web.accounts import Accounts, user_key

    email = f"Ann-{uuid.uuid4().hex[:6]}@Example.com"
    added = _users(service_env, "add", email, "--role", "admin", "--connection", "acme",
                   stdin="a long password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert f"added admin {email.lower()} (connection acme)" in added.stdout
    stored = redis_client.hgetall(user_key(email.lower()))
    assert stored["hash"].startswith("$argon2id$")
    assert "a long password" not in str(stored)
    accounts = Accounts(redis_client)
    assert accounts.authenticate(email, "a long password", "test") is not None
    assert accounts.authenticate(email, "another password", "test") is None
    listed = _users(service_env, "list")
    assert email.lower() in listed.stdout
    assert "acme" in listed.stdout
    again = _users(service_env, "add", email, "--role", "admin", "--connection", "acme",
                   stdin="a long password\n")  # fmt: skip
    assert again.returncode == 1
    assert "exists already" in again.stderr
    no_connection = _users(service_env, "add", "bo@example.com", "--role", "admin",
                           stdin="a long password\n")  # fmt: skip
    assert no_connection.returncode == 1
    assert "--connection" in no_connection.stderr
    short = _users(service_env, "add", "cy@example.com", "--role", "operator", stdin="short\n")
    assert short.returncode == 1
    assert "at least 10" in short.stderr
    assert _users(service_env, "remove", email).returncode == 0
    assert accounts.get(email.lower()) is None
