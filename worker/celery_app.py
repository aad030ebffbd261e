"""The Celery application: broker, serialization and delivery guarantees.

Configuration is read lazily (``config_from_object`` with a module name), so importing
the app — as the CLI does for ``--help`` — needs no settings and no Redis. The module
is named ``celery_app`` so it never shadows the ``celery`` package.
"""

from __future__ import annotations

from celery import Celery

from worker.logs import install as install_log_filters

# The task modules are named by the Celery configuration (``include``: tasks.system
# and each register's module, from worker.registry), read lazily like the rest of it.
app = Celery("severa_eekonomi_sync")
app.config_from_object("worker.celeryconfig")

# INFO only for what a person would act on; each task in one line (worker/logs.py).
install_log_filters()
