"""The worker's queues: one for the transfers themselves, one per register for its records.

Why a queue per register: each record task waits for its endpoint's shared rate limit
(:mod:`worker.clients.ratelimit`) inside a worker process. With one first-in-first-out
queue, the 200 product tasks a products run fans out in its first second fill every
process, all waiting on ``POST /articles``, while the customers' tasks — on another,
idle rate-limit bucket — wait behind them; the registers then run one after another
instead of side by side (bench/README.md: 1.38 x the rate-limit bound, all of it this).
kombu's Redis transport takes the next message from the queues a worker consumes in
rotation, so with a queue per register each register gets its share of the processes.

The run task's own queue (``sync`` by default, or whatever queue it was sent to) names
the family: a run sent to ``q`` fans its records out to ``q.<register>``, so a
deployment or a test that gives a connection its own queue keeps all of its work there.
A worker must consume the whole family — :func:`family` lists it (one record queue
per register of :mod:`worker.registry`), the Celery configuration declares the default
family, and ``celery worker`` without ``-Q`` consumes it.
"""

from __future__ import annotations

from worker.registry import NAMES

#: The default queue of run tasks (``task_default_queue``).
RUN_QUEUE = "sync"


def record_queue(run_queue: str, register: str) -> str:
    """The queue of ``register``'s record tasks for runs sent to ``run_queue``."""
    return f"{run_queue}.{register}"


def run_queue_of(queue: str | None, register: str) -> str | None:
    """The run queue whose ``register`` records go to ``queue`` (:func:`record_queue`)."""
    suffix = f".{register}"
    return queue[: -len(suffix)] if queue and queue.endswith(suffix) else None


def family(run_queue: str = RUN_QUEUE) -> list[str]:
    """``run_queue`` and the record queue of every register: what a worker consumes."""
    return [run_queue, *(record_queue(run_queue, name) for name in NAMES)]
