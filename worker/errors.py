"""The three kinds of failure, which decide what happens next (code-models rule 4).

* :class:`TransientError` — try again later (rate limit, 5xx, time-out, expired access
  token). Only these reach Celery's automatic retry (R-6.3).
* :class:`RecordError` — this one record cannot be transferred; it goes to the error
  list with a reason a person can act on, and the run goes on (R-6.2, R-4.3).
* :class:`ConfigError` — the connection is misconfigured (missing scope, API module
  off, needs re-authorization); the run stops with guidance (R-2, R-3).
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error the sync raises on purpose. ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientError(SyncError):
    """Temporary; the same call is expected to succeed later."""


class RecordError(SyncError):
    """One record cannot be transferred; the others go on."""


class ConfigError(SyncError):
    """The connection's settings or credentials must be fixed by a person."""
