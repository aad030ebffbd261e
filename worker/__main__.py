"""``python -m worker``: the command-line interface (also the console command
``severa-sync``, declared in pyproject.toml)."""

import sys

from worker.cli import run

sys.argv[0] = "python -m worker"
run()
