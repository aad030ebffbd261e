"""Command-line interface of the transfers: ``run``, ``status``, ``errors``, ``settings``.

These talk to the running service through Redis (its run reports, error list and
settings) and Celery (to start a transfer), or do the work in this process with
``run --now``. Tables are for people; ``--json`` output is for scripts and monitoring.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from config import company
from config.company import SETTINGS
from schemas.sides import Direction
from worker.cli_output import labels, log_to_file, sentences, shown
from worker.registry import NAMES, REGISTERS


def _connection_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A well-formed connection id, or one clear usage line (not a traceback)."""
    from worker.keys import InvalidConnectionId, check_connection_id  # noqa: PLC0415

    try:
        return check_connection_id(value)
    except InvalidConnectionId as exc:
        raise click.BadParameter(str(exc)) from None


CONNECTION = click.option(
    "--connection",
    "connection_id",
    default="default",
    show_default=True,
    callback=_connection_id,
    help="Connection id (one Severa company paired with one eEkonomi company).",
)


def _fail(message: str, code: int = 1) -> NoReturn:
    """End the command with one line on stderr (what went wrong and what to do)."""
    click.echo(message, err=True)
    sys.exit(code)


def _settings_of(connection_id: str) -> dict[str, Any]:
    """The connection's settings, or one line saying they cannot be read and how to
    repair them."""
    try:
        return company.load(_redis(), connection_id)
    except company.SettingsUnreadable as exc:
        _fail(f"error: {exc}")


#: What a command that calls the APIs reports in one line instead of a traceback: the
#: sync's own errors (API failures, re-authorization needed), unreadable settings, and a
#: refused transfer.
def _one_line_errors() -> tuple[type[Exception], ...]:
    from worker.errors import SyncError  # noqa: PLC0415
    from worker.sync.engine import RunRefused  # noqa: PLC0415

    return (SyncError, company.SettingsUnreadable, RunRefused)


def _redis() -> Any:
    from worker.state import redis_client  # noqa: PLC0415 - needs settings; keep --help cheap

    return redis_client()


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    text_rows = [[("" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in text_rows]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


def _when(epoch: float) -> str:
    if not epoch:
        return ""
    return datetime.fromtimestamp(epoch, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


# -- run -------------------------------------------------------------------------------


@click.command("run")
@click.argument("transfer", type=click.Choice([*NAMES, "all"]))
@CONNECTION
@click.option("--now", is_flag=True, help="Do the work in this process instead of the worker.")
@click.option(
    "--timeout", default=3600.0, show_default=True, help="Seconds to follow an enqueued run."
)
def run_transfer(transfer: str, connection_id: str, now: bool, timeout: float) -> None:
    """Run a transfer (R-4.1): customers, products, projects, invoices (transfer
    invoices), sent / paid (check sent / paid invoices), supplier_invoices (fetch
    supplier invoices), or all of them in that order.

    By default the transfer is enqueued for the worker (it then shows in Flower) and
    followed here with a progress bar; --now runs it in this process. Ends with the
    run report (R-4.2). Exits 1 when a run was refused or records failed.
    """
    names = list(NAMES) if transfer == "all" else [transfer]
    failed = False
    for name in names:
        report = (
            _run_now(connection_id, name) if now else _run_enqueued(connection_id, name, timeout)
        )
        if report is None:
            failed = True
            continue
        click.echo(_report_line(report))
        failed = failed or report.get("status") != "finished" or bool(report.get("failed"))
    sys.exit(1 if failed else 0)


def _run_now(connection_id: str, register: str) -> dict[str, Any] | None:
    from worker.sync.engine import RunRefused  # noqa: PLC0415
    from worker.sync.service import transfer_now  # noqa: PLC0415

    log_to_file()
    try:
        return transfer_now(connection_id, register, uuid.uuid4().hex).as_dict()
    except RunRefused as exc:
        click.echo(f"{register}: not started: {exc}", err=True)
        return None


def _run_enqueued(connection_id: str, register: str, timeout: float) -> dict[str, Any] | None:
    from worker import app  # noqa: PLC0415
    from worker.registry import spec_of  # noqa: PLC0415
    from worker.sync.runs import Runs  # noqa: PLC0415

    runs = Runs(_redis(), connection_id)
    runs.client.ping()  # Celery would retry an absent Redis for minutes, then trace back
    result = app.send_task(spec_of(register).task, args=[connection_id])
    deadline = time.monotonic() + timeout
    started = None
    while time.monotonic() < deadline:
        started = runs.get(result.id)
        if started is not None or result.ready():
            break
        time.sleep(0.2)
    if started is None:
        answer = result.get(timeout=max(1.0, deadline - time.monotonic()), propagate=False)
        reason = answer.get("message", answer) if isinstance(answer, dict) else answer
        click.echo(f"{register}: not started: {reason}", err=True)
        return None
    with click.progressbar(length=1, label=f"{register:<10}", show_pos=True) as bar:
        done = 0
        while time.monotonic() < deadline:
            report = runs.get(result.id)
            if report is None:
                break
            if report.expected:
                bar.length = report.expected
            bar.update(report.settled - done)
            done = report.settled
            if report.status not in ("running", "finishing"):
                break
            time.sleep(0.3)
    final = runs.get(result.id)
    return final.as_dict() if final else None


def _report_line(report: dict[str, Any]) -> str:
    text = (
        f"{report['transfer']}: {report['created']} created, {report['updated']} updated, "
        f"{report['unchanged']} unchanged, {report['failed']} failed"
        + (f", {report['skipped']} skipped" if report.get("skipped") else "")
        + f" in {report['duration']:.1f}s (run {report['run_id']}, {report['status']})"
    )
    if report.get("message"):
        text += f": {report['message']}"
    return text


# -- status ----------------------------------------------------------------------------


@click.command("status")
@CONNECTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(connection_id: str, as_json: bool) -> None:
    """The last run of each transfer, the connection's state and its error count."""
    from worker.connection_status import get_status  # noqa: PLC0415
    from worker.sync.errorlist import ErrorList  # noqa: PLC0415
    from worker.sync.runs import Runs  # noqa: PLC0415

    client = _redis()
    runs = Runs(client, connection_id)
    last = {name: runs.last_transfer(name) for name in NAMES}
    connection = get_status(client, connection_id)
    errors = ErrorList(client, connection_id).count()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "connection": connection_id,
                    "state": connection.state,
                    "reason": connection.reason,
                    "errors": errors,
                    "transfers": {n: r.as_dict() if r else None for n, r in last.items()},
                },
                indent=2,
            )
        )
        return
    click.echo(f"connection {connection_id}: {connection.state}  {connection.reason}".rstrip())
    rows: list[list[Any]] = []
    for name, report in last.items():
        if report is None:
            rows.append([name, "never run", "", "", "", "", "", "", ""])
            continue
        rows.append(
            [name, report.status, _when(report.started_at), report.created, report.updated,
             report.unchanged, report.failed, report.skipped, f"{report.duration:.1f}s"]
        )  # fmt: skip
    headers = ["transfer", "status", "started", "created", "updated", "unchanged", "failed",
               "skipped", "took"]  # fmt: skip
    click.echo(_table(headers, rows))
    if any(r is not None and r.skipped for r in last.values()):
        click.echo("skipped: records the run left for later on purpose (an invoice not yet "
                   "paid in full, say); they are looked at again by the next run")  # fmt: skip
    click.echo(f"{errors} record(s) in the error list (`errors` shows them)")


# -- errors ----------------------------------------------------------------------------


@click.group("errors", invoke_without_command=True)
@CONNECTION
@click.option("--register", type=click.Choice(NAMES), help="Only this register.")
@click.option("--search", help="Only entries mentioning this text (number, name, message).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def errors(
    ctx: click.Context, connection_id: str, register: str | None, search: str | None, as_json: bool
) -> None:
    """The error list (R-4.3): records that could not be transferred, and why.

    An entry disappears by itself once its record transfers. `errors retry` tries
    the listed records again now; `errors dismiss` removes entries without retrying.
    """
    ctx.obj = {"connection_id": connection_id, "register": register}
    if ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict  # noqa: PLC0415

    from worker.sync.errorlist import ErrorList  # noqa: PLC0415

    entries = list(ErrorList(_redis(), connection_id).entries(register=register, search=search))
    if as_json:
        click.echo(json.dumps([{**asdict(e), "id": e.id} for e in entries], indent=2,
                              ensure_ascii=False))  # fmt: skip
        return
    if not entries:
        total = ErrorList(_redis(), connection_id).count()
        if total and (register or search):
            noun = "entry" if total == 1 else "entries"
            click.echo(f"No entry matches; the error list has {total} {noun} "
                       "(`errors` without filters shows them).")  # fmt: skip
        else:
            click.echo("The error list is empty.")
        return
    for entry in entries:
        record = entry.record
        click.echo(
            f"[{entry.kind}] {entry.register} {record.number or entry.record_key} "
            f"'{record.name}' ({entry.direction}), {entry.count}x, last {_when(entry.last_seen)}"
        )
        click.echo(f"    {entry.reason}")
        vendor = [f"{label}: {value}" for label, value in (
            ("field", entry.vendor_field), ("code", entry.vendor_code),
            ("ErrorId", entry.vendor_error_id)) if value]  # fmt: skip
        if vendor:
            click.echo(f"    {', '.join(vendor)}")
    click.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")


REGISTER = click.option("--register", "register_", type=click.Choice(NAMES, case_sensitive=False),
                        help="Only this register.")  # fmt: skip


def _maybe_connection_id(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    return None if value is None else _connection_id(ctx, param, value)


#: ``errors retry|dismiss|reset`` take ``--connection`` after their name too (it is the
#: ``errors`` group's option): ``errors retry 1050 --connection acme`` works as typed.
SUB_CONNECTION = click.option("--connection", "connection_", default=None,
                              callback=_maybe_connection_id,
                              help="Connection id (default: that given to `errors`).")  # fmt: skip


@errors.command("retry")
@click.argument("numbers", nargs=-1)
@REGISTER
@SUB_CONNECTION
@click.pass_obj
def errors_retry(
    obj: dict[str, Any], numbers: tuple[str, ...], register_: str | None, connection_: str | None
) -> None:
    """Re-read and transfer listed records now: all of them, those of --register, or
    the given record numbers (customer number, article number, project number) —
    also records not in the list, to re-sync one by hand (with --register for a
    record the sync has not linked yet). Exits 1 when a record failed or a number
    names no record."""
    from worker.registry import register_named  # noqa: PLC0415
    from worker.sync.engine import resync_record  # noqa: PLC0415
    from worker.sync.errorlist import RECORD, ErrorList  # noqa: PLC0415
    from worker.sync.service import context_for  # noqa: PLC0415

    connection_id, only = connection_ or obj["connection_id"], register_ or obj["register"]
    client = _redis()
    try:
        ctx = context_for(connection_id)
    except _one_line_errors() as exc:
        _fail(f"not retried: {exc}")
    wanted: list[tuple[str, str]] = []
    unknown = []
    if numbers:
        for number in numbers:
            if only:
                wanted.append((only, _natural_key(only, number)))
                continue
            # A number names a record in whichever register has it listed or linked.
            known = [(r, _natural_key(r, number)) for r in NAMES]
            known = [(r, k) for r, k in known if _known(client, connection_id, r, k)]
            wanted += known
            if not known:
                unknown.append(number)
    else:
        wanted = [
            (e.register, e.record_key)
            for e in ErrorList(client, connection_id).entries(register=only)
            if e.kind == RECORD
        ]
    for number in unknown:
        click.echo(f"{number}: no such record in the error list or among the linked "
                   "records; give --register to re-sync one the sync has not seen yet",
                   err=True)  # fmt: skip
    if not wanted:
        if not unknown:
            click.echo("Nothing to retry.")
        sys.exit(1 if unknown else 0)
    log_to_file()
    failed = len(unknown)
    for register, natural_key in wanted:
        try:
            outcome = resync_record(ctx, register_named(register), natural_key, uuid.uuid4().hex)
        except _one_line_errors() as exc:
            click.echo(f"{register} {natural_key}: not retried: {exc}", err=True)
            failed += 1
            continue
        failed += outcome.counter == "failed"
        click.echo(f"{register} {natural_key}: {outcome.counter} {outcome.detail}".rstrip())
    sys.exit(1 if failed else 0)


@errors.command("dismiss")
@click.argument("numbers", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every entry (of --register).")
@REGISTER
@SUB_CONNECTION
@click.pass_obj
def errors_dismiss(
    obj: dict[str, Any],
    numbers: tuple[str, ...],
    everything: bool,
    register_: str | None,
    connection_: str | None,
) -> None:
    """Remove entries without retrying them: those of the given record numbers, or
    --all (of --register). For records dealt with another way — deleted at the source,
    say, so they will never transfer and their entries would never resolve themselves.
    An entry comes back if its record fails again."""
    from worker.sync.errorlist import ErrorList  # noqa: PLC0415

    if bool(numbers) == everything:
        raise click.UsageError("name the record numbers to dismiss, or give --all")
    connection_id, only = connection_ or obj["connection_id"], register_ or obj["register"]
    error_list = ErrorList(_redis(), connection_id)
    entries = list(error_list.entries(register=only))
    if numbers:
        registers = [only] if only else list(NAMES)
        named = {n: {(r, _natural_key(r, n)) for r in registers} for n in numbers}
        listed = {(e.register, e.record_key) for e in entries}
        for number, candidates in named.items():
            if not candidates & listed:
                click.echo(f"{number}: not in the error list", err=True)
        wanted = set().union(*named.values())
        entries = [e for e in entries if (e.register, e.record_key) in wanted]
    for entry in entries:
        error_list.resolve(entry.register, entry.direction, entry.record_key)
        number = entry.record.number or entry.record_key
        click.echo(f"{entry.register} {number} ({entry.direction}): dismissed")
    click.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} dismissed")
    sys.exit(0 if entries else 1)


@errors.command("reset")
@click.argument("numbers", nargs=-1)
@click.option(
    "--watermarks", is_flag=True, help="Forget how far the register's transfers have read."
)
@click.pass_obj
def errors_reset(obj: dict[str, Any], numbers: tuple[str, ...], watermarks: bool) -> None:
    """Forget stored state that cannot be read (its error-list entry names this command):
    the link of the given record numbers of --register, or with --watermarks how far
    --register's transfers have read (its next transfer then reads every record).

    Nothing in Severa or eEkonomi is touched. The next transfer links a record again by
    its natural key or marker, as after a lost Redis, and looks it up before it could
    be created again.
    """
    from worker.sync.bindings import Binder  # noqa: PLC0415
    from worker.sync.runstate import Watermarks  # noqa: PLC0415

    connection_id, register = obj["connection_id"], obj["register"]
    if register is None or bool(numbers) == watermarks:
        raise click.UsageError("give --register and either record numbers or --watermarks")
    client = _redis()
    if watermarks:
        had = Watermarks(client, connection_id, register).forget()
        click.echo(f"{register}: watermarks {'forgotten' if had else 'were not set'}; "
                   "its next transfer reads every record")  # fmt: skip
        return
    binder = Binder(client, connection_id, register)
    for number in numbers:
        had = binder.forget(_natural_key(register, number))
        click.echo(f"{register} {number}: link {'forgotten' if had else 'was not stored'}; "
                   "the next transfer links it again")  # fmt: skip


def _natural_key(register: str, number: str) -> str:
    from worker.registry import spec_of  # noqa: PLC0415

    return spec_of(register).key_of_number(number)


def _known(client: Any, connection_id: str, register: str, natural_key: str) -> bool:
    from worker.sync.bindings import Binder  # noqa: PLC0415
    from worker.sync.errorlist import ErrorList  # noqa: PLC0415

    errors = ErrorList(client, connection_id)
    listed = any(errors.get(register, d, natural_key) for d in Direction.of_records())
    return listed or Binder(client, connection_id, register).get(natural_key) is not None


# -- settings --------------------------------------------------------------------------


@click.group("settings")
def settings_group() -> None:
    """The connection's transfer settings (R-3): show, set, check, choices."""


@settings_group.command("show")
@CONNECTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def settings_show(connection_id: str, as_json: bool) -> None:
    """Every setting with its value, rule and meaning."""
    values = _settings_of(connection_id)
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    names = labels(connection_id)
    rows = [[s.name, shown(values.get(s.name), names.get(s.name, {})), s.meaning, s.rule]
            for s in SETTINGS]  # fmt: skip
    click.echo(_table(["setting", "value", "meaning", "rule"], rows))
    if not names:
        click.echo("(ids shown: the APIs could not be asked for their names)")


@settings_group.command("set")
@click.argument("assignments", nargs=-1, required=True)
@CONNECTION
def settings_set(assignments: tuple[str, ...], connection_id: str) -> None:
    """Set settings: NAME=VALUE ... (an empty VALUE clears one).

    Cost centers, invoice statuses and articles may be given by name or number; they
    are looked up in the live APIs and stored by id.
    """
    from marshmallow import ValidationError  # noqa: PLC0415

    from worker.sync.choices import resolve  # noqa: PLC0415

    changes: dict[str, Any] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"{item!r}: expected NAME=VALUE")
        changes[name.strip()] = value.strip() or None
    client = _redis()
    unreadable = company.readable(client, connection_id)
    try:
        resolved = resolve(connection_id, changes)
        stored = company.update(client, connection_id, resolved, replace_unreadable=True)
    except (ValidationError, ValueError) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else str(exc)
        _fail(f"Not saved: {sentences(messages)}. Nothing was changed.", 2)
    except _one_line_errors() as exc:
        _fail(f"not saved: {exc}", 2)
    if unreadable is not None:
        click.echo(
            "note: the stored settings could not be read and were replaced by these; "
            "`settings check` names any setting still to set",
            err=True,
        )
    for name in resolved:
        by_name = resolved[name] != changes.get(name)  # looked up by its name: show that
        click.echo(f"{name} = {changes[name] if by_name else stored.get(name)}")


@settings_group.command("check")
@CONNECTION
def settings_check(connection_id: str) -> None:
    """Which transfers may start, and whether chosen ids still exist in the APIs."""
    from worker.sync.choices import check  # noqa: PLC0415

    values = _settings_of(connection_id)
    try:
        problems = check(connection_id)
    except _one_line_errors() as exc:
        _fail(f"cannot check against the APIs: {exc}")
    for register in REGISTERS:
        missing = company.missing_for(values, register.spec.requires)
        state = "ready" if not missing else "missing " + ", ".join(missing)
        click.echo(f"{register.name:<18} {state}")
    for problem in problems:
        click.echo(f"problem: {problem}")
    sys.exit(1 if problems else 0)


@settings_group.command("choices")
@CONNECTION
def settings_choices(connection_id: str) -> None:
    """What the settings can be set to, read from the live APIs (R-3.0)."""
    from worker.sync.choices import choices  # noqa: PLC0415

    try:
        found = choices(connection_id)
    except _one_line_errors() as exc:
        _fail(f"cannot read the choices from the APIs: {exc}")
    for name, options in found.items():
        click.echo(f"{name}:")
        for value, label in options:
            click.echo(f"  {value}  {label}")


COMMANDS = [run_transfer, status, errors, settings_group]
