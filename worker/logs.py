"""What the service logs at INFO: what a person would act on, each task in one line.

Celery logs every task twice at INFO ("received", "succeeded in …: <its whole result>")
and beat logs every schedule tick. Idle, the housekeeping tasks alone (heartbeat,
schedule, stalled-run check: every minute, per connection) made ~13 lines a minute,
and every transfer and record task printed its whole result dict. These filters, on
Celery's, beat's and Flower's own loggers:

* move the housekeeping tasks' lines to DEBUG (``LOG_LEVEL=DEBUG`` shows them again);
* shorten a task's result to one summary line (a run's counts, a record task's
  outcomes);
* move Flower's "Inspect method … failed" — no worker has answered yet, as at every
  start-up — to DEBUG.

Installed once per process when the Celery app is imported (:func:`install`).
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from typing import Any

#: Tasks that run on their own every minute: their lines are noise at INFO.
HOUSEKEEPING = frozenset({
    "sync.ping", "sync.heartbeat", "sync.heartbeat_all", "sync.schedule_transfers",
    "sync.resume_stalled_runs", "sync.resume_stalled_runs_all", "sync.check_alerts",
    "sync.check_alerts_all",
})  # fmt: skip

COUNTS = ("created", "updated", "unchanged", "failed", "skipped")


def _to_debug(record: logging.LogRecord) -> bool:
    """Log ``record`` at DEBUG instead: kept only when DEBUG is on."""
    record.levelno, record.levelname = logging.DEBUG, "DEBUG"
    return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def summary(value: Any) -> str | None:
    """One line for a task's result: a run report's counts, a record task's outcomes;
    ``None`` for anything else (left as Celery shows it)."""
    if not isinstance(value, Mapping):
        return None
    if "transfer" in value:
        if value.get("status") == "running":
            return (
                f"{value['transfer']} run started: {value.get('expected', 0)} record(s) to settle"
            )
        counts = ", ".join(f"{value.get(c, 0)} {c}" for c in COUNTS if value.get(c))
        return f"{value['transfer']} {value.get('status', '')}: {counts or 'no records yet'}"
    if "outcomes" in value:
        outcomes = value.get("outcomes") or {}
        line = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "nothing settled"
        run = summary(value["run"]) if isinstance(value.get("run"), Mapping) else None
        return f"{len(value.get('records') or [])} record(s): {line}" + (
            f"; closed the run ({run})" if run else ""
        )
    return None


class TaskLines(logging.Filter):
    """Celery's "received" / "succeeded" lines (their argument is one dict)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = record.args
        if not isinstance(context, Mapping):
            return True
        if context.get("name") in HOUSEKEEPING:
            return _to_debug(record)
        shown = context.get("return_value")
        if isinstance(shown, str):
            try:
                short = summary(ast.literal_eval(shown))
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                short = None
            if short is not None:
                record.args = {**context, "return_value": short}
        return True


class BeatLines(logging.Filter):
    """Beat's "Sending due task NAME (TASK)" for the housekeeping tasks."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if any(arg in HOUSEKEEPING for arg in args if isinstance(arg, str)):
            return _to_debug(record)
        return True


class InspectLines(logging.Filter):
    """Flower's "Inspect method … failed": no worker answered (yet)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Inspect method"):
            return _to_debug(record)
        return True


_INSTALLED: list[str] = []


def install() -> None:
    """Add the filters to their loggers (once per process)."""
    if _INSTALLED:
        return
    for name, log_filter in (
        ("celery.app.trace", TaskLines()),
        ("celery.worker.strategy", TaskLines()),
        ("celery.beat", BeatLines()),
        ("flower.inspector", InspectLines()),
    ):
        logging.getLogger(name).addFilter(log_filter)
        _INSTALLED.append(name)
