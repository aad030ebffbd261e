"""Prometheus metrics of the sync itself, served beside Flower's on Flower's ``/metrics``.

Flower's metrics count Celery tasks; they cannot say that a connection needs
re-authorization, that a transfer has not succeeded for hours, or that the error list
grows. This collector reads that from Redis at each scrape (:mod:`worker.health`: the
same facts ``doctor`` checks), per connection and transfer, so nothing has to push
numbers and a restarted process loses none. The README ("Monitoring") lists the metrics
with example alert rules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import redis
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from worker.health import STATES, connection_health
from worker.registry import NAMES
from worker.sync.runs import COUNTERS, FAILED

log = logging.getLogger(__name__)

PREFIX = "severa_sync"


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)


class SyncCollector(Collector):
    """Reads every connection's health at each scrape (a few Redis reads per transfer)."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self.client = client

    def collect(self) -> Iterator[Metric]:
        per_transfer = ["connection", "transfer"]
        last_run = _gauge(
            "last_run_timestamp_seconds",
            "When the transfer's last run started (Unix time).",
            per_transfer,
        )
        last_success = _gauge("last_success_timestamp_seconds",
                              "When the transfer's last successful run started (Unix time).",
                              per_transfer)  # fmt: skip
        last_failed = _gauge("last_run_failed",
                             "1 when the transfer's last run failed as a whole, else 0.",
                             per_transfer)  # fmt: skip
        records = _gauge("last_run_records",
                         "Records of the transfer's last run, by outcome.",
                         [*per_transfer, "outcome"])  # fmt: skip
        stuck = _gauge("stuck_runs", "Runs of the transfer that make no progress.", per_transfer)
        errors = _gauge("error_list_entries", "Entries in the connection's error list.",
                        ["connection", "register"])  # fmt: skip
        state = _gauge("connection_state",
                       "1 for the connection's current state (active, needs_authorization, "
                       "paused), 0 for the others.", ["connection", "state"])  # fmt: skip
        up = _gauge("redis_up", "1 when the sync's Redis could be read for these metrics.", [])
        try:
            self._fill(last_run, last_success, last_failed, records, stuck, errors, state)
            up.add_metric([], 1)
        except redis.RedisError as exc:
            log.warning("sync metrics: Redis cannot be read: %s", exc)
            up.add_metric([], 0)
        yield from (up, last_run, last_success, last_failed, records, stuck, errors, state)

    def _fill(self, last_run: GaugeMetricFamily, last_success: GaugeMetricFamily,
              last_failed: GaugeMetricFamily, records: GaugeMetricFamily,
              stuck: GaugeMetricFamily, errors: GaugeMetricFamily,
              state: GaugeMetricFamily) -> None:  # fmt: skip
        from worker.state import connections  # noqa: PLC0415 - needs settings

        client = self.client()
        now = time.time()
        for connection_id in connections(client):
            health = connection_health(client, connection_id, now)
            for name in STATES:
                state.add_metric([connection_id, name], 1 if health.state == name else 0)
            for register in [*NAMES, *sorted(set(health.errors) - set(NAMES))]:
                errors.add_metric([connection_id, register], health.errors.get(register, 0))
            for transfer in health.transfers:
                labels = [connection_id, transfer.transfer]
                stuck.add_metric(labels, 1 if transfer.stuck else 0)
                if transfer.last_success is not None:
                    last_success.add_metric(labels, transfer.last_success.started_at)
                if transfer.last is None:
                    continue
                last_run.add_metric(labels, transfer.last.started_at)
                last_failed.add_metric(labels, 1 if transfer.last.status == FAILED else 0)
                for outcome in COUNTERS:
                    records.add_metric([*labels, outcome], getattr(transfer.last, outcome))


def register_collector(client: Callable[[], redis.Redis]) -> None:
    """Add the sync's metrics to the default registry (the one Flower's /metrics serves)."""
    from prometheus_client import REGISTRY  # noqa: PLC0415

    REGISTRY.register(SyncCollector(client))
