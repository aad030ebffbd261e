"""Command line of trust before and after go-live (issue 19): ``plan``, ``compare``,
``conflicts``, ``history``.

They read; none of them writes to either API or changes what the sync remembers.
Tables are for people; ``--json`` output is one JSON object, for scripts.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import click

from worker.cli_transfers import CONNECTION, _fail, _one_line_errors
from worker.registry import NAMES, register_named


def plan_result(connection_id: str, names: list[str]) -> dict[str, Any]:
    """The dry run of each register in ``names``, as ``plan --json`` prints it; the web
    app's plan page shows the same. A register that would not start says why (``refused``);
    a connection-wide problem raises one of the CLI's one-line errors."""
    from worker.sync.engine import RunRefused  # noqa: PLC0415
    from worker.sync.plan import plan_register  # noqa: PLC0415
    from worker.sync.service import plain_context  # noqa: PLC0415

    result: dict[str, Any] = {}
    ctx = plain_context(connection_id)
    for name in names:
        try:
            result[name] = plan_register(ctx, register_named(name)).as_dict()
        except RunRefused as exc:
            result[name] = {"refused": str(exc)}
    return result


def compare_result(connection_id: str, only: str | None = None) -> dict[str, Any]:
    """The comparison report of ``only`` (or every compared register), as ``compare
    --json`` prints it; the web app's compare page shows the same."""
    from worker.sync.compare import COMPARED, compare_register  # noqa: PLC0415
    from worker.sync.engine import RunRefused  # noqa: PLC0415
    from worker.sync.service import plain_context  # noqa: PLC0415

    result: dict[str, Any] = {}
    ctx = plain_context(connection_id)
    for name in [only] if only else list(COMPARED):
        try:
            result[name] = compare_register(ctx, name).as_dict()
        except RunRefused as exc:
            result[name] = {"refused_to_start": str(exc)}
    return result


@click.command("plan")
@click.argument("transfer", type=click.Choice([*NAMES, "all"]))
@CONNECTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object, per register.")
def plan(transfer: str, connection_id: str, as_json: bool) -> None:
    """Dry run: what a transfer of TRANSFER would do now — each create, each update
    field by field (old → new), unchanged records, and each failure with its reason.

    Computed by the transfer's own code on a copy of the sync's state, with every
    write to Severa and eEkonomi held back: nothing is written to either API, and the
    links, watermarks and error list stay as they are."""
    names = list(NAMES) if transfer == "all" else [transfer]
    try:
        result = plan_result(connection_id, names)
    except _one_line_errors() as exc:
        _fail(f"error: {exc}")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, default=str))
        return
    for name, planned in result.items():
        click.echo(_plan_text(name, planned))


def _plan_text(name: str, planned: dict[str, Any]) -> str:
    if "refused" in planned:
        return f"{name}: would not start: {planned['refused']}"
    counts = ", ".join(
        f"{planned[k]} {k}" for k in ("create", "update", "unchanged", "fail", "skip")
    )
    lines = [f"{name}: {counts}"]
    for record in planned["records"]:
        if record["action"] == "unchanged":
            continue
        label = str(record.get("number") or record["key"])
        if record.get("name"):
            label += f" {record['name']!r}"
        reason = f": {record['reason']}" if record.get("reason") else ""
        lines.append(f"  {record['action']} {label}{reason}")
        for write in record.get("writes", []):
            lines.append(f"    {write['side']} {write['method']} {write['path']}")
            for field, (old, new) in (write.get("fields") or {}).items():
                lines.append(f"      {field}: {old!r} → {new!r}")
    return "\n".join(lines)


@click.command("compare")
@click.option("--register", "only", type=click.Choice(["customers", "products", "projects"]),
              help="Compare only this register.")  # fmt: skip
@CONNECTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object, per register.")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per record and field.")
def compare(only: str | None, connection_id: str, as_json: bool, as_csv: bool) -> None:
    """Comparison report: both sides of customers, products and projects matched by
    natural key (customer number, article number = Severa code, project number = item
    short code): linked and equal, linked and different (each field, both values),
    matched but not linked, only in Severa, only in eEkonomi, and records the rules
    would refuse (with the rule and what to do). Reads only: about one list read per
    resource; nothing is written anywhere."""
    try:
        result = compare_result(connection_id, only)
    except _one_line_errors() as exc:
        _fail(f"error: {exc}")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, default=str))
    elif as_csv:
        click.echo(_compare_csv(result), nl=False)
    else:
        for name, report in result.items():
            click.echo(_compare_text(name, report))


def _compare_rows(result: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for register, report in result.items():
        for category, items in report.items():
            if category in ("counts", "refused_to_start"):
                continue
            for item in items:
                base = [register, category, item["key"], item.get("number", ""),
                        item.get("name", ""), item.get("side", "")]  # fmt: skip
                fields = item.get("fields") or {}
                for field, values in fields.items():
                    rows.append([*base, field, values["severa"], values["eekonomi"], "", ""])
                if not fields:
                    rows.append([*base, "", "", "", item.get("rule", ""), item.get("reason", "")])
    return rows


def _compare_csv(result: dict[str, Any]) -> str:
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["register", "category", "key", "number", "name", "side", "field",
                     "severa", "eekonomi", "rule", "reason"])  # fmt: skip
    writer.writerows(_compare_rows(result))
    return out.getvalue()


def _compare_text(name: str, report: dict[str, Any]) -> str:
    if "refused_to_start" in report:
        return f"{name}: cannot compare: {report['refused_to_start']}"
    counts = ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in report["counts"].items())
    lines = [f"{name}: {counts}"]
    for category in ("linked_different", "matched_not_linked", "refused"):
        for item in report[category]:
            what = item.get("reason") or ""
            lines.append(f"  {category.replace('_', ' ')}: {item['key']} {what}".rstrip())
            for field, values in (item.get("fields") or {}).items():
                lines.append(f"    {field}: Severa {values['severa']!r}, "
                             f"eEkonomi {values['eekonomi']!r}")  # fmt: skip
    return "\n".join(lines)


@click.group("conflicts", invoke_without_command=True)
@CONNECTION
@click.option("--register", type=click.Choice(["customers", "products"]), help="Only this one.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def conflicts(ctx: click.Context, connection_id: str, register: str | None, as_json: bool) -> None:
    """The conflict log: every time the master's version was written over (or, with
    the connection setting conflicts=hold, held against) an edit made on the other side
    since the last sync — record, field, both values, when. Newest first.

    `conflicts overwrite --register R KEY` lets the master win once for a held record."""
    ctx.obj = {"connection_id": connection_id}
    if ctx.invoked_subcommand is not None:
        return
    from worker.cli_transfers import _redis, _when  # noqa: PLC0415
    from worker.sync.conflicts import ConflictLog  # noqa: PLC0415

    entries = ConflictLog(_redis(), connection_id).entries(register)
    if as_json:
        click.echo(json.dumps({"conflicts": [e.as_dict() for e in entries]},
                              ensure_ascii=False, default=str))  # fmt: skip
        return
    if not entries:
        click.echo("no conflicts")
    for entry in entries:
        click.echo(f"{_when(entry.at)}  {entry.register} {entry.record_key} {entry.label}: "
                   f"{entry.action} ({entry.master} is master)")  # fmt: skip
        for name, values in entry.fields.items():
            click.echo(f"    {name}: {entry.overwritten_side} had {values['overwritten']!r}, "
                       f"{entry.master} wrote {values['written']!r}")  # fmt: skip


@conflicts.command("overwrite")
@click.option("--register", required=True, type=click.Choice(["customers", "products"]))
@click.argument("key")
@click.pass_obj
def conflicts_overwrite(obj: dict[str, Any], register: str, key: str) -> None:
    """Let the master's version win once for KEY (a customer number, or an article
    number as the conflict shows it), held by conflicts=hold; it is transferred now."""
    from worker.cli_transfers import _redis  # noqa: PLC0415
    from worker.sync.conflicts import allow_overwrite  # noqa: PLC0415
    from worker.sync.engine import resync_record  # noqa: PLC0415
    from worker.sync.service import context_for  # noqa: PLC0415

    connection_id = obj["connection_id"]
    allow_overwrite(_redis(), connection_id, register, key)
    try:
        outcome = resync_record(context_for(connection_id), register_named(register), key,
                                uuid.uuid4().hex)  # fmt: skip
    except _one_line_errors() as exc:
        _fail(f"error: {exc}; the overwrite stays allowed for the next transfer")
    click.echo(f"{register} {key}: {outcome.counter}" + (f": {outcome.detail}"
                                                         if outcome.detail else ""))  # fmt: skip


@click.command("history")
@click.argument("record")
@click.option("--register", type=click.Choice(list(NAMES)), help="Look only in this register.")
@CONNECTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def history(record: str, register: str | None, connection_id: str, as_json: bool) -> None:
    """Every sync of RECORD — a customer number, article number, project number or
    Severa invoice number (or guid): when, which run, direction, what changed (each
    field old → new). Kept for the connection's history_days (default 90); a run in
    which the record did not change adds nothing."""
    from worker.cli_transfers import _redis, _settings_of, _when  # noqa: PLC0415
    from worker.registry import spec_of  # noqa: PLC0415
    from worker.sync.history import RecordHistory  # noqa: PLC0415

    days = int(_settings_of(connection_id).get("history_days") or 90)
    store = RecordHistory(_redis(), connection_id)
    found = []
    for name in [register] if register else list(NAMES):
        keys = {spec_of(name).key_of_number(record), record}
        keys.add(store.key_of_number(name, record) or record)
        for key in sorted(keys):
            found += store.entries(name, key, days)
    found.sort(key=lambda entry: entry.at, reverse=True)
    if as_json:
        click.echo(json.dumps({"record": record, "history": [e.as_dict() for e in found]},
                              ensure_ascii=False, default=str))  # fmt: skip
        return
    if not found:
        click.echo(f"no sync of {record} in the last {days} days")
    for entry in found:
        where = f" {entry.direction}" if entry.direction else ""
        click.echo(f"{_when(entry.at)}  {entry.register} {entry.number or entry.record_key}"
                   f"{where}: {entry.outcome} (run {entry.run_id})"
                   + (f": {entry.detail}" if entry.detail else ""))  # fmt: skip
        for change in entry.changes:
            click.echo(f"    {change['side']} {change['action']}")
            for field, value in change["fields"].items():
                update = change["action"] == "update"
                shown = f"{value[0]!r} → {value[1]!r}" if update else repr(value)
                click.echo(f"      {field}: {shown}")


COMMANDS = [plan, compare, conflicts, history]
