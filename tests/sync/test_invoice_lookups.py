"""Issue 20: the look-ups of an invoice's rows (worker/sync/invoice_lookups.py) — every
code and project of the invoice read in one round trip, what was not known then looked
up and transferred as before (R-1.8) — both sandboxes over HTTP, the real Redis, the
demo data."""

from __future__ import annotations

import uuid

import pytest

from schemas.invoice_rows import severa_invoice_row_to_record
from schemas.invoices import invoice_label, severa_invoice_to_record
from schemas.products import article_number_key
from schemas.projects import short_code_key
from tests.sync.conftest import World
from tests.sync.test_invoices import BAD, REGISTERS, _customer_number, _to_transfer
from tests.sync.test_invoices import fix_lic_collision as _fix_lic_collision
from worker.sync.invoice_lookups import RowLookups
from worker.sync.service import context_for, transfer_now

pytestmark = pytest.mark.integration


def test_given_linked_articles_and_project_then_every_row_is_answered_from_the_one_read(
    world: World,
) -> None:
    """Once the rows' links are read, no row reads them again: with the bindings and
    the key index gone from Redis afterwards, each code still gets its article and the
    project its item, without a request — and a code that no system has is looked up
    (and found nowhere) as before."""
    _fix_lic_collision(world)
    for register in REGISTERS:
        transfer_now(world.connection_id, register, uuid.uuid4().hex)
    ctx = context_for(world.connection_id)
    invoice = next(
        i for i in _to_transfer(world).values() if _customer_number(i) not in BAD
        and str(i["guid"]) not in BAD and len(i.get("projects") or []) == 1
    )  # fmt: skip
    record = severa_invoice_to_record(invoice)
    rows = [
        severa_invoice_row_to_record(row)
        for row in ctx.clients.severa.list_invoice_rows(record["guid"])
    ]
    codes = {code for row in rows for code in row["codes"]}
    products, projects = ctx.binder("products"), ctx.binder("projects")
    linked = {code: products.get(article_number_key(code)) for code in codes}
    articles = {code: b.eekonomi_id for code, b in linked.items() if b and b.eekonomi_id}
    (project,) = record["project_numbers"].values()
    item = projects.get(short_code_key(project))
    assert articles
    assert item is not None
    assert item.eekonomi_id

    lookups = RowLookups.read(
        ctx, invoice_label(invoice), rows, [project], str(ctx.values["default_article_number"])
    )
    ctx.redis.delete(
        products.bindings_key, projects.bindings_key, ctx.index("products", "eekonomi").key
    )
    world.clear_logs()

    assert {code: lookups.article_id(code) for code in articles} == articles
    assert lookups.cost_center_item(project) == item.eekonomi_id
    assert _item_requests(world) == []
    assert lookups.article_id("NO-SUCH-CODE") is None
    assert _item_requests(world) != []


def _item_requests(world: World) -> list[str]:
    """Requests that look up or write an article, a Severa item or a project."""
    kinds = ("/articles", "/products", "/worktypes", "/travelexpensetypes", "/projects")
    return [
        f"{app.name} {entry.method} {entry.path}"
        for app in (world.severa, world.eekonomi)
        for entry in app.log
        if any(kind in entry.path for kind in kinds)
    ]
