"""Changing SECRET_KEY breaks no connection (issue 15, item 3), over real HTTP.

* With the former key in ``SECRET_KEY_PREVIOUS`` the stored tokens keep working and are
  re-sealed with the new key when read.
* Without it, Severa's token is fetched again with the client credentials (it needs no
  person); eEkonomi's authorization cannot be, and the error says exactly what to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet

from config import Settings
from schemas.sides import Side
from tests.clients.conftest import Severa
from tests.clients.eekonomi_support import (
    Sandbox,
    authorize,
    clients_for,
    sandbox_settings,
    token_store,
)
from worker.clients.http import NeedsReauthorization
from worker.clients.tokens import TokenSet, TokenStore
from worker.connection_status import get_status
from worker.crypto import SecretBox

pytestmark = pytest.mark.integration


def _seal_token_with(severa: Severa, key: bytes) -> None:
    """A real token from the sandbox, stored as if sealed while ``key`` was SECRET_KEY."""
    access_token = severa.build().auth.access_token()
    now = time.time()
    tokens = TokenSet(access_token=access_token, expires_at=now + 3600, issued_at=now)
    store = TokenStore(
        severa.redis, SecretBox(key), connection_id=severa.connection_id, api=Side.SEVERA
    )
    store.save(tokens)


def test_given_severa_token_sealed_with_an_unknown_key_then_a_new_one_is_fetched(
    severa: Severa, caplog: pytest.LogCaptureFixture
) -> None:
    _seal_token_with(severa, Fernet.generate_key())  # SECRET_KEY changed, old key lost
    assert severa.token_requests() == 1

    with caplog.at_level(logging.WARNING, logger="worker.clients.auth"):
        currencies = list(severa.build().client.list_currencies())

    assert currencies
    assert severa.token_requests() == 2  # re-issued by itself, once
    assert any(
        "cannot be decrypted" in r.getMessage() and severa.connection_id in r.getMessage()
        for r in caplog.records
    )
    stored = severa.redis.get(severa.token_key())
    assert stored is not None
    assert severa.box.open_checked(stored).stale is False  # now sealed with SECRET_KEY


def test_given_severa_token_sealed_with_the_previous_key_then_used_and_resealed(
    severa: Severa,
) -> None:
    old_key = Fernet.generate_key()
    _seal_token_with(severa, old_key)
    rotated = Severa(
        app=severa.app,
        server=severa.server,
        redis=severa.redis,
        redis_url=severa.redis_url,
        connection_id=severa.connection_id,
    )
    store = TokenStore(
        severa.redis,
        SecretBox(rotated.secret_key, [old_key]),
        connection_id=severa.connection_id,
        api=Side.SEVERA,
    )
    assert store.load() is not None  # opened with the previous key ...
    stored = severa.redis.get(severa.token_key())
    assert stored is not None
    assert SecretBox(rotated.secret_key).open(stored)  # ... and re-sealed with the new one
    assert severa.token_requests() == 1  # no new token was needed


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    started = Sandbox.start()
    yield started
    started.stop()


def _settings(sandbox: Sandbox, redis_url: str, data_dir: Path, **keys: str) -> Settings:
    return sandbox_settings(sandbox.port, redis_url, data_dir, **keys)


def test_eekonomi_authorization_survives_rotation_with_the_previous_key(
    sandbox: Sandbox,
    redis_url: str,
    redis_client: redis.Redis,
    connection_id: str,
    tmp_path: Path,
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = _settings(sandbox, redis_url, tmp_path, SECRET_KEY=old)
    authorize(before, redis_client, connection_id)

    after = _settings(sandbox, redis_url, tmp_path, SECRET_KEY=new, SECRET_KEY_PREVIOUS=old)
    clients = clients_for(after, redis_client, connection_id)
    assert clients.eekonomi.get_company_settings()
    # Re-sealed on read: the new key alone now opens it.
    alone = _settings(sandbox, redis_url, tmp_path, SECRET_KEY=new)
    assert token_store(alone, redis_client, connection_id).load() is not None


def test_eekonomi_authorization_sealed_with_a_lost_key_says_what_to_do(
    sandbox: Sandbox,
    redis_url: str,
    redis_client: redis.Redis,
    connection_id: str,
    tmp_path: Path,
) -> None:
    before = _settings(sandbox, redis_url, tmp_path, SECRET_KEY=Fernet.generate_key().decode())
    authorize(before, redis_client, connection_id)

    after = _settings(sandbox, redis_url, tmp_path, SECRET_KEY=Fernet.generate_key().decode())
    clients = clients_for(after, redis_client, connection_id)
    with pytest.raises(NeedsReauthorization) as raised:
        clients.eekonomi.get_company_settings()
    message = str(raised.value)
    assert "SECRET_KEY_PREVIOUS" in message
    assert f"python -m worker connect --connection {connection_id}" in message
    # Not marked "needs re-authorization": putting the old key back is a fix as well.
    assert get_status(redis_client, connection_id).ok
