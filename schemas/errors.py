"""The failures of the sync, in one hierarchy from the mapping layer up (code-models rule 4).

The kind of a failure decides what happens next:

* :class:`TransientError` — try again later (rate limit, 5xx, time-out, expired access
  token). Only these reach Celery's automatic retry (R-6.3).
* :class:`RecordError` — this one record cannot be transferred; it goes to the error
  list with a reason a person can act on, and the run goes on (R-6.2, R-4.3).
  :class:`MappingError` is the record error of the mapping itself (a field the other
  system would refuse), raised by the schemas.
* :class:`ConfigError` — the connection is misconfigured (missing scope, API module
  off, needs re-authorization); the run stops with guidance (R-2, R-3).

The hierarchy lives here, at the bottom of the import graph, because the schemas raise
record errors and import nothing of the worker; ``worker.errors`` re-exports it for the
layers above.
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


class MappingError(RecordError):
    """A record cannot be mapped; ``reason`` tells a person what to change.

    Attributes:
        record_label: which record, as a person finds it, e.g. ``customer 1049 'Foo AB'``.
        reason: what is wrong and how to fix it (R-4.3 error list).
    """

    def __init__(self, record_label: str, reason: str) -> None:
        super().__init__(f"{record_label}: {reason}")
        self.record_label = record_label
        self.reason = reason


class ConfigError(SyncError):
    """The connection's settings or credentials must be fixed by a person."""
