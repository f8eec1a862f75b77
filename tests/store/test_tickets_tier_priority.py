"""Tickets of loyalty-programme members get at least their tier's ``sla_priority``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import load_rules
from rapport.domain import TicketPriority
from rapport.store import schema, tickets

from .factories import T0, customer, ticket_values

RULES = load_rules()


def member(session: Session, tier: str) -> dict:
    c = customer(session, loyalty_joined_at=T0 - dt.timedelta(days=400))
    session.execute(
        sa.insert(schema.loyalty_member_tiers).values(
            customer_id=c["id"],
            tier=tier,
            since=T0.date(),
            review_on=T0.date() + dt.timedelta(days=90),
            basis_value=Decimal("0"),
            evaluated_at=T0,
        )
    )
    return c


def sla_priority(code: str) -> TicketPriority:
    return next(TicketPriority(t.sla_priority) for t in RULES.loyalty.tiers if t.code == code)


def open_for(session: Session, customer_id: int, **values: object) -> dict:
    return tickets.open_ticket(
        session=session,
        values=ticket_values(customer_id, **values),
        sla=RULES.sla,
        loyalty=RULES.loyalty,
    )


def first_note(session: Session, ticket_id: int) -> str | None:
    return tickets.history(session=session, ticket_id=ticket_id)[0]["note"]


@pytest.mark.parametrize("tier", ["gold", "platinum"])
def test_a_members_low_priority_ticket_is_raised_to_the_tiers_priority(
    session: Session, tier: str
) -> None:
    floor = sla_priority(tier)
    assert floor in (TicketPriority.HIGH, TicketPriority.URGENT)  # the configured benefit
    row = open_for(session, member(session, tier)["id"], priority=TicketPriority.LOW)
    assert row["priority"] == floor
    # the SLA clock of the raised priority applies
    assert row["first_response_due_at"] == T0 + dt.timedelta(
        hours=RULES.sla.first_response_hours[floor]
    )
    assert row["resolution_due_at"] == T0 + dt.timedelta(hours=RULES.sla.resolution_hours[floor])
    assert first_note(session, row["id"]) == f"loyalty tier {tier}: priority low → {floor.value}"


def test_a_higher_priority_than_the_tiers_is_never_lowered(session: Session) -> None:
    row = open_for(session, member(session, "gold")["id"], priority=TicketPriority.URGENT)
    assert row["priority"] == TicketPriority.URGENT
    assert first_note(session, row["id"]) is None


def test_the_same_priority_as_the_tiers_leaves_no_note(session: Session) -> None:
    row = open_for(session, member(session, "gold")["id"], priority=TicketPriority.HIGH)
    assert row["priority"] == TicketPriority.HIGH
    assert first_note(session, row["id"]) is None


@pytest.mark.parametrize("tier", ["member", "silver"])
def test_a_tier_without_its_own_priority_gives_at_least_normal(session: Session, tier: str) -> None:
    assert sla_priority(tier) == TicketPriority.NORMAL  # LoyaltyTierRule's default
    c = member(session, tier)
    low = open_for(session, c["id"], priority=TicketPriority.LOW)
    assert low["priority"] == TicketPriority.NORMAL
    assert first_note(session, low["id"]) == f"loyalty tier {tier}: priority low → normal"
    normal = open_for(session, c["id"], priority=TicketPriority.NORMAL)
    assert normal["priority"] == TicketPriority.NORMAL
    assert first_note(session, normal["id"]) is None


def test_a_customer_without_a_tier_keeps_the_priority_asked(session: Session) -> None:
    row = open_for(session, customer(session)["id"], priority=TicketPriority.LOW)
    assert row["priority"] == TicketPriority.LOW
    assert row["first_response_due_at"] == T0 + dt.timedelta(
        hours=RULES.sla.first_response_hours[TicketPriority.LOW]
    )


def test_a_tier_no_longer_configured_changes_nothing(session: Session) -> None:
    loyalty = RULES.loyalty.model_copy(
        update={"tiers": [t for t in RULES.loyalty.tiers if t.code != "platinum"]}
    )
    c = member(session, "platinum")
    row = tickets.open_ticket(
        session=session,
        values=ticket_values(c["id"], priority=TicketPriority.NORMAL),
        sla=RULES.sla,
        loyalty=loyalty,
    )
    assert row["priority"] == TicketPriority.NORMAL


def test_due_times_given_still_win_over_the_raised_priority(session: Session) -> None:
    due = T0 + dt.timedelta(days=9)
    row = open_for(
        session,
        member(session, "platinum")["id"],
        priority=TicketPriority.LOW,
        resolution_due_at=due,
    )
    assert row["priority"] == TicketPriority.URGENT
    assert row["resolution_due_at"] == due


def test_the_note_reads_back_and_other_notes_do_not() -> None:
    note = tickets.tier_priority_note(
        tier="gold", asked=TicketPriority.NORMAL, given=TicketPriority.HIGH
    )
    assert tickets.read_tier_priority_note(note) == (
        "gold",
        TicketPriority.NORMAL,
        TicketPriority.HIGH,
    )
    for other in (None, "", "客户来电催单", "loyalty tier gold: priority normal → nowhere"):
        assert tickets.read_tier_priority_note(other) is None
