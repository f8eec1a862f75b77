"""Survey metrics (客户之声): NPS, CSAT, satisfaction index, perceived value, expectation gap.

Scores are stored raw with their scale; ``normalized = 100 * (score - scale_min) /
(scale_max - scale_min)``. Only responses with ``responded_at`` in ``[start, end)`` count.
"""

from __future__ import annotations

import ibis.expr.types as ir

from rapport.analytics.metrics_base import const, flag, normalized, parts, rate, within
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.config import Rules
from rapport.domain import SurveyKind

#: NPS bands on the 0–10 scale (answers on another scale are first rescaled to 0–10).
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6


def responses(src: Sources, period: Period, kind: SurveyKind) -> ir.Table:
    """Responses of ``kind`` given in ``[start, end)``, with their ``normalized`` score."""
    r = src.survey_responses
    r = r.filter((r.kind == kind.value) & within(r.responded_at, period.start, period.end))
    return r.mutate(normalized=normalized(r.score, r.scale_min, r.scale_max))


def latest_per_customer(r: ir.Table) -> ir.Table:
    """Each customer's latest response in ``r`` (ties at the same instant: highest id)."""
    last = r.group_by("customer_id").aggregate(_last_at=r.responded_at.max())
    tied = r.inner_join(
        last, (r.customer_id == last.customer_id) & (r.responded_at == last._last_at)
    )
    return tied.group_by("customer_id").aggregate(
        normalized=tied.normalized.argmax(tied.id),
    )


def nps(src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None) -> ir.Table:
    """净推荐值 — promoters less detractors among the customers who answered.

    ``nps = %promoters (9–10) - %detractors (0–6)`` over the latest ``nps`` answer of each
    customer in the period.

    Returns
    -------
    ibis.Table
        ``numerator = promoters - detractors``, ``denominator`` = respondents (customers),
        ``value = numerator / denominator * 100`` in −100..100.

    Notes
    -----
    Only each customer's latest answer in the period counts (ties at the same instant: the
    highest response id). An answer stored on another scale is rescaled to 0–10 first
    (promoter: normalized >= 90, detractor: normalized <= 60).
    """
    latest = latest_per_customer(responses(src, period, SurveyKind.NPS))
    score = latest.normalized / 10
    band = flag(score >= NPS_PROMOTER_MIN) - flag(score <= NPS_DETRACTOR_MAX)
    return rate(parts(latest, latest.customer_id, num=band, den=const(1)), by)


def csat(src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None) -> ir.Table:
    """客户满意度 — top-two-box share of the ``csat`` responses in the period.

    ``csat = responses with score >= scale_max - 1 / responses * 100``

    Returns
    -------
    ibis.Table
        ``numerator`` = top-two-box responses, ``denominator`` = responses, ``value`` in
        percent.

    Notes
    -----
    The top two points of any integer scale: 1–5 → 4–5, 1–10 → 9–10, 1–7 → 6–7. Every
    response counts (a customer answering twice counts twice).
    """
    r = responses(src, period, SurveyKind.CSAT)
    top = flag(r.score >= r.scale_max - 1)
    return rate(parts(r, r.customer_id, num=top, den=const(1)), by)


def _mean_normalized(
    src: Sources, period: Period, kind: SurveyKind, by: ir.Table | None
) -> ir.Table:
    r = responses(src, period, kind)
    return rate(parts(r, r.customer_id, num=r.normalized, den=const(1)), by, scale=1.0)


def satisfaction_index(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """满意度指数 — mean normalized score of the ``csat`` responses in the period.

    ``satisfaction_index = mean(100 * (score - scale_min) / (scale_max - scale_min))``

    Returns
    -------
    ibis.Table
        ``numerator`` = sum of normalized scores, ``denominator`` = responses, ``value`` a
        score in 0–100.
    """
    return _mean_normalized(src, period, SurveyKind.CSAT, by)


def perceived_value(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """感知价值 — mean normalized score of the ``perceived_value`` responses in the period.

    ``perceived_value = mean(100 * (score - scale_min) / (scale_max - scale_min))``

    Returns
    -------
    ibis.Table
        ``numerator`` = sum of normalized scores, ``denominator`` = responses, ``value`` a
        score in 0–100.
    """
    return _mean_normalized(src, period, SurveyKind.PERCEIVED_VALUE, by)


def expectation_gap(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """预期差距 — satisfaction against expectation, per customer, then averaged.

    ``gap(c) = mean normalized csat(c) - mean normalized expectation(c)`` over customer
    ``c``'s responses in the period; ``expectation_gap = mean of gap(c)`` over the customers
    having both kinds of response. Positive = expectations exceeded.

    Returns
    -------
    ibis.Table
        ``numerator`` = sum of the gaps, ``denominator`` = customers with both, ``value`` in
        −100..100.

    Notes
    -----
    Satisfaction here is the ``csat`` responses (the ones :func:`satisfaction_index` uses).
    Each customer weighs the same, however many answers they gave.
    """
    sat = responses(src, period, SurveyKind.CSAT)
    sat = sat.group_by("customer_id").aggregate(sat=sat.normalized.mean())
    exp = responses(src, period, SurveyKind.EXPECTATION)
    exp = exp.group_by("customer_id").aggregate(exp=exp.normalized.mean())
    both = sat.inner_join(exp, "customer_id")
    return rate(
        parts(both, both.customer_id, num=both.sat - both.exp, den=const(1)),
        by,
        scale=1.0,
    )
