"""Leads (potential customers) and their conversion."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from rapport.domain import LeadStatus
from rapport.errors import Conflict
from rapport.store import customers, schema
from rapport.store.repository import Repository, Row

repo = Repository(schema.leads, entity="lead")


def convert(*, session: Session, lead_id: int, customer_id: int, at: dt.datetime) -> Row:
    """Mark lead ``lead_id`` converted into customer ``customer_id`` at ``at``.

    Converting a converted lead again into the same customer changes nothing (the first
    conversion time stays); converting it into another customer is a :class:`Conflict`.
    """
    repo.validate({"converted_customer_id": customer_id, "converted_at": at}, partial=True)
    lead = repo.get(session=session, id=lead_id)
    customers.repo.get(session=session, id=customer_id)
    if lead["status"] == LeadStatus.CONVERTED:
        if lead["converted_customer_id"] == customer_id:
            return lead
        raise Conflict(
            "lead {lead} was already converted into customer {customer}",
            table="leads",
            field="converted_customer_id",
            value=customer_id,
            key="lead_converted",
            params={"lead": lead_id, "customer": lead["converted_customer_id"]},
        )
    return repo.update(
        session=session,
        id=lead_id,
        values={
            "status": LeadStatus.CONVERTED,
            "converted_customer_id": customer_id,
            "converted_at": at,
        },
    )
