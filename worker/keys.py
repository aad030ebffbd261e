"""Redis key names: every piece of sync state is scoped by a *connection id*.

A connection is one Severa company paired with one eEkonomi company. Keys are built
only here, so adding connections (or moving to another store) never means hunting
for string literals. ``default`` is the connection of a single-pair deployment.
"""

from __future__ import annotations

from config.settings import CONNECTION_ID_PATTERN

PREFIX = "sync"
DEFAULT_CONNECTION = "default"

#: The set of connection ids known to this deployment (beat fans out over it).
CONNECTIONS_KEY = f"{PREFIX}:connections"


class InvalidConnectionId(ValueError):
    """A connection id that cannot be used in keys and task arguments."""


#: Connection ids found well formed, so a key (dozens per record) skips the pattern.
_CHECKED: set[str] = set()
#: At most this many ids are remembered (a hosted worker serves many connections).
CHECKED_KEPT = 4096


def check_connection_id(connection_id: str) -> str:
    """Return ``connection_id`` if it is well formed, else raise :class:`InvalidConnectionId`."""
    if type(connection_id) is str and connection_id in _CHECKED:
        return connection_id
    if not isinstance(connection_id, str) or not CONNECTION_ID_PATTERN.match(connection_id):
        raise InvalidConnectionId(
            f"invalid connection id {connection_id!r}: use lower-case letters, digits, "
            "'-' and '_' (max 63 characters)"
        )
    if type(connection_id) is str and len(_CHECKED) < CHECKED_KEPT:
        _CHECKED.add(connection_id)
    return connection_id


def key(connection_id: str, *parts: str) -> str:
    """The Redis key of ``parts`` under one connection, e.g. ``sync:conn:default:heartbeat``."""
    check_connection_id(connection_id)
    return ":".join((PREFIX, "conn", connection_id, *parts))


def shared_key(*parts: str) -> str:
    """A key shared by connections — a rate-limit bucket of one Severa client, say:
    ``sync:shared:…``. Never under ``sync:conn:<id>:``, so removing one connection
    leaves it to the others."""
    return ":".join((PREFIX, "shared", *parts))


def run_key(connection_id: str, run_id: str, *parts: str) -> str:
    """A key of one run: its hash (no ``parts``) or one of its sets and hashes
    (``keys``, ``settled``, ``staged:<side>``, …; :mod:`worker.sync.runstate` owns them)."""
    return key(connection_id, "run", run_id, *parts)


def run_history_key(connection_id: str, register: str) -> str:
    """The list of a register's latest run ids, newest first."""
    return key(connection_id, "runs", register)


def lock_key(connection_id: str, register: str) -> str:
    """The lock that lets one run of a register at a time (code-models rule 12)."""
    return key(connection_id, "lock", register)


def watermarks_key(connection_id: str, register: str) -> str:
    """Per side, the server's clock when the register's last finished run read it."""
    return key(connection_id, "watermarks", register)
