"""Run reports (R-4.2): what a transfer created, updated, left unchanged and failed.

A run is created by the register task, counted up by the per-record tasks (``HINCRBY``,
so concurrent worker processes never lose a count) and finished when every record is
settled — the last per-record task to settle it closes the run. The report is the
register task's result in Flower and what ``status`` shows.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import redis

from worker.keys import run_history_key, run_key

COUNTERS = ("created", "updated", "unchanged", "failed", "skipped")
HISTORY = 50

RUNNING = "running"
#: Its last record has settled and the finish (watermarks, lock, staged data) is under way.
FINISHING = "finishing"
#: A run in either state holds (or held, until its lock expired) its register's lock.
ACTIVE = frozenset({RUNNING, FINISHING})
FINISHED = "finished"
FAILED = "failed"  # the run itself failed (configuration, API down); see ``message``
#: The message of a one-record run of ``errors retry``: kept in the history (it took the
#: register's lock) but not a transfer — ``status``, the schedule and the health checks
#: look past it to the last real run.
ONE_RECORD = "one record (errors retry)"


@dataclass
class RunReport:
    run_id: str
    connection_id: str
    transfer: str
    status: str = RUNNING
    started_at: float = 0.0
    finished_at: float = 0.0
    expected: int = 0
    settled: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    message: str = ""

    @property
    def duration(self) -> float:
        end = self.finished_at or time.time()
        return round(end - self.started_at, 3) if self.started_at else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "duration": self.duration}

    def summary(self) -> str:
        """The R-4.2 status line."""
        return (
            f"{self.transfer}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed"
            + (f", {self.skipped} skipped" if self.skipped else "")
            + f" in {self.duration:.1f}s"
        )


class Runs:
    def __init__(self, client: redis.Redis, connection_id: str) -> None:
        self.client = client
        self.connection_id = connection_id

    def _key(self, run_id: str) -> str:
        return run_key(self.connection_id, run_id)

    def start(self, transfer: str, run_id: str | None = None) -> RunReport:
        report = RunReport(
            run_id=run_id or uuid.uuid4().hex[:16],
            connection_id=self.connection_id,
            transfer=transfer,
            started_at=time.time(),
        )
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self._key(report.run_id), mapping=_flat(report))
        pipe.lpush(run_history_key(self.connection_id, transfer), report.run_id)
        pipe.ltrim(run_history_key(self.connection_id, transfer), 0, HISTORY - 1)
        pipe.execute()
        return report

    def get(self, run_id: str) -> RunReport | None:
        raw = self.client.hgetall(self._key(run_id))
        if not raw:
            return None
        values = {_text(k): _text(v) for k, v in raw.items()}
        numbers = {"expected", "settled", *COUNTERS}
        floats = {"started_at", "finished_at"}
        data: dict[str, Any] = {"run_id": run_id, "connection_id": self.connection_id,
                                "transfer": "?"}  # fmt: skip
        unreadable = []
        for name, value in values.items():
            try:
                if name in numbers:
                    data[name] = int(value)
                elif name in floats:
                    data[name] = float(value)
                elif name in RunReport.__dataclass_fields__:
                    data[name] = value
            except ValueError:
                unreadable.append(name)
        report = RunReport(**data)
        if unreadable:
            # Shown, not raised: a report is what status, the lock's next holder and the
            # stalled-run check read, and one bad counter must not stop any of them.
            report.message = (
                f"{report.message} (stored {', '.join(sorted(unreadable))} unreadable)"
            ).strip()
        return report

    def history(self, transfer: str, limit: int = 10) -> list[RunReport]:
        ids = self.client.lrange(run_history_key(self.connection_id, transfer), 0, limit - 1)
        reports = (self.get(_text(i)) for i in ids)
        return [r for r in reports if r is not None]

    def last(self, transfer: str) -> RunReport | None:
        history = self.history(transfer, 1)
        return history[0] if history else None

    def transfers(self, transfer: str, limit: int = HISTORY) -> list[RunReport]:
        """The transfer's runs, newest first, without the one-record runs of
        ``errors retry`` (:data:`ONE_RECORD`)."""
        return [r for r in self.history(transfer, limit) if not r.message.startswith(ONE_RECORD)]

    def last_transfer(self, transfer: str) -> RunReport | None:
        """The last real run of the transfer (not a retry of one record)."""
        found = self.transfers(transfer)
        return found[0] if found else None

    def set_expected(self, run_id: str, expected: int) -> None:
        self.client.hset(self._key(run_id), "expected", expected)

    def count(self, run_id: str, counter: str, amount: int = 1) -> None:
        """Count a settled record under ``counter``."""
        if counter not in COUNTERS:
            raise ValueError(f"unknown counter {counter!r}")
        pipe = self.client.pipeline(transaction=True)
        pipe.hincrby(self._key(run_id), counter, amount)
        pipe.hincrby(self._key(run_id), "settled", amount)
        pipe.execute()

    def finish(self, run_id: str, status: str = FINISHED, message: str = "") -> RunReport | None:
        self.client.hset(
            self._key(run_id),
            mapping={"status": status, "finished_at": f"{time.time():.3f}", "message": message},
        )
        return self.get(run_id)


def _flat(report: RunReport) -> dict[Any, Any]:
    return {k: str(v) for k, v in asdict(report).items()}


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
