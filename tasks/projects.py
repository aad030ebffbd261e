"""R-4.1 "Transfer projects": Severa projects → eEkonomi cost-center items (R-1.3, R-5.3)."""

from __future__ import annotations

from typing import Any

from tasks.base import RecordTask, TransferTask, record_keys
from worker import app
from worker.registry import spec_of

PROJECTS = spec_of("projects")


@app.task(base=TransferTask, name=PROJECTS.task, bind=True)
def transfer_projects(self: TransferTask, connection_id: str) -> dict[str, Any]:
    """R-4.1 'Transfer projects': read the projects that changed and fan them out in
    record tasks; returns the run report as of the fan-out."""
    return self.start(PROJECTS.name, connection_id, transfer_project)


@app.task(base=RecordTask, name=PROJECTS.record_task, bind=True)
def transfer_project(
    self: RecordTask, connection_id: str, run_id: str, keys: list[str] | str
) -> dict[str, Any]:
    """Settle up to ten projects of a run; transient errors retry with back-off."""
    return self.settle(connection_id, PROJECTS.name, run_id, record_keys(keys))
