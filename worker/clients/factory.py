"""Build a connection's clients from settings: one place that wires session, auth,
token store, rate limiter and reference cache together."""

from __future__ import annotations

from dataclasses import dataclass

import redis
import requests
from requests.adapters import HTTPAdapter

from config import Settings
from worker.clients.auth import EEkonomiAuth, SeveraAuth
from worker.clients.eekonomi import EEkonomiClient
from worker.clients.http import EEKONOMI, SEVERA, ApiTransport
from worker.clients.ratelimit import Rate, RedisRateLimiter
from worker.clients.refdata import ReferenceCache, ReferenceData
from worker.clients.severa import SeveraClient
from worker.clients.tokens import TokenStore
from worker.crypto import secret_box


def new_session(pool_size: int = 16) -> requests.Session:
    """A session with keep-alive pools and *no* urllib3 retries: retrying is decided by
    our error table, never blindly by the transport (a retried POST duplicates)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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
        api=EEKONOMI,
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
) -> Clients:
    session = session or new_session()
    box = secret_box(settings)
    severa_store = TokenStore(redis_client, box, connection_id=connection_id, api=SEVERA)
    eekonomi_store = TokenStore(redis_client, box, connection_id=connection_id, api=EEKONOMI)
    severa_limiter = RedisRateLimiter(
        redis_client,
        connection_id=connection_id,
        api=SEVERA,
        rate_of=lambda bucket: Rate(settings.severa_requests_per_second, 1),
    )
    eekonomi_limiter = RedisRateLimiter(
        redis_client,
        connection_id=connection_id,
        api=EEKONOMI,
        rate_of=lambda bucket: Rate.per_minute(settings.eekonomi_requests_per_minute, 20),
    )
    severa_token_transport = ApiTransport(
        api=SEVERA,
        base_url=settings.severa_base_url,
        session=session,
        auth=None,
        timeout=settings.http_timeout,
        connection_id=connection_id,
        limiter=severa_limiter,
        bucket_of=lambda path: "client",
    )
    severa_auth = SeveraAuth(
        transport=severa_token_transport,
        client_id=settings.severa_client_id,
        client_secret=settings.severa_client_secret,
        store=severa_store,
    )
    eekonomi_auth = EEkonomiAuth(
        identity=identity_transport(settings, session, connection_id),
        client_id=settings.eekonomi_client_id,
        client_secret=settings.eekonomi_client_secret,
        store=eekonomi_store,
    )
    severa = SeveraClient(
        base_url=settings.severa_base_url,
        session=session,
        auth=severa_auth,
        timeout=settings.http_timeout,
        connection_id=connection_id,
        limiter=severa_limiter,
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
        severa=severa,
        eekonomi=eekonomi,
        reference=ReferenceData(severa=severa, eekonomi=eekonomi, cache=cache),
        severa_tokens=severa_store,
        eekonomi_tokens=eekonomi_store,
    )
