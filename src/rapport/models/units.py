"""Durations with their unit: every horizon and every model time axis says what it counts.

A model's time axis has one unit (``days``, ``weeks`` or ``months``); horizons are given as
:class:`Duration` and converted into that unit, so "39" is never ambiguous. A month is
``365.25 / 12 = 30.4375`` days, as in docs/metrics.md's ``interaction_frequency``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rapport.errors import ValidationFailed

TimeUnit = Literal["days", "weeks", "months"]
#: Days in one unit.
DAYS_PER_UNIT: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}


def check_unit(unit: str) -> TimeUnit:
    """``unit`` when it is a known time unit, else :class:`ValidationFailed` listing them."""
    if unit not in DAYS_PER_UNIT:
        raise ValidationFailed(
            "unknown time unit {unit!r}",
            field="time_unit",
            value=unit,
            hint="use one of: {units}",
            key="time_unit_unknown",
            params={"unit": unit, "units": ", ".join(DAYS_PER_UNIT)},
        )
    return unit  # type: ignore[return-value]


@dataclass(frozen=True)
class Duration:
    """An amount of time: ``Duration(39, "weeks")``, ``Duration(90, "days")``."""

    amount: float
    unit: TimeUnit

    def __post_init__(self) -> None:
        check_unit(self.unit)
        if not self.amount >= 0:  # also refuses NaN
            raise ValidationFailed(
                "a duration must be a non-negative number, not {amount!r}",
                field="amount",
                value=self.amount,
                hint="e.g. 90d, 13w or 12m",
                key="duration_negative",
                params={"amount": self.amount},
                hint_key="duration_invalid.hint",
            )

    @property
    def days(self) -> float:
        """The duration in days."""
        return self.amount * DAYS_PER_UNIT[self.unit]

    def to(self, unit: str) -> float:
        """The duration counted in ``unit``."""
        return self.days / DAYS_PER_UNIT[check_unit(unit)]

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}"


def parse_duration(text: str) -> Duration:
    """``"90d"``, ``"13w"``, ``"12m"``, ``"90 days"`` → :class:`Duration`."""
    raw = text.strip().lower()
    short = {"d": "days", "w": "weeks", "m": "months"}
    for suffix in ("days", "day", "weeks", "week", "months", "month", "d", "w", "m"):
        if raw.endswith(suffix):
            number = raw[: -len(suffix)].strip()
            unit = short.get(suffix) or (suffix if suffix.endswith("s") else suffix + "s")
            try:
                return Duration(float(number), unit)  # type: ignore[arg-type]
            except ValueError:
                break
    raise ValidationFailed(
        "not a duration: {text!r}",
        field="horizon",
        value=text,
        hint="e.g. 90d, 13w or 12m",
        key="duration_invalid",
        params={"text": text},
    )


__all__ = ["DAYS_PER_UNIT", "Duration", "TimeUnit", "check_unit", "parse_duration"]
