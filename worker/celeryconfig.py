"""Celery settings, built from :func:`config.get_settings` when Celery first reads them.

Why each delivery setting is what it is (peers-and-practice §4):

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a task whose worker dies mid-run
  is delivered again instead of being lost; every task is idempotent, so running it
  twice is safe (R-6.1).
* ``worker_prefetch_multiplier = 1``: a worker holds no more than it is running, so a
  killed worker strands at most one message per process.
* ``visibility_timeout`` above the longest retry countdown: with Redis, a message not
  acknowledged within it is handed to another worker — a retry waiting longer would run
  twice.
* The unacknowledged-message sweep runs every few seconds, so a task of a killed
  worker is redelivered soon after its visibility timeout rather than minutes later.
* JSON only: task arguments are ids and small dicts, readable in Flower, and never
  pickled code.
* Task events on, so Flower sees tasks without enabling them itself.
* A queue per register for the record tasks, so registers share the worker processes
  instead of queueing behind each other (:mod:`worker.queues`).
"""

from __future__ import annotations

from config import get_settings
from worker.embedded_redis_url import resolve_redis_url
from worker.queues import RUN_QUEUE, family
from worker.registry import task_modules
from worker.schedule import build_beat_schedule

_settings = get_settings()
_redis_url = resolve_redis_url(_settings)

broker_url = _redis_url
result_backend = _redis_url
broker_transport_options = {
    "visibility_timeout": _settings.broker_visibility_timeout,
    # How soon a dead worker's unacknowledged task goes back on the queue once its
    # visibility timeout has passed: kombu sweeps every interval x throttle seconds
    # (10 x 10 by default); a sweep is one cheap sorted-set range query.
    "unacked_restore_interval": max(1, min(10, _settings.broker_visibility_timeout // 10)),
    "unacked_restore_throttle": 1,
}
result_backend_transport_options = {"visibility_timeout": _settings.broker_visibility_timeout}
broker_connection_retry_on_startup = True

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
result_accept_content = ["json"]
result_expires = 7 * 24 * 3600

task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_default_queue = RUN_QUEUE
# The run queue and a queue per register for its record tasks (worker.queues): a worker
# started without -Q consumes all of them, taking turns between them.
task_queues = {name: {"exchange": name, "routing_key": name} for name in family(RUN_QUEUE)}
task_track_started = True
# Task modules, each defining its tasks under explicit dotted names: the liveness and
# housekeeping tasks, then every register's (worker.registry).
include = ["tasks.system", "tasks.alerts", *task_modules()]

worker_send_task_events = True
task_send_sent_event = True
worker_hijack_root_logger = False

timezone = "Europe/Stockholm"
enable_utc = True

beat_schedule = build_beat_schedule(_settings)
