"""Customer attributes derived for grouping: the age band.

One definition serves every grouping by age (``rapport metrics --by age_band``, the
clusters' demographic breakdowns): the age in whole years on the report's as-of date, in
the bands of :data:`AGE_BANDS`.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

#: Age bands: (label, lowest age, highest age inclusive).
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("<25", 0, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55+", 55, 200),
)


def age_band(birthday: ir.DateValue, as_of: ir.DateValue | dt.date) -> ir.StringValue:
    """The :data:`AGE_BANDS` label of the age on ``as_of`` (a date column or one date) of
    someone born on ``birthday``: whole years, one fewer before the birthday of that year;
    null when the birthday is unknown or the age is outside every band."""
    day = ibis.literal(as_of, type="date") if isinstance(as_of, dt.date) else as_of
    before_birthday = (day.month() * 100 + day.day()) < (birthday.month() * 100 + birthday.day())
    age = day.year() - birthday.year() - ibis.ifelse(before_birthday, 1, 0)
    return ibis.cases(
        *((age.between(low, high), ibis.literal(name)) for name, low, high in AGE_BANDS),
        else_=ibis.null("string"),
    )
