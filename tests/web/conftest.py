"""The web app over HTTP: waitress on an ephemeral port in this process, against the real
Redis, the sandboxes over HTTP and a real worker (the fixtures of tests/sync).

``Web`` is a logged-in (or not) client: a requests session that reads each form's CSRF
token off the page it was served with, as a browser submits it.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.sync.conftest import World, sandbox_servers, start_worker, world  # noqa: F401

PASSWORD = "correct horse battery"  # noqa: S105 - a test user's


@dataclass
class WebApp:
    url: str
    world: World
    queue: str


class Web:
    """One browser-like session of the web app."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.http.get(self.base + path, timeout=60, **kwargs)  # type: ignore[arg-type]

    def token(self, path: str = "/login") -> str:
        page = self.get(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, f"no CSRF token on {path}: HTTP {page.status_code}"
        return found.group(1)

    def post(self, path: str, data: dict[str, str] | None = None, *, token: str | None = None,
             csrf: bool = True, **kwargs: object) -> requests.Response:  # fmt: skip
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = token or self.token("/login")
        return self.http.post(self.base + path, data=form, timeout=120,  # type: ignore[arg-type]
                              allow_redirects=False, **kwargs)  # fmt: skip

    def login(self, email: str, password: str = PASSWORD) -> requests.Response:
        return self.post("/login", {"email": email, "password": password, "next": ""})


@pytest.fixture
def web_app(world: World, celery_app: object) -> Iterator[WebApp]:  # noqa: F811
    """The app on 127.0.0.1:<ephemeral> sending transfers to a real worker's queue."""
    import waitress

    from config import get_settings
    from worker.web import create_app

    worker = start_worker(world, celery_app)
    app = create_app(get_settings(), world.redis, queue=worker.queue)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=6)
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    try:
        yield WebApp(f"http://127.0.0.1:{server.effective_port}", world, worker.queue)
    finally:
        server.close()
        thread.join(5)


@pytest.fixture
def make_user(world: World) -> Callable[[str, str], str]:  # noqa: F811
    """Add a user (role, connection) with :data:`PASSWORD`; returns its e-mail."""
    from worker.web.accounts import Accounts

    def make(role: str, connection_id: str = "") -> str:
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        Accounts(world.redis).add(email, PASSWORD, role, connection_id)
        return email

    return make
