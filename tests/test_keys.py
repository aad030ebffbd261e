"""Connection scoping: every Redis key and every task argument carries a connection id."""

from __future__ import annotations

import pytest

from worker.keys import InvalidConnectionId, check_connection_id, key


def test_keys_are_scoped_by_connection() -> None:
    assert key("default", "heartbeat") == "sync:conn:default:heartbeat"
    assert key("acme-2", "bindings", "customers") == "sync:conn:acme-2:bindings:customers"
    assert key("a", "x") != key("b", "x")


@pytest.mark.parametrize("bad", ["", "Default", "a b", "a:b", "x" * 64, "-lead"])
def test_malformed_connection_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidConnectionId):
        check_connection_id(bad)
    with pytest.raises(InvalidConnectionId):
        key(bad, "heartbeat")


def test_a_task_refuses_a_malformed_connection_id(celery_app: object) -> None:
    from tasks.system import ping

    result = ping.apply(args=["Not Valid"])
    assert result.failed()
    assert isinstance(result.result, InvalidConnectionId)
    assert ping.apply(args=["default"]).get()["pong"] is True
