"""The Celery application: broker, serialization and delivery guarantees.

Configuration is read lazily (``config_from_object`` with a module name), so importing
the app — as the CLI does for ``--help`` — needs no settings and no Redis. The module
is named ``celery_app`` so it never shadows the ``celery`` package.
"""

from __future__ import annotations

from celery import Celery

#: Task modules; each registers its tasks under explicit dotted names.
TASK_MODULES = [
    "tasks.system",
    "tasks.customers",
    "tasks.products",
    "tasks.projects",
    "tasks.invoices",
    "tasks.supplier_invoices",
]

app = Celery("severa_eekonomi_sync", include=TASK_MODULES)
app.config_from_object("worker.celeryconfig")
