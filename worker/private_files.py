"""Files only the service's user may read: keys, passwords, logins and run files.

``DATA_DIR`` holds the demo's encryption key, the embedded Redis's password, Flower's
generated login and ``run/redis.url`` (which carries that password). Each is written
with mode 0600 from the first byte — created under that mode, never chmod-ed after a
world-readable moment — and replaced atomically, so a reader never sees half a file.
A file left readable by an older version is tightened when it is read.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) for the service's files; a directory the service
    creates is 0700, one that exists is left as its owner made it."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically (temp file + rename)."""
    ensure_private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, FILE_MODE)  # O_CREAT's mode does not apply to a leftover temp file
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def read_private(path: Path) -> str:
    """The stripped content of ``path``; a file readable by others is made 0600 first."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, FILE_MODE)
    return path.read_text(encoding="utf-8").strip()


def read_or_create_private(path: Path, make: Callable[[], str]) -> str:
    """The content of ``path``, created with ``make()`` on first use.

    Two processes starting at once agree on one value: the new file is written in full
    under a temporary name and then hard-linked into place, which fails if ``path``
    exists — so the loser reads the winner's complete file, never a half-written one.
    """
    if path.is_file():
        return read_private(path)
    ensure_private_dir(path.parent)
    value = make()
    temp = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
        os.chmod(temp, FILE_MODE)
        try:
            os.link(temp, path)
        except FileExistsError:
            return read_private(path)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    return value
