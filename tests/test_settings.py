"""Settings: parsed once, validated, and every error names the variable and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import VARIABLES, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
NO_FILE = Path("/nonexistent/.env")
FERNET_KEY = "6Ho3yJxQw1T8zY0c2m7bX9s4Vq5r8t1u3w6y9a2c4e8="
REAL_APIS = {
    "SEVERA_CLIENT_ID": "id1",
    "SEVERA_CLIENT_SECRET": "s1",
    "SEVERA_BASE_URL": "https://api.severa.visma.com/rest-api",
    "EEKONOMI_CLIENT_ID": "id2",
    "EEKONOMI_CLIENT_SECRET": "s2",
    "EEKONOMI_API_URL": "https://eaccountingapi.vismaonline.com/v2",
    "EEKONOMI_IDENTITY_URL": "https://identity.vismaonline.com",
}


def problems(environ: dict[str, str], env_file: Path = NO_FILE) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, env_file)
    return caught.value.problems


def test_given_no_variables_when_loading_then_demo_mode_on_sandboxes_and_embedded_redis() -> None:
    settings = load_settings({}, NO_FILE)
    assert settings.demo is True
    assert settings.redis_url is None
    assert settings.severa_base_url == "http://127.0.0.1:8001/rest-api"
    assert settings.eekonomi_api_url == "http://127.0.0.1:8002/v2"
    assert settings.connections == ("default",)
    assert settings.flower_host == "127.0.0.1"
    assert settings.flower_port == 5555


def test_given_wrong_values_when_loading_then_each_variable_is_named_with_what_is_expected() -> (
    None
):
    found = problems(
        {"FLOWER_PORT": "fivefive", "REDIS_URL": "localhost:6379", "LOG_LEVEL": "LOUD"}
    )
    assert set(found) == {"FLOWER_PORT", "REDIS_URL", "LOG_LEVEL"}
    assert "integer" in found["FLOWER_PORT"].lower()
    assert "redis://" in found["REDIS_URL"]
    assert "INFO" in found["LOG_LEVEL"]


def test_given_visibility_timeout_below_retry_backoff_then_start_up_is_refused() -> None:
    found = problems({"BROKER_VISIBILITY_TIMEOUT": "60", "TASK_RETRY_BACKOFF_MAX": "120"})
    assert "TASK_RETRY_BACKOFF_MAX" in found["BROKER_VISIBILITY_TIMEOUT"]


def test_given_flower_on_all_interfaces_without_credentials_then_refused() -> None:
    found = problems({"FLOWER_HOST": "0.0.0.0"})
    assert "FLOWER_BASIC_AUTH" in found
    settings = load_settings({"FLOWER_HOST": "0.0.0.0", "FLOWER_BASIC_AUTH": "ops:s3cret"}, NO_FILE)
    assert settings.flower_host == "0.0.0.0"


def test_given_half_of_the_severa_credentials_then_the_missing_ones_are_named() -> None:
    found = problems({"SEVERA_CLIENT_ID": "abc"})
    assert {"SEVERA_CLIENT_SECRET", "SEVERA_BASE_URL"} <= set(found)


def test_given_only_one_api_configured_then_the_other_is_required() -> None:
    found = problems(
        {
            "SEVERA_CLIENT_ID": "abc",
            "SEVERA_CLIENT_SECRET": "def",
            "SEVERA_BASE_URL": "https://api.severa.visma.com/rest-api",
        }
    )
    assert "EEKONOMI_CLIENT_ID" in found


def test_given_real_apis_without_secret_key_then_refused_and_bad_key_named() -> None:
    assert "SECRET_KEY" in problems(REAL_APIS)
    assert "Fernet" in problems({**REAL_APIS, "SECRET_KEY": "too-short"})["SECRET_KEY"]
    assert load_settings({**REAL_APIS, "SECRET_KEY": FERNET_KEY}, NO_FILE).demo is False


def test_given_bad_connection_id_then_named() -> None:
    found = problems({"CONNECTIONS": "default,Bad Id"})
    assert "'Bad Id'" in found["CONNECTIONS"]


def test_given_env_file_when_loading_then_read_and_process_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nexport LOG_LEVEL=DEBUG\nFLOWER_PORT='6000'\nWORKER_CONCURRENCY=3\n"
    )
    settings = load_settings({"WORKER_CONCURRENCY": "4"}, env_file)
    assert settings.log_level == "DEBUG"
    assert settings.flower_port == 6000
    assert settings.worker_concurrency == 4


def test_given_malformed_env_file_line_then_its_line_number_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_LEVEL=INFO\nthis is not a setting\n")
    assert problems({}, env_file) == {".env:2": "expected KEY=VALUE"}


def test_secrets_never_appear_in_repr_describe_or_errors() -> None:
    secret = "hunter2-very-secret"
    settings = load_settings(
        {
            "SEVERA_CLIENT_ID": "id1",
            "SEVERA_CLIENT_SECRET": secret,
            "SEVERA_BASE_URL": "https://api.severa.visma.com/rest-api",
            "EEKONOMI_CLIENT_ID": "id2",
            "EEKONOMI_CLIENT_SECRET": secret,
            "EEKONOMI_API_URL": "https://eaccountingapi.vismaonline.com/v2",
            "EEKONOMI_IDENTITY_URL": "https://identity.vismaonline.com",
            "FLOWER_BASIC_AUTH": f"ops:{secret}",
            "SECRET_KEY": FERNET_KEY,
        },
        NO_FILE,
    )
    assert settings.demo is False
    assert secret not in repr(settings)
    assert secret not in str(settings.describe())
    assert ("SEVERA_CLIENT_SECRET", "set (hidden)") in settings.describe()
    found = problems({"FLOWER_BASIC_AUTH": secret})
    assert secret not in str(found)


def test_every_variable_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [v.name for v in VARIABLES if f"`{v.name}`" not in readme]
    assert missing == []


def test_given_bad_setting_when_cli_starts_then_exit_2_naming_the_variable(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "FLOWER_PORT": "nope", "ENV_FILE": str(tmp_path / "none")}
    result = subprocess.run(
        [sys.executable, "-m", "worker", "config"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "FLOWER_PORT" in result.stderr
    assert "integer" in result.stderr.lower()


def test_every_declared_variable_is_a_typed_attribute_of_the_settings_and_nothing_else() -> None:
    """A setting is declared once (its schema field: name, default, validation, meaning,
    secrecy); the frozen Settings only types it — adding one without the other fails."""
    import dataclasses

    from config.settings import EnvSettingsSchema, Settings

    declared = set(EnvSettingsSchema().fields)
    attributes = {f.name for f in dataclasses.fields(Settings)}
    assert attributes - declared == {"demo"}  # derived, not read from the environment
    assert declared <= attributes
    assert [v.name for v in VARIABLES] == [f.data_key for f in EnvSettingsSchema().fields.values()]
