"""What `run` starts, decided from settings (unit level; the real run is test_run_command)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings
from worker.flower import FlowerRefused, flower_options
from worker.supervisor import plan, read_procfile

NO_FILE = Path("/nonexistent/.env")
REAL_APIS = {
    "SEVERA_CLIENT_ID": "id",
    "SEVERA_CLIENT_SECRET": "secret",
    "SEVERA_BASE_URL": "https://api.severa.visma.com/rest-api",
    "EEKONOMI_CLIENT_ID": "id",
    "EEKONOMI_CLIENT_SECRET": "secret",
    "EEKONOMI_API_URL": "https://eaccountingapi.vismaonline.com/v2",
    "EEKONOMI_IDENTITY_URL": "https://identity.vismaonline.com",
    "SECRET_KEY": "6Ho3yJxQw1T8zY0c2m7bX9s4Vq5r8t1u3w6y9a2c4e8=",
}


def test_given_no_redis_url_then_embedded_redis_runs_and_its_url_reaches_every_process(
    tmp_path: Path,
) -> None:
    the_plan = plan(load_settings({"DATA_DIR": str(tmp_path)}, NO_FILE), environ={"PATH": "/bin"})
    assert list(the_plan.processes) == ["redis", "sandbox", "worker", "beat", "flower", "web"]
    assert the_plan.embedded_redis
    assert the_plan.env["REDIS_URL"] == the_plan.redis_url
    # The embedded Redis's generated password (DATA_DIR/redis.password) is in the URL.
    password = (tmp_path / "redis.password").read_text().strip()
    assert the_plan.redis_url.startswith(f"redis://:{password}@127.0.0.1:")
    assert the_plan.env["EMBEDDED_REDIS_PORT"] == the_plan.redis_url.rsplit(":", 1)[1][:-2]


def test_given_redis_url_and_real_apis_then_only_worker_beat_flower_and_web_run(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        {"REDIS_URL": "redis://10.1.2.3:6379/4", "DATA_DIR": str(tmp_path), **REAL_APIS},
        NO_FILE,
    )
    the_plan = plan(settings, environ={"PATH": "/bin"})
    assert list(the_plan.processes) == ["worker", "beat", "flower", "web"]
    assert the_plan.redis_url == "redis://10.1.2.3:6379/4"
    assert "-B" not in the_plan.processes["worker"].split()


def test_flower_refuses_public_address_without_credentials_and_keeps_them_off_argv(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        {"FLOWER_BASIC_AUTH": "ops:pa55word", "FLOWER_HOST": "0.0.0.0", "DATA_DIR": str(tmp_path)},
        NO_FILE,
    )
    options = flower_options(settings)
    assert options.login.pairs == ("ops:pa55word",)
    assert options.address == "0.0.0.0"
    assert "pa55word" not in repr(options)
    # Flower runs in the `flower` process with these options: no credential on any argv.
    assert read_procfile()["flower"] == "python -m worker flower"

    local = load_settings({"DATA_DIR": str(tmp_path)}, NO_FILE)
    options = flower_options(local)
    assert options.address == "127.0.0.1"
    assert options.login.generated  # a login even on loopback
    assert options.login.password

    # Settings validation already refuses this; the Flower launcher refuses it again.
    exposed = local.__class__(**{**local.__dict__, "flower_host": "0.0.0.0"})
    with pytest.raises(FlowerRefused, match="FLOWER_BASIC_AUTH"):
        flower_options(exposed)


def test_given_pool_settings_in_an_env_file_then_the_worker_process_gets_them(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WORKER_POOL=threads\nWORKER_CONCURRENCY=64\n", encoding="utf-8")
    the_plan = plan(load_settings({"DATA_DIR": str(tmp_path)}, env_file), environ={"PATH": "/bin"})
    assert (the_plan.env["WORKER_POOL"], the_plan.env["WORKER_CONCURRENCY"]) == ("threads", "64")
    worker = the_plan.processes["worker"]
    assert "--pool=${WORKER_POOL:-prefork}" in worker
    assert "--concurrency=${WORKER_CONCURRENCY:-4}" in worker


def test_given_an_unknown_pool_then_start_up_names_the_variable(tmp_path: Path) -> None:
    from config import SettingsError

    with pytest.raises(SettingsError, match="WORKER_POOL"):
        load_settings({"DATA_DIR": str(tmp_path), "WORKER_POOL": "gevent"}, NO_FILE)
