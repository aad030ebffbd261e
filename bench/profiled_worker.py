"""``celery`` with every process of the worker under :mod:`cProfile` (benchmarks only).

``bench/register_transfer.py --no-limits`` starts the worker through this file instead
of ``python -m celery`` for its profiled run: the main process (which receives the
messages) and each pool process (which runs the tasks) record a profile of their CPU
time (:func:`time.process_time`) and write it to ``$BENCH_PROFILE_DIR/worker-<pid>.prof``
when they stop (a pool process at the worker's warm shutdown, the main process at
exit). Nothing of the product changes: the signals are connected here, before the pool
processes are forked.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import sys
import time
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown

_DIR = Path(os.environ.get("BENCH_PROFILE_DIR", "."))
_PROFILER: list[cProfile.Profile] = []


def _start() -> None:
    # CPU time, not wall time: a blocking recv or epoll wait costs no CPU.
    _PROFILER[:] = [cProfile.Profile(time.process_time)]
    _PROFILER[0].enable()


def _dump() -> None:
    if _PROFILER:
        profiler = _PROFILER.pop()
        profiler.disable()
        profiler.dump_stats(str(_DIR / f"worker-{os.getpid()}.prof"))


@worker_process_init.connect
def _child_start(**_: Any) -> None:
    _start()  # replaces the profiler inherited from the main process


@worker_process_shutdown.connect
def _child_stop(**_: Any) -> None:
    _dump()


if __name__ == "__main__":
    from celery.__main__ import main

    atexit.register(_dump)
    _start()
    sys.argv[0] = "celery"
    sys.exit(main())
