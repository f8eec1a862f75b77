"""Relationship depth 关系深度 per customer as of ``as_of``: how many threads tie the
customer to the business.

``relationship_depth`` is the weighted mean (``[scores.depth.weights]``, equal by default,
nulls skipped) of five components, each 0–100:

tenure
    ``100 * min(1, days since the first purchase / tenure_full_days)`` (three years).
frequency
    Purchases in the activity window ``[as_of - W, as_of)`` as a percentile among the buyers
    active at ``as_of``: ``100 * cume_dist``, the share of those buyers with as many
    purchases or fewer (equal counts, equal percentile; the most frequent get 100). A buyer
    not active at ``as_of`` made no purchase in the window and gets 0.
cross_buy
    ``100 * min(1, categories / min(categories_full, catalogue categories))``: distinct
    product categories among the lines of the customer's purchases in the window, over the
    distinct categories of the product catalogue (at most ``categories_full``). Null for
    everyone when the catalogue has no category.
contact
    Interactions plus behaviour events in ``[as_of - contact_window_days, as_of)`` as a
    percentile (``100 * cume_dist``) among the customers with at least one; 0 without any.
channels
    ``100 * min(1, channels / channels_full)``: distinct channels among the customer's
    purchases (``orders.channel``) and interactions (``interactions.channel``) in the
    window. A channel name shared by both (``phone``, ``email``) counts once.

Prospects (no purchase before ``as_of``) have no tenure, frequency or cross-buy: their depth
is the weighted mean of contact and channels. Nothing here executes; see docs/scores.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import FLOAT, const, purchases, ts, union
from rapport.analytics.scoring_features import age_days, weighted_mean
from rapport.analytics.sources import Sources
from rapport.config import Rules

#: The components of ``relationship_depth``, as ``(weight name, column)``.
DEPTH_COMPONENTS = (
    ("tenure", "depth_tenure"),
    ("frequency", "depth_frequency"),
    ("cross_buy", "depth_cross_buy"),
    ("contact", "depth_contact"),
    ("channels", "depth_channels"),
)
#: Every column of :func:`depth_components` after ``customer_id``.
DEPTH_COLUMNS = (
    "relationship_depth",
    *(column for _, column in DEPTH_COMPONENTS),
    "depth_purchases",
    "depth_categories",
    "depth_contacts",
    "depth_channel_count",
)


def _percentile(table: ir.Table, column: str) -> ir.FloatingValue:
    """``100 * cume_dist`` of ``table[column]`` over the whole table (ties share a value)."""
    return ibis.cume_dist().over(order_by=table[column]).cast(FLOAT) * 100


def _capped_share(count: ir.NumericValue, full: ir.NumericValue) -> ir.FloatingValue:
    """``100 * min(1, count / full)``."""
    return ibis.least(count.cast(FLOAT) / full.cast(FLOAT), const(1)) * 100


def _keyed(table: ir.Table, **columns: ir.Value) -> ir.Table:
    """``table`` keyed by ``_key`` (its ``customer_id``) with ``columns``."""
    return table.select(_key=table.customer_id.cast("int64"), **columns)


def depth_components(src: Sources, as_of: datetime, *, rules: Rules) -> ir.Table:
    """关系深度 — one row per customer of the snapshot as of ``as_of`` (and every buyer before
    it) with ``relationship_depth`` and its components (see the module).

    Parameters
    ----------
    src
        The canonical tables (``orders``, ``order_items``, ``products``, ``interactions``,
        ``events``, ``customers``).
    as_of
        The moment, naive UTC: only what happened before it counts.
    rules
        ``[activity] window_days`` (W) and ``[scores.depth]``.

    Returns
    -------
    ibis.Table
        ``customer_id`` then :data:`DEPTH_COLUMNS`: the score, the five components (0–100,
        purchase components null for prospects) and their raw inputs (purchases in the
        window, categories bought in it, contacts in the contact window, channels in the
        window).
    """
    cfg = rules.scores.depth
    window_start = as_of - timedelta(days=rules.activity.window_days)
    contact_start = as_of - timedelta(days=cfg.contact_window_days)

    # one pass over the purchases before as_of: the engines read it once (a shared CTE)
    p = purchases(src)
    p = p.filter(p.ordered_at < ts(as_of))
    p = p.select(
        _order=p.id,
        customer_id=p.customer_id.cast("int64"),
        ordered_at=p.ordered_at,
        _ch=p.channel,
    )
    in_window = p.ordered_at >= ts(window_start)
    buyers = p.group_by("customer_id").aggregate(
        _first=p.ordered_at.min(), _n=p.count(where=in_window)
    )
    active = buyers.filter(buyers._n > 0)
    active = _keyed(active, _freq=_percentile(active, "_n"))
    recent = p.filter(in_window)

    # cross-buy: categories of the lines of purchases in the window
    items = src.order_items
    products = src.products
    catalogue = products.filter(products.category.notnull())
    lines = items.inner_join(recent, items.order_id == recent._order)
    named = catalogue.select(_product=catalogue.id, _category=catalogue.category)
    lines = lines.inner_join(named, lines.product_id == named._product)
    bought = lines.group_by(_key=lines.customer_id).aggregate(_categories=lines._category.nunique())
    categories = catalogue.aggregate(_catalogue=catalogue.category.nunique())

    # contact intensity: interactions and events in the contact window
    def recent_contacts(t: ir.Table) -> ir.Table:
        t = t.filter(
            t.customer_id.notnull()
            & (t.occurred_at >= ts(contact_start))
            & (t.occurred_at < ts(as_of))
        )
        return t.select(customer_id=t.customer_id.cast("int64"))

    c = union(recent_contacts(src.interactions), recent_contacts(src.events))
    contacts = c.group_by("customer_id").aggregate(_contacts=c.count())
    contacts = _keyed(
        contacts, _contacts=contacts._contacts, _contact=_percentile(contacts, "_contacts")
    )

    # channel breadth: purchase and interaction channels in the window
    i = src.interactions
    i = i.filter(
        i.customer_id.notnull() & (i.occurred_at >= ts(window_start)) & (i.occurred_at < ts(as_of))
    )
    ch = union(
        recent.select("customer_id", "_ch"),
        i.select(customer_id=i.customer_id.cast("int64"), _ch=i.channel.cast("string")),
    )
    ch = ch.filter(ch._ch.notnull())
    channels = ch.group_by(_key=ch.customer_id).aggregate(_channels=ch._ch.nunique())

    # the customers of the snapshot (scored_customers) and every buyer, e.g. one deleted
    # since who still counts among the buyers active at as_of
    people = src.customers
    people = people.filter(
        (people.deleted_at.isnull() | (people.deleted_at >= ts(as_of)))
        & (people.created_at < ts(as_of))
    )
    people = people.select(customer_id=people.id.cast("int64"))
    base = union(people, buyers.select("customer_id")).distinct()
    t = base.cross_join(categories)
    keyed_buyers = _keyed(buyers, _first=buyers._first, _n=buyers._n)
    for other in (keyed_buyers, active, bought, contacts, channels):
        t = t.left_join(other, t.customer_id == other._key).drop("_key")

    buyer = t._first.notnull()
    none = ibis.null(FLOAT)
    n_categories = t._categories.fill_null(0)
    full_categories = ibis.least(t._catalogue, cfg.categories_full)
    n_contacts = t._contacts.fill_null(0)
    n_channels = t._channels.fill_null(0)
    components = {
        "depth_tenure": ibis.ifelse(
            buyer,
            ibis.least(age_days(t._first, as_of) / const(cfg.tenure_full_days), const(1)) * 100,
            none,
        ),
        "depth_frequency": ibis.ifelse(buyer, t._freq.fill_null(const(0)), none),
        "depth_cross_buy": ibis.ifelse(
            buyer & (t._catalogue > 0), _capped_share(n_categories, full_categories), none
        ),
        "depth_contact": t._contact.fill_null(const(0)),
        "depth_channels": _capped_share(n_channels, ibis.literal(cfg.channels_full)),
    }
    t = t.mutate(**{name: value.cast(FLOAT) for name, value in components.items()})
    w = cfg.weights
    score = weighted_mean([(getattr(w, name), t[column]) for name, column in DEPTH_COMPONENTS])
    return t.select(
        "customer_id",
        relationship_depth=score.clip(lower=0, upper=100),
        **{column: t[column] for _, column in DEPTH_COMPONENTS},
        depth_purchases=ibis.ifelse(buyer, t._n, ibis.null("int64")).cast("int64"),
        depth_categories=ibis.ifelse(buyer, n_categories, ibis.null("int64")).cast("int64"),
        depth_contacts=n_contacts.cast("int64"),
        depth_channel_count=n_channels.cast("int64"),
    )


__all__ = ["DEPTH_COLUMNS", "DEPTH_COMPONENTS", "depth_components"]
