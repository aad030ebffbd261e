"""The worker service: Celery app and schedule, command-line interface, and the sync code.

``celery -A worker ...`` finds :data:`app` here.
"""

from worker.celery_app import app

__all__ = ["app"]
