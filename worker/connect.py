"""The ``connect`` command's flow, shared with the demo bootstrap of ``run``."""

from __future__ import annotations

from collections.abc import Callable

import redis
import requests

from config import Settings
from schemas.sides import Side
from worker.clients.factory import new_session
from worker.clients.oauth import (
    AuthorizationFailed,
    Company,
    begin_authorization,
    complete_authorization,
    demo_consent,
    wait_for_callback,
)
from worker.clients.tokens import TokenStore
from worker.crypto import secret_box
from worker.keys import check_connection_id
from worker.state import redis_client, register_connection


def connect_eekonomi(
    settings: Settings,
    connection_id: str,
    *,
    timeout: float = 300.0,
    echo: Callable[[str], None] = print,
    client: redis.Redis | None = None,
    session: requests.Session | None = None,
    demo_company: str = "Demokonsult AB",
) -> Company:
    """Run the consent for ``connection_id``; in demo mode answer the sandbox's forms.

    ``client`` and ``session`` default to the process's Redis and a new session; a web
    page (or a test) passes its own, so the flow needs no process-wide settings. In demo
    mode the sandbox's company picker is answered with ``demo_company``.
    """
    check_connection_id(connection_id)
    client = client if client is not None else redis_client()
    session = session or new_session()
    url, state = begin_authorization(client, settings, connection_id)
    if settings.demo:
        echo("Demo mode: answering the eEkonomi sandbox's consent form as demo@example.com")
        callback = demo_consent(settings, url, session, company=demo_company)
    else:
        echo("Open this address in a browser, log in to eEkonomi and pick the company:")
        echo(f"  {url}")
        echo(f"Waiting for the answer on {settings.eekonomi_redirect_uri} ...")
        callback = wait_for_callback(settings.eekonomi_redirect_uri, timeout)
    if callback.error or not callback.code:
        raise AuthorizationFailed(
            f"eEkonomi did not authorize ({callback.error or 'no code returned'})"
        )
    if callback.state != state:
        raise AuthorizationFailed("the answer's state does not match this consent: start again")
    store = TokenStore(client, secret_box(settings), connection_id=connection_id, api=Side.EEKONOMI)
    company = complete_authorization(
        client, settings, connection_id,
        code=callback.code, state=callback.state, store=store, session=session,
    )  # fmt: skip
    register_connection(client, connection_id)
    return company
