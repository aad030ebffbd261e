"""How the transfer commands speak to a person: names instead of ids, marshmallow's
messages as sentences, and the work's log in a file instead of the terminal (issue 17:
readable output, each failure printed once)."""

from __future__ import annotations

from typing import Any


def log_to_file() -> None:
    """Send the log of work done in this process (``run --now``, ``errors retry``) to
    ``DATA_DIR/cli.log`` instead of the terminal: the command prints each outcome itself,
    so the terminal shows every failure once; the file keeps the details (an internal
    error's traceback, say)."""
    import logging  # noqa: PLC0415

    from config import get_settings  # noqa: PLC0415
    from worker.private_files import ensure_private_dir  # noqa: PLC0415

    path = get_settings().data_dir / "cli.log"
    ensure_private_dir(path.parent)
    path.touch(mode=0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def shown(value: Any, names: dict[str, str]) -> str:
    """A setting's value as a person knows it: a status or cost center by its name."""
    if value is None:
        return ""
    return names.get(str(value), str(value))


def labels(connection_id: str) -> dict[str, dict[str, str]]:
    """For each setting chosen by id, its ids' names, read from the live APIs; empty
    when they cannot be asked (settings show then shows ids)."""
    from worker.sync.choices import choices  # noqa: PLC0415

    try:
        found = choices(connection_id)
    except Exception:  # noqa: BLE001 - names are a nicety; the ids are still shown
        return {}
    return {name: dict(options) for name, options in found.items()}


def sentences(messages: Any) -> str:
    """marshmallow's ``{'name': ['Must be ….']}`` as a sentence: ``name must be …``."""
    if isinstance(messages, dict):
        return "; ".join(f"{name} {sentences(text)}" for name, text in messages.items())
    if isinstance(messages, list):
        return "; ".join(sentences(text) for text in messages)
    text = str(messages).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
