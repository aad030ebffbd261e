"""Checks of single variables and of the URLs that carry secrets, for :mod:`config.settings`.

Each validator raises :class:`~marshmallow.ValidationError` with a message that says
what is expected, because the settings show it next to the variable's name.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, validate

CONNECTION_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def url_of(schemes: tuple[str, ...]) -> validate.Validator:
    def check(value: str) -> None:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValidationError(f"expected a {'/'.join(s + '://' for s in schemes)} URL")

    return check  # type: ignore[return-value]


def basic_auth(value: str) -> None:
    for pair in value.split(","):
        user, sep, password = pair.partition(":")
        if not sep or not user or not password:
            raise ValidationError("expected user:password (comma-separate several pairs)")


def fernet_key(value: str) -> None:
    from cryptography.fernet import Fernet  # noqa: PLC0415 - import cost only when set

    try:
        Fernet(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValidationError(
            "expected a Fernet key (32 url-safe base64 bytes); create one with "
            "`python -m worker new-secret-key`"
        ) from None


def fernet_keys(value: str) -> None:
    for item in value.split(","):
        fernet_key(item.strip())


def host_names(value: str) -> None:
    for item in value.split(","):
        name = item.strip()
        has_port_or_path = any(c in name for c in "/:@ *") and not _is_ipv6(name)
        if not name or has_port_or_path:
            raise ValidationError(
                f"expected host names or addresses, comma-separated (no ports, no '*'); "
                f"{name!r} is not one"
            )


def _is_ipv6(name: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(name.strip("[]")), ipaddress.IPv6Address)
    except ValueError:
        return False


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` or a loopback address: traffic to it never leaves the machine."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def connection_ids(value: str) -> None:
    for item in value.split(","):
        if not CONNECTION_ID_PATTERN.match(item.strip()):
            raise ValidationError(
                f"connection ids are lower-case letters, digits, '-' and '_' "
                f"(max 63 chars); {item.strip()!r} is not"
            )


#: The URLs that carry credentials, tokens or authorization codes, and what to use.
_SECURE_URLS = {
    "severa_base_url": "https://api.severa.visma.com/rest-api",
    "eekonomi_api_url": "https://eaccountingapi.vismaonline.com/v2",
    "eekonomi_identity_url": "https://identity.vismaonline.com",
    "eekonomi_redirect_uri": "an https:// redirect URI, or http://127.0.0.1:PORT/callback",
}


def cleartext_urls(data: dict[str, Any]) -> dict[str, str]:
    """With real credentials, each URL that carries a secret must be https — except on
    this machine (127.0.0.1, ::1, localhost), where nothing crosses a network: a local
    TLS-terminating proxy, or the OAuth redirect of the ``connect`` command."""
    errors: dict[str, str] = {}
    for name, example in _SECURE_URLS.items():
        value = data[name]
        if not value:
            continue
        parts = urlsplit(value)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            errors[name.upper()] = (
                "must be an https:// URL with real API credentials: over http:// the client "
                "secret, tokens and authorization codes cross the network unencrypted. "
                f"Use {example} (plain http:// is accepted only for 127.0.0.1/localhost)"
            )
    return errors


def alert_targets(value: str) -> None:
    """``CONNECTION=URL`` pairs (``*`` for every connection), each URL http(s)."""
    for pair in filter(None, (p.strip() for p in value.split(","))):
        name, sep, url = pair.partition("=")
        if not sep or not name.strip() or not url.strip().startswith(("http://", "https://")):
            raise ValidationError(
                "expected CONNECTION=URL pairs, comma-separated, each URL http(s)://… "
                "(`*=URL` for every connection)"
            )


def alert_addresses(value: str) -> None:
    """``CONNECTION=addr[;addr]`` pairs (``*`` for every connection), each an address."""
    for pair in filter(None, (p.strip() for p in value.split(","))):
        name, sep, addresses = pair.partition("=")
        found = [a.strip() for a in addresses.split(";") if a.strip()]
        if not sep or not name.strip() or not found or any("@" not in a for a in found):
            raise ValidationError(
                "expected CONNECTION=address pairs, comma-separated, several addresses "
                "separated by ';' (`*=address` for every connection)"
            )
