"""Count the Redis commands each worker process sends, by the code of ours that sends
them (``register_transfer.py --no-limits --trace-commands``, issue 20).

Python imports ``sitecustomize`` at start-up from the path; the benchmark puts this
folder first on the worker's ``PYTHONPATH`` and names an output folder in
``BENCH_REDIS_TRACE_DIR`` (and the worker's checkout in ``BENCH_REDIS_TRACE_ROOT``).
Every command redis-py packs (alone or in a pipeline) is counted under the nearest two
frames of the worker's own code on the stack (or ``celery/kombu`` when there is none:
the broker and the events), and each process
writes its counts to ``<pid>.json`` once a second — a pool process is killed, not
shut down, so an exit hook would not run. Without the variable it does nothing.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

_OUT = os.environ.get("BENCH_REDIS_TRACE_DIR")
#: The checkout whose code the worker runs (another one for a before / after comparison).
_ROOT = os.environ.get("BENCH_REDIS_TRACE_ROOT", str(Path(__file__).resolve().parents[2]))
_ROOT = _ROOT.rstrip(os.sep) + os.sep


def _install(out: Path) -> None:
    import redis.connection

    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    packers = [
        getattr(redis.connection, name)
        for name in ("HiredisRespSerializer", "PythonRespSerializer")
        if hasattr(redis.connection, name)
    ]

    def wrap(original: Any) -> Any:
        def pack(self: Any, *args: Any) -> Any:
            frame = sys._getframe(1)  # noqa: SLF001 - the caller, to name who sends it
            ours: list[str] = []
            while frame is not None and len(ours) < 2:
                name = frame.f_code.co_filename
                if name.startswith(_ROOT) and "/.venv/" not in name and "/bench/" not in name:
                    ours.append(f"{name[len(_ROOT) :]}:{frame.f_code.co_name}")
                frame = frame.f_back
            command = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            counts[(" < ".join(ours) or "celery/kombu", command.split()[0].upper())] += 1
            return original(self, *args)

        return pack

    for packer in packers:
        packer.pack = wrap(packer.pack)

    def dump() -> None:
        while True:
            time.sleep(1.0)
            rows = [[where, command, n] for (where, command), n in list(counts.items())]
            (out / f"{os.getpid()}.json").write_text(json.dumps(rows), encoding="utf-8")

    def start() -> None:
        counts.clear()
        threading.Thread(target=dump, daemon=True).start()

    start()
    os.register_at_fork(after_in_child=start)


if _OUT:
    _install(Path(_OUT))
