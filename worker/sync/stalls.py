"""Lost messages: a running run whose records no message will bring any more.

Why a module of its own: the engine's five steps (:mod:`worker.sync.engine`) assume
every record's message arrives; this is the beat's check for when one does not — a
worker killed between the Redis transport popping a message and recording it as
unacknowledged (kombu #305) — and what to send again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from worker.sync.engine import SyncContext, finish_run
from worker.sync.runstate import RunState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stalled:
    """A run whose remaining records no message will bring: resend ``keys`` to ``queue``
    — or, when ``start`` (it never finished its fan-out), its start, under its run id."""

    register: str
    run_id: str
    queue: str | None
    keys: list[str]
    start: bool = False


def note_attempt(ctx: SyncContext, run_id: str) -> None:
    """A record task of ``run_id`` starts or retries, so the run is not stalled
    (:func:`stalled_records`); a finished, expired or ad-hoc run is left alone."""
    RunState(ctx.redis, ctx.connection_id, run_id).note_attempt()


def stalled_records(ctx: SyncContext, register: str, quiet: float) -> Stalled | None:
    """The unsettled records of ``register``'s running run if it has fanned out and no
    record task of it has started or settled anything for ``quiet`` seconds.

    Why: the Redis transport pops a message off its queue before it records it as
    unacknowledged; a worker killed in between loses the message (kombu #305), and its
    records would wait for the run's lock to expire and the next run. ``quiet`` is
    longer than a dead worker's messages take to come back (the visibility timeout) and
    than the longest retry countdown, and every record task stamps the run when it
    starts or retries (:func:`note_attempt`): a record still being tried keeps its run
    from going quiet, so what is resent is lost, never in flight — two attempts at one
    record at once could both create it. The run's quiet clock then restarts, so the
    records are not resent again at once.

    A run whose records all settled but which stayed ``finishing`` as long (its finish
    was cut short: Redis lost, or the worker killed, right after the last settle) is
    finished here: its watermarks advance and its lock is freed.

    A run that never finished its fan-out and is as quiet (its start's task failed —
    Redis was lost mid fan-out — or its message was lost; a start still reading stamps
    each batch) has its start resent with the same run id: it goes on from its report
    and lock (:func:`~worker.sync.engine.take_lock`), or ends failed and frees the lock.
    """
    run = RunState.current(ctx.redis, ctx.connection_id, register)
    resend = None if run is None else run.quiet_for(quiet)
    if run is None or resend is None:
        return None
    if resend == "finish":
        log.warning("%s run %s settled all its records but its finish was cut short: "
                    "finishing it", register, run.run_id)  # fmt: skip
        finish_run(run)
        return None
    if resend == "start":
        log.warning("%s run %s never finished its fan-out and was quiet for %.0f s: "
                    "sending its start again", register, run.run_id, quiet)  # fmt: skip
        return Stalled(register, run.run_id, run.queue(), [], start=True)
    unsettled = run.unsettled()
    if not unsettled:
        return None
    log.warning(
        "%s run %s settled nothing for %.0f s with %d record(s) left: sending them again",
        register, run.run_id, quiet, len(unsettled),
    )  # fmt: skip
    return Stalled(register, run.run_id, run.queue(), unsettled)
