"""Does the loyalty programme work? The programme evaluation (seed 002) and its health.

Two parts, as the monthly report (the engine's figures may run in a worker process):

* :func:`programme_figures` runs the expressions of :mod:`rapport.analytics.loyalty` on
  the analytics engine and returns plain rows;
* :func:`loyalty_report` adds the vouchers (the store's bookkeeping, read in the caller's
  session) and does the arithmetic: the matched comparison with its intervals
  (:func:`stratified_welch`), the redemption and breakage rates, the liability and the
  tiers month by month (each member's tier at a month's end is the latest of their tier
  changes before it, :mod:`rapport.store.loyalty_tiers`; a member the tier job has not
  rated yet has none).

**Members against comparable non-members.** Each member who joined at least
``window_months`` before the report (a complete window of outcomes) is compared with the
non-members observed at the start of the local calendar month in which the member joined,
in the same stratum: the joining month, the bin of purchases and of spend in the
``baseline_months`` before, the bin of tenure, and optionally city and source channel
(``[loyalty.evaluation]``; coarsened exact matching). Within a stratum every member counts
once and the non-members share the members' weight (the average effect on the members who
joined). Members of a stratum without any non-member are left out and counted.

Outcomes over ``[reference, reference + window)``, a month being 30.4375 days:
``retention`` (share with a purchase in the window), ``purchases_per_customer`` (purchases
per customer, those without one counting 0), ``average_order_value`` (of each customer
who bought in the window, their revenue / purchases, averaged; strata weighted by the
members who bought) and ``value_in_window`` (net revenue of purchases in the window per
customer: the realised customer value of the window, not the model's predicted CLV).

The interval of each difference is Welch's, stratified: the variance is
``s²_m Σ w²/n_m + s²_c Σ w²/n_c`` with the within-stratum variances pooled over the strata
of each group and Welch–Satterthwaite degrees of freedom; with one stratum it is exactly
Welch's t interval. A non-member may be observed in several months; the interval treats
those observations as independent.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from rapport.analytics.periods import DAYS_PER_MONTH, Period, buckets, to_local, to_utc
from rapport.config import Rules, Settings
from rapport.domain import LoyaltyReason
from rapport.errors import ValidationFailed

#: The outcomes compared: id, unit, the sums of :func:`rapport.analytics.loyalty.strata`
#: (count, sum, sum of squares) and the scale shown.
OUTCOMES: tuple[tuple[str, str, tuple[str, str, str], float], ...] = (
    ("retention", "percent", ("n", "buyers", "buyers"), 100.0),
    ("purchases_per_customer", "count", ("n", "purchases", "purchases_sq"), 1.0),
    ("average_order_value", "currency", ("buyers", "aov", "aov_sq"), 1.0),
    ("value_in_window", "currency", ("n", "revenue", "revenue_sq"), 1.0),
)
#: Ledger reasons whose points are earned (a clawback takes some of them back).
EARNING = (
    LoyaltyReason.PURCHASE,
    LoyaltyReason.BONUS,
    LoyaltyReason.REFERRAL,
    LoyaltyReason.BIRTHDAY,
    LoyaltyReason.REVIEW,
)
#: The years a report may be dated in (its windows reach years before and after).
FIRST_YEAR, LAST_YEAR = 1900, 9000
#: Confidence of the intervals.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Difference:
    """A stratified difference of means (members minus matched non-members)."""

    members: float | None
    non_members: float | None
    difference: float | None
    low: float | None
    high: float | None
    members_n: int
    non_members_n: int


@dataclass(frozen=True)
class Outcome:
    """One outcome of the comparison, in its unit (``percent``: 0–100)."""

    id: str
    unit: str
    members: float | None
    non_members: float | None
    difference: float | None
    low: float | None
    high: float | None
    relative: float | None  # difference / non_members * 100
    members_n: int
    non_members_n: int


@dataclass(frozen=True)
class Matching:
    """Who was compared."""

    window_months: int
    baseline_months: int
    joined_from: dt.datetime | None  # members who joined in [joined_from, joined_until)
    joined_until: dt.datetime | None
    members: int  # members with a complete window
    members_matched: int  # in a stratum with a non-member
    non_member_observations: int  # non-members (by month observed) in those strata
    strata: int  # strata with both
    spend_edges: list[float]


@dataclass(frozen=True)
class Points:
    """The ledger's flows over a span: points earned (less clawbacks), redeemed, expired,
    adjusted (net), the rates, and the vouchers issued and used."""

    earned: int
    redeemed: int
    expired: int
    adjusted: int
    redemption_rate: float | None  # redeemed / earned * 100
    breakage_rate: float | None  # expired / earned * 100
    vouchers_issued: int
    vouchers_used: int


@dataclass(frozen=True)
class Health:
    """The programme as of the report."""

    members: int
    active_customers: int
    active_members: int
    participation: float | None  # active members / active customers * 100
    balance: int  # points outstanding
    point_value: float
    liability: float  # balance * point_value
    window: Points  # over [window_start, as_of)
    to_date: Points  # the whole ledger before as_of


@dataclass(frozen=True)
class TierMonth:
    """Members per programme tier at a month's end, and who moved during the month."""

    month: str  # YYYY-MM, local
    end: dt.datetime
    tiers: dict[str, int]
    upgrades: int
    downgrades: int
    joined: int


@dataclass(frozen=True)
class LoyaltyReport:
    """``rapport loyalty report`` and ``GET /loyalty/report``."""

    as_of: dt.datetime
    window_start: dt.datetime
    engine: str
    matching: Matching
    outcomes: list[Outcome]
    health: Health
    tier_codes: list[str]
    tiers: list[TierMonth] = field(default_factory=list)


def programme_tiers(rules: Rules) -> list[str]:
    """The programme tiers' codes from the lowest to the highest (in the programme's tier
    basis, :func:`rapport.store.loyalty_tier_rules.ranked`): the columns of the tier months,
    whose members are read from the history of tier changes."""
    from rapport.store.loyalty_tier_rules import ranked

    return [t.code for t in ranked(rules.loyalty)]


def window_of(months: int) -> dt.timedelta:
    """``months`` mean months (30.4375 days each)."""
    return dt.timedelta(days=months * DAYS_PER_MONTH)


def _month_start(instant: dt.datetime, tz: Any) -> dt.datetime:
    local = to_local(instant, tz)
    return to_utc(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0), tz)


def joined_months(days: Iterable[dt.datetime], last: dt.datetime, tz: Any) -> list[Period]:
    """The local calendar months, in order, holding a day of ``days`` (naive UTC midnights
    of the days members joined), the last ending at ``last`` at the latest.

    Only these months are evaluated: a stratum is a month, and a month in which nobody
    joined has no member to match. Their number is bounded by the days members joined,
    not by the span from the first join (which a single mistyped date can stretch over
    centuries).
    """
    starts: set[dt.datetime] = set()
    for day in days:
        # a UTC day straddles two local days, at most two local months
        for instant in (day, day + dt.timedelta(days=1) - dt.timedelta(microseconds=1)):
            if instant < last:
                starts.add(_month_start(instant, tz))
    return [
        Period(start, min(_month_start(start + dt.timedelta(days=32), tz), last))
        for start in sorted(starts)
    ]


def _quantile_edges(values: Sequence[float], bins: int) -> list[float]:
    """The inner quantile edges cutting ``values`` into ``bins`` groups (distinct, rounded
    to cents)."""
    import numpy as np

    if bins <= 1 or not len(values):
        return []
    qs = np.quantile(np.asarray(values, dtype=float), [k / bins for k in range(1, bins)])
    return sorted({round(float(q), 2) for q in qs})


def programme_figures(
    settings: Settings,
    rules: Rules,
    as_of: dt.datetime,
    window_months: int,
    engine: str | None = None,
) -> dict[str, Any]:
    """The engine's figures of :func:`loyalty_report` as plain rows (picklable: a server
    runs this in a worker process, :mod:`rapport.workers`).

    Parameters
    ----------
    as_of
        Naive UTC: the report's moment.
    window_months
        The outcome window of the comparison and the span of the flows and the tier months.
    """
    from rapport.analytics import loyalty as al
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.sources import Sources

    if not FIRST_YEAR <= as_of.year <= LAST_YEAR:
        raise ValidationFailed(
            "as of {day}: a date from {first} to {last}",
            field="as_of",
            value=as_of.date().isoformat(),
            hint="give a date in that range",
            key="as_of_range",
            params={"day": as_of.date().isoformat(), "first": FIRST_YEAR, "last": LAST_YEAR},
        )
    ev = rules.loyalty.evaluation
    tz = settings.tz
    window = window_of(window_months)
    span = Period.last(window_months, "month", as_of=as_of, tz=tz)
    span_months = buckets(span, "month", tz=tz)
    out: dict[str, Any] = {"strata": [], "spend_edges": [], "months": [], "joined": None}
    with connect(settings, engine=engine) as eng:
        src = Sources(eng, rules=rules)
        out["engine"] = eng.kind

        def rows(expr: Any) -> list[dict[str, Any]]:
            return list(execute(expr, eng.con).to_pylist())

        c = src.customers
        joins = rows(
            c.aggregate(first=c.loyalty_joined_at.min(), latest=c.loyalty_joined_at.max())
        )[0]
        first = joins["first"]
        # the months of the members evaluated: joined before the last complete window
        last = as_of - window
        if joins["latest"] is not None and joins["latest"] < last:
            last = joins["latest"] + dt.timedelta(microseconds=1)
        if first is not None and first < last:
            joined = c.filter((c.loyalty_joined_at >= first) & (c.loyalty_joined_at < last))
            days = rows(joined.select(day=joined.loyalty_joined_at.truncate("D")).distinct())
            months = joined_months([r["day"] for r in days], last, tz)
            out["joined"] = (_month_start(first, tz), last)
            obs = al.observations(
                src, months, window=window, baseline=window_of(ev.baseline_months)
            )
            spent = obs.filter(obs.member & (obs.base_spend > 0))
            values = [r["base_spend"] for r in rows(spent.select("base_spend"))]
            edges = _quantile_edges(values, ev.spend_bins)
            table = al.strata(
                obs,
                order_edges=ev.order_bins,
                spend_edges=edges,
                tenure_edges=ev.tenure_days,
                match_on=ev.match_on,
            )
            out["strata"] = rows(table)
            out["spend_edges"] = edges
            out["months"] = [(m.start, m.end) for m in months]
        out["flows"] = rows(al.ledger_flows(src, since=span.start, until=as_of))
        out["membership"] = rows(
            al.membership(src, as_of=as_of, activity=dt.timedelta(days=rules.activity.window_days))
        )[0]
        boundaries = [m.start for m in span_months] + [span.end]
        ranks = al.tier_months(src, boundaries, programme_tiers(rules))
        out["tier_counts"] = rows(al.tier_counts(ranks))
        out["tier_moves"] = rows(al.tier_moves(ranks))
    out["span"] = (span.start, span.end)
    out["span_months"] = [(m.start, m.end) for m in span_months]
    return out


# --- the arithmetic ----------------------------------------------------------------------


def stratified_welch(
    members: dict[str, tuple[float, float, float]],
    non_members: dict[str, tuple[float, float, float]],
    *,
    confidence: float = CONFIDENCE,
) -> Difference:
    """The difference of means of members and non-members weighted by the members per
    stratum, with Welch's interval stratified.

    Parameters
    ----------
    members, non_members
        Per stratum key: ``(n, Σy, Σy²)``. Only strata with both groups count.

    Returns
    -------
    Difference
        Weighted means, their difference and its interval (``None`` when a group has no
        degree of freedom left, or no stratum has both groups).

    Notes
    -----
    With ``w_s = n_m,s / N_m``, the difference is ``Σ w_s (ȳ_m,s - ȳ_c,s)``. Its variance is
    ``s²_m / N_m + s²_c Σ w_s² / n_c,s``, where ``s²`` is a group's within-stratum variance
    pooled over the strata (``Σ_s Σ_i (y - ȳ_s)² / (N - S)``); the degrees of freedom are
    Welch–Satterthwaite's. With one stratum this is Welch's t interval.
    """
    from scipy import stats

    shared = sorted(k for k in members if members[k][0] > 0 and non_members.get(k, (0,))[0] > 0)
    n_m = sum(members[k][0] for k in shared)
    n_c = sum(non_members[k][0] for k in shared)
    if not shared:
        return Difference(None, None, None, None, None, 0, 0)

    def mean(g: tuple[float, float, float]) -> float:
        return g[1] / g[0]

    weights = {k: members[k][0] / n_m for k in shared}
    mean_m = sum(weights[k] * mean(members[k]) for k in shared)
    mean_c = sum(weights[k] * mean(non_members[k]) for k in shared)
    diff = mean_m - mean_c

    def pooled(groups: Iterable[tuple[float, float, float]], total: float) -> float | None:
        ss = sum(max(g[2] - g[1] * g[1] / g[0], 0.0) for g in groups)
        dof = total - len(shared)
        return ss / dof if dof > 0 else None

    var_m = pooled((members[k] for k in shared), n_m)
    var_c = pooled((non_members[k] for k in shared), n_c)
    low = high = None
    if var_m is not None and var_c is not None:
        a = var_m / n_m
        b = var_c * sum(weights[k] ** 2 / non_members[k][0] for k in shared)
        if a + b > 0:
            dof = (a + b) ** 2 / (a * a / (n_m - len(shared)) + b * b / (n_c - len(shared)))
            half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(a + b)
        else:
            half = 0.0
        low, high = diff - half, diff + half
    return Difference(mean_m, mean_c, diff, low, high, int(n_m), int(n_c))


def _outcomes(strata: list[dict[str, Any]]) -> list[Outcome]:
    out = []
    for id_, unit, (n, total, squares), scale in OUTCOMES:
        groups: dict[bool, dict[str, tuple[float, float, float]]] = {True: {}, False: {}}
        for row in strata:
            groups[bool(row["member"])][row["stratum"]] = (
                float(row[n]),
                float(row[total] or 0),
                float(row[squares] or 0),
            )
        d = stratified_welch(groups[True], groups[False])

        def scaled(value: float | None, scale: float = scale) -> float | None:
            return None if value is None else value * scale

        relative = (
            d.difference / d.non_members * 100
            if d.difference is not None and d.non_members
            else None
        )
        out.append(
            Outcome(
                id=id_,
                unit=unit,
                members=scaled(d.members),
                non_members=scaled(d.non_members),
                difference=scaled(d.difference),
                low=scaled(d.low),
                high=scaled(d.high),
                relative=relative,
                members_n=d.members_n,
                non_members_n=d.non_members_n,
            )
        )
    return out


def _matching(figures: dict[str, Any], rules: Rules, window_months: int) -> Matching:
    strata = figures["strata"]
    by_group: dict[bool, dict[str, int]] = {True: {}, False: {}}
    for row in strata:
        by_group[bool(row["member"])][row["stratum"]] = int(row["n"])
    shared = set(by_group[True]) & set(by_group[False])
    joined = figures["joined"] if figures["months"] else None
    return Matching(
        window_months=window_months,
        baseline_months=rules.loyalty.evaluation.baseline_months,
        joined_from=joined[0] if joined else None,
        joined_until=joined[1] if joined else None,
        members=sum(by_group[True].values()),
        members_matched=sum(by_group[True][k] for k in shared),
        non_member_observations=sum(by_group[False][k] for k in shared),
        strata=len(shared),
        spend_edges=list(figures["spend_edges"]),
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole > 0 else None


def _points(flows: dict[str, int], vouchers: tuple[int, int]) -> Points:
    earning = {str(r) for r in (*EARNING, LoyaltyReason.CLAWBACK)}
    earned = sum(v for reason, v in flows.items() if reason in earning)
    redeemed = -flows.get(LoyaltyReason.REDEEM, 0)
    expired = -flows.get(LoyaltyReason.EXPIRE, 0)
    return Points(
        earned=earned,
        redeemed=redeemed,
        expired=expired,
        adjusted=flows.get(LoyaltyReason.ADJUST, 0),
        redemption_rate=_rate(redeemed, earned),
        breakage_rate=_rate(expired, earned),
        vouchers_issued=vouchers[0],
        vouchers_used=vouchers[1],
    )


def _tier_months(figures: dict[str, Any], codes: list[str], tz: Any) -> list[TierMonth]:
    counts: dict[int, dict[str, int]] = {}
    for row in figures["tier_counts"]:
        counts.setdefault(int(row["month"]), {})[row["tier"]] = int(row["members"])
    moves = {int(r["month"]): r for r in figures["tier_moves"]}
    out = []
    for i, (start, end) in enumerate(figures["span_months"]):
        move = moves.get(i, {})
        out.append(
            TierMonth(
                month=to_local(start, tz).strftime("%Y-%m"),
                end=end,
                tiers={code: counts.get(i, {}).get(code, 0) for code in codes},
                upgrades=int(move.get("upgrades") or 0),
                downgrades=int(move.get("downgrades") or 0),
                joined=int(move.get("joined") or 0),
            )
        )
    return out


def loyalty_report(
    session: Session,
    figures: dict[str, Any],
    *,
    settings: Settings,
    rules: Rules,
    as_of: dt.datetime,
    window_months: int,
) -> LoyaltyReport:
    """The programme evaluation and health as of ``as_of`` (naive UTC) from the engine's
    ``figures`` (:func:`programme_figures` of the same arguments) and the vouchers of the
    store ``session``."""
    from rapport.store.loyalty_rewards import voucher_counts

    since, until = figures["span"]
    v = voucher_counts(
        session=session, since=since.replace(tzinfo=dt.UTC), until=until.replace(tzinfo=dt.UTC)
    )
    membership = figures["membership"]
    total = {str(r["reason"]): int(r["points"] or 0) for r in figures["flows"]}
    recent = {str(r["reason"]): int(r["points_window"] or 0) for r in figures["flows"]}
    balance = int(membership["balance"] or 0)
    point_value = float(rules.costs.point_value)
    health = Health(
        members=int(membership["members"] or 0),
        active_customers=int(membership["active"] or 0),
        active_members=int(membership["active_members"] or 0),
        participation=_rate(int(membership["active_members"] or 0), int(membership["active"] or 0)),
        balance=balance,
        point_value=point_value,
        liability=round(balance * point_value, 2),
        window=_points(recent, (v["issued_window"], v["used_window"])),
        to_date=_points(total, (v["issued"], v["used"])),
    )
    codes = programme_tiers(rules)
    return LoyaltyReport(
        as_of=as_of,
        window_start=since,
        engine=figures["engine"],
        matching=_matching(figures, rules, window_months),
        outcomes=_outcomes(figures["strata"]),
        health=health,
        tier_codes=codes,
        tiers=_tier_months(figures, codes, settings.tz),
    )
