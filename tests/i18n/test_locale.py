"""One locale normalisation: the settings, the label catalogues and the help read a locale
the same way, and accept the usual spellings of the two interface languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.config import Settings
from rapport.domain import ValueTier
from rapport.errors import ConfigError, ValidationFailed
from rapport.i18n.enums import label
from rapport.i18n.labels import t
from rapport.i18n.locale import configured_locale, normalize, pick, requested_locale


@pytest.mark.parametrize(
    ("spelling", "locale"),
    [
        ("zh_CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh_Hans", "zh_CN"),
        ("en", "en"),
        ("en_US", "en"),
        ("en-GB", "en"),
        ("EN_us", "en"),
    ],
)
def test_every_catalogue_reads_a_locale_the_same_way(spelling: str, locale: str) -> None:
    assert normalize(spelling) == locale
    assert pick(("中", "en"), spelling) == ("中" if locale == "zh_CN" else "en")
    assert t("revenue", spelling) == t("revenue", locale)
    assert label(ValueTier.GOLD, spelling) == label(ValueTier.GOLD, locale)
    assert Settings(locale=spelling).locale == locale


@pytest.mark.parametrize("spelling", ["fr", "zh_TW", "", "english"])
def test_other_languages_are_refused(spelling: str) -> None:
    with pytest.raises(ValueError, match="unsupported locale"):
        normalize(spelling)
    with pytest.raises(ValueError):
        t("revenue", spelling)
    with pytest.raises((ValueError, ConfigError)):
        Settings(locale=spelling)
    with pytest.raises(ValidationFailed) as asked:
        requested_locale(spelling, option="--lang")
    assert (asked.value.key, asked.value.field, asked.value.value) == (
        "option_value_unknown",
        "lang",
        spelling,
    )
    assert str(asked.value) == f"--lang {spelling!r} — use one of: zh_CN, en"


def test_a_requested_locale_is_spelled_as_the_catalogues_read_it() -> None:
    assert [requested_locale(s, option="lang") for s in ("zh-CN", "EN_us")] == ["zh_CN", "en"]


def test_the_help_reads_the_locale_as_the_settings_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RAPPORT_LOCALE", raising=False)
    assert configured_locale() == "zh_CN"
    (tmp_path / ".env").write_text("RAPPORT_DATABASE_URL=sqlite:///x.db\nRAPPORT_LOCALE='en_US'\n")
    assert configured_locale() == Settings().locale == "en"
    monkeypatch.setenv("RAPPORT_LOCALE", "zh-CN")
    assert configured_locale() == Settings().locale == "zh_CN"
    monkeypatch.setenv("RAPPORT_LOCALE", "fr")
    assert configured_locale() == "zh_CN"  # the settings report the bad value when a command runs
