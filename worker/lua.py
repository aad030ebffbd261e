"""Lua scripts kept in ``.lua`` files and registered with Redis once per process.

Some updates of sync state must be atomic across several keys — count a record once and
notice that it was the run's last, take a rate-limit token by Redis's clock — so they
run as Lua inside Redis. Each script lives in a file next to the code that calls it:
it reads as code, diffs as code, and its comment says what its KEYS and ARGV are.

A :class:`LuaScript` reads its file when its module is imported (a missing script fails
at start-up, not at the first record) and is registered with ``register_script`` at its
first call: from then on each call sends ``EVALSHA`` and the script's hash instead of its
whole text, and redis-py loads the text again by itself when the server answers
``NOSCRIPT`` (Redis restarted or its script cache was flushed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis
from redis.commands.core import Script


class LuaScript:
    """One ``.lua`` file, registered on first use and then shared by every client of
    the process (a registered script only needs a client to compute its hash)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = path.read_text(encoding="utf-8")
        self._registered: Script | None = None

    def __call__(self, client: redis.Redis, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        """Run the script on ``client`` with ``keys`` and ``args``; return its answer."""
        return self._script(client)(keys=list(keys), args=list(args), client=client)

    def _script(self, client: redis.Redis) -> Script:
        script = self._registered
        if script is None:
            script = self._registered = client.register_script(self.source)
        return script

    def queue(
        self, client: redis.Redis, pipe: Any, keys: Sequence[str], args: Sequence[Any] = ()
    ) -> None:
        """Queue this script on ``pipe`` (a pipeline of ``client`` without a
        transaction) as a bare ``EVALSHA``; :meth:`run_last` sends the pipeline and runs
        it again by itself where Redis no longer had it."""
        script = self._script(client)
        pipe.evalsha(script.sha, len(keys), *keys, *args)
        queued: dict[int, tuple[Script, list[str], list[Any]]] | None = getattr(pipe, _QUEUED, None)
        if queued is None:
            queued = {}
            setattr(pipe, _QUEUED, queued)
        queued[len(pipe) - 1] = (script, list(keys), list(args))

    def run_last(
        self, client: redis.Redis, pipe: Any, keys: Sequence[str], args: Sequence[Any] = ()
    ) -> list[Any]:
        """Send ``pipe`` (a pipeline of ``client`` without a transaction) with the script
        queued last, in one round trip; return every answer, the script's last.

        A script called through a pipeline in the ordinary way costs a second round trip
        (redis-py asks ``SCRIPT EXISTS`` before each such pipeline), so each script on
        ``pipe`` (this one and any queued before by :meth:`queue`) is sent as a bare
        ``EVALSHA``; if Redis no longer has one (restarted, its cache flushed), the
        commands around it have run and that script alone is run again, which loads it
        — after the others, so a crash in between can lose what it writes, never what
        the last one writes.

        Raises:
            redis.ResponseError: as the pipeline would for a failed command.
        """
        self.queue(client, pipe, keys, args)
        queued: dict[int, tuple[Script, list[str], list[Any]]] = getattr(pipe, _QUEUED)
        setattr(pipe, _QUEUED, None)
        answers: list[Any] = pipe.execute(raise_on_error=False)
        for index, answer in enumerate(answers):
            if isinstance(answer, redis.exceptions.NoScriptError) and index in queued:
                script, keys_, args_ = queued[index]
                answers[index] = script(keys=keys_, args=args_, client=client)
            elif isinstance(answer, redis.ResponseError):
                raise answer
        return answers


#: The attribute of a pipeline holding the scripts :meth:`LuaScript.queue` put on it.
_QUEUED = "_lua_scripts_queued"


def lua_script(module_file: str, name: str) -> LuaScript:
    """The script ``lua/<name>.lua`` beside the module whose ``__file__`` is given."""
    return LuaScript(Path(module_file).resolve().parent / "lua" / f"{name}.lua")
