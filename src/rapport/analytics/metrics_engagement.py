"""Engagement metrics: complaints, interactions, e-mail opens and clicks, referrals, social
reach.

The rates "per customer" use E (buyers active at ``end``) as their denominator, exactly as
docs/metrics.md defines them; the numerator counts every customer who acted, whether in E or not.
"""

from __future__ import annotations

import ibis.expr.types as ir

from rapport.analytics.metrics_base import (
    before,
    buyer_facts,
    const,
    flag,
    parts,
    rate,
    union,
    within,
)
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.config import Rules
from rapport.domain import CampaignChannel, EventKind, InteractionChannel, TicketKind

ZERO = const(0)
ONE = const(1)


def _per_active_customer(
    src: Sources,
    period: Period,
    rules: Rules,
    acted: ir.Table,
    by: ir.Table | None,
    *,
    per: float = 1.0,
    scale: float = 100.0,
) -> ir.Table:
    """``sum(acted.num) / (E * per) * scale``: ``acted`` has ``customer_id`` and ``num``."""
    f = buyer_facts(src, period, rules=rules)
    base = parts(f, f.customer_id, num=ZERO, den=flag(f.active_end) * const(per))
    numer = parts(acted, acted.customer_id, num=acted.num, den=ZERO)
    return rate(union(base, numer), by, scale=scale)


def complaint_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """投诉率 — customers who complained in the period, per active customer.

    ``complaint_rate = customers with a complaint ticket opened in [start, end) / E * 100``

    Returns
    -------
    ibis.Table
        ``numerator`` = complaining customers, ``denominator = E``, ``value`` in percent.

    Notes
    -----
    A customer with several complaints counts once; one outside E still counts in the
    numerator (the formula divides by E, it does not restrict to it).
    """
    t = src.tickets
    t = t.filter(
        (t.kind == TicketKind.COMPLAINT.value) & within(t.opened_at, period.start, period.end)
    )
    complainers = t.select("customer_id").distinct().mutate(num=ONE)
    return _per_active_customer(src, period, rules, complainers, by)


def interaction_frequency(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """互动频率 — interactions per active customer per month.

    ``interaction_frequency = interactions in [start, end) / E / months``, with
    ``months = period.days / 30.4375``

    Returns
    -------
    ibis.Table
        ``numerator`` = interactions, ``denominator = E * months``, ``value`` per month;
        null for an empty period (0 months) or when E is 0.
    """
    i = src.interactions
    i = i.filter(within(i.occurred_at, period.start, period.end))
    acted = i.group_by("customer_id").aggregate(num=i.count())
    return _per_active_customer(src, period, rules, acted, by, per=period.months, scale=1.0)


def _email_deliveries(src: Sources, period: Period) -> ir.Table:
    """Deliveries of e-mail campaigns sent in the period and delivered before ``end``.

    Holdout deliveries are never sent, so they never count.
    """
    d = src.campaign_deliveries
    c = src.campaigns
    email = c.filter(c.channel == CampaignChannel.EMAIL.value).select(_campaign=c.id)
    d = d.inner_join(email, d.campaign_id == email._campaign)
    return d.filter(
        within(d.sent_at, period.start, period.end) & before(d.delivered_at, period.end)
    )


def email_open_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """邮件打开率 — share of the period's delivered e-mails opened.

    ``email_open_rate = opened / delivered * 100`` over deliveries of ``email`` campaigns
    sent in ``[start, end)`` and delivered before ``end``

    Returns
    -------
    ibis.Table
        ``numerator`` = deliveries opened before ``end``, ``denominator`` = deliveries,
        ``value`` in percent.

    Notes
    -----
    Holdout deliveries are never sent, so they never count; bounced ones (no
    ``delivered_at``) are not delivered.
    """
    d = _email_deliveries(src, period)
    return rate(parts(d, d.customer_id, num=flag(before(d.opened_at, period.end)), den=ONE), by)


def email_click_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """邮件点击率 — share of the period's delivered e-mails clicked.

    ``email_click_rate = clicked / delivered * 100`` over the deliveries of
    :func:`email_open_rate`

    Returns
    -------
    ibis.Table
        ``numerator`` = deliveries clicked before ``end``, ``denominator`` = deliveries,
        ``value`` in percent. A click counts even when no open was recorded.
    """
    d = _email_deliveries(src, period)
    return rate(parts(d, d.customer_id, num=flag(before(d.clicked_at, period.end)), den=ONE), by)


def referral_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """推荐率 — customers who referred someone in the period, per active customer.

    ``referral_rate = customers with a referral in [start, end) / E * 100``

    Returns
    -------
    ibis.Table
        ``numerator`` = referring customers, ``denominator = E``, ``value`` in percent.

    Notes
    -----
    A referral is a ``referrals`` row with ``referred_at`` in the period, whether it names a
    lead or an existing customer and whether it converted or not; a customer with several
    referrals counts once, and one outside E still counts.
    """
    r = src.referrals
    r = r.filter(within(r.referred_at, period.start, period.end))
    referrers = r.select(customer_id=r.referrer_customer_id).distinct().mutate(num=ONE)
    return _per_active_customer(src, period, rules, referrers, by)


def _social_actions(src: Sources, period: Period) -> ir.Table:
    """``customer_id`` of every social action in the period: a ``social_share`` event or an
    interaction on the ``social`` channel."""
    e = src.events
    e = e.filter(
        e.customer_id.notnull()
        & (e.kind == EventKind.SOCIAL_SHARE.value)
        & within(e.occurred_at, period.start, period.end)
    )
    i = src.interactions
    i = i.filter(
        i.customer_id.notnull()
        & (i.channel == InteractionChannel.SOCIAL.value)
        & within(i.occurred_at, period.start, period.end)
    )
    return union(
        e.select(customer_id=e.customer_id.cast("int64")),
        i.select(customer_id=i.customer_id.cast("int64")),
    )


def social_share_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """社交分享率 — customers who shared or talked with us on social media, per active
    customer.

    ``social_share_rate = customers with a social_share event or a social-channel
    interaction in [start, end) / E * 100``

    Returns
    -------
    ibis.Table
        ``numerator`` = such customers, ``denominator = E``, ``value`` in percent.

    Notes
    -----
    A share is an event of kind ``social_share``; a social interaction is an interaction
    whose channel is ``social``. Likes and comments (``social_like``, ``social_comment``)
    are not shares and do not count (they weigh in the engagement score). A customer counts
    once however many actions, and one outside E still counts.
    """
    acted = _social_actions(src, period).distinct().mutate(num=ONE)
    return _per_active_customer(src, period, rules, acted, by)


def social_interactions_per_customer(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """人均社交互动 — social shares and social-channel interactions per active customer.

    ``social_interactions_per_customer = (social_share events + social-channel
    interactions in [start, end)) / E``

    Returns
    -------
    ibis.Table
        ``numerator`` = the actions, ``denominator = E``, ``value`` a ratio.
    """
    a = _social_actions(src, period)
    acted = a.group_by("customer_id").aggregate(num=a.count())
    return _per_active_customer(src, period, rules, acted, by, scale=1.0)
