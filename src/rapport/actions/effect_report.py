"""The measured effect of each playbook over a period: its treated customers against its
held-out ones (the playbook's holdout and the global control group together), from the
measured enrolments of ``playbook_enrolments`` (:func:`rapport.actions.outcomes.
measure_outcomes`).

The arms are summed in the database (customers, successes, revenue and its squares, cost)
and :func:`rapport.actions.effect.effect_of_arms` gives the rates, their difference with a
Newcombe interval, the revenue difference with Welch's interval, the incremental
conversions and revenue, the cost and the net return.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from rapport.actions.effect import ArmOutcome, PlaybookEffect, effect_of_arms
from rapport.config import Settings, get_settings
from rapport.store import enrolments
from rapport.store import playbooks as stored
from rapport.store.db import engine_from_settings, ensure_current, session_scope

#: Arms compared with the treated one.
HELD_OUT_ARMS = ("holdout", "control")


@dataclass(frozen=True)
class PlaybookEffectReport:
    """One playbook's effect in a period: its enrolments by arm and the measured effect."""

    code: str
    name_zh: str
    name_en: str
    enabled: bool
    start: dt.date | None
    end: dt.date | None
    enrolled: dict[str, int]
    effect: PlaybookEffect

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "enabled": self.enabled,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "enrolled": self.enrolled,
            "effect": self.effect.to_dict(),
        }


def arm_outcome(rows: list[dict[str, Any]]) -> tuple[ArmOutcome, float]:
    """The :class:`ArmOutcome` of summed rows (one per arm) and their cost."""
    n = sum(int(r["customers"]) for r in rows)
    successes = sum(int(r["successes"] or 0) for r in rows)
    total = sum(float(r["revenue"] or 0) for r in rows)
    squares = sum(float(r["revenue_squares"] or 0) for r in rows)
    cost = sum(float(r["cost"] or 0) for r in rows)
    variance = max((squares - total * total / n) / (n - 1), 0.0) if n >= 2 else None
    return ArmOutcome(n, successes, total if n else None, variance), cost


def effect_in_session(
    *,
    session: Session,
    code: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[PlaybookEffectReport]:
    """:func:`effect_report` in the caller's session."""
    rows = [stored.get(session=session, code=code)] if code else stored.list_all(session=session)
    out = []
    for row in rows:
        sums = enrolments.arm_summaries(
            session=session, playbook_id=row["id"], start=start, end=end
        )
        treated, cost = arm_outcome([s for s in sums if s["arm"] == "treated"])
        held, _ = arm_outcome([s for s in sums if s["arm"] in HELD_OUT_ARMS])
        definition = row["definition"]
        out.append(
            PlaybookEffectReport(
                code=row["code"],
                name_zh=definition.get("name_zh", row["code"]),
                name_en=definition.get("name_en", row["code"]),
                enabled=row["enabled"],
                start=start,
                end=end,
                enrolled=enrolments.counts(session=session, playbook_id=row["id"]),
                effect=effect_of_arms(treated, held, cost=round(cost, 2)),
            )
        )
    return out


def effect_report(
    settings: Settings | None = None,
    code: str | None = None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[PlaybookEffectReport]:
    """The effect of playbook ``code`` (or of every stored playbook) over the enrolments
    run from ``start`` to ``end`` (inclusive; all when not given).

    Raises
    ------
    NotFound
        When no playbook has the code.
    """
    settings = settings or get_settings()
    engine = engine_from_settings(settings)
    try:
        ensure_current(engine)
        with session_scope(engine) as session:
            return effect_in_session(session=session, code=code, start=start, end=end)
    finally:
        engine.dispose()
