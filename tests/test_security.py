"""No open doors (issue 15): passwords masked, private files, key rotation, transport.

Flower's login and host checks are in ``test_flower.py``; the rotation of stored API
tokens over real HTTP is in ``clients/test_secret_rotation.py``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet

from config import SettingsError, load_settings
from config.redact import redact
from worker.clients.tokens import TokenSet, TokenStore, compare_and_set, reseal_all
from worker.crypto import SecretBox, UnreadableSecret
from worker.embedded_redis import EmbeddedRedis
from worker.private_files import read_or_create_private, read_private, write_private

ROOT = Path(__file__).resolve().parent.parent
NO_FILE = Path("/nonexistent/.env")
REAL_APIS = {
    "SEVERA_CLIENT_ID": "id1",
    "SEVERA_CLIENT_SECRET": "s1",
    "SEVERA_BASE_URL": "https://api.severa.visma.com/rest-api",
    "EEKONOMI_CLIENT_ID": "id2",
    "EEKONOMI_CLIENT_SECRET": "s2",
    "EEKONOMI_API_URL": "https://eaccountingapi.vismaonline.com/v2",
    "EEKONOMI_IDENTITY_URL": "https://identity.vismaonline.com",
    "SECRET_KEY": Fernet.generate_key().decode(),
}


def _cli(args: list[str], tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path),
        "ENV_FILE": str(tmp_path / "absent.env"), **environ,
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


# -- 2. passwords are masked wherever they are shown; run files are private -------------


@pytest.mark.parametrize(
    ("shown", "masked"),
    [
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://sync:p%40ss@cache.example:6380/2", "rediss://sync:***@cache.example:6380/2"),
        ("failed: redis://u:a@b@h:1/0 (refused)", "failed: redis://u:***@h:1/0 (refused)"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://user@host:6379", "redis://user@host:6379"),
        ("https://api.severa.visma.com/rest-api", "https://api.severa.visma.com/rest-api"),
    ],
)
def test_redact_masks_the_password_of_every_url_in_a_text(shown: str, masked: str) -> None:
    assert redact(shown) == masked


def test_config_command_masks_the_redis_password(tmp_path: Path) -> None:
    result = _cli(["config"], tmp_path, REDIS_URL="redis://:hunter2-pw@10.0.0.5:6379/0")
    assert result.returncode == 0, result.stderr
    assert "hunter2-pw" not in result.stdout
    assert "redis://:***@10.0.0.5:6379/0" in result.stdout


def test_doctor_masks_the_redis_password_in_its_failure(tmp_path: Path) -> None:
    result = _cli(
        ["doctor", "--timeout", "1"], tmp_path, REDIS_URL="redis://:hunter2-pw@127.0.0.1:1/0"
    )
    assert "hunter2-pw" not in result.stdout + result.stderr
    assert "redis://:***@127.0.0.1:1/0" in result.stdout


def test_private_files_are_0600_from_the_start_and_when_replaced(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # the most permissive umask cannot widen them
    try:
        target = tmp_path / "run" / "redis.url"
        write_private(target, "redis://:pw@127.0.0.1:1/0\n")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
        target.chmod(0o644)  # as an older version left it
        write_private(target, "redis://:pw2@127.0.0.1:1/0\n")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert read_private(target) == "redis://:pw2@127.0.0.1:1/0"

        created = read_or_create_private(tmp_path / "flower.login", lambda: "sync:abc")
        assert created == "sync:abc"
        assert read_or_create_private(tmp_path / "flower.login", lambda: "sync:other") == created
        assert stat.S_IMODE((tmp_path / "flower.login").stat().st_mode) == 0o600
        loose = tmp_path / "secret.key"
        loose.write_text("key\n")
        loose.chmod(0o644)
        assert read_private(loose) == "key"
        assert stat.S_IMODE(loose.stat().st_mode) == 0o600  # tightened when read
    finally:
        os.umask(old_umask)


# -- 3. key rotation --------------------------------------------------------------------


def test_secret_box_opens_values_of_previous_keys_and_says_they_are_stale() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_old = SecretBox(old).seal({"a": 1})
    rotated = SecretBox(new, [Fernet.generate_key(), old])
    assert rotated.open_checked(sealed_old).value == {"a": 1}
    assert rotated.open_checked(sealed_old).stale is True
    assert rotated.open_checked(rotated.seal({"a": 1})).stale is False
    assert SecretBox(new).open(rotated.reseal(sealed_old)) == {"a": 1}
    with pytest.raises(UnreadableSecret, match="SECRET_KEY_PREVIOUS"):
        SecretBox(new).open(sealed_old)


def test_secret_key_previous_is_a_validated_hidden_list() -> None:
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    settings = load_settings({"SECRET_KEY_PREVIOUS": f"{keys[0]}, {keys[1]}"}, NO_FILE)
    assert settings.secret_key_previous == tuple(keys)
    assert keys[0] not in repr(settings)
    assert ("SECRET_KEY_PREVIOUS", "set (hidden)") in settings.describe()
    with pytest.raises(SettingsError, match="SECRET_KEY_PREVIOUS") as raised:
        load_settings({"SECRET_KEY_PREVIOUS": f"{keys[0]},not-a-key"}, NO_FILE)
    assert keys[0] not in str(raised.value)


def _store(client: redis.Redis, box: SecretBox, connection_id: str, api: str) -> TokenStore:
    return TokenStore(client, box, connection_id=connection_id, api=api)


def test_a_stale_token_is_resealed_when_read_but_never_over_a_newer_one(
    redis_client: redis.Redis, connection_id: str
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    tokens = TokenSet(access_token="a1", expires_at=2e9, refresh_token="r1")
    _store(redis_client, SecretBox(old), connection_id, "eekonomi").save(tokens)
    store = _store(redis_client, SecretBox(new, [old]), connection_id, "eekonomi")
    assert store.load() == tokens
    raw = redis_client.get(store.key)
    assert raw is not None
    assert SecretBox(new).open(raw)["refresh_token"] == "r1"

    # Another process renewed between our read and our re-seal: its pair must stay.
    stale = SecretBox(old).seal(tokens.as_dict())
    redis_client.set(store.key, SecretBox(new).seal({**tokens.as_dict(), "refresh_token": "r2"}))
    assert compare_and_set(redis_client, store.key, stale, "overwritten") is False
    assert SecretBox(new).open(redis_client.get(store.key) or "")["refresh_token"] == "r2"
    redis_client.delete(store.key)


def test_rotate_secrets_reseals_every_stored_token_and_lists_the_unreadable(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    old, new, lost = (Fernet.generate_key() for _ in range(3))
    ids = [f"t-{uuid.uuid4().hex[:12]}" for _ in range(3)]
    tokens = TokenSet(access_token="a", expires_at=2e9)
    _store(redis_client, SecretBox(old), ids[0], "severa").save(tokens)
    _store(redis_client, SecretBox(new), ids[1], "eekonomi").save(tokens)
    _store(redis_client, SecretBox(lost), ids[2], "eekonomi").save(tokens)
    redis_client.set(f"sync:conn:{ids[0]}:tokens:severa:lock", "holder")
    try:
        result = _cli(
            ["rotate-secrets"], tmp_path,
            REDIS_URL=redis_url, SECRET_KEY=new.decode(), SECRET_KEY_PREVIOUS=old.decode(),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert SecretBox(new).open(redis_client.get(f"sync:conn:{ids[0]}:tokens:severa") or "")
        assert f"sync:conn:{ids[2]}:tokens:eekonomi" in result.stdout  # listed as unreadable
        assert redis_client.get(f"sync:conn:{ids[0]}:tokens:severa:lock") == "holder"
        report = reseal_all(redis_client, SecretBox(new, [old]))
        mine = [n for n in report.resealed + report.current if any(i in n for i in ids)]
        assert sorted(mine) == sorted(
            [f"sync:conn:{ids[0]}:tokens:severa", f"sync:conn:{ids[1]}:tokens:eekonomi"]
        )
        assert not [n for n in report.resealed if any(i in n for i in ids)]  # all done
    finally:
        for connection_id in ids:
            for name in redis_client.scan_iter(match=f"sync:conn:{connection_id}:*"):
                redis_client.delete(name)


# -- 4. transport: https with real credentials; the embedded Redis has a password --------


@pytest.mark.parametrize(
    "variable", ["SEVERA_BASE_URL", "EEKONOMI_API_URL", "EEKONOMI_IDENTITY_URL"]
)
def test_given_real_credentials_then_an_http_api_url_is_refused_saying_what_to_use(
    variable: str,
) -> None:
    insecure = {**REAL_APIS, variable: REAL_APIS[variable].replace("https://", "http://")}
    with pytest.raises(SettingsError, match=variable) as raised:
        load_settings(insecure, NO_FILE)
    assert "https://" in str(raised.value)
    assert REAL_APIS[variable].split("/")[2] in str(raised.value)  # the address to use


def test_given_real_credentials_then_http_is_accepted_on_this_machine_only() -> None:
    local = {
        **REAL_APIS,
        "SEVERA_BASE_URL": "http://127.0.0.1:8001/rest-api",
        "EEKONOMI_API_URL": "http://localhost:8002/v2",
        "EEKONOMI_IDENTITY_URL": "http://[::1]:8002",
    }
    assert load_settings(local, NO_FILE).demo is False
    with pytest.raises(SettingsError, match="EEKONOMI_REDIRECT_URI"):
        load_settings({**REAL_APIS, "EEKONOMI_REDIRECT_URI": "http://sync.example/cb"}, NO_FILE)
    assert load_settings({}, NO_FILE).severa_base_url.startswith("http://127.0.0.1")  # demo


def test_embedded_redis_refuses_clients_without_its_password(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        anonymous = redis.Redis(host="127.0.0.1", port=server.port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        anonymous.close()
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        client.close()
        assert server.process is not None
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().decode()
        assert server.password not in cmdline  # not visible in `ps`
    for private in (tmp_path / "redis.password", tmp_path / "redis" / "auth.conf"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    aof = tmp_path / "redis" / "appendonly.aof"
    assert stat.S_IMODE(aof.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "redis").stat().st_mode) == 0o700
