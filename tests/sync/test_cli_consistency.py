"""The CLI says the same thing everywhere (issue 17, item 5), run as a user runs it: the
console command in a subprocess, from another working directory, against a world with
both sandboxes over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.console import install_console_command
from tests.sync.conftest import World

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def severa_sync(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_console_command(tmp_path_factory.mktemp("venv"))


class Cli:
    def __init__(self, command: Path, world: World, cwd: Path) -> None:
        self.command, self.world, self.cwd = command, world, cwd

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.command), *args, "--connection", self.world.connection_id],
            cwd=self.cwd, env=self.world.env, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        assert "Traceback" not in result.stderr, result.stderr
        return result


@pytest.fixture
def cli(severa_sync: Path, world: World, tmp_path: Path) -> Cli:
    return Cli(severa_sync, world, tmp_path)


def test_errors_retry_takes_register_prints_each_failure_once_and_names_unknown_numbers(
    cli: Cli,
) -> None:
    ran = cli("run", "customers", "--now")
    real_run = re.search(r"\(run (\w+), finished\)", ran.stdout)
    assert real_run, ran.stdout + ran.stderr

    assert "--register" in cli("errors", "retry", "--help").stdout
    retried = cli("errors", "retry", "--register", "customers", "1050")
    assert retried.returncode == 1, retried.stdout + retried.stderr  # still no postal code
    output = retried.stdout + retried.stderr
    lines = [line for line in output.splitlines() if "1050" in line]
    assert len(lines) == 1, output  # once, not again as a log line

    unknown = cli("errors", "retry", "99999")
    assert unknown.returncode != 0
    assert "99999: no such record" in unknown.stderr
    assert "unchanged" not in unknown.stdout

    # The one-record retries did not replace the transfer's last run in status.
    status = json.loads(cli("status", "--json").stdout)
    assert status["transfers"]["customers"]["run_id"] == real_run.group(1)
    assert status["transfers"]["customers"]["created"] > 1


def test_errors_search_without_a_match_says_no_entry_matches(cli: Cli) -> None:
    cli("run", "customers", "--now")
    found = cli("errors", "--search", "no-such-text-anywhere")
    assert "No entry matches" in found.stdout
    assert "empty" not in found.stdout


def test_status_shows_what_a_run_skipped_in_its_plain_output(cli: Cli, world: World) -> None:
    from worker.sync.runs import Runs

    # A paid check that left an invoice paid only in part for later (counted skipped).
    runs = Runs(world.redis, world.connection_id)
    report = runs.start("paid")
    runs.count(report.run_id, "unchanged", 3)
    runs.count(report.run_id, "skipped")
    runs.finish(report.run_id)
    status = cli("status")
    header = next(line for line in status.stdout.splitlines() if line.startswith("transfer"))
    assert "skipped" in header.split()
    paid = next(line for line in status.stdout.splitlines() if line.startswith("paid "))
    assert paid.split()[header.split().index("skipped") + 1] == "1", status.stdout
    assert "paid in full" in status.stdout  # what skipped means
