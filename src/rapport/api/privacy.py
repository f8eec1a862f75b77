"""Data-subject requests (PIPL, GDPR): export one customer's data, erase their personal data.

* :func:`export_customer` — the customer's row and every row of every table that refers to
  them (orders with their items, tickets with their history, events, interactions, survey
  answers, referrals, campaign deliveries, loyalty entries, scores, staff's notes about
  them, the lead they came from, survey links without their secrets).
* :func:`erase_customer` — anonymises the personal data and keeps what aggregates need:

  - on the customer: name, e-mail, phone, WeChat id, social handles, street, district,
    postal code, birthday, occupation, tags and ``extra`` are cleared; the external id
    becomes ``erased-<id>`` (it may itself be personal, such as a phone number used as a
    member number); marketing consent is withdrawn and opt-out set; ``erased_at`` is
    stamped. Country, province, city, gender, income band, source channel and the dates
    stay, so segment and regional figures keep their history;
  - free text that may name or describe the person: interaction subjects and summaries,
    ticket subjects and descriptions, ticket history notes, survey comments, the ``extra``
    of orders, interactions and tickets and the ``properties`` of events are cleared, and
    staff's notes about them (``customer_notes``) are deleted;
  - the lead they converted from loses its name, e-mail, phone and company;
  - every kept snapshot report is deleted (:mod:`rapport.store.kept_reports`: lists such
    as the diamonds name customers); the pages compute them again;
  - orders, amounts, items, statuses, times, events, scores and the loyalty ledger stay.

  A later import of the same source record creates a new customer: erase it at the source
  too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.store import customers, kept_reports, notes, schema
from rapport.store.db import rowcount
from rapport.store.repository import Row, utcnow

#: Tables with a ``customer_id`` column, exported as they are.
_BY_CUSTOMER = (
    "orders",
    "events",
    "interactions",
    "tickets",
    "survey_responses",
    "campaign_deliveries",
    "loyalty_ledger",
    "loyalty_vouchers",
    "loyalty_member_tiers",
    "loyalty_tier_changes",
    "customer_scores",
    "customer_notes",
)
#: Columns never exported (secrets).
_HIDDEN = {"survey_links": {"token_hash"}}

#: Customer fields cleared by an erasure.
ERASED_FIELDS = (
    "name",
    "email",
    "phone",
    "wechat_id",
    "social_handles",
    "street",
    "district",
    "postal_code",
    "birthday",
    "occupation",
    "tags",
    "extra",
)
#: Free-text and document columns cleared in the tables that refer to the customer.
_ERASED_ELSEWHERE: dict[str, tuple[str, ...]] = {
    "interactions": ("subject", "summary", "extra"),
    "tickets": ("subject", "description", "extra"),
    "survey_responses": ("comment",),
    "orders": ("extra",),
    "events": ("properties",),
}


def _rows(session: Session, stmt: sa.Select) -> list[Row]:
    return [dict(r) for r in session.execute(stmt).mappings()]


def export_customer(*, session: Session, customer_id: int) -> dict[str, Any]:
    """The customer's row and, by table, every row that refers to them."""
    customer = customers.repo.get(session=session, id=customer_id, include_deleted=True)
    records: dict[str, list[Row]] = {}
    for name in _BY_CUSTOMER:
        table = schema.metadata.tables[name]
        order = [c for c in table.primary_key.columns]
        records[name] = _rows(
            session, sa.select(table).where(table.c.customer_id == customer_id).order_by(*order)
        )
    order_ids = [o["id"] for o in records["orders"]]
    ticket_ids = [t["id"] for t in records["tickets"]]
    items, history = schema.order_items, schema.ticket_status_history
    records["order_items"] = (
        _rows(
            session,
            sa.select(items).where(items.c.order_id.in_(order_ids)).order_by(items.c.id),
        )
        if order_ids
        else []
    )
    records["ticket_status_history"] = (
        _rows(
            session,
            sa.select(history).where(history.c.ticket_id.in_(ticket_ids)).order_by(history.c.id),
        )
        if ticket_ids
        else []
    )
    r = schema.referrals
    records["referrals"] = _rows(
        session,
        sa.select(r)
        .where(
            sa.or_(r.c.referrer_customer_id == customer_id, r.c.referred_customer_id == customer_id)
        )
        .order_by(r.c.id),
    )
    lead = schema.leads
    records["leads"] = _rows(
        session,
        sa.select(lead).where(lead.c.converted_customer_id == customer_id).order_by(lead.c.id),
    )
    links = schema.survey_links
    visible = [c for c in links.c if c.name not in _HIDDEN["survey_links"]]
    records["survey_links"] = _rows(
        session, sa.select(*visible).where(links.c.customer_id == customer_id).order_by(links.c.id)
    )
    return {"customer": customer, "records": records}


def erase_customer(*, session: Session, customer_id: int) -> tuple[Row, dict[str, int]]:
    """Anonymise the customer's personal data (see the module docs); returns the updated
    row and the number of rows changed per table. Running it again changes nothing more."""
    existing = customers.repo.get(session=session, id=customer_id, include_deleted=True)
    now = utcnow()
    changes: dict[str, Any] = dict.fromkeys(ERASED_FIELDS)
    changes.update(
        external_id=f"erased-{customer_id}",
        marketing_consent=False,
        marketing_opt_out=True,
        erased_at=existing["erased_at"] or now,
    )
    touched: dict[str, int] = {}
    with customers.repo.writing(session):
        clean = customers.repo.validate(changes, partial=True)
        row = (
            session.execute(
                sa.update(schema.customers)
                .where(schema.customers.c.id == customer_id)
                .values(**clean, updated_at=now)
                .returning(schema.customers)
            )
            .mappings()
            .one()
        )
        touched["customers"] = 1
        for name, columns in _ERASED_ELSEWHERE.items():
            table = schema.metadata.tables[name]
            cleared = sa.or_(*(table.c[c].is_not(None) for c in columns))
            values: dict[str, Any] = dict.fromkeys(columns)
            if "updated_at" in table.c:
                values["updated_at"] = now
            result = session.execute(
                sa.update(table).where(table.c.customer_id == customer_id, cleared).values(**values)
            )
            touched[name] = rowcount(result)
        t, h = schema.tickets, schema.ticket_status_history
        result = session.execute(
            sa.update(h)
            .where(
                h.c.ticket_id.in_(sa.select(t.c.id).where(t.c.customer_id == customer_id)),
                h.c.note.is_not(None),
            )
            .values(note=None)
        )
        touched["ticket_status_history"] = rowcount(result)
        touched["customer_notes"] = notes.delete_for_customer(
            session=session, customer_id=customer_id
        )
        lead = schema.leads
        personal = ("name", "email", "phone", "company")
        result = session.execute(
            sa.update(lead)
            .where(
                lead.c.converted_customer_id == customer_id,
                sa.or_(*(lead.c[c].is_not(None) for c in personal)),
            )
            .values(**dict.fromkeys(personal), updated_at=now)
        )
        touched["leads"] = rowcount(result)
        # the kept snapshot reports may name the customer (the diamonds, the warnings)
        touched["kept_reports"] = kept_reports.forget(session)
    return dict(row), {k: v for k, v in touched.items() if v}
