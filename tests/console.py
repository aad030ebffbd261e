"""The console command ``severa-sync`` as ``make install`` installs it, for tests that run
the CLI the way a user does: in a subprocess, from another working directory.

It is installed (``pip install --no-deps -e .``, the Makefile's step) into a throw-away
virtual environment that borrows this environment's packages, so ``.venv`` is never
changed by a test.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def install_console_command(venv: Path) -> Path:
    """Create ``venv``, install the project into it editable; the command's path."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    python = str(venv / "bin" / "python")
    purelib = Path(subprocess.check_output([python, "-c", where], text=True).strip())
    # The project's packages (and pip) come from the environment running the tests.
    (purelib / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    command = venv / "bin" / "severa-sync"
    assert command.is_file(), "pyproject.toml declares no console command severa-sync"
    return command
