"""R-4.1 "Transfer customers": read both sides, then settle each customer (R-1.1, R-5.1)."""

from __future__ import annotations

from typing import Any

from tasks.base import RecordTask, TransferTask, record_keys
from worker import app
from worker.registry import spec_of

CUSTOMERS = spec_of("customers")


@app.task(base=TransferTask, name=CUSTOMERS.task, bind=True)
def transfer_customers(self: TransferTask, connection_id: str) -> dict[str, Any]:
    """R-4.1 'Transfer customers': read what changed on both sides and fan out the
    customers in record tasks; returns the run report as of the fan-out (the last
    record's task returns the final report)."""
    return self.start(CUSTOMERS.name, connection_id, transfer_customer)


@app.task(base=RecordTask, name=CUSTOMERS.record_task, bind=True)
def transfer_customer(
    self: RecordTask, connection_id: str, run_id: str, keys: list[str] | str
) -> dict[str, Any]:
    """Settle up to ten customers of a run; transient errors retry with back-off."""
    return self.settle(connection_id, CUSTOMERS.name, run_id, record_keys(keys))
