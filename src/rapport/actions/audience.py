"""The customers a playbook run looks at, as one Polars frame, and audience filters over it.

:func:`load_customers` reads every live customer (not deleted, not erased) once per run with
their attributes, whether they are marketable (the store's one rule,
:func:`rapport.store.customers.marketable_clause`), and their scores in the two latest
snapshots on or before the run's day (``prev_<score>`` from the one before). Every playbook's
trigger, filter and eligibility are then column expressions over this frame, never a loop
per customer. :func:`filter_expression` turns an audience filter (see
:mod:`rapport.actions.playbooks`) into a Polars expression.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.actions.definitions import SCORE_FIELDS, STATE_FIELDS
from rapport.actions.playbooks import Playbook
from rapport.store import schema
from rapport.store.customers import marketable_clause

_c = schema.customers
_s = schema.customer_scores
#: Attributes every run reads (who to assign, whom to address, whether they may be messaged).
_ALWAYS = ("owner_id", "email", "phone", "wechat_id", "external_id", "name")
#: Attributes read when a filter or trigger names them.
_OPTIONAL = (
    "city",
    "province",
    "country",
    "gender",
    "source_channel",
    "occupation",
    "income_band",
    "birthday",
)
_ATTRIBUTES = (*_OPTIONAL, *_ALWAYS)
_DATES = ("created_at", "loyalty_joined_at")
#: The score columns read from each snapshot.
SNAPSHOT_COLUMNS = (*STATE_FIELDS, *SCORE_FIELDS)
_FLOAT_SCORES = {"monetary", "predicted_clv"}


@dataclass(frozen=True)
class Snapshots:
    """The snapshot dates a run compares: ``latest`` on or before its day, ``previous``
    before that (either may be missing)."""

    latest: dt.date | None
    previous: dt.date | None


def snapshots(*, session: Session, day: dt.date) -> Snapshots:
    """The two latest snapshot dates on or before ``day``."""
    latest = session.execute(sa.select(sa.func.max(_s.c.as_of)).where(_s.c.as_of <= day)).scalar()
    previous = None
    if latest is not None:
        previous = session.execute(
            sa.select(sa.func.max(_s.c.as_of)).where(_s.c.as_of < latest)
        ).scalar()
    return Snapshots(latest, previous)


def frame(session: Session, stmt: Any, schema_: dict[str, Any]) -> pl.DataFrame:
    """The rows of ``stmt`` as a frame with ``schema_`` (column name → Polars type)."""
    rows = session.execute(stmt).all()
    return pl.DataFrame(rows, schema=schema_, orient="row")


def _customers(
    session: Session, tz: Any, ids: list[int] | None, fields: set[str] | None
) -> pl.DataFrame:
    wanted = [n for n in _OPTIONAL if fields is None or n in fields] + list(_ALWAYS)
    dates = [n for n in _DATES if fields is None or n in fields]
    tags = fields is None or "tags" in fields
    cols: list[Any] = [_c.c.id.label("customer_id"), *(_c.c[n] for n in wanted)]
    cols += [_c.c[n] for n in dates]
    if tags:
        cols.append(sa.cast(_c.c.tags, sa.Text).label("tags"))
    cols.append(marketable_clause().label("marketable"))
    stmt = sa.select(*cols).where(_c.c.deleted_at.is_(None), _c.c.erased_at.is_(None))
    if ids is not None:
        stmt = stmt.where(_c.c.id.in_(ids))
    types: dict[str, Any] = {"customer_id": pl.Int64}
    types |= {name: pl.String for name in wanted}
    if "birthday" in types:
        types["birthday"] = pl.Date
    types["owner_id"] = pl.Int64
    types |= {name: pl.Datetime("us", "UTC") for name in dates}
    if tags:
        types["tags"] = pl.String
    types["marketable"] = pl.Boolean
    out = frame(session, stmt, types)
    zone = str(tz)
    changes = [pl.col(n).dt.convert_time_zone(zone).dt.date() for n in dates]
    if tags:
        changes.append(pl.col("tags").str.json_decode(pl.List(pl.String)))
    return out.with_columns(*changes, pl.col("marketable").fill_null(False))


def _scores(
    session: Session,
    as_of: dt.date | None,
    prefix: str,
    ids: list[int] | None,
    fields: set[str] | None,
) -> pl.DataFrame:
    names = [n for n in SNAPSHOT_COLUMNS if fields is None or n in fields]
    types: dict[str, Any] = {"customer_id": pl.Int64}
    for name in names:
        kind = pl.String if name in STATE_FIELDS else pl.Float64
        types[prefix + name] = kind
    if as_of is None:
        return pl.DataFrame(schema=types)
    cols = [_s.c.customer_id]
    for name in names:
        col: Any = _s.c[name]
        if name in _FLOAT_SCORES:
            col = sa.cast(col, sa.Float)
        cols.append(col.label(prefix + name))
    stmt = sa.select(*cols).where(_s.c.as_of == as_of)
    if ids is not None:
        stmt = stmt.where(_s.c.customer_id.in_(ids))
    return frame(session, stmt, types)


def load_customers(
    *,
    session: Session,
    day: dt.date,
    tz: Any,
    customer_ids: list[int] | None = None,
    fields: set[str] | None = None,
    previous_fields: set[str] | None = None,
) -> tuple[pl.DataFrame, Snapshots]:
    """Every live customer (or those of ``customer_ids``) with attributes and scores as of
    ``day`` (see the module's doc). ``fields`` and ``previous_fields`` limit the optional
    attributes and the scores read (of the latest and of the previous snapshot) to those
    named (:func:`needed_fields`); None reads them all."""
    snaps = snapshots(session=session, day=day)
    base = _customers(session, tz, customer_ids, fields)
    latest = _scores(session, snaps.latest, "", customer_ids, fields)
    base = base.join(latest, on="customer_id", how="left")
    before = _scores(session, snaps.previous, "prev_", customer_ids, previous_fields)
    base = base.join(before, on="customer_id", how="left")
    return base, snaps


def filter_fields(node: dict[str, Any] | None) -> set[str]:
    """The fields an audience filter names."""
    if node is None:
        return set()
    if "all" in node or "any" in node:
        return set().union(*(filter_fields(n) for n in node.get("all", node.get("any", []))))
    if "not" in node:
        return filter_fields(node["not"])
    return {node["field"]}


def needed_fields(playbooks: Iterable[Playbook]) -> tuple[set[str], set[str]]:
    """The fields ``playbooks`` read: of the latest snapshot and the customer (filters,
    triggers), and of the previous snapshot (snapshot triggers)."""
    latest: set[str] = set()
    previous: set[str] = set()
    for playbook in playbooks:
        latest |= filter_fields(playbook.audience)
        trigger = playbook.trigger
        watched = trigger.get("field") or trigger.get("score")
        if watched and trigger["kind"] not in ("event", "date", "schedule", "points_expiring"):
            latest.add(watched)
            previous.add(watched)
        if trigger["kind"] == "date" and trigger.get("date") == "birthday":
            latest.add("birthday")
    return latest, previous


def filter_expression(node: dict[str, Any], day: dt.date) -> pl.Expr:
    """A checked audience filter as a Polars expression (nulls count as not matching)."""
    if "all" in node:
        return pl.all_horizontal([filter_expression(n, day) for n in node["all"]])
    if "any" in node:
        return pl.any_horizontal([filter_expression(n, day) for n in node["any"]])
    if "not" in node:
        return ~filter_expression(node["not"], day)
    col = pl.col(node["field"])
    op = node["op"]
    value: Any = node.get("value")
    expr: pl.Expr
    if op == "is_null":
        return col.is_null()
    if op == "not_null":
        return col.is_not_null()
    if op == "eq":
        expr = col == value
    elif op == "ne":
        expr = col != value
    elif op == "in":
        expr = col.is_in(value)
    elif op == "not_in":
        expr = ~col.is_in(value)
    elif op == "gt":
        expr = col > value
    elif op == "ge":
        expr = col >= value
    elif op == "lt":
        expr = col < value
    elif op == "le":
        expr = col <= value
    elif op == "contains":
        expr = col.list.contains(value)
    elif op == "within_days":
        expr = col >= pl.lit(day - dt.timedelta(days=int(value)))
    else:  # older_than_days
        expr = col < pl.lit(day - dt.timedelta(days=int(value)))
    return expr.fill_null(False)
