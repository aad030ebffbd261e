"""What the R-3 settings can be set to, read from the live APIs ("connect", R-3.0).

People think in names ("Projekt", "Att överföra"); the transfers need ids. So a
setting may be given by name (or number) and is stored by id after a look-up in the
API that owns it, and ``check`` tells when a stored id no longer exists there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from worker.sync.service import context_for, plain_context

STATUS_SETTINGS = ("status_to_transfer", "status_transferred", "status_sent", "status_paid")


def _cost_centers(connection_id: str) -> list[tuple[str, str]]:
    ctx = plain_context(connection_id)
    return [
        (
            str(c["Id"]),
            f"{c.get('Name')} (number {c.get('Number')}, {len(c.get('Items') or [])} items)",
        )
        for c in ctx.clients.eekonomi.list_cost_centers()
    ]


def _statuses(connection_id: str) -> list[tuple[str, str]]:
    ctx = plain_context(connection_id)
    return [
        (str(s["guid"]), str(s.get("name"))) for s in ctx.clients.severa.list_invoice_statuses()
    ]


def _articles(connection_id: str) -> list[tuple[str, str]]:
    ctx = plain_context(connection_id)
    return [
        (str(a.get("Number")), str(a.get("Name")))
        for a in ctx.clients.eekonomi.list_articles()
        if a.get("IsActive", True)
    ]


_SOURCES: dict[str, Callable[[str], list[tuple[str, str]]]] = {
    "cost_center_id": _cost_centers,
    "default_article_number": _articles,
    **dict.fromkeys(STATUS_SETTINGS, _statuses),
}


def choices(connection_id: str) -> dict[str, list[tuple[str, str]]]:
    """``setting → [(value to store, what a person sees)]`` for the API-backed settings,
    plus the fixed choices."""
    found = {name: source(connection_id) for name, source in _SOURCES.items()}
    found["customers_master"] = [("severa", "Severa"), ("eekonomi", "eEkonomi")]
    found["products_master"] = [("severa", "Severa"), ("eekonomi", "eEkonomi")]
    found["supplier_invoices_billable"] = [("true", "price = cost"), ("false", "price = 0")]
    found["sent_means"] = [("booked", "booked in eEkonomi"),
                           ("delivered", "booked and delivered")]  # fmt: skip
    return found


def resolve(connection_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Turn names into the ids the APIs know; raise ``ValueError`` naming the options."""
    resolved = dict(changes)
    cache: dict[str, list[tuple[str, str]]] = {}
    for name, value in changes.items():
        source = _SOURCES.get(name)
        if source is None or value is None:
            continue
        options = cache.setdefault(source.__name__, source(connection_id))
        wanted = str(value).strip().casefold()
        match = [v for v, label in options if wanted in (v.casefold(), label.casefold())]
        if not match:  # a cost center may also be named by its number or name prefix
            match = [v for v, label in options if label.casefold().startswith(wanted + " ")]
        if len(match) != 1:
            shown = "; ".join(f"{v} = {label}" for v, label in options) or "none"
            raise ValueError(f"{name}: no single match for {value!r}; choose one of: {shown}")
        resolved[name] = match[0]
    return resolved


def check(connection_id: str) -> list[str]:
    """Stored API-backed settings that no longer name anything in the API."""
    from config import company  # noqa: PLC0415

    ctx = context_for(connection_id)
    values = company.load(ctx.redis, connection_id)
    problems = []
    for name, source in _SOURCES.items():
        value = values.get(name)
        if value is None:
            continue
        if str(value) not in {v for v, _ in source(connection_id)}:
            problems.append(f"{name} = {value} no longer exists; `settings choices` lists options")
    return problems
