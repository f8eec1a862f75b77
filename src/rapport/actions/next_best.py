"""Next best action: the playbooks a customer is eligible for now, ranked by expected
incremental value, each with its reason.

For one customer, every enabled playbook whose audience filter the customer meets and
whose eligibility holds (consent when it messages, an address, the cooldown and
re-enrolment rule — :func:`rapport.actions.eligibility.screen`) is a candidate; its trigger need
not have fired (the action may be taken by hand, ahead of the trigger).

``expected value = uplift × customer value``, where

- **uplift** is the playbook's measured rate difference (treated − held out, its measured
  enrolments) once each arm has at least :data:`MIN_MEASURED` measured customers, and until
  then the playbook's documented prior (``prior_uplift``, 1 % unless the definition says
  otherwise);
- **customer value** is the predicted CLV of the latest snapshot, else its monetary value
  (spend to date), else 0.

Ties keep the playbooks' priority order. The 360 card and the worklists call
:func:`next_best_actions` beside the customer's other facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from rapport.actions import playbook_registry as registry
from rapport.actions.audience import filter_expression, load_customers
from rapport.actions.effect_report import HELD_OUT_ARMS, arm_outcome
from rapport.actions.eligibility import screen
from rapport.config import Settings, get_settings
from rapport.i18n.playbooks import text
from rapport.store import enrolments
from rapport.store.db import engine_from_settings, ensure_current, session_scope
from rapport.store.repository import utcnow

#: Measured customers each arm needs before the measured uplift replaces the prior.
MIN_MEASURED = 30


@dataclass(frozen=True)
class NextAction:
    """A playbook a customer is eligible for, and why it ranks where it does."""

    code: str
    name: str
    expected_value: float
    uplift: float
    customer_value: float
    basis: str  # "measured" or "prior"
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def uplifts(session: Session, playbook_ids: list[int]) -> dict[int, tuple[float, int, int] | None]:
    """Per playbook: the measured rate difference and the arms' sizes, or None while an arm
    has fewer than :data:`MIN_MEASURED` measured customers (or no rate)."""
    out: dict[int, tuple[float, int, int] | None] = {}
    sums = enrolments.arm_summaries(session=session)
    for pid in playbook_ids:
        treated, _ = arm_outcome(
            [s for s in sums if s["playbook_id"] == pid and s["arm"] == "treated"]
        )
        held, _ = arm_outcome(
            [s for s in sums if s["playbook_id"] == pid and s["arm"] in HELD_OUT_ARMS]
        )
        if min(treated.customers, held.customers) < MIN_MEASURED:
            out[pid] = None
            continue
        assert treated.rate is not None and held.rate is not None
        out[pid] = (treated.rate - held.rate, treated.customers, held.customers)
    return out


def next_best_for(
    *,
    session: Session,
    settings: Settings,
    customer_ids: Sequence[int],
    day: dt.date,
    limit: int = 3,
) -> dict[int, list[NextAction]]:
    """The ``limit`` best playbooks of each customer of ``customer_ids`` on ``day``, by
    expected incremental value (a list per customer found; an unknown, deleted or erased
    customer is left out). One read of the customers and one screen per playbook for all of
    them: the worklists ask it for a page of customers at once."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return {}
    plans = registry.enabled_playbooks(session=session)
    people, _ = load_customers(session=session, day=day, tz=settings.tz, customer_ids=ids)
    if not people.height:
        return {}
    measured = uplifts(session, [row["id"] for row, _ in plans])
    locale = settings.locale
    values = {
        person["customer_id"]: float(
            (person["predicted_clv"] if person["predicted_clv"] is not None else person["monetary"])
            or 0.0
        )
        for person in people.iter_rows(named=True)
    }
    out: dict[int, list[NextAction]] = {cid: [] for cid in values}
    for row, playbook in plans:
        candidate = people
        if playbook.audience is not None:
            candidate = candidate.filter(filter_expression(playbook.audience, day))
        candidate, _ = screen(playbook, row["id"], candidate, session=session, day=day)
        found = measured.get(row["id"])
        for cid in candidate.get_column("customer_id").to_list():
            value = values[cid]
            if found is None:
                uplift, basis = playbook.prior_uplift, "prior"
                reason = text("next.prior", locale, uplift=uplift, value=value)
            else:
                uplift, basis = found[0], "measured"
                reason = text(
                    "next.measured",
                    locale,
                    uplift=uplift,
                    treated=found[1],
                    holdout=found[2],
                    value=value,
                )
            out[cid].append(
                NextAction(
                    playbook.code,
                    playbook.name(locale),
                    uplift * value,
                    uplift,
                    value,
                    basis,
                    reason,
                )
            )
    for actions in out.values():
        actions.sort(key=lambda a: -a.expected_value)
        del actions[limit:]
    return out


def next_best_in_session(
    *, session: Session, settings: Settings, customer_id: int, day: dt.date, limit: int = 3
) -> list[NextAction]:
    """:func:`next_best_actions` in the caller's session."""
    found = next_best_for(
        session=session, settings=settings, customer_ids=[customer_id], day=day, limit=limit
    )
    return found.get(customer_id, [])


def next_best_actions(
    settings: Settings | None = None,
    customer_id: int = 0,
    *,
    day: dt.date | None = None,
    limit: int = 3,
) -> list[NextAction]:
    """The ``limit`` best playbooks for customer ``customer_id`` on ``day`` (default today),
    by expected incremental value; empty for an unknown, deleted or erased customer."""
    settings = settings or get_settings()
    day = day or utcnow().astimezone(settings.tz).date()
    engine = engine_from_settings(settings)
    try:
        ensure_current(engine)
        with session_scope(engine) as session:
            return next_best_in_session(
                session=session, settings=settings, customer_id=customer_id, day=day, limit=limit
            )
    finally:
        engine.dispose()
