"""The rules of [messages] and [schedule]: defaults, and the errors of values that cannot
work, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.config import Settings, load_rules
from rapport.errors import ConfigError


def _rules(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return Settings(_env_file=None, config_file=path)


def test_defaults() -> None:
    rules = load_rules(Settings(_env_file=None))
    assert rules.messages.max_attempts == 8 and rules.messages.smtp.port == 25
    assert rules.messages.webhook.urls == {}
    assert rules.schedule.daily_at == "02:00"
    assert rules.schedule.steps == (
        "score",
        "loyalty",
        "playbooks",
        "alerts",
        "expire_tasks",
        "messages",
    )


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        ("[messages]\nlease_seconds = 100.0\n", "messages", "longer than batch_size x timeout"),
        ("[messages]\nbackoff_max_seconds = 1.0\n", "messages", "at least backoff_seconds"),
        ("[messages.smtp]\nssl = true\nstarttls = true\n", "messages.smtp", "not both"),
        ('[messages.webhook.urls]\nsms = "ftp://x"\n', "messages.webhook.urls", "http://"),
        ('[messages.webhook.urls]\nemail = "https://x"\n', "messages.webhook.urls", "SMTP"),
        ('[schedule]\ndaily_at = "25:00"\n', "schedule.daily_at", "pattern"),
        ('[schedule]\nsteps = ["alerts", "score"]\n', "schedule.steps", "in the order"),
        ('[schedule]\nsteps = ["score", "coffee"]\n', "schedule.steps", "score"),
    ],
)
def test_values_that_cannot_work_are_refused(
    tmp_path: Path, text: str, where: str, why: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_rules(_rules(tmp_path, text))
    assert info.value.field is not None and info.value.field.startswith(where)
    assert why in str(info.value)


def test_a_subset_of_steps_keeps_their_order(tmp_path: Path) -> None:
    rules = load_rules(_rules(tmp_path, '[schedule]\nsteps = ["score", "messages"]\n'))
    assert rules.schedule.steps == ("score", "messages")
