"""The server refuses to start with the default (or a short) secret outside development."""

from __future__ import annotations

import pytest

from rapport.config import DEFAULT_SECRET_KEY, Settings
from rapport.errors import ConfigError

STRONG = "k" * 48


def test_development_accepts_the_default_secret() -> None:
    Settings(_env_file=None, environment="development").check_secrets()


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "short-but-not-default"])
def test_production_refuses_the_default_or_a_short_secret(secret: str) -> None:
    settings = Settings(_env_file=None, environment="production", secret_key=secret)
    with pytest.raises(ConfigError) as info:
        settings.check_secrets()
    assert info.value.field == "RAPPORT_SECRET_KEY"
    assert "RAPPORT_SECRET_KEY" in str(info.value) and "token_urlsafe" in str(info.value)
    assert info.value.exit_code == 3


def test_production_accepts_a_long_secret() -> None:
    Settings(_env_file=None, environment="production", secret_key=STRONG).check_secrets()


def test_secret_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_ENVIRONMENT", "production")
    monkeypatch.setenv("RAPPORT_ACCESS_TOKEN_MINUTES", "5")
    monkeypatch.setenv("RAPPORT_MAX_PAGE_SIZE", "50")
    settings = Settings(_env_file=None)
    assert settings.access_token_minutes == 5 and settings.max_page_size == 50
    with pytest.raises(ConfigError):
        settings.check_secrets()
