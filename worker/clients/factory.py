"""Build a connection's clients: one place that wires session, auth, token store, rate
limiter and reference cache together — from settings (:func:`build_clients`), or for
Severa alone from explicit values (:func:`build_severa`, used by tests and tools that
point at a sandbox without a settings environment)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis
import requests
from requests.adapters import HTTPAdapter

from config import Settings
from schemas.sides import Side
from worker.clients.auth import SEVERA_SCOPES, EEkonomiAuth, SeveraAuth
from worker.clients.eekonomi import EEkonomiClient
from worker.clients.ratelimit import Rate, RedisRateLimiter
from worker.clients.refdata import ReferenceCache, ReferenceData
from worker.clients.severa import SeveraClient
from worker.clients.tokens import TokenStore
from worker.clients.transport import ApiTransport
from worker.connections import ConnectionRegistry, SeveraCredentials
from worker.crypto import SecretBox, secret_box

if TYPE_CHECKING:
    from requests.sessions import _Settings


class _Session(requests.Session):
    """A session that reads the environment's proxy and CA settings once per origin.

    ``requests`` re-reads them (every variable of ``os.environ``) on each request —
    about a tenth of a record task's CPU in a transfer. The environment does not change
    while the service runs, so the answer is kept per (origin, request options).
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], _Settings] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        if proxies:  # per-request proxies: nothing to share
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(str(url))
        memo = (parts.scheme, parts.netloc, stream, verify, cert, self.trust_env)
        settings = self._environment.get(memo)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[memo] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


def new_session(pool_size: int = 16) -> requests.Session:
    """A session with keep-alive pools and *no* urllib3 retries: retrying is decided by
    our error table, never blindly by the transport (a retried POST duplicates)."""
    session = _Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


#: 5 % under Severa's 10 requests per second, without bursts (severa-notes §5.2), as
#: eEkonomi's 570 of 600 per minute. At 9 (10 % under) an invoice transfer at the
#: vendor's rates took 1.12 × the bound the limit allows, at 9.5 1.06 — with one 429 in
#: 600 Severa requests against the sandbox's strict sliding window, which costs its
#: request a second's wait while the other processes go on (bench/README.md, issue 20).
SEVERA_DEFAULT_RATE = Rate(9.5, 1)


@dataclass
class SeveraConnection:
    """A Severa client with the parts it was wired from (tests and tools inspect them)."""

    client: SeveraClient
    auth: SeveraAuth
    tokens: TokenStore
    limiter: RedisRateLimiter


def build_severa(
    *,
    base_url: str,
    client_id: str,
    client_secret: str,
    connection_id: str,
    redis_client: redis.Redis,
    box: SecretBox,
    session: requests.Session | None = None,
    timeout: float = 30.0,
    rate: Rate = SEVERA_DEFAULT_RATE,
    scopes: str = SEVERA_SCOPES,
    clock: Callable[[], float] = time.time,
) -> SeveraConnection:
    """Wire one connection's Severa client from explicit values (no :class:`Settings`).

    The token request and the data calls share one rate-limit bucket ("client"), as
    Severa counts both against the client (severa-notes §5.2) — the bucket of the
    Severa client, so connections on one client share it (:func:`severa_owner`).
    """
    session = session or new_session()
    store = TokenStore(redis_client, box, connection_id=connection_id, api=Side.SEVERA)
    owner = severa_owner(base_url, client_id)
    limiter = RedisRateLimiter(
        redis_client, connection_id=connection_id, api=Side.SEVERA,
        rate_of=lambda bucket: rate, owner=lambda: owner,
    )  # fmt: skip
    token_transport = ApiTransport(
        api=Side.SEVERA,
        base_url=base_url,
        session=session,
        auth=None,
        timeout=timeout,
        connection_id=connection_id,
        limiter=limiter,
        bucket_of=lambda path: "client",
    )
    auth = SeveraAuth(
        transport=token_transport,
        client_id=client_id,
        client_secret=client_secret,
        store=store,
        scopes=scopes,
        clock=clock,
    )
    client = SeveraClient(
        base_url=base_url,
        session=session,
        auth=auth,
        timeout=timeout,
        connection_id=connection_id,
        limiter=limiter,
    )
    return SeveraConnection(client=client, auth=auth, tokens=store, limiter=limiter)


def _digest(*parts: str) -> str:
    """A short stable name for a vendor account in key names (no id shown in Redis)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


def severa_owner(base_url: str, client_id: str) -> str:
    """Whose Severa rate limit a request spends: the client's (at its API)."""
    return _digest(base_url.rstrip("/"), client_id)


def eekonomi_owner(api_url: str, store: TokenStore) -> Callable[[], str | None]:
    """Whose eEkonomi rate limits a request spends: the authorized company's, read from
    the connection's tokens once they name it (until then, and if they cannot be read,
    the connection's own buckets)."""
    found: list[str] = []

    def owner() -> str | None:
        if found:
            return found[0]
        try:
            tokens = store.load()
        except Exception:  # noqa: BLE001 - the request itself reports the token's problem
            return None
        company = tokens.company if tokens is not None else {}
        ident = company.get("CompanyIdentifier") or company.get("CorporateIdentityNumber")
        if not ident:
            return None
        found.append(_digest(api_url.rstrip("/"), str(ident)))
        return found[0]

    return owner


@dataclass
class Clients:
    severa: SeveraClient
    eekonomi: EEkonomiClient
    reference: ReferenceData
    severa_tokens: TokenStore
    eekonomi_tokens: TokenStore


def identity_transport(
    settings: Settings, session: requests.Session, connection_id: str
) -> ApiTransport:
    """The transport to eEkonomi's identity server (token endpoint; no bearer auth)."""
    return ApiTransport(
        api=Side.EEKONOMI,
        base_url=settings.eekonomi_identity_url,
        session=session,
        auth=None,
        timeout=settings.http_timeout,
        connection_id=connection_id,
        retries=0,
    )


def build_clients(
    settings: Settings,
    connection_id: str,
    *,
    redis_client: redis.Redis,
    session: requests.Session | None = None,
    severa: SeveraCredentials | None = None,
) -> Clients:
    """A connection's clients: Severa with the connection's own credentials (``severa``,
    else read from the registry: its own, or the settings' ``SEVERA_*``), eEkonomi with
    the service's OAuth client and the connection's tokens."""
    session = session or new_session()
    box = secret_box(settings)
    if severa is None:
        severa = ConnectionRegistry(redis_client, settings, box).credentials(connection_id)
    severa_connection = build_severa(
        base_url=severa.base_url,
        client_id=severa.client_id,
        client_secret=severa.client_secret,
        connection_id=connection_id,
        redis_client=redis_client,
        box=box,
        session=session,
        timeout=settings.http_timeout,
        rate=Rate(settings.severa_requests_per_second, 1),
    )
    severa_client = severa_connection.client
    severa_store = severa_connection.tokens
    eekonomi_store = TokenStore(redis_client, box, connection_id=connection_id, api=Side.EEKONOMI)
    eekonomi_limiter = RedisRateLimiter(
        redis_client,
        connection_id=connection_id,
        api=Side.EEKONOMI,
        rate_of=lambda bucket: Rate.per_minute(settings.eekonomi_requests_per_minute, 20),
        owner=eekonomi_owner(settings.eekonomi_api_url, eekonomi_store),
    )
    eekonomi_auth = EEkonomiAuth(
        identity=identity_transport(settings, session, connection_id),
        client_id=settings.eekonomi_client_id,
        client_secret=settings.eekonomi_client_secret,
        store=eekonomi_store,
    )
    eekonomi = EEkonomiClient(
        base_url=settings.eekonomi_api_url,
        session=session,
        auth=eekonomi_auth,
        timeout=settings.http_timeout,
        connection_id=connection_id,
        limiter=eekonomi_limiter,
    )
    cache = ReferenceCache(
        redis_client, connection_id=connection_id, ttl=settings.reference_data_ttl
    )
    return Clients(
        severa=severa_client,
        eekonomi=eekonomi,
        reference=ReferenceData(severa=severa_client, eekonomi=eekonomi, cache=cache),
        severa_tokens=severa_store,
        eekonomi_tokens=eekonomi_store,
    )
