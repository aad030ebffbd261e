"""Flower's tornado application with the service's guards (used by :mod:`worker.flower`).

Flower 2 checks logins, and with a login it refuses cross-site unsafe requests, but it
answers any ``Host`` header and serves ``/metrics`` without a login. Its application is
a :class:`tornado.web.Application`, where every request is dispatched through
:meth:`~tornado.web.Application.get_handler_delegate`; :class:`GuardedFlower` decides
there, before any Flower handler runs:

* a ``Host`` not in the allow-list gets 403 (DNS rebinding: a page on
  ``attacker.example`` resolved to 127.0.0.1 would otherwise be "same-origin");
* ``/metrics`` is served by :class:`MetricsBehindLogin`, Flower's handler behind the
  same login as the rest.

Start-up follows Flower's own ``celery flower`` command (its ``FLOWER_*`` variables and
``flowerconfig.py`` still apply), then the service's options are imposed on top, so no
file or variable can switch the login off.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
from typing import Any

import tornado.web
from flower import command
from flower.app import Flower
from flower.urls import settings as tornado_settings
from flower.views.monitor import Metrics
from tornado.options import options as flower_options

from worker.flower import FlowerOptions, host_name

log = logging.getLogger(__name__)


class ForeignHostRefused(tornado.web.RequestHandler):
    """403 for a request naming a host Flower does not answer to, whatever its method."""

    def check_xsrf_cookie(self) -> None:
        """Refused in :meth:`prepare` anyway; no XSRF error first."""

    def prepare(self) -> None:
        log.warning("refused a request for Host %r: not in FLOWER_ALLOWED_HOSTS", self.request.host)
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(
            "403 Forbidden: this Flower does not answer to that host name "
            "(add it to FLOWER_ALLOWED_HOSTS)\n"
        )


class MetricsBehindLogin(Metrics):
    """Flower's Prometheus metrics, only with the login (401 and a Basic challenge
    otherwise, as Flower's other pages)."""

    def prepare(self) -> None:
        # Flower's get_current_user raises 401 itself for missing or wrong credentials.
        if not self.current_user:
            raise tornado.web.HTTPError(401)


class GuardedFlower(Flower):
    """Flower with a Host allow-list and ``/metrics`` behind the login."""

    def __init__(self, allowed_hosts: frozenset[str], **kwargs: Any) -> None:
        self.allowed_hosts = allowed_hosts
        super().__init__(**kwargs)

    def get_handler_delegate(
        self,
        request: Any,
        target_class: type[tornado.web.RequestHandler],
        target_kwargs: dict[str, Any] | None = None,
        path_args: list[bytes] | None = None,
        path_kwargs: dict[str, bytes] | None = None,
    ) -> Any:
        if host_name(request.host) not in self.allowed_hosts:
            return super().get_handler_delegate(request, ForeignHostRefused)
        if target_class is Metrics:
            target_class = MetricsBehindLogin
        return super().get_handler_delegate(
            request, target_class, target_kwargs, path_args, path_kwargs
        )


def _apply_options(options: FlowerOptions) -> None:
    """Flower's own option sources first, then the service's policy over them."""
    # Never honoured: with a login it is moot, and nothing should turn the API open.
    os.environ.pop("FLOWER_UNAUTHENTICATED_API", None)
    command.apply_env_options()
    command.apply_options(sys.argv[0], [])  # flowerconfig.py; tornado's log set-up
    flower_options.address = options.address
    flower_options.port = options.port
    flower_options.basic_auth = list(options.login.pairs)
    flower_options.persistent = False
    flower_options.purge_offline_workers = options.purge_offline_workers
    command.extract_settings()
    command.setup_logging()


def run_flower(options: FlowerOptions) -> None:
    """Serve Flower until SIGTERM or Ctrl-C (what Flower's ``flower`` command does)."""
    from worker import app as celery_app  # noqa: PLC0415 - reads settings and REDIS_URL
    from worker.metrics import register_collector  # noqa: PLC0415
    from worker.state import redis_client  # noqa: PLC0415

    _apply_options(options)
    register_collector(redis_client)  # the sync's own metrics beside Flower's
    flower = GuardedFlower(
        options.allowed_hosts, capp=celery_app, options=flower_options, **tornado_settings
    )
    atexit.register(flower.stop)
    signal.signal(signal.SIGTERM, command.sigterm_handler)
    port = flower.start_http_server()
    command.print_banner(celery_app, "ssl_options" in tornado_settings, port)
    log.info(
        "Flower requires a login (from %s); answers to hosts: %s",
        options.login.source,
        ", ".join(sorted(options.allowed_hosts)),
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):  # stopped: exit quietly
        flower.start()
