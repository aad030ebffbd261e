"""Settings of the service, parsed once per process (see :mod:`config.settings`)."""

from __future__ import annotations

import functools

from config.settings import VARIABLES, Settings, SettingsError, load_settings

__all__ = ["VARIABLES", "Settings", "SettingsError", "get_settings", "load_settings"]


@functools.cache
def get_settings() -> Settings:
    """The process's settings: loaded and validated on first use, then frozen.

    Raises :class:`SettingsError` naming every wrong variable.
    """
    return load_settings()
