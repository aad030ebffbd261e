"""The e-mail alert settings (issue 17): checked at start-up, the SMTP password never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import SettingsError, load_settings
from worker.alerts import emails_for

NO_FILE = Path("/nonexistent/.env")


def test_alert_emails_pick_the_connections_own_addresses_else_the_star_ones() -> None:
    settings = load_settings(
        {
            "SMTP_URL": "smtp://sync:pa55word@mail.example:587",
            "ALERT_EMAILS": "acme=ops@acme.example; it@acme.example,*=all@example.com",
        },
        NO_FILE,
    )
    assert emails_for(settings, "acme") == ["ops@acme.example", "it@acme.example"]
    assert emails_for(settings, "other") == ["all@example.com"]
    assert settings.alert_from == "severa-sync@localhost"
    assert "pa55word" not in repr(settings)
    assert "pa55word" not in str(settings.describe())
    assert ("SMTP_URL", "set (hidden)") in settings.describe()


def test_without_smtp_url_no_addresses_are_used() -> None:
    settings = load_settings({"ALERT_EMAILS": "*=ops@example.com"}, NO_FILE)
    assert emails_for(settings, "default") == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALERT_EMAILS", "ops@example.com"),
        ("ALERT_EMAILS", "acme=not-an-address"),
        ("SMTP_URL", "http://sync:pa55word@mail.example"),
    ],
)
def test_bad_email_settings_stop_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value}, NO_FILE)
    assert name in caught.value.problems
    assert "pa55word" not in str(caught.value)
