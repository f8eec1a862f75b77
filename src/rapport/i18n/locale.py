"""The one place that turns a locale into a language and picks a text of a catalogue.

Every catalogue of :mod:`rapport.i18n` holds ``(zh, en)`` pairs (labels, enumeration
labels, import reasons) or, where the English text stays in the code (``--help`` texts,
domain error messages), the Chinese text alone; :func:`pick` and :func:`is_chinese` are how
each of them reads the locale, through :func:`rapport.domain.ui_locale`.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from rapport.domain import UI_LOCALES, ui_locale
from rapport.errors import ValidationFailed

__all__ = [
    "UI_LOCALES",
    "configured_locale",
    "is_chinese",
    "normalize",
    "pick",
    "requested_locale",
]


@cache
def normalize(locale: str) -> str:
    """``zh_CN`` or ``en`` for any usual spelling (:func:`rapport.domain.ui_locale`)."""
    return ui_locale(locale)


def requested_locale(lang: str, *, option: str) -> str:
    """The language a user asks for with ``option`` (``--lang``, ``?lang=``) as
    :func:`normalize` spells it.

    Raises
    ------
    ValidationFailed
        For a language the interface does not speak, naming the option and listing those
        it does.
    """
    try:
        return normalize(lang)
    except ValueError:
        raise ValidationFailed(
            "{option} {value!r}",
            field="lang",
            value=lang,
            hint="use one of: {choices}",
            key="option_value_unknown",
            params={"option": option, "value": lang, "choices": ", ".join(UI_LOCALES)},
        ) from None


def is_chinese(locale: str) -> bool:
    """Whether ``locale`` is (simplified) Chinese."""
    return normalize(locale) == "zh_CN"


def pick(pair: tuple[str, str], locale: str) -> str:
    """The text of a ``(zh, en)`` pair in ``locale``."""
    return pair[0] if is_chinese(locale) else pair[1]


def configured_locale(default: str = "zh_CN") -> str:
    """``RAPPORT_LOCALE`` from the environment or ``./.env``, as the settings read it, without
    loading the settings: ``rapport --help`` must answer at once. An unknown value gives the
    default (the settings report it when a command runs)."""
    value = os.environ.get("RAPPORT_LOCALE")
    if value is None:
        value = _dotenv_locale(Path(".env"))
    try:
        return normalize(value) if value else default
    except ValueError:
        return default


def _dotenv_locale(path: Path) -> str | None:
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        name, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and name.strip().upper() == "RAPPORT_LOCALE":
            return value.split("#", 1)[0].strip().strip("'\"")
    return None
