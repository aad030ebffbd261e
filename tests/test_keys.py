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


def test_a_runs_keys_and_its_registers_keys_are_scoped_by_connection() -> None:
    from worker.keys import lock_key, run_history_key, run_key, watermarks_key

    assert run_key("default", "r1") == "sync:conn:default:run:r1"
    assert run_key("default", "r1", "staged", "severa") == "sync:conn:default:run:r1:staged:severa"
    assert lock_key("default", "customers") == "sync:conn:default:lock:customers"
    assert watermarks_key("a", "customers") != watermarks_key("b", "customers")
    assert run_history_key("default", "customers") == "sync:conn:default:runs:customers"
