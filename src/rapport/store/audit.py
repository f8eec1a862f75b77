"""The audit log: who did what to which record, when and from where.

:func:`record` writes an entry (the API's :mod:`rapport.api.audit` decides when);
:func:`list_entries` reads them back, newest first, filtered by actor, customer, action,
entity and time (``rapport audit`` and ``GET /audit``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from rapport.domain import AuditAction
from rapport.store import schema
from rapport.store.repository import Repository, Row, utcnow

repo = Repository(schema.audit_log, entity="audit entry", key=None)


def record(
    *,
    session: Session,
    actor: str,
    action: AuditAction,
    entity: str,
    entity_id: str | int | None = None,
    actor_user_id: int | None = None,
    detail: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> Row:
    return repo.create(
        session=session,
        values={
            "occurred_at": utcnow(),
            "actor": actor,
            "actor_user_id": actor_user_id,
            "action": action,
            "entity": entity,
            "entity_id": None if entity_id is None else str(entity_id),
            "detail": detail,
            "client_address": client_address,
        },
    )


# --- reading ---------------------------------------------------------------------------------

_a = schema.audit_log.c


def _names_customer(session: Session, customer_id: int) -> sa.ColumnElement[bool]:
    """Entries about customer ``customer_id``: on the customer record itself (entity
    ``customers``, its id), on another record whose detail names it (``customer_id``: a
    loyalty entry, a survey link), or a read of several customers listing it (``ids``)."""
    own = (_a.entity == "customers") & (_a.entity_id == str(customer_id))
    if session.get_bind().dialect.name == "postgresql":
        doc = sa.cast(_a.detail, JSONB)
        named = doc.contains(sa.cast(sa.literal(json.dumps({"customer_id": customer_id})), JSONB))
        listed = doc.contains(sa.cast(sa.literal(json.dumps({"ids": [customer_id]})), JSONB))
    else:  # SQLite: JSON1
        named = sa.func.json_extract(_a.detail, "$.customer_id") == customer_id
        each = sa.func.json_each(_a.detail, "$.ids").table_valued("value")
        listed = sa.exists(
            sa.select(sa.literal(1)).select_from(each).where(each.c.value == customer_id)
        )
    listed = (_a.entity == "customers") & listed
    return own | named | listed


def conditions(
    *,
    session: Session,
    actor: str | None = None,
    actor_user_id: int | None = None,
    customer_id: int | None = None,
    action: AuditAction | None = None,
    entity: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[sa.ColumnElement[bool]]:
    """The conditions of :func:`list_entries`' filters (all optional, combined with AND).

    ``actor`` matches the user name the entry was written under, also through one of the
    user's API tokens (``name (token …)``); ``since`` is inclusive and ``until`` exclusive
    (aware, or naive UTC).
    """
    out: list[sa.ColumnElement[bool]] = []
    if actor is not None:
        escaped = actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.append(sa.or_(_a.actor == actor, _a.actor.like(f"{escaped} (token %", escape="\\")))
    if actor_user_id is not None:
        out.append(_a.actor_user_id == actor_user_id)
    if customer_id is not None:
        out.append(_names_customer(session, customer_id))
    if action is not None:
        out.append(_a.action == action)
    if entity is not None:
        out.append(_a.entity == entity)
    if since is not None:
        out.append(_a.occurred_at >= _utc(since))
    if until is not None:
        out.append(_a.occurred_at < _utc(until))
    return out


def _utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC time (a naive one is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def list_entries(
    *,
    session: Session,
    limit: int,
    before_id: int | None = None,
    **filters: Any,
) -> tuple[list[Row], int]:
    """Audit entries meeting ``filters`` (see :func:`conditions`), newest first.

    Parameters
    ----------
    limit
        Rows to return at most.
    before_id
        Only entries with a smaller id (the next page after an entry: ids grow with time).

    Returns
    -------
    tuple
        The rows (by id descending) and the count of all entries meeting the filters.
    """
    where = conditions(session=session, **filters)
    table = schema.audit_log
    count = session.execute(sa.select(sa.func.count()).select_from(table).where(*where))
    stmt = sa.select(table).where(*where)
    if before_id is not None:
        stmt = stmt.where(_a.id < before_id)
    stmt = stmt.order_by(_a.id.desc()).limit(limit)
    rows = [dict(r) for r in session.execute(stmt).mappings()]
    return rows, count.scalar_one()


def last_logins(*, session: Session, user_ids: list[int]) -> dict[int, dt.datetime]:
    """The latest log-in (an entry ``login`` of ``users``, the user's id as its entity id)
    of each of ``user_ids``; users who never logged in are absent. The log is where log-ins
    are kept: the users table has no column for it. One look-up per user, newest first
    along the index on (entity, entity_id): it stops at the user's latest log-in instead of
    reading every log-in of the log."""
    out: dict[int, dt.datetime] = {}
    for user_id in user_ids:
        at = session.execute(
            sa.select(_a.occurred_at)
            .where(
                _a.entity == "users",
                _a.entity_id == str(user_id),
                _a.action == AuditAction.LOGIN,
            )
            .order_by(_a.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if at is not None:
            out[user_id] = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return out
