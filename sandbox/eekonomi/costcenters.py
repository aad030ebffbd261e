"""``/v2/costcenters`` and ``/v2/costcenteritems``: where projects become cost objects.

The product keys each Severa project as an item of cost center 1 by its short name
(R-5.3), so the rules matter: an item belongs to one cost center for good, its
``ShortName`` is unique within it (a switch), and cost centers have no POST and no GET
by id (their items come inside them).
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.errors import duplicate, invalid, missing_reference
from sandbox.eekonomi.store import Company, item_short_name
from sandbox.eekonomi.validation import validate


def render_cost_center(ctx: Ctx, record: Record) -> Record:
    """A cost center as the API shows it: with its ``Items``."""
    return with_items(ctx.company, record)


def with_items(company: Company, record: Record) -> Record:
    items = company.coll("costCenterItems")
    return {**record, "Items": [items.records[i] for i in items.by("center", record["Id"])]}


def put_cost_center(request: Request, ctx: Ctx) -> Response:
    existing = ctx.company.find("costCenters", request.path_params["id"], "cost center")
    existing.update(validate("CostCenterApi", request.json()))
    return Response.json(200, render_cost_center(ctx, existing))


def post_cost_center_item(request: Request, ctx: Ctx) -> Response:
    return Response.json(201, item_from(ctx, request.json(), None))


def put_cost_center_item(request: Request, ctx: Ctx) -> Response:
    existing = ctx.company.find("costCenterItems", request.path_params["id"], "cost center item")
    return Response.json(200, item_from(ctx, request.json(), existing))


def item_from(ctx: Ctx, body: Any, existing: Record | None) -> Record:
    """Validate a POST/PUT body and store the cost-center item it describes."""
    clean = validate("CostCenterItemApi", body)
    if ctx.company.coll("costCenters").get(clean["CostCenterId"] or "") is None:
        raise missing_reference("CostCenterId", "The cost center")
    if existing and clean["CostCenterId"] != existing["CostCenterId"]:
        raise invalid("CostCenterId", "A cost center item cannot be moved to another cost center.")
    own_id = existing["Id"] if existing else None
    items = ctx.company.coll("costCenterItems")
    if ctx.switches.unique_cost_center_short_names and items.holder(
        "short_name", item_short_name(clean), other_than=own_id
    ):
        raise duplicate(ctx.switches.duplicate_number_error, "ShortName", clean["ShortName"])
    record: Record = {
        "CostCenterId": clean["CostCenterId"],
        "Id": own_id or ctx.new_id(),
        "Name": clean["Name"],
        "ShortName": clean["ShortName"],
        "IsActive": clean["IsActive"],
        "CreatedUtc": existing["CreatedUtc"] if existing else ctx.now_iso(),
    }
    return items.put(record)
