"""Named leases shared by every process: one daily pipeline at a time.

The table is :data:`rapport.store.schema.store_locks`. A lease is taken by one statement —
insert the name, or take over the row when its lease ran out (or the taker already holds
it) — so two processes racing for it cannot both win, on SQLite or PostgreSQL. Its holder
renews it while it works (:func:`renew`, a heartbeat) and gives it back at the end
(:func:`release`); a holder that was killed stops renewing, and the lease is free again
once it runs out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rapport.store import schema
from rapport.store.db import rowcount

_t = schema.store_locks


@dataclass(frozen=True)
class Lease:
    """Who holds the lease ``name`` and until when."""

    name: str
    holder: str
    acquired_at: dt.datetime
    expires_at: dt.datetime


def acquire(
    *, session: Session, name: str, holder: str, at: dt.datetime, lease: dt.timedelta
) -> bool:
    """Take the lease ``name`` for ``holder`` until ``at + lease``; ``True`` when taken.

    It is taken when nobody holds it, when its lease ran out before ``at``, or when
    ``holder`` holds it already (then it is renewed). One INSERT … ON CONFLICT DO UPDATE …
    WHERE: the database decides between racing takers.
    """
    values = {"name": name, "holder": holder, "acquired_at": at, "expires_at": at + lease}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(_t) if dialect == "postgresql" else sqlite.insert(_t)
    stmt = (
        insert.values(**values)
        .on_conflict_do_update(
            index_elements=[_t.c.name],
            set_={
                "holder": insert.excluded.holder,
                "acquired_at": sa.case(
                    (_t.c.holder == holder, _t.c.acquired_at), else_=insert.excluded.acquired_at
                ),
                "expires_at": insert.excluded.expires_at,
            },
            where=(_t.c.expires_at < at) | (_t.c.holder == holder),
        )
        .returning(_t.c.holder)
    )
    taken = session.execute(stmt).first()
    return taken is not None and taken.holder == holder


def renew(
    *, session: Session, name: str, holder: str, at: dt.datetime, lease: dt.timedelta
) -> bool:
    """Extend ``holder``'s lease ``name`` to ``at + lease``; ``False`` when it no longer
    holds it (it ran out and another process took it)."""
    stmt = (
        sa.update(_t).where(_t.c.name == name, _t.c.holder == holder).values(expires_at=at + lease)
    )
    return rowcount(session.execute(stmt)) == 1


def release(*, session: Session, name: str, holder: str) -> bool:
    """Give the lease ``name`` back if ``holder`` holds it; ``True`` when it did."""
    stmt = sa.delete(_t).where(_t.c.name == name, _t.c.holder == holder)
    return rowcount(session.execute(stmt)) == 1


def current(*, session: Session, name: str) -> Lease | None:
    """The lease ``name`` as recorded (it may have run out), or ``None``."""
    row = session.execute(sa.select(_t).where(_t.c.name == name)).first()
    if row is None:
        return None
    return Lease(
        name=row.name, holder=row.holder, acquired_at=row.acquired_at, expires_at=row.expires_at
    )
