"""The run command: start the Procfile's processes under honcho, with one shared environment.

``python -m worker serve`` (``make run``) is the one way to start the whole service:

* without ``REDIS_URL`` it picks a free port for the embedded Redis, runs it as the
  ``redis`` process with its generated password and passes ``REDIS_URL`` (password
  included) to every other process, and writes it to ``DATA_DIR/run/redis.url``
  (mode 0600) for CLI commands run by hand;
* in demo mode (no real API credentials) it also runs the ``sandbox`` process;
* worker, beat, Flower and the admin web app always run, as separate processes (never
  ``worker -B``: two beats would duplicate every scheduled transfer).

Ctrl-C stops every process. A worker or beat that exits by itself (kombu raising after
a Redis restart, an OOM kill) is started again after a second (:class:`Restarting`), so
an always-on service heals; if it keeps exiting (five times within a minute), or any other
process exits, every process is stopped, as honcho does, so the stack never runs half.
The banner shows URLs with their passwords masked, and Flower's login only where a
demo user needs it (see :func:`_flower_line`).
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from config import Settings
from config.redact import redact
from worker.embedded_redis import free_port, load_password, url_for
from worker.embedded_redis_url import runtime_file
from worker.flower import flower_login
from worker.private_files import ensure_private_dir, write_private
from worker.restarts import Restarting

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
PROCESS_UMASK = 0o077


@dataclass(frozen=True)
class Plan:
    """What ``run`` will start: process names in Procfile order, and their environment."""

    processes: dict[str, str]
    env: dict[str, str]
    redis_url: str
    embedded_redis: bool


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    from honcho.environ import parse_procfile  # noqa: PLC0415 - only the run command needs it

    return dict(parse_procfile(path.read_text(encoding="utf-8")).processes)


def plan(settings: Settings, environ: Mapping[str, str] | None = None) -> Plan:
    """Decide the processes and environment of a run (testable without starting any;
    it creates the embedded Redis's password file in DATA_DIR on first use)."""
    environ = dict(os.environ if environ is None else environ)
    procfile = read_procfile()
    wanted = ["worker", "beat", "flower", "web"]
    embedded = settings.redis_url is None
    if embedded:
        port = settings.embedded_redis_port or free_port()
        redis_url = url_for(port, load_password(settings.data_dir))
        environ["EMBEDDED_REDIS_PORT"] = str(port)
        environ["REDIS_URL"] = redis_url
        wanted.insert(0, "redis")
    else:
        redis_url = settings.redis_url or ""
    if settings.demo:
        wanted.insert(1 if embedded else 0, "sandbox")
    environ["DATA_DIR"] = str(settings.data_dir)
    # The Procfile's worker reads these as variables; from a .env file they are in the
    # settings only, so hand the validated values on.
    environ["WORKER_CONCURRENCY"] = str(settings.worker_concurrency)
    environ["WORKER_POOL"] = settings.worker_pool
    environ["LOG_LEVEL"] = settings.log_level
    environ["PYTHONUNBUFFERED"] = "1"
    # Procfile commands say `python`: make that the interpreter running us (the venv's).
    bin_dir = str(Path(sys.executable).parent)
    environ["PATH"] = os.pathsep.join([bin_dir, environ.get("PATH", "")])
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    missing = [name for name in wanted if name not in procfile]
    if missing:
        raise RuntimeError(f"Procfile lacks process(es): {', '.join(missing)}")
    return Plan({name: procfile[name] for name in wanted}, environ, redis_url, embedded)


def run(settings: Settings) -> int:
    """Run the plan under honcho until Ctrl-C or a process exits; return the exit code."""
    from honcho.printer import Printer  # noqa: PLC0415

    # Whatever the processes create (beat's schedule, Redis's data) is the user's only.
    os.umask(PROCESS_UMASK)
    ensure_private_dir(settings.data_dir)
    the_plan = plan(settings)
    sys.stdout = TolerantOutput(sys.stdout)
    url_file = runtime_file(settings)
    write_private(url_file, the_plan.redis_url + "\n")
    _print_banner(settings, the_plan)
    manager = Restarting(Printer(sys.stdout, colour=sys.stdout.isatty()))
    for name, command in the_plan.processes.items():
        manager.add_process(name, command, env=the_plan.env, cwd=str(ROOT))
    if settings.demo:
        _start_demo_bootstrap(settings, the_plan.redis_url)
    try:
        manager.loop()
    except BaseException:
        manager.kill()  # never leave the processes running behind a serve that exits
        raise
    finally:
        # Only now: the CLI finds Redis through it for as long as the processes run.
        url_file.unlink(missing_ok=True)
    return int(manager.returncode or 0)


class TolerantOutput(io.TextIOBase):
    """Standard output that outlives its reader.

    With ``make run | tee run.log``, Ctrl-C stops ``tee`` too; the next line honcho
    prints ("SIGINT received") then raised ``BrokenPipeError`` inside its signal
    handler, ``serve`` died half-way, and worker, beat, Flower and Redis — each in its
    own session — kept running. Once a write fails, output is dropped and the shutdown
    goes on.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self.stream.write(text)
            except OSError:
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.stream.flush()
            except OSError:
                self.gone = True

    def isatty(self) -> bool:
        return self.stream.isatty()


def _start_demo_bootstrap(settings: Settings, redis_url: str) -> None:
    """Complete the demo's eEkonomi consent once the processes are up (see worker.demo)."""
    from worker.demo import run_demo  # noqa: PLC0415

    def echo(line: str) -> None:
        print(f"{'demo':<9}| {line}", flush=True)  # noqa: T201 - beside honcho's own lines

    threading.Thread(
        target=run_demo, args=(settings, redis_url), kwargs={"echo": echo},
        name="demo-bootstrap", daemon=True,
    ).start()  # fmt: skip


def _flower_line(settings: Settings) -> str:
    """Flower's address and how to log in. The generated password is printed in demo
    mode only — that is how a demo user gets in; with real APIs, where output may end
    up in collected logs, the banner names the file instead."""
    flower = f"http://{settings.flower_host}:{settings.flower_port}"
    login = flower_login(settings)
    if not login.generated:
        return f"{flower}  (login from FLOWER_BASIC_AUTH)"
    if settings.demo:
        return f"{flower}  login {login.user} / {login.password}  (generated, in {login.source})"
    return f"{flower}  (login generated, in {login.source}; or set FLOWER_BASIC_AUTH)"


def _web_line(settings: Settings) -> str:
    """The web app's address, and in demo mode its generated operator login (the
    ``web`` process creates that user at start; see :func:`worker.web.demo_login`)."""
    from worker.web import demo_login, login_file  # noqa: PLC0415

    web = f"http://{settings.web_host}:{settings.web_port}"
    if not settings.demo:
        return f"{web}  (users: `python -m worker users add EMAIL --role operator`)"
    email, password = demo_login(settings)
    return f"{web}  login {email} / {password}  (generated, in {login_file(settings)})"


def _print_banner(settings: Settings, the_plan: Plan) -> None:
    redis_note = (
        "embedded, data in " + str(settings.data_dir / "redis")
        if the_plan.embedded_redis
        else "external"
    )
    lines = [
        "Severa ⇄ eEkonomi sync starting",
        f"  processes : {', '.join(the_plan.processes)}",
        f"  Redis     : {redact(the_plan.redis_url)} ({redis_note})",
        f"  Flower    : {_flower_line(settings)}",
        f"  web app   : {_web_line(settings)}",
    ]
    if settings.demo:
        lines += [
            f"  demo mode : Severa sandbox {settings.severa_base_url}",
            f"              eEkonomi sandbox {settings.eekonomi_api_url}",
            "              (set SEVERA_* and EEKONOMI_* variables to connect real companies)",
        ]
    lines.append("  Ctrl-C stops everything.")
    print("\n".join(lines), flush=True)  # noqa: T201 - the run command's own output
