"""The CLI from any shell (issue 17, item 3): ``make install`` puts the console command
``severa-sync`` into the virtual environment; it finds the project's settings and data
from any directory, and without a reachable Redis every command ends in one line
saying what to start, never a traceback.

The command is installed as the Makefile does it (tests/console.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from config import load_settings
from tests.console import install_console_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def severa_sync(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_console_command(tmp_path_factory.mktemp("venv"))


def _run(command: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "ENV_FILE": str(cwd / "absent.env")}
    return subprocess.run(
        [str(command), *args], cwd=cwd, env={**base, **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_severa_sync_without_redis_says_what_to_start_in_one_line_from_any_directory(
    severa_sync: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    empty_data = tmp_path / "data"
    for env in ({"DATA_DIR": str(empty_data)},
                {"DATA_DIR": str(empty_data), "REDIS_URL": "redis://127.0.0.1:1/0"}):  # fmt: skip
        for args in (["status"], ["errors"], ["settings", "show"], ["run", "customers"]):
            result = _run(severa_sync, elsewhere, *args, **env)
            output = (result.stdout + result.stderr).strip().splitlines()
            assert result.returncode != 0, (args, env, output)
            assert len(output) <= 3, (args, env, output)
            assert "Traceback" not in result.stderr, (args, env, result.stderr)
            assert "make run" in result.stderr, (args, env, output)


def test_severa_sync_help_works_from_any_directory(severa_sync: Path, tmp_path: Path) -> None:
    result = _run(severa_sync, tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: severa-sync" in result.stdout


def test_a_relative_data_dir_is_the_projects_not_the_shells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    environ = {"DATA_DIR": "data", "ENV_FILE": str(tmp_path / "absent.env")}
    assert load_settings(environ).data_dir == ROOT / "data"
    assert load_settings({**environ, "DATA_DIR": "var/x"}).data_dir == ROOT / "var" / "x"
    assert os.path.isabs(load_settings(environ).data_dir)


def test_severa_sync_with_a_bad_setting_names_it_without_a_traceback(
    severa_sync: Path, tmp_path: Path
) -> None:
    result = _run(severa_sync, tmp_path, "status", FLOWER_PORT="nope")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "FLOWER_PORT" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3
