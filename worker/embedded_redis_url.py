"""Where a process finds Redis: ``REDIS_URL``, or the embedded Redis of a running service.

``python -m worker serve`` starts the embedded Redis on a free port and passes its URL to
its child processes in ``REDIS_URL``; it also writes it to ``DATA_DIR/run/redis.url`` so
that CLI commands started by hand in another terminal (``doctor``, ``status``) reach the
same Redis. The URL carries the embedded Redis's password, so that file is 0600 and is
read through :func:`~worker.private_files.read_private`.
"""

from __future__ import annotations

from pathlib import Path

from config import Settings
from worker.private_files import read_private


class NoRedisConfigured(RuntimeError):
    """Neither REDIS_URL nor a running embedded Redis is known."""


def runtime_file(settings: Settings) -> Path:
    return settings.data_dir / "run" / "redis.url"


def resolve_redis_url(settings: Settings) -> str:
    """The Redis URL this process must use; raises :class:`NoRedisConfigured` if none."""
    if settings.redis_url:
        return settings.redis_url
    path = runtime_file(settings)
    if path.is_file():
        return read_private(path)
    raise NoRedisConfigured(
        "REDIS_URL is not set and no embedded Redis is running: start the service with "
        "`make run` (or `severa-sync serve`), or set REDIS_URL"
    )
