"""honcho's process manager, with the service's processes started again when they exit.

honcho stops the whole stack as soon as one process exits. For ``serve`` that made one
worker crash — kombu raising ``AttributeError`` while Redis restarts, an OOM kill — the
end of the service until a person noticed. :class:`Restarting` starts a process of
:data:`RESTARTED` again a second after it exited; one that keeps exiting (more than
:data:`CRASH_LIMIT` times within :data:`CRASH_WINDOW` seconds) is a real fault, and the
stack stops as before, saying why. Any other process exiting, and Ctrl-C, stop every
process as honcho does.
"""

from __future__ import annotations

import datetime
import multiprocessing
import queue
import signal
import time
from collections.abc import Callable
from typing import Any

from honcho.manager import KILL_WAIT, SIGNALS, Manager

#: The processes started again when they exit.
RESTARTED = frozenset({"worker", "beat"})
#: Seconds between an exit and the new start (no hot loop against a Redis still down).
RESTART_DELAY = 1.0
CRASH_LIMIT = 5
CRASH_WINDOW = 60.0


class Restarting(Manager):
    """A honcho ``Manager`` whose :data:`RESTARTED` processes come back after an exit."""

    def __init__(
        self,
        printer: Any = None,
        *,
        restarted: frozenset[str] = RESTARTED,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(printer)
        self.restarted = restarted
        self.monotonic = monotonic
        self.exits: dict[str, list[float]] = {}
        #: Process name → when to start it again, and the code it exited with.
        self.due: dict[str, tuple[float, int]] = {}

    def loop(self) -> None:
        """honcho's loop (2.0.0), with :meth:`_stopped` deciding what an exit means."""

        def _terminate(signum: int, frame: object) -> None:
            self._system_print("%s received\n" % SIGNALS[signum]["name"])  # noqa: UP031
            self.returncode = SIGNALS[signum]["rc"]
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        self._start()
        done = False
        exit_start = None
        while True:
            try:
                msg = self.events.get(timeout=0.1)
            except queue.Empty:
                if done:
                    break
            else:
                self._handle(msg)
            self._start_due()
            if self._all_started() and self._all_stopped():
                done = True
            if exit_start is None and self._all_started() and self._any_stopped():
                exit_start = self._clock.now()
                self.terminate()
            if exit_start is not None and self._clock.now() - exit_start > datetime.timedelta(
                seconds=KILL_WAIT
            ):
                self.kill()

    def _handle(self, msg: Any) -> None:
        if msg.type == "line":
            self._printer.write(msg)
        elif msg.type == "start":
            self._processes[msg.name]["pid"] = msg.data["pid"]
            self._system_print("%s started (pid=%s)\n" % (msg.name, msg.data["pid"]))  # noqa: UP031
        elif msg.type == "stop":
            self._stopped(msg.name, msg.data["returncode"])

    def _stopped(self, name: str, returncode: int) -> None:
        """Schedule a restart, or record the exit (which stops the stack)."""
        if not self._terminating and name in self.restarted:
            now = self.monotonic()
            recent = [t for t in self.exits.get(name, []) if now - t < CRASH_WINDOW] + [now]
            self.exits[name] = recent
            if len(recent) <= CRASH_LIMIT:
                self._system_print(
                    f"{name} exited (rc={returncode}); starting it again in {RESTART_DELAY:g}s\n"
                )
                self.due[name] = (now + RESTART_DELAY, returncode)
                return
            self._system_print(
                f"{name} exited {len(recent)} times within {CRASH_WINDOW:g}s: stopping "
                "everything (see its last lines above)\n"
            )
        self._processes[name]["returncode"] = returncode
        self._system_print("%s stopped (rc=%s)\n" % (name, returncode))  # noqa: UP031
        if self.returncode is None:
            self.returncode = returncode

    def _start_due(self) -> None:
        now = self.monotonic()
        for name, (when, _) in list(self.due.items()):
            if when <= now:
                del self.due[name]
                entry = self._processes[name]
                entry["process"] = multiprocessing.Process(
                    name=name, target=entry["obj"].run, args=(self.events, True)
                )
                entry["process"].start()

    def terminate(self) -> None:
        """Stop everything; a process waiting to be started again counts as stopped."""
        for name, (_, returncode) in self.due.items():
            self._processes[name]["returncode"] = returncode
        self.due.clear()
        super().terminate()
