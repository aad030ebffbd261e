"""Command line of trust before and after go-live (issue 19): ``plan``, ``compare``,
``conflicts``, ``history``.

They read; none of them writes to either API or changes what the sync remembers.
Tables are for people; ``--json`` output is one JSON object, for scripts.
"""

from __future__ import annotations

import json
from typing import Any

import click

from worker.cli_transfers import CONNECTION, _fail, _one_line_errors
from worker.registry import NAMES, register_named


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
    from worker.sync.engine import RunRefused  # noqa: PLC0415
    from worker.sync.plan import plan_register  # noqa: PLC0415
    from worker.sync.service import plain_context  # noqa: PLC0415

    names = list(NAMES) if transfer == "all" else [transfer]
    result: dict[str, Any] = {}
    try:
        ctx = plain_context(connection_id)
        for name in names:
            try:
                result[name] = plan_register(ctx, register_named(name)).as_dict()
            except RunRefused as exc:
                result[name] = {"refused": str(exc)}
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


COMMANDS = [plan]
