"""Encryption at rest for tokens and secrets (Fernet: AES-128-CBC + HMAC-SHA256).

Redis may be shared, backed up or inspected; an access or refresh token found there
must be useless without ``SECRET_KEY``. In demo mode, where no key is configured, one
is generated once into ``DATA_DIR/secret.key`` (mode 0600) so the demo works out of
the box; with real credentials the settings refuse to start without a key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from config import Settings
from worker.errors import ConfigError


class UnreadableSecret(ConfigError):
    """Stored data cannot be decrypted with the current key."""


class SecretBox:
    """Seals JSON-able values into opaque strings and opens them again."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value).encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except (InvalidToken, ValueError):
            raise UnreadableSecret(
                "stored credentials cannot be decrypted: SECRET_KEY changed since they were "
                "saved; run `python -m worker connect` again"
            ) from None


def demo_key_file(settings: Settings) -> Path:
    return settings.data_dir / "secret.key"


def load_key(settings: Settings) -> bytes:
    """``SECRET_KEY``, or in demo mode the generated key file (created on first use)."""
    if settings.secret_key:
        return settings.secret_key.encode("ascii")
    if not settings.demo:  # settings validation prevents this; keep the guarantee local too
        raise ConfigError("SECRET_KEY is required with real API credentials")
    path = demo_key_file(settings)
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return key


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(load_key(settings))
