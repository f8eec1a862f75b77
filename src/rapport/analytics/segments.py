"""RFM scores 1–5 and the named RFM segments, from the segment map in ``[scores.rfm]``.

Scores are quintiles of the percent rank among the customers who bought in the window::

    score = 1 + |{k in 1..4 : percent_rank >= k / 5}|,  percent_rank = rank / (n - 1)

computed exactly in integers (``5 * rank >= k * (n - 1)``), so equal values always get
equal scores and every engine agrees. ``rank`` is the 0-based minimum rank (ties share the
lowest), ``n`` the customers ranked; with a single customer every score is 1. Recency is
reversed (the most recent purchase ranks highest) and monetary is ranked on cents.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from rapport.config import RfmScoreRules

QUINTILES = 5


def rfm_scores(rfm: ir.Table) -> ir.Table:
    """``r_score``, ``f_score``, ``m_score`` for a table of ``customer_id, recency_days,
    frequency, monetary`` (one row per customer who bought in the window)."""
    n = rfm.customer_id.count().over()
    below = n - 1

    def score(order_by: ir.Value) -> ir.IntegerValue:
        rank = ibis.rank().over(order_by=order_by)
        steps = [
            ibis.ifelse((rank * QUINTILES >= k * below) & (below > 0), 1, 0)
            for k in range(1, QUINTILES)
        ]
        return (1 + sum(steps)).cast("int64")

    return rfm.mutate(
        r_score=score(ibis.desc(rfm.recency_days)),
        f_score=score(rfm.frequency),
        m_score=score(rfm.monetary.round(2)),
    )


def rfm_segment(
    r: ir.IntegerValue, f: ir.IntegerValue, m: ir.IntegerValue, *, rules: RfmScoreRules
) -> ir.StringValue:
    """The id of the first rule of the segment map whose ranges hold ``(r, f, m)``; null
    where the scores are null."""
    cases = []
    for rule in rules.segments:
        cond = ibis.literal(True)
        for value, (low, high) in ((r, rule.r), (f, rule.f), (m, rule.m)):
            if (low, high) != (1, QUINTILES):
                cond = cond & value.between(low, high)
        cases.append((r.notnull() & f.notnull() & m.notnull() & cond, ibis.literal(rule.id)))
    return ibis.cases(*cases, else_=ibis.null("string"))
