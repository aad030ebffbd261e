"""R-4.1 "Transfer products": products, work types and travel-expense types ⇄ articles
(R-1.2, R-5.2)."""

from __future__ import annotations

from typing import Any

from tasks.base import RecordTask, TransferTask, record_keys
from worker import app
from worker.registry import spec_of

PRODUCTS = spec_of("products")


@app.task(base=TransferTask, name=PRODUCTS.task, bind=True)
def transfer_products(self: TransferTask, connection_id: str) -> dict[str, Any]:
    """R-4.1 'Transfer products': read what changed on both sides and fan out the
    products in record tasks; returns the run report as of the fan-out."""
    return self.start(PRODUCTS.name, connection_id, transfer_product)


@app.task(base=RecordTask, name=PRODUCTS.record_task, bind=True)
def transfer_product(
    self: RecordTask, connection_id: str, run_id: str, keys: list[str] | str
) -> dict[str, Any]:
    """Settle up to ten products of a run; transient errors retry with back-off."""
    return self.settle(connection_id, PRODUCTS.name, run_id, record_keys(keys))
