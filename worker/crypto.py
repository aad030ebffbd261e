"""Encryption at rest for tokens and secrets (Fernet: AES-128-CBC + HMAC-SHA256), with
key rotation.

Redis may be shared, backed up or inspected; an access or refresh token found there
must be useless without ``SECRET_KEY``. In demo mode, where no key is configured, one
is generated once into ``DATA_DIR/secret.key`` (mode 0600) so the demo works out of
the box; with real credentials the settings refuse to start without a key.

Rotation: values are always sealed with ``SECRET_KEY``, and opened with it or any key
of ``SECRET_KEY_PREVIOUS`` (a :class:`~cryptography.fernet.MultiFernet`). A value that
only an old key opens is *stale*: the token store re-seals it with the current key
when it reads it, and ``python -m worker rotate-secrets`` re-seals everything stored at
once, so the old key can be dropped when that command reports nothing stale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from config import Settings
from worker.errors import ConfigError
from worker.private_files import read_or_create_private


class UnreadableSecret(ConfigError):
    """Stored data cannot be decrypted with ``SECRET_KEY`` nor any previous key.

    The message says what happened, not what to do: that depends on what was stored
    (a Severa token is simply fetched again; an eEkonomi authorization needs a person),
    so the caller that knows adds the remedy.
    """


UNREADABLE_REASON = (
    "it cannot be decrypted with SECRET_KEY nor any key in SECRET_KEY_PREVIOUS "
    "(it was sealed with another key)"
)


@dataclass(frozen=True)
class Opened:
    """A value opened from its sealed form; ``stale`` when an old key sealed it."""

    value: Any
    stale: bool


class SecretBox:
    """Seals JSON-able values into opaque strings with the current key and opens them
    with the current or a previous key."""

    def __init__(self, key: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = Fernet(key)
        self._any = MultiFernet([self._current, *(Fernet(old) for old in previous)])

    def seal(self, value: Any) -> str:
        return self._current.encrypt(json.dumps(value).encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> Any:
        """The value; raises :class:`UnreadableSecret` if no known key opens it."""
        return self.open_checked(sealed).value

    def open_checked(self, sealed: str) -> Opened:
        """The value, and whether it must be re-sealed with the current key."""
        token = sealed.encode("ascii")
        try:
            return Opened(json.loads(self._current.decrypt(token)), stale=False)
        except (InvalidToken, ValueError):
            pass
        try:
            return Opened(json.loads(self._any.decrypt(token)), stale=True)
        except (InvalidToken, ValueError):
            raise UnreadableSecret(f"a stored secret is unreadable: {UNREADABLE_REASON}") from None

    def reseal(self, sealed: str) -> str:
        """``sealed`` re-encrypted with the current key (same value, same timestamp)."""
        try:
            return self._any.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError):
            raise UnreadableSecret(f"a stored secret is unreadable: {UNREADABLE_REASON}") from None


def demo_key_file(settings: Settings) -> Path:
    return settings.data_dir / "secret.key"


def load_key(settings: Settings) -> bytes:
    """``SECRET_KEY``, or in demo mode the generated key file (created on first use)."""
    if settings.secret_key:
        return settings.secret_key.encode("ascii")
    if not settings.demo:  # settings validation prevents this; keep the guarantee local too
        raise ConfigError("SECRET_KEY is required with real API credentials")
    key = read_or_create_private(
        demo_key_file(settings), lambda: Fernet.generate_key().decode("ascii")
    )
    return key.encode("ascii")


def previous_keys(settings: Settings) -> list[bytes]:
    """The keys of ``SECRET_KEY_PREVIOUS``, newest first as written."""
    return [key.encode("ascii") for key in settings.secret_key_previous]


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(load_key(settings), previous_keys(settings))
