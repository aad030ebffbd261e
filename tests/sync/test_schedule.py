"""Beat's schedule of the register transfers (R-6.4): what is due, per connection."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from tests.sync.conftest import World
from worker.cli import main
from worker.schedule import build_beat_schedule
from worker.sync.service import due_transfers

pytestmark = pytest.mark.integration


def test_r_6_4_beat_ticks_every_minute_and_each_connection_decides_what_is_due(
    world: World,
) -> None:
    from config import get_settings

    schedule = build_beat_schedule(get_settings())
    assert schedule["registers"]["task"] == "sync.schedule_transfers"
    assert schedule["registers"]["schedule"] == 60.0
    now = time.time()
    everything = ["customers", "products", "projects", "invoices", "sent", "paid"]
    due = due_transfers(world.connection_id, now)
    assert [name for name in due if name in everything] == everything
    CliRunner().invoke(main, ["run", "projects", "--now", "--connection", world.connection_id])
    sent = CliRunner().invoke(main, ["run", "sent", "--now", "--connection", world.connection_id])
    assert sent.exit_code == 0, sent.output
    due = due_transfers(world.connection_id, time.time())
    assert [name for name in due if name in everything] == [
        "customers", "products", "invoices", "paid"
    ]  # fmt: skip
    # The invoice checks have their own interval (10 minutes by default).
    assert "sent" in due_transfers(world.connection_id, time.time() + 10 * 60 + 1)
    assert "projects" not in due_transfers(world.connection_id, time.time() + 10 * 60 + 1)
    # After the interval (15 minutes by default) the projects are due again.
    assert "projects" in due_transfers(world.connection_id, time.time() + 15 * 60 + 1)
    CliRunner().invoke(
        main,
        ["settings", "set", "cost_center_id=", "--connection", world.connection_id],
    )
    later = due_transfers(world.connection_id, time.time() + 3600)
    assert "projects" not in later  # a transfer without its settings is not scheduled
