"""Process settings: read from the environment (and an optional ``.env``) once, validated, frozen.

Every process of the service (CLI, worker, beat, Flower) calls :func:`config.get_settings`.
A wrong or missing value stops start-up with one message per bad variable naming it
and what is expected, because a sync that starts half-configured fails later, far
from the cause. Secrets are kept out of ``repr`` and out of every message.

Demo mode: when no real API credentials are configured, the service talks to the
local sandboxes (``python -m sandbox``) with the sandboxes' demo credentials, so a
first-time user sees a real transfer without any setup.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from config.checks import (
    CONNECTION_ID_PATTERN,
    alert_addresses,
    alert_targets,
    basic_auth,
    cleartext_urls,
    connection_ids,
    fernet_key,
    fernet_keys,
    host_names,
    url_of,
)
from config.redact import redact

__all__ = ["CONNECTION_ID_PATTERN", "Settings", "SettingsError", "load_settings"]

DEMO_SEVERA_CLIENT_ID = "demo-severa-client"
DEMO_SEVERA_CLIENT_SECRET = "demo-severa-secret"  # noqa: S105 - the public sandbox demo secret
DEMO_EEKONOMI_CLIENT_ID = "demo-eekonomi-client"
DEMO_EEKONOMI_CLIENT_SECRET = "demo-eekonomi-secret"  # noqa: S105 - the public sandbox demo secret

_KEY_MISSING_MESSAGE = (
    "required with real API credentials: tokens are encrypted at rest with it "
    "(create one with `python -m worker new-secret-key`)"
)


class SettingsError(Exception):
    """Start-up refused: one or more variables are wrong. ``problems`` maps name → message."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"  {name}: {message}" for name, message in sorted(self.problems.items())]
        super().__init__(
            "Invalid settings (fix these variables in the environment or .env):\n"
            + "\n".join(lines)
        )


def _setting(
    field_class: type[fields.Field[Any]],
    name: str,
    default: Any,
    shown: str,
    meaning: str,
    *,
    secret: bool = False,
    **options: Any,
) -> Any:
    """Declare one variable: its type, name, default and validation, and — for the README
    table, ``config`` and the secrecy rules — how its default reads and what it means."""
    return field_class(
        data_key=name,
        load_default=default,
        metadata={"shown": shown, "meaning": meaning, "secret": secret},
        **options,
    )


class EnvSettingsSchema(Schema):
    """Every variable the service reads, declared once, in README order. Loads the raw
    environment (strings) into typed values; ``data_key`` is the variable."""

    class Meta:
        unknown = EXCLUDE

    redis_url = _setting(
        fields.String,
        "REDIS_URL",
        None,
        "(embedded)",
        "Redis for the broker, results and all sync state. "
        "Unset: `run` starts the embedded Redis (persistent, in DATA_DIR/redis; loopback "
        "only, with a password generated into DATA_DIR/redis.password).",
        validate=url_of(("redis", "rediss", "unix")),
    )
    data_dir = _setting(
        fields.String,
        "DATA_DIR",
        "./data",
        "./data",
        "Where the embedded Redis, beat's schedule and run files live (a relative path "
        "is taken from the project directory, not from the shell's).",
    )
    embedded_redis_port = _setting(
        fields.Integer,
        "EMBEDDED_REDIS_PORT",
        0,
        "0",
        "Port of the embedded Redis on 127.0.0.1 (0 = a free port).",
        validate=validate.Range(0, 65535),
    )
    log_level = _setting(
        fields.String,
        "LOG_LEVEL",
        "INFO",
        "INFO",
        "DEBUG, INFO, WARNING or ERROR.",
        validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]),
    )
    worker_concurrency = _setting(
        fields.Integer,
        "WORKER_CONCURRENCY",
        4,
        "4",
        "Tasks the worker runs at once (processes, or threads with WORKER_POOL=threads). "
        "Record tasks mostly wait for their endpoint's rate limit, so more than cores let "
        "the registers transfer side by side: about one per register transferring at "
        "once; a hosted sync needs about three per firm transferring at once "
        "(README → Hosting → Fairness).",
        validate=validate.Range(1, 512),
    )
    worker_pool = _setting(
        fields.String,
        "WORKER_POOL",
        "prefork",
        "prefork",
        "Celery's pool: prefork (a process per task slot) or threads (a thread per slot: "
        "slots that mostly wait on rate limits cost little memory, for many firms).",
        validate=validate.OneOf(["prefork", "threads"]),
    )
    connection_max_running = _setting(
        fields.Integer,
        "CONNECTION_MAX_RUNNING",
        3,
        "3",
        "Record tasks of one connection running at once across all workers (0: no cap); "
        "more wait in the connection's line in Redis, so one firm's bulk transfer never "
        "holds every worker process (README → Hosting → Fairness).",
        validate=validate.Range(0, 1000),
    )
    flower_host = _setting(
        fields.String,
        "FLOWER_HOST",
        "127.0.0.1",
        "127.0.0.1",
        "Address Flower listens on. Anything but 127.0.0.1 requires FLOWER_BASIC_AUTH "
        "(and FLOWER_ALLOWED_HOSTS for the names it is reached by).",
    )
    flower_port = _setting(
        fields.Integer,
        "FLOWER_PORT",
        5555,
        "5555",
        "Port of Flower (monitoring UI, API and /metrics).",
        validate=validate.Range(1, 65535),
    )
    flower_basic_auth = _setting(
        fields.String,
        "FLOWER_BASIC_AUTH",
        None,
        "(none)",
        "`user:password` (comma-separate several): Flower's login. Unset: a login is "
        "generated into DATA_DIR/flower.login (the `serve` banner shows it in demo mode).",
        secret=True,
        validate=basic_auth,
    )
    alert_webhooks = _setting(
        fields.String,
        "ALERT_WEBHOOKS",
        None,
        "(none)",
        "Where alerts are POSTed (JSON), per connection: `CONNECTION=URL` pairs, "
        "comma-separated; `*=URL` for every connection without its own. Sent once when a "
        "connection needs re-authorization, when a transfer fails as a whole, and as a "
        "digest of new error-list entries at most once per interval.",
        secret=True,
        validate=alert_targets,
    )
    alert_emails = _setting(
        fields.String,
        "ALERT_EMAILS",
        None,
        "(none)",
        "Where alerts are e-mailed (needs SMTP_URL), per connection: `CONNECTION=addr` "
        "pairs, comma-separated, several addresses separated by `;`; `*=addr` for every "
        "connection without its own. Same alerts as ALERT_WEBHOOKS.",
        validate=alert_addresses,
    )
    smtp_url = _setting(
        fields.String,
        "SMTP_URL",
        None,
        "(none)",
        "Mail server for ALERT_EMAILS: `smtp://user:password@host:port` (STARTTLS when "
        "the server offers it) or `smtps://…` (TLS from the start).",
        secret=True,
        validate=url_of(("smtp", "smtps")),
    )
    alert_from = _setting(
        fields.String,
        "ALERT_FROM",
        "severa-sync@localhost",
        "severa-sync@localhost",
        "Sender address of alert e-mails.",
    )
    flower_allowed_hosts = _setting(
        fields.String,
        "FLOWER_ALLOWED_HOSTS",
        None,
        "(FLOWER_HOST, localhost)",
        "Host names Flower answers to, comma-separated (the Host header of a request; "
        "others get 403, which stops DNS rebinding). Add the name users type, e.g. "
        "flower.example.com behind a proxy.",
        validate=host_names,
    )
    web_host = _setting(
        fields.String,
        "WEB_HOST",
        "127.0.0.1",
        "127.0.0.1",
        "Address the admin web app listens on. Beyond loopback its session cookie is "
        "sent over https only (put it behind a TLS proxy).",
    )
    web_port = _setting(
        fields.Integer,
        "WEB_PORT",
        8000,
        "8000",
        "Port of the admin web app (README → Web app).",
        validate=validate.Range(1, 65535),
    )
    broker_visibility_timeout = _setting(
        fields.Integer,
        "BROKER_VISIBILITY_TIMEOUT",
        900,
        "900",
        "Seconds before Redis hands an unacknowledged "
        "task to another worker; must exceed TASK_RETRY_BACKOFF_MAX.",
        validate=validate.Range(10),
    )
    task_retry_backoff_max = _setting(
        fields.Integer,
        "TASK_RETRY_BACKOFF_MAX",
        300,
        "300",
        "Longest wait (s) between retries of a task.",
        validate=validate.Range(1),
    )
    task_max_retries = _setting(
        fields.Integer,
        "TASK_MAX_RETRIES",
        8,
        "8",
        "Retries of a task on transient API errors.",
        validate=validate.Range(0, 100),
    )
    heartbeat_interval = _setting(
        fields.Integer,
        "HEARTBEAT_INTERVAL",
        60,
        "60",
        "Seconds between beat's liveness ticks per connection.",
        validate=validate.Range(1),
    )
    connections = _setting(
        fields.String,
        "CONNECTIONS",
        "default",
        "default",
        "Comma-separated connection ids (a Severa company paired "
        "with an eEkonomi company) this deployment serves.",
        validate=connection_ids,
    )
    severa_base_url = _setting(
        fields.String,
        "SEVERA_BASE_URL",
        None,
        "(sandbox)",
        "Severa REST API base, e.g. https://api.severa.visma.com/rest-api "
        "(https required with real credentials, except on 127.0.0.1/localhost).",
        validate=url_of(("http", "https")),
    )
    severa_client_id = _setting(
        fields.String,
        "SEVERA_CLIENT_ID",
        None,
        "(demo)",
        "Severa client credentials id (Settings → REST API).",
    )
    severa_client_secret = _setting(
        fields.String,
        "SEVERA_CLIENT_SECRET",
        None,
        "(demo)",
        "Severa client secret.",
        secret=True,
    )
    eekonomi_api_url = _setting(
        fields.String,
        "EEKONOMI_API_URL",
        None,
        "(sandbox)",
        "eEkonomi API base, e.g. https://eaccountingapi.vismaonline.com/v2 (https, as above).",
        validate=url_of(("http", "https")),
    )
    eekonomi_identity_url = _setting(
        fields.String,
        "EEKONOMI_IDENTITY_URL",
        None,
        "(sandbox)",
        "eEkonomi identity server, e.g. https://identity.vismaonline.com (https, as above).",
        validate=url_of(("http", "https")),
    )
    eekonomi_client_id = _setting(
        fields.String, "EEKONOMI_CLIENT_ID", None, "(demo)", "eEkonomi OAuth client id."
    )
    eekonomi_client_secret = _setting(
        fields.String,
        "EEKONOMI_CLIENT_SECRET",
        None,
        "(demo)",
        "eEkonomi OAuth client secret.",
        secret=True,
    )
    eekonomi_redirect_uri = _setting(
        fields.String,
        "EEKONOMI_REDIRECT_URI",
        "http://127.0.0.1:8765/callback",
        "http://127.0.0.1:8765/callback",
        "OAuth redirect URI registered for the client (the `connect` command listens "
        "there); https, or http:// on 127.0.0.1/localhost.",
        validate=url_of(("http", "https")),
    )
    secret_key = _setting(
        fields.String,
        "SECRET_KEY",
        None,
        "(demo: generated)",
        "Fernet key encrypting tokens and secrets at rest "
        "(create one: `python -m worker new-secret-key`). Required with real APIs; in demo "
        "mode one is generated into DATA_DIR/secret.key.",
        secret=True,
        validate=fernet_key,
    )
    secret_key_previous = _setting(
        fields.String,
        "SECRET_KEY_PREVIOUS",
        None,
        "(none)",
        "Former SECRET_KEYs, comma-separated: values they sealed stay readable and are "
        "re-sealed with SECRET_KEY when read (or all at once: `python -m worker "
        "rotate-secrets`). See Security → Rotating SECRET_KEY.",
        secret=True,
        validate=fernet_keys,
    )
    http_timeout = _setting(
        fields.Float,
        "HTTP_TIMEOUT",
        30.0,
        "30",
        "Seconds before an API call times out.",
        validate=validate.Range(0.1, 600),
    )
    severa_requests_per_second = _setting(
        fields.Float,
        "SEVERA_REQUESTS_PER_SECOND",
        9.5,
        "9.5",
        "Requests per second to Severa per connection, "
        "shared by all processes (Severa allows about 10).",
        validate=validate.Range(0.01),
    )
    eekonomi_requests_per_minute = _setting(
        fields.Float,
        "EEKONOMI_REQUESTS_PER_MINUTE",
        570.0,
        "570",
        "Requests per minute per eEkonomi endpoint "
        "per connection, shared by all processes (eEkonomi allows 600).",
        validate=validate.Range(1),
    )
    reference_data_ttl = _setting(
        fields.Integer,
        "REFERENCE_DATA_TTL",
        300,
        "300",
        "Seconds reference data (units, codings, VAT rates, "
        "statuses, cost centers) is cached per connection.",
        validate=validate.Range(0),
    )
    sandbox_severa_port = _setting(
        fields.Integer,
        "SANDBOX_SEVERA_PORT",
        8001,
        "8001",
        "Port of the Severa sandbox in demo mode.",
        validate=validate.Range(1, 65535),
    )
    sandbox_eekonomi_port = _setting(
        fields.Integer,
        "SANDBOX_EEKONOMI_PORT",
        8002,
        "8002",
        "Port of the eEkonomi sandbox in demo mode.",
        validate=validate.Range(1, 65535),
    )
    demo_autorun = _setting(
        fields.Boolean,
        "DEMO_AUTORUN",
        True,
        "true",
        "In demo mode, transfer everything once connected. false: `run` connects and "
        "configures the demo but transfers nothing (nor does beat, until a first `run`), "
        "so `compare` and `plan` can be tried first.",
    )

    @validates_schema
    def check_combinations(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Rules that span variables; each error is keyed by the variable to fix."""
        errors: dict[str, str] = {}
        if data["broker_visibility_timeout"] <= data["task_retry_backoff_max"]:
            errors["BROKER_VISIBILITY_TIMEOUT"] = (
                "must be greater than TASK_RETRY_BACKOFF_MAX, or Redis redelivers tasks "
                "that wait for a retry and they run twice"
            )
        if data["flower_host"] != "127.0.0.1" and not data["flower_basic_auth"]:
            errors["FLOWER_BASIC_AUTH"] = (
                f"required when FLOWER_HOST is {data['flower_host']!r}: Flower refuses to "
                "listen beyond 127.0.0.1 without credentials"
            )
        for api, names in (
            ("Severa", ("severa_client_id", "severa_client_secret", "severa_base_url")),
            (
                "eEkonomi",
                (
                    "eekonomi_client_id",
                    "eekonomi_client_secret",
                    "eekonomi_api_url",
                    "eekonomi_identity_url",
                ),
            ),
        ):
            given = [n for n in names if data[n]]
            if given and len(given) != len(names):
                for name in names:
                    if not data[name]:
                        errors[name.upper()] = (
                            f"required once any {api} API setting is given "
                            f"({', '.join(n.upper() for n in given)})"
                        )
        severa_real = bool(data["severa_client_id"])
        eekonomi_real = bool(data["eekonomi_client_id"])
        if severa_real != eekonomi_real and not errors:
            missing = "EEKONOMI_CLIENT_ID" if severa_real else "SEVERA_CLIENT_ID"
            errors[missing] = "configure both APIs, or neither (demo mode uses both sandboxes)"
        if severa_real and not data["secret_key"] and "SEVERA_CLIENT_ID" not in errors:
            errors["SECRET_KEY"] = _KEY_MISSING_MESSAGE
        if severa_real or eekonomi_real:
            errors.update(cleartext_urls(data))
        if errors:
            raise ValidationError(errors)


@dataclass(frozen=True)
class Variable:
    """One documented setting, read off its declaration in :class:`EnvSettingsSchema`:
    the README's configuration table and ``config`` show these."""

    name: str
    default: str
    meaning: str
    secret: bool = False


#: Every variable the service reads, in README order. ``default`` is shown as written.
VARIABLES: tuple[Variable, ...] = tuple(
    Variable(
        field.data_key or name,
        field.metadata["shown"],
        field.metadata["meaning"],
        field.metadata["secret"],
    )
    for name, field in EnvSettingsSchema().fields.items()
)
SECRET_NAMES = frozenset(v.name for v in VARIABLES if v.secret)


@dataclass(frozen=True)
class Settings:
    """The validated, immutable settings of one process. Secrets are excluded from repr."""

    redis_url: str | None
    data_dir: Path
    embedded_redis_port: int
    log_level: str
    worker_concurrency: int
    worker_pool: str
    connection_max_running: int
    flower_host: str
    flower_port: int
    broker_visibility_timeout: int
    task_retry_backoff_max: int
    task_max_retries: int
    heartbeat_interval: int
    connections: tuple[str, ...]
    demo: bool
    severa_base_url: str
    severa_client_id: str
    eekonomi_api_url: str
    eekonomi_identity_url: str
    eekonomi_client_id: str
    eekonomi_redirect_uri: str
    sandbox_severa_port: int
    sandbox_eekonomi_port: int
    demo_autorun: bool = True
    http_timeout: float = 30.0
    severa_requests_per_second: float = 9.5
    eekonomi_requests_per_minute: float = 570.0
    reference_data_ttl: int = 300
    secret_key: str | None = field(repr=False, default=None)
    severa_client_secret: str = field(repr=False, default="")
    eekonomi_client_secret: str = field(repr=False, default="")
    flower_basic_auth: str | None = field(repr=False, default=None)
    flower_allowed_hosts: tuple[str, ...] = ()
    alert_webhooks: str | None = field(repr=False, default=None)
    alert_emails: str | None = None
    smtp_url: str | None = field(repr=False, default=None)
    alert_from: str = "severa-sync@localhost"
    secret_key_previous: tuple[str, ...] = field(repr=False, default=())
    web_host: str = "127.0.0.1"
    web_port: int = 8000

    def describe(self) -> list[tuple[str, str]]:
        """(variable, value) rows for display: secrets show only whether they are set,
        and a password inside a URL (``REDIS_URL``) is masked."""
        rows: list[tuple[str, str]] = []
        for variable in VARIABLES:
            attr = variable.name.lower()
            value = getattr(self, attr, None)
            if variable.secret:
                shown = "set (hidden)" if value else "not set"
            elif value is None:
                shown = variable.default
            elif isinstance(value, tuple):
                shown = ",".join(value) or variable.default
            else:
                shown = str(value)
            rows.append((variable.name, redact(shown)))
        return rows


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, optional ``export`` and quotes.

    Malformed lines are reported with their line number rather than ignored, since a
    silently skipped line is a setting the user believes is in force.
    """
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            problems[f"{path.name}:{number}"] = "expected KEY=VALUE"
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    if problems:
        raise SettingsError(problems)
    return values


#: The checkout the service runs from: a relative DATA_DIR and the default .env are
#: found here, whichever directory a command is started from (``severa-sync`` works
#: from any shell).
PROJECT_DIR = Path(__file__).resolve().parent.parent


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> Settings:
    """Build :class:`Settings` from ``environ`` (default ``os.environ``) over an optional .env.

    The process environment wins over the file, so a deployment can override one value
    without editing the file. Empty strings count as unset.
    """
    environ = os.environ if environ is None else environ
    if env_file is None:
        env_file = Path(environ.get("ENV_FILE") or PROJECT_DIR / ".env")
    raw: dict[str, str] = {}
    if env_file.is_file():
        raw.update(read_env_file(env_file))
    raw.update({k: v for k, v in environ.items() if k in {v.name for v in VARIABLES}})
    raw = {k: v.strip() for k, v in raw.items() if v.strip()}
    try:
        data = EnvSettingsSchema().load(raw)
    except ValidationError as exc:
        raise SettingsError(_flatten(exc.messages)) from None
    return _build(data)


def _flatten(messages: Any) -> dict[str, str]:
    problems: dict[str, str] = {}
    for key, value in dict(messages).items():
        if isinstance(value, dict):
            problems.update(_flatten(value))
            continue
        text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        problems[str(key)] = text
    return problems


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.strip() for item in (value or "").split(",") if item.strip()))


def _build(data: dict[str, Any]) -> Settings:
    """The frozen settings: every declared variable as loaded, then what is derived
    from them — the absolute data directory, the connection ids, demo mode and, in demo
    mode, the sandboxes' URLs and demo credentials."""
    demo = not data["severa_client_id"]
    severa_port = data["sandbox_severa_port"]
    eekonomi_port = data["sandbox_eekonomi_port"]
    derived = {
        "data_dir": (PROJECT_DIR / Path(data["data_dir"]).expanduser()).resolve(),
        "connections": tuple(dict.fromkeys(c.strip() for c in data["connections"].split(","))),
        "flower_allowed_hosts": _split(data["flower_allowed_hosts"]),
        "secret_key_previous": _split(data["secret_key_previous"]),
        "demo": demo,
        "severa_base_url": data["severa_base_url"] or f"http://127.0.0.1:{severa_port}/rest-api",
        "severa_client_id": data["severa_client_id"] or DEMO_SEVERA_CLIENT_ID,
        "severa_client_secret": data["severa_client_secret"] or DEMO_SEVERA_CLIENT_SECRET,
        "eekonomi_api_url": data["eekonomi_api_url"] or f"http://127.0.0.1:{eekonomi_port}/v2",
        "eekonomi_identity_url": (
            data["eekonomi_identity_url"] or f"http://127.0.0.1:{eekonomi_port}"
        ),
        "eekonomi_client_id": data["eekonomi_client_id"] or DEMO_EEKONOMI_CLIENT_ID,
        "eekonomi_client_secret": data["eekonomi_client_secret"] or DEMO_EEKONOMI_CLIENT_SECRET,
    }
    return Settings(**{**data, **derived})
