"""Settings of one connection (R-3.0–R-3.9), kept in Redis and changed from the CLI.

Unlike process settings these belong to a company pair and are chosen from what the
two APIs offer (cost centers, invoice statuses, articles), so they live in Redis under
the connection and are validated by :class:`CompanySettingsSchema`. A transfer calls
:func:`require` first and refuses to start while a setting it needs is missing, naming
each one (R-3: "no transfer may start before they are set").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from schemas.sides import Side


class SettingsMissing(Exception):  # noqa: N818 - reads as the state it reports
    """A transfer cannot start: these settings are not set."""

    def __init__(self, transfer: str, missing: Iterable[str]) -> None:
        self.transfer = transfer
        self.missing = tuple(missing)
        meanings = {s.name: s.meaning for s in SETTINGS}
        named = "; ".join(f"{m} ({meanings.get(m, '')})" for m in self.missing)
        super().__init__(
            f"{transfer} cannot start until these are set: {named}. Set them with "
            "`severa-sync settings set NAME=VALUE` (`settings choices` lists the values)"
        )


def _rule(rule: str, meaning: str) -> dict[str, str]:
    """A setting's documentation, kept on its field: the spec rule and what it means."""
    return {"rule": rule, "meaning": meaning}


_MASTER = validate.OneOf(list(Side), error="must be severa or eekonomi")


class Choice(fields.String):
    """One of a few lower-case words, taken in any case: ``Severa`` is ``severa``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.strip().lower() if isinstance(text, str) else text


class CompanySettingsSchema(Schema):
    """Every connection setting, declared once, in R-3 order (the CLI follows it)."""

    class Meta:
        unknown = EXCLUDE

    customers_master = Choice(
        load_default=None,
        allow_none=True,
        validate=_MASTER,
        metadata=_rule("R-3.1", "master system for customers: severa or eekonomi"),
    )
    products_master = Choice(
        load_default=None,
        allow_none=True,
        validate=_MASTER,
        metadata=_rule("R-3.2", "master system for products: severa or eekonomi"),
    )
    cost_center_id = fields.String(
        load_default=None,
        allow_none=True,
        metadata=_rule("R-3.3", "eEkonomi cost center whose items are the projects"),
    )
    default_article_number = fields.String(
        load_default=None,
        allow_none=True,
        metadata=_rule("R-3.4", "eEkonomi article number for rows with no code"),
    )
    supplier_invoices_billable = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata=_rule("R-3.5", "supplier-invoice costs billable (price = cost)"),
    )
    status_to_transfer = fields.String(
        load_default=None,
        allow_none=True,
        metadata=_rule("R-3.6", "Severa invoice status that marks 'to transfer'"),
    )
    status_transferred = fields.String(
        load_default=None,
        allow_none=True,
        metadata=_rule("R-3.7", "Severa invoice status set after the transfer"),
    )
    status_sent = fields.String(
        load_default=None,
        allow_none=True,
        metadata=_rule("R-3.8", "Severa invoice status set once eEkonomi has sent it"),
    )
    status_paid = fields.String(
        load_default=None,
        allow_none=True,
        metadata=_rule("R-3.9", "Severa invoice status set once paid in eEkonomi"),
    )
    sent_means = Choice(
        load_default="booked",
        validate=validate.OneOf(["booked", "delivered"], error="must be booked or delivered"),
        metadata=_rule("R-3.8", "'booked' or 'delivered' (SendType set and delivered)"),
    )
    conflicts = fields.String(
        load_default="overwrite",
        validate=validate.OneOf(["overwrite", "hold"]),
        metadata=_rule(
            "R-1.1",
            "when the master overwrites an edit on the other side: 'overwrite' "
            "(logged in `conflicts`) or 'hold' (the record waits in the error list)",
        ),
    )
    history_days = fields.Integer(
        load_default=90,
        validate=validate.Range(1, 3650),
        metadata=_rule("R-4.2", "days each record's sync history is kept (`history`)"),
    )
    register_interval_minutes = fields.Integer(
        load_default=15,
        validate=validate.Range(1, 1440),
        metadata=_rule("R-6.4", "minutes between scheduled register syncs"),
    )
    invoice_interval_minutes = fields.Integer(
        load_default=10,
        validate=validate.Range(1, 1440),
        metadata=_rule("R-6.4", "minutes between invoice transfers and checks"),
    )
    supplier_invoice_interval_minutes = fields.Integer(
        load_default=60,
        validate=validate.Range(1, 1440),
        metadata=_rule("R-6.4", "minutes between supplier-invoice fetches"),
    )


@dataclass(frozen=True)
class Setting:
    """One connection setting as documented (read off its schema field)."""

    name: str
    rule: str
    meaning: str


#: Every connection setting, in R-3 order; the CLI's ``settings show`` follows it.
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(name, field.metadata["rule"], field.metadata["meaning"])
    for name, field in CompanySettingsSchema().fields.items()
)


def _key(connection_id: str) -> str:
    # Built here rather than with worker.keys: config imports nothing of the worker.
    return f"sync:conn:{connection_id}:settings"


class SettingsUnreadable(Exception):  # noqa: N818 - reads as the state it reports
    """The connection's stored settings cannot be read (a truncated or hand-edited
    value): nothing of that connection runs until ``settings set`` writes them again."""

    def __init__(self, connection_id: str, problem: str) -> None:
        self.connection_id = connection_id
        super().__init__(
            f"the settings of connection {connection_id!r} cannot be read ({problem}); "
            f"set them again with `python -m worker settings set --connection "
            f"{connection_id} NAME=VALUE …` (it replaces the unreadable value; "
            "`settings check` then names any still missing)"
        )


#: One instance for every load: building a marshmallow schema costs more than loading
#: the few settings with it (issue 20's profile: once per record).
_SCHEMA = CompanySettingsSchema()


def load(client: redis.Redis, connection_id: str) -> dict[str, Any]:
    """The connection's settings, defaults filled in.

    Raises:
        SettingsUnreadable: what is stored is not a settings object.
    """
    raw = client.get(_key(connection_id))
    try:
        stored = json.loads(raw) if raw else {}
        result: dict[str, Any] = _SCHEMA.load(stored)
    except (ValueError, TypeError) as exc:  # ValidationError is a ValueError
        messages = exc.messages if isinstance(exc, ValidationError) else exc
        raise SettingsUnreadable(connection_id, str(messages)) from None
    return result


def readable(client: redis.Redis, connection_id: str) -> SettingsUnreadable | None:
    """``None`` when the stored settings can be read, else why not."""
    try:
        load(client, connection_id)
    except SettingsUnreadable as exc:
        return exc
    return None


def update(
    client: redis.Redis,
    connection_id: str,
    changes: Mapping[str, Any],
    *,
    replace_unreadable: bool = False,
) -> dict[str, Any]:
    """Validate and store ``changes`` (``None`` clears a setting); raises ValidationError.

    ``changes`` are merged into the stored settings — unless those cannot be read and
    ``replace_unreadable`` is set: then ``changes`` replace them (nothing of an
    unreadable value can be kept; the caller says so to the person).

    Raises:
        SettingsUnreadable: the stored settings cannot be read (and are not replaced).
    """
    unknown = set(changes) - {s.name for s in SETTINGS}
    if unknown:
        raise ValidationError({name: ["unknown setting"] for name in sorted(unknown)})
    try:
        current = load(client, connection_id)
    except SettingsUnreadable:
        if not replace_unreadable:
            raise
        current = {}
    validated: dict[str, Any] = CompanySettingsSchema().load({**current, **changes})
    client.set(_key(connection_id), json.dumps(validated))
    return validated


def missing_for(values: Mapping[str, Any], required: Iterable[str]) -> list[str]:
    """The names in ``required`` that ``values`` leaves unset."""
    return [name for name in required if values.get(name) in (None, "")]


def require(
    client: redis.Redis, connection_id: str, transfer: str, required: Iterable[str]
) -> dict[str, Any]:
    """The connection's settings, or :class:`SettingsMissing` naming what ``transfer``
    still needs of ``required`` (a register's ``spec.requires``, R-3)."""
    values = load(client, connection_id)
    missing = missing_for(values, required)
    if missing:
        raise SettingsMissing(transfer, missing)
    return values
