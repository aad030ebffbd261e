"""``doctor``'s beat check reads the heartbeat of every connection served — the
registry's too, not only ``CONNECTIONS`` — on fakeredis, as heartbeats are plain keys."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest

from config import Settings, load_settings
from worker.connections import registry
from worker.doctor import BEAT_LINES, OK, WARN, check_beat
from worker.keys import key

NOW = 1_000_000.0


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


def _settings(tmp_path: Path) -> Settings:
    return load_settings({"DATA_DIR": str(tmp_path)}, Path("/nonexistent/.env"))


def _beat(client: fakeredis.FakeRedis, connection_id: str, age: float) -> None:
    client.set(key(connection_id, "heartbeat"), f"{NOW - age:.3f}")


def test_given_registered_connections_then_each_heartbeat_is_checked(
    client: fakeredis.FakeRedis, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    for connection_id in ("firm-a", "firm-b", "firm-c"):
        registry(client).add(connection_id, None)
    _beat(client, "default", 5)
    _beat(client, "firm-a", 5)
    _beat(client, "firm-b", 10 * settings.heartbeat_interval)
    lines = {c.detail.split(":")[0]: c for c in check_beat(settings, client, NOW)}
    assert lines["default"].status == OK
    assert lines["firm-a"].status == OK
    assert lines["firm-b"].status == WARN
    assert "beat or the worker stopped" in lines["firm-b"].detail
    assert lines["firm-c"].status == WARN
    assert "no heartbeat yet" in lines["firm-c"].detail


def test_given_many_connections_then_the_late_are_named_and_the_rest_summed(
    client: fakeredis.FakeRedis, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    ids = [f"firm-{n:03d}" for n in range(3 * BEAT_LINES)]
    for connection_id in ids:
        registry(client).add(connection_id, None)
        _beat(client, connection_id, 5)
    _beat(client, "default", 5)
    _beat(client, ids[7], 10 * settings.heartbeat_interval)
    checks = list(check_beat(settings, client, NOW))
    assert [c.detail.split(":")[0] for c in checks[:-1]] == [ids[7]]
    assert checks[-1].status == WARN
    assert checks[-1].detail.startswith(f"{len(ids)} of {len(ids) + 1} connections")
