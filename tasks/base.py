"""``SyncTask``: what every task shares — connection scoping and the retry policy.

Every task takes a connection id as its first argument (state and work are scoped by
it), retries only :class:`~worker.errors.TransientError` with exponential back-off and
jitter, and never carries a secret in its arguments (they are visible in Flower).
"""

from __future__ import annotations

from typing import Any

from celery import Task

from config import get_settings
from worker.errors import TransientError
from worker.keys import check_connection_id


class SyncTask(Task):
    """Base class of all sync tasks (code-models rule 3)."""

    abstract = True
    autoretry_for = (TransientError,)
    retry_backoff = 2
    retry_jitter = True
    acks_late = True

    @property
    def retry_backoff_max(self) -> int:
        return get_settings().task_retry_backoff_max

    @property
    def max_retries(self) -> int:
        return get_settings().task_max_retries

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        connection_id = kwargs.get("connection_id", args[0] if args else None)
        check_connection_id(connection_id)  # type: ignore[arg-type]
        return super().__call__(*args, **kwargs)
