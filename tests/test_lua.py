"""Lua scripts in files, registered once per process (worker/lua.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import redis

from worker.lua import LuaScript


def test_given_a_lua_file_when_called_then_run_by_its_hash_and_reloaded_after_a_flush(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "echo.lua"
    path.write_text("return ARGV[1] .. redis.call('GET', KEYS[1])\n", encoding="utf-8")
    script = LuaScript(path)
    sha = hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: S324 - Redis's script id
    redis_client.set("lua-test", "!")
    assert script(redis_client, ["lua-test"], ["hi"]) == "hi!"
    assert redis_client.script_exists(sha) == [True]  # loaded under its hash, not EVAL'd
    redis_client.script_flush()  # Redis restarted, say
    assert script(redis_client, ["lua-test"], ["again"]) == "again!"
    other = redis.Redis.from_url(redis_url)  # another client, without decode_responses
    assert script(other, ["lua-test"], ["other"]) == b"other!"  # one registration serves all
    other.close()
    redis_client.delete("lua-test")


def test_given_a_missing_lua_file_when_its_module_loads_then_it_fails_at_once(
    tmp_path: Path,
) -> None:
    with pytest.raises(FileNotFoundError):
        LuaScript(tmp_path / "absent.lua")


def test_given_a_pipeline_when_a_script_runs_last_then_one_round_trip_and_reloaded_after_a_flush(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "count.lua"
    path.write_text("return redis.call('INCR', KEYS[1])\n", encoding="utf-8")
    script = LuaScript(path)
    redis_client.delete("lua-count", "lua-before")
    pipe = redis_client.pipeline(transaction=False)
    pipe.set("lua-before", "x")
    assert script.run_last(redis_client, pipe, ["lua-count"]) == [True, 1]
    redis_client.script_flush()  # Redis restarted, say: the writes before it still ran once
    pipe.incr("lua-before-count")
    assert script.run_last(redis_client, pipe, ["lua-count"]) == [1, 2]
    assert redis_client.get("lua-before-count") == "1"
    pipe.hset("lua-before", "f", "v")  # a wrong type: the pipeline's error is raised
    with pytest.raises(redis.ResponseError):
        script.run_last(redis_client, pipe, ["lua-count"])
    redis_client.delete("lua-count", "lua-before", "lua-before-count")


def test_given_scripts_queued_before_the_last_when_redis_lost_them_then_each_runs_once(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    """A record's settle sends its history script and ``settle.lua`` in one pipeline
    (engine.settle_record): after a flush each is loaded and run once, none twice."""
    first, last = tmp_path / "push.lua", tmp_path / "count.lua"
    first.write_text("return redis.call('RPUSH', KEYS[1], ARGV[1])\n", encoding="utf-8")
    last.write_text("return redis.call('INCR', KEYS[1])\n", encoding="utf-8")
    push, count = LuaScript(first), LuaScript(last)
    redis_client.delete("lua-list", "lua-count")
    for round_, flush in enumerate((False, True, False), start=1):
        if flush:
            redis_client.script_flush()  # Redis restarted, say
        pipe = redis_client.pipeline(transaction=False)
        push.queue(redis_client, pipe, ["lua-list"], [f"entry {round_}"])
        pipe.set("lua-between", round_)
        assert count.run_last(redis_client, pipe, ["lua-count"]) == [round_, True, round_]
    assert redis_client.lrange("lua-list", 0, -1) == ["entry 1", "entry 2", "entry 3"]
    redis_client.delete("lua-list", "lua-count", "lua-between")
