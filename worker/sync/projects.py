"""Transfer projects (R-1.3, R-5.3): Severa projects → items of the cost center chosen
for projects (R-3.3), matched by project number = the item's short code.

One direction only: an item edited in eEkonomi is not copied back. eEkonomi's cost
centers carry no change time, so each run reads the chosen cost center's items (one
request) to know which short codes exist; Severa projects are read incrementally.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from schemas.base import MappingError
from schemas.projects import (
    eekonomi_cost_center_item_body,
    eekonomi_cost_center_item_to_record,
    items_by_short_code,
    project_label,
    severa_project_to_record,
    short_code_key,
)
from schemas.records import content_hash
from schemas.sides import Side
from worker.sync.bindings import Binding
from worker.sync.engine import Outcome, Staged, Stager, SyncContext, digest_of, link_of
from worker.sync.errorlist import RecordRef
from worker.sync.register import RegisterSpec
from worker.sync.upsert import EEkonomiResource, upsert_eekonomi

NAME = "projects"


def natural_key_of(project: dict[str, Any]) -> str:
    number = project.get("number")
    return short_code_key(str(number)) if number is not None else f"guid:{project['guid']}"


class Projects:
    """The projects register (see the module docstring)."""

    spec = RegisterSpec(
        name=NAME,
        title="Transfer projects",
        task="sync.transfer_projects",
        record_task="sync.transfer_project",
        tasks_module="tasks.projects",
        requires=("cost_center_id",),
        interval_setting="register_interval_minutes",
        natural_key="project number (= cost-center item short code)",
        help="projects → cost-center items of the chosen cost center (R-1.3)",
        key_of_number=short_code_key,
        sandbox_paths=("/rest-api/v1/projects", "/v2/costcenters", "/v2/costcenteritems"),
    )
    name = NAME

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        if side == Side.EEKONOMI:
            for natural_key, item in self._items(ctx).items():
                stage.note_id(natural_key, str(item["Id"]))
            return None
        listing = ctx.clients.severa.list_projects(changed_since=since)
        for project in listing:
            digest = functools.partial(digest_of, severa_project_to_record, project)
            stage.add(natural_key_of(project), str(project["guid"]), project, digest)
        return listing.server_time

    def _items(self, ctx: SyncContext) -> dict[str, dict[str, Any]]:
        wanted = str(ctx.values["cost_center_id"])
        for cost_center in ctx.clients.eekonomi.list_cost_centers():
            if str(cost_center.get("Id")) == wanted:
                return items_by_short_code(cost_center)
        raise MappingError(
            "the projects cost center",
            f"eEkonomi has no cost center {wanted}; choose one with `settings set "
            "cost_center_id=…` (R-3.3, R-2.5)",
        )

    def streamed_side(self, ctx: SyncContext) -> str | None:
        """Severa projects only flow to eEkonomi (R-1.3), whose items are read first."""
        return Side.SEVERA

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        staged = Staged()
        if natural_key.isascii() and natural_key.isdigit():  # not '²', not '１２３'
            for project in ctx.clients.severa.list_projects(numbers=[int(natural_key)]):
                staged.severa = project
        return staged

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        project = staged.severa or {}
        return RecordRef(
            number=str(project.get("number") or natural_key),
            name=str(project.get("name") or ""),
            severa_id=str(project.get("guid") or ""),
        )

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        if staged.severa is None:
            return Outcome("unchanged")  # eEkonomi edits do not flow back
        link = link_of(ctx, NAME, natural_key)  # read with the staged copy (engine)
        binding, eekonomi_id = link.binding, link.eekonomi_id
        record = severa_project_to_record(staged.severa)
        record_hash = content_hash(record)
        if record_hash == binding.severa_hash and eekonomi_id:
            return Outcome("unchanged", Side.SEVERA)
        cost_center_id = str(ctx.values["cost_center_id"])
        # The body's check is kept: eEkonomi's answer then maps without a second full load.
        body = eekonomi_cost_center_item_body(record, cost_center_id=cost_center_id)
        payload = body.payload
        eekonomi = ctx.clients.eekonomi
        resource = EEkonomiResource(
            find=lambda: self._items(ctx).get(natural_key),
            create=eekonomi.create_cost_center_item,
            get=eekonomi.get_cost_center_item,
            update=eekonomi.update_cost_center_item,
        )
        binder = ctx.binder(NAME)
        label = project_label(record["number"], record["name"])
        written, counter = upsert_eekonomi(
            binder, natural_key, label, payload, resource, eekonomi_id=eekonomi_id, current=None
        )
        binder.bind_last(
            natural_key,
            Binding(
                severa_id=str(staged.severa["guid"]),
                eekonomi_id=str(written["Id"]),
                severa_hash=record_hash,
                eekonomi_hash=content_hash(eekonomi_cost_center_item_to_record(written, sent=body)),
            ),
        )
        return Outcome(counter, Side.SEVERA)
