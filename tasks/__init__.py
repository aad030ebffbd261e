"""The queue-facing surface: thin Celery tasks that take ids and call the sync engine."""
