"""``python -m sandbox.severa.demo``: write both demo organizations' data files."""

from __future__ import annotations

from sandbox.severa.demo import main

main()
