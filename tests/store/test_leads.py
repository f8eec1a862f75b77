"""Leads and their conversion into customers."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import LeadStatus
from rapport.errors import Conflict, NotFound, ValidationFailed
from rapport.store import customers, leads
from rapport.store.schema import leads as leads_table

from .factories import T0, customer, ext, lead


def test_convert_sets_status_time_and_customer(session: Session) -> None:
    l0 = lead(session)
    c = customer(session)
    converted = leads.convert(session=session, lead_id=l0["id"], customer_id=c["id"], at=T0)
    assert converted["status"] == LeadStatus.CONVERTED
    assert converted["converted_at"] == T0
    assert converted["converted_customer_id"] == c["id"]
    assert converted["name"] == l0["name"]
    assert leads.repo.get(session=session, id=l0["id"]) == converted


def test_converting_again_into_the_same_customer_is_allowed(session: Session) -> None:
    l0 = lead(session)
    c = customer(session)
    leads.convert(session=session, lead_id=l0["id"], customer_id=c["id"], at=T0)
    again = leads.convert(session=session, lead_id=l0["id"], customer_id=c["id"], at=T0)
    assert again["converted_customer_id"] == c["id"]
    assert again["status"] == LeadStatus.CONVERTED


def test_converting_again_keeps_the_first_conversion_time(session: Session) -> None:
    l0 = lead(session)
    c = customer(session)
    first = leads.convert(session=session, lead_id=l0["id"], customer_id=c["id"], at=T0)
    again = leads.convert(
        session=session, lead_id=l0["id"], customer_id=c["id"], at=T0 + dt.timedelta(days=3)
    )
    assert again == first
    assert again["converted_at"] == T0
    assert leads.repo.get(session=session, id=l0["id"]) == first


def test_converting_into_another_customer_is_a_conflict(session: Session) -> None:
    l0 = lead(session)
    first, second = customer(session), customer(session)
    converted = leads.convert(session=session, lead_id=l0["id"], customer_id=first["id"], at=T0)
    with pytest.raises(Conflict) as info:
        leads.convert(
            session=session,
            lead_id=l0["id"],
            customer_id=second["id"],
            at=T0 + dt.timedelta(days=1),
        )
    assert info.value.location == "leads.converted_customer_id"
    assert info.value.value == second["id"]
    assert str(first["id"]) in info.value.message
    assert leads.repo.get(session=session, id=l0["id"]) == converted


def test_convert_needs_an_existing_lead_and_customer(session: Session) -> None:
    l0 = lead(session)
    with pytest.raises(NotFound):
        leads.convert(session=session, lead_id=987654, customer_id=customer(session)["id"], at=T0)
    with pytest.raises(NotFound):
        leads.convert(session=session, lead_id=l0["id"], customer_id=987654, at=T0)
    gone = customer(session)
    customers.repo.delete(session=session, id=gone["id"])
    with pytest.raises(NotFound):
        leads.convert(session=session, lead_id=l0["id"], customer_id=gone["id"], at=T0)
    assert leads.repo.get(session=session, id=l0["id"])["status"] == LeadStatus.NEW


def test_convert_refuses_a_naive_time(session: Session) -> None:
    l0 = lead(session)
    c = customer(session)
    with pytest.raises(ValidationFailed) as info:
        leads.convert(
            session=session, lead_id=l0["id"], customer_id=c["id"], at=dt.datetime(2024, 1, 1)
        )
    assert info.value.field == "converted_at"
    assert leads.repo.get(session=session, id=l0["id"])["status"] == LeadStatus.NEW


# --- the database check: status converted <=> converted_at --------------------------------


@pytest.mark.parametrize(
    ("status", "converted_at"),
    [(LeadStatus.CONVERTED, None), (LeadStatus.NEW, T0), (LeadStatus.LOST, T0)],
)
def test_inconsistent_conversion_is_refused_by_the_database(
    session: Session, status: LeadStatus, converted_at: dt.datetime | None
) -> None:
    before = leads.repo.count(session=session)
    with pytest.raises(ValidationFailed) as info:
        leads.repo.create(
            session=session,
            values={"external_id": ext("L"), "status": status, "converted_at": converted_at},
        )
    assert info.value.table == "leads"
    assert "converted_has_time" in str(info.value)
    assert leads.repo.count(session=session) == before


def test_raw_sql_cannot_bypass_the_conversion_check(session: Session) -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(
            sa.insert(leads_table).values(
                external_id=ext("L"), status="converted", created_at=now, updated_at=now
            )
        )


def test_un_converting_without_clearing_the_time_is_refused(session: Session) -> None:
    l0 = lead(session)
    c = customer(session)
    converted = leads.convert(session=session, lead_id=l0["id"], customer_id=c["id"], at=T0)
    with pytest.raises(ValidationFailed):
        leads.repo.update(session=session, id=l0["id"], values={"status": LeadStatus.LOST})
    assert leads.repo.get(session=session, id=l0["id"]) == converted
    lost = leads.repo.update(
        session=session, id=l0["id"], values={"status": LeadStatus.LOST, "converted_at": None}
    )
    assert lost["status"] == LeadStatus.LOST


def test_consistent_leads_are_accepted(session: Session) -> None:
    c = customer(session)
    for status, at in ((LeadStatus.NEW, None), (LeadStatus.QUALIFIED, None)):
        assert lead(session, status=status, converted_at=at)["status"] == status
    row = lead(session, status=LeadStatus.CONVERTED, converted_at=T0, converted_customer_id=c["id"])
    assert row["converted_at"] == T0


def test_deleting_the_customer_keeps_the_lead(session: Session) -> None:
    l0 = lead(session)
    c = customer(session)
    leads.convert(session=session, lead_id=l0["id"], customer_id=c["id"], at=T0)
    t = customers.repo.table
    session.execute(sa.delete(t).where(t.c.id == c["id"]))
    kept = leads.repo.get(session=session, id=l0["id"])
    assert kept["converted_customer_id"] is None
    assert kept["status"] == LeadStatus.CONVERTED
