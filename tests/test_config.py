"""Settings from the environment and business rules from TOML."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest

from rapport.config import (
    CostRules,
    DepthScoreRules,
    Settings,
    SlaRules,
    get_settings,
    load_rules,
)
from rapport.domain import CampaignChannel, InteractionChannel, TicketPriority
from rapport.errors import ConfigError
from rapport.i18n.errors import error_text


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- settings ------------------------------------------------------------------------------


def test_settings_come_from_rapport_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = settings_with(
        monkeypatch,
        RAPPORT_DATABASE_URL="postgresql://rapport@db.example.cn/crm",
        RAPPORT_ENGINE="postgres",
        RAPPORT_TIMEZONE="Europe/Paris",
        RAPPORT_LOCALE="en",
        RAPPORT_DEBUG="true",
        RAPPORT_CONFIG_FILE=str(tmp_path / "rules.toml"),
        DATABASE_URL="sqlite:///not-ours.db",  # no prefix: ignored
    )
    assert s.database_url == "postgresql://rapport@db.example.cn/crm"
    assert s.engine == "postgres"
    assert s.tz == ZoneInfo("Europe/Paris")
    assert s.locale == "en"
    assert s.debug is True
    assert s.config_file == tmp_path / "rules.toml"


def test_settings_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RAPPORT_DATABASE_URL", "RAPPORT_DATA_DIR"):
        monkeypatch.delenv(name)
    s = settings_with(monkeypatch)
    assert s.timezone == "Asia/Shanghai"
    assert s.locale == "zh_CN"
    assert s.engine == "duckdb"
    assert s.database_url.startswith("sqlite:///")
    assert s.debug is False


def test_settings_read_a_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path / ".env", "RAPPORT_LOCALE=en\nRAPPORT_TIMEZONE=UTC\n")
    s = settings_with(monkeypatch)
    assert (s.locale, s.timezone) == ("en", "UTC")


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path / ".env", "RAPPORT_LOCALE=en\n")
    assert settings_with(monkeypatch, RAPPORT_LOCALE="zh_CN").locale == "zh_CN"


def test_unknown_rapport_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings_with(monkeypatch, RAPPORT_NO_SUCH_SETTING="1")
    assert not hasattr(s, "no_such_setting")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "UTC+8", "", "Asia/上海"])
def test_invalid_timezone_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings_with(monkeypatch, RAPPORT_TIMEZONE=zone)
    assert info.value.field == "RAPPORT_TIMEZONE"
    assert "RAPPORT_TIMEZONE" in str(info.value)
    assert info.value.exit_code == 3


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RAPPORT_ENGINE", "oracle"), ("RAPPORT_LOCALE", "fr"), ("RAPPORT_DEBUG", "maybe")],
)
def test_invalid_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings_with(monkeypatch, **{variable: value})
    assert info.value.field == variable


def test_settings_are_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    first = settings_with(monkeypatch, RAPPORT_LOCALE="en")
    monkeypatch.setenv("RAPPORT_LOCALE", "zh_CN")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().locale == "zh_CN"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql+psycopg://rapport:hunter2@db:5432/crm", "hunter2"),
        ("postgresql://u:p%40ss@db/crm", "p%40ss"),
    ],
)
def test_safe_database_url_masks_the_password(
    monkeypatch: pytest.MonkeyPatch, url: str, secret: str
) -> None:
    safe = settings_with(monkeypatch, RAPPORT_DATABASE_URL=url).safe_database_url()
    assert secret not in safe and "p@ss" not in safe
    assert "***" in safe and safe.endswith("/crm")


def test_secret_key_is_not_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings_with(monkeypatch, RAPPORT_SECRET_KEY="s3cret-口令")
    assert "s3cret" not in repr(s)


# --- business rules ------------------------------------------------------------------------


def test_packaged_defaults_are_valid_and_sensible() -> None:
    rules = load_rules()
    for priority in TicketPriority:
        first = rules.sla.first_response_hours[priority]
        assert 0 < first < rules.sla.resolution_hours[priority]
    thresholds = [t.min_points for t in rules.loyalty.tiers]
    assert thresholds == sorted(thresholds) and thresholds[0] == 0
    assert len({t.code for t in rules.loyalty.tiers}) == len(rules.loyalty.tiers)


def test_rules_file_overrides_one_value_and_keeps_the_rest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    defaults = load_rules()
    path = write(tmp_path / "rules.toml", "[activity]\nwindow_days = 90\n")
    rules = load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path)))
    assert rules.activity.window_days == 90
    assert rules.model_dump(exclude={"activity"}) == defaults.model_dump(exclude={"activity"})


def test_overriding_one_sla_priority_keeps_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    defaults = load_rules().sla
    path = write(tmp_path / "rules.toml", "[sla.first_response_hours]\nurgent = 0.5\n")
    sla = load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path))).sla
    assert sla.first_response_hours[TicketPriority.URGENT] == 0.5
    for priority in set(TicketPriority) - {TicketPriority.URGENT}:
        assert sla.first_response_hours[priority] == defaults.first_response_hours[priority]
    assert sla.resolution_hours == defaults.resolution_hours


def test_a_list_in_the_rules_file_replaces_the_default_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "rules.toml",
        '[[loyalty.tiers]]\ncode = "member"\nmin_points = 0\n'
        '[[loyalty.tiers]]\ncode = "vip"\nmin_points = 500\n',
    )
    loyalty = load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path))).loyalty
    assert [(t.code, t.min_points) for t in loyalty.tiers] == [("member", 0), ("vip", 500)]
    assert loyalty.points_expire_days == load_rules().loyalty.points_expire_days


@pytest.mark.parametrize(
    ("tiers", "problem"),
    [
        ([("member", 0), ("gold", 100), ("gold", 200)], "unique"),
        ([("silver", 100), ("gold", 1000)], "min_points = 0"),
        ([], "min_points = 0"),
    ],
)
def test_loyalty_tiers_need_unique_codes_and_a_tier_at_zero(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiers: list[tuple[str, int]], problem: str
) -> None:
    text = "".join(
        f'[[loyalty.tiers]]\ncode = "{code}"\nmin_points = {points}\n' for code, points in tiers
    )
    path = write(tmp_path / "rules.toml", text or "[loyalty]\ntiers = []\n")
    with pytest.raises(ConfigError) as info:
        load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path)))
    assert info.value.field == "loyalty.tiers"
    assert problem in str(info.value)


def test_loyalty_tiers_may_be_listed_in_any_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "rules.toml",
        '[[loyalty.tiers]]\ncode = "vip"\nmin_points = 500\n'
        '[[loyalty.tiers]]\ncode = "member"\nmin_points = 0\n',
    )
    loyalty = load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path))).loyalty
    assert [t.code for t in loyalty.tiers] == ["vip", "member"]


def test_local_rapport_toml_is_used_and_the_variable_wins_over_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(tmp_path / "rapport.toml", "[activity]\nwindow_days = 30\n")  # tests run in tmp_path
    assert load_rules(settings_with(monkeypatch)).activity.window_days == 30
    path = write(tmp_path / "other.toml", "[activity]\nwindow_days = 60\n")
    rules = load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path)))
    assert rules.activity.window_days == 60


@pytest.mark.parametrize(
    ("text", "key_path"),
    [
        ("[activity]\nwindows_days = 30\n", "activity.windows_days"),
        ("[activity]\nwindow_days = 0\n", "activity.window_days"),
        ('[activity]\nwindow_days = "很多"\n', "activity.window_days"),
        ("[sla.first_response_hours]\ncritical = 1\n", "sla.first_response_hours"),
        ("[sla.resolution_hours]\nlow = -4\n", "sla.resolution_hours"),
        ("[business]\ngross_margin = 1.5\n", "business.gross_margin"),
        ("[reporting]\nweekly = true\n", "reporting"),
    ],
)
def test_invalid_rules_name_the_file_and_the_key_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, key_path: str
) -> None:
    path = write(tmp_path / "rules.toml", text)
    with pytest.raises(ConfigError) as info:
        load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path)))
    assert info.value.field is not None and info.value.field.startswith(key_path)
    assert key_path in str(info.value)
    assert str(path) in str(info.value)


def test_missing_rules_file_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as info:
        load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(missing)))
    assert str(missing) in str(info.value)
    assert "RAPPORT_CONFIG_FILE" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("content", "line", "column", "english", "chinese"),
    [
        (b"[activity\nwindow_days = 30\n", 1, 10, "Expected ']' at the end", "表头末尾缺少 ']'"),
        (b"[activity]\nwindow_days = ninety\n", 2, 15, "Invalid value", "无效的值"),
        (b"[activity]\nwindow_days = 30\nwindow_days = 31\n", 3, 17, "overwrite", "不能覆盖"),
        (b"[activity]\nname = [1, 2", 2, 13, "Unclosed array", "数组没有闭合"),  # at the end
        ("[activity]\n# 活动\n".encode("gb18030"), 2, 3, "not UTF-8", "不是 UTF-8 文本"),
    ],
)
def test_invalid_toml_names_the_file_line_and_column(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    content: bytes,
    line: int,
    column: int,
    english: str,
    chinese: str,
) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path)))
    error = info.value
    assert (error.key, error.params["line"], error.params["column"]) == (
        "toml_invalid",
        line,
        column,
    )
    assert str(error).startswith(f"{path}, line {line}, column {column}: invalid TOML: ")
    assert english in str(error)
    assert error_text(error, "zh_CN").startswith(
        f"{path} 第 {line} 行第 {column} 列：TOML 格式无效：{chinese}"
    )


def test_a_rules_file_saved_with_a_byte_order_mark_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Windows editors save UTF-8 with a BOM; the file reads as without it, and an error in
    it counts columns from the first character the user sees."""
    path = tmp_path / "rules.toml"
    path.write_bytes("\ufeff# 规则\n[activity]\nwindow_days = 45\n".encode())
    assert (
        load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path))).activity.window_days
        == 45
    )
    path.write_bytes("\ufeff[activity\n".encode())
    with pytest.raises(ConfigError) as info:
        load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path)))
    assert (info.value.params["line"], info.value.params["column"]) == (1, 10)


@pytest.mark.parametrize("missing", list(TicketPriority))
def test_every_sla_priority_is_required(missing: TicketPriority) -> None:
    targets = {p.value: 10.0 for p in TicketPriority if p != missing}
    with pytest.raises(pydantic.ValidationError) as info:
        SlaRules.model_validate(
            {"first_response_hours": targets, "resolution_hours": dict.fromkeys(targets, 20.0)}
        )
    assert missing.value in str(info.value)


def test_complete_sla_is_accepted() -> None:
    sla = SlaRules.model_validate(
        {
            "first_response_hours": {p.value: 1 for p in TicketPriority},
            "resolution_hours": {p.value: 2 for p in TicketPriority},
        }
    )
    assert set(sla.first_response_hours) == set(TicketPriority)


# --- [costs] and [scores.depth] -------------------------------------------------------------


def test_cost_and_depth_rules_default_to_the_packaged_values() -> None:
    # The models carry defaults (so rules built in code need no [costs]); they must say
    # what defaults.toml documents.
    rules = load_rules()
    assert rules.costs == CostRules()
    assert rules.scores.depth == DepthScoreRules()
    assert set(rules.costs.interaction) == set(InteractionChannel)
    assert set(rules.costs.ticket) == set(TicketPriority)
    assert set(rules.costs.delivery) == set(CampaignChannel)
    # a more urgent ticket never costs less
    costs = [rules.costs.ticket[p] for p in TicketPriority]
    assert costs == sorted(costs)


def test_overriding_one_unit_cost_keeps_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    defaults = load_rules().costs
    path = write(tmp_path / "rules.toml", "[costs]\npoint_value = 0.1\n[costs.ticket]\nhigh = 55\n")
    costs = load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path))).costs
    assert costs.point_value == 0.1
    assert costs.ticket[TicketPriority.HIGH] == 55
    assert costs.ticket[TicketPriority.LOW] == defaults.ticket[TicketPriority.LOW]
    assert costs.interaction == defaults.interaction


@pytest.mark.parametrize(
    ("text", "key_path"),
    [
        ("[costs.interaction]\nphone = -1\n", "costs.interaction"),
        ("[costs.delivery]\npigeon = 1\n", "costs.delivery"),
        ("[costs]\npoint_value = -0.01\n", "costs.point_value"),
        (
            "[scores.depth.weights]\ntenure = 0\nfrequency = 0\ncross_buy = 0\ncontact = 0\n"
            "channels = 0\n",
            "scores.depth.weights",
        ),
        ("[scores.depth]\nchannels_full = 0\n", "scores.depth.channels_full"),
    ],
)
def test_invalid_cost_and_depth_rules_name_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, key_path: str
) -> None:
    path = write(tmp_path / "rules.toml", text)
    with pytest.raises(ConfigError) as info:
        load_rules(settings_with(monkeypatch, RAPPORT_CONFIG_FILE=str(path)))
    assert key_path in str(info.value)


@pytest.mark.parametrize("missing", list(TicketPriority))
def test_every_ticket_priority_needs_a_cost(missing: TicketPriority) -> None:
    ticket = {p.value: 10.0 for p in TicketPriority if p != missing}
    with pytest.raises(pydantic.ValidationError) as info:
        CostRules.model_validate({"ticket": ticket})
    assert missing.value in str(info.value)
