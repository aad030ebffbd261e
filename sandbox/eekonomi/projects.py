"""``/v2/projects``: Severa's projects, numbered alike (R-5.3).

``Number`` is unique, ``Status`` is 1 (ongoing) or 2 (finished; rows may no longer use
it: 5005), the customer must exist, and PUT answers **201** — what the OpenAPI document
states for this one operation.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.errors import duplicate, invalid, missing_reference
from sandbox.eekonomi.validation import defaults, validate
from sandbox.eekonomi.wire import iso_day


def post_project(request: Request, ctx: Ctx) -> Response:
    return Response.json(201, project_from(ctx, request.json(), None))


def put_project(request: Request, ctx: Ctx) -> Response:
    existing = ctx.company.find("projects", request.path_params["id"], "project")
    # 201 on PUT is what the OpenAPI document states for this one operation.
    return Response.json(201, project_from(ctx, request.json(), existing))


def project_from(ctx: Ctx, body: Any, existing: Record | None) -> Record:
    """Validate a POST/PUT body and store the project it describes."""
    clean = validate("ProjectApi", body)
    if clean["Status"] not in (1, 2):
        raise invalid("Status", "Status must be 1 (Ongoing) or 2 (Finished).")
    customer_name = None
    if clean.get("CustomerId"):
        customer = ctx.company.coll("customers").get(clean["CustomerId"])
        if customer is None:
            raise missing_reference("CustomerId", "The customer")
        customer_name = customer["Name"]
    own_id = existing["Id"] if existing else None
    projects = ctx.company.coll("projects")
    if projects.holder("number", clean["Number"], other_than=own_id):
        raise duplicate(ctx.switches.duplicate_number_error, "Number", clean["Number"])
    record = {**defaults("ProjectApi"), **clean}
    record["Id"] = own_id or ctx.new_id()
    record["StartDate"] = clean.get("StartDate") or iso_day(ctx.today())
    if "startdate" not in {k.lower() for k in body} and existing:
        record["StartDate"] = existing["StartDate"]
    record["CustomerName"] = customer_name
    record["ModifiedUtc"] = ctx.now_iso()
    return projects.put(record)
