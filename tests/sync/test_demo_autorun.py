"""``DEMO_AUTORUN=false`` (issue 19): the demo connects and configures, then transfers
nothing — neither itself nor through beat — so a new user can run ``compare`` and
``plan`` first. Real Redis, both sandboxes over HTTP."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.sync.conftest import World
from worker.registry import NAMES

pytestmark = pytest.mark.integration


@pytest.fixture
def autorun_off() -> Iterator[None]:
    from config import get_settings

    saved = os.environ.get("DEMO_AUTORUN")
    os.environ["DEMO_AUTORUN"] = "false"
    get_settings.cache_clear()
    yield
    if saved is None:
        os.environ.pop("DEMO_AUTORUN", None)
    else:
        os.environ["DEMO_AUTORUN"] = saved
    get_settings.cache_clear()


def test_demo_autorun_false_configures_and_transfers_nothing(
    world: World, autorun_off: None
) -> None:
    from config import company, get_settings
    from worker.demo import DEMO_SETTINGS, DemoPair, run_demo
    from worker.sync.runs import Runs
    from worker.sync.service import due_transfers

    settings = get_settings()
    assert settings.demo
    assert not settings.demo_autorun
    company.update(world.redis, world.connection_id, {"status_paid": None})  # not set yet
    world.clear_logs()
    lines: list[str] = []

    pair = DemoPair(world.connection_id, "Demokonsult AB", settings=DEMO_SETTINGS)
    run_demo(settings, world.env["REDIS_URL"], echo=lines.append, pairs=[pair])

    assert lines[-1].startswith("demo: done"), lines
    assert any("setting status_paid" in line for line in lines), lines
    assert world.writes() == []
    runs = Runs(world.redis, world.connection_id)
    assert all(runs.last(name) is None for name in NAMES)
    # Beat waits for a person's first run too.
    assert due_transfers(world.connection_id, time.time()) == []
    os.environ["DEMO_AUTORUN"] = "true"
    get_settings.cache_clear()
    assert set(due_transfers(world.connection_id, time.time())) == set(NAMES)
