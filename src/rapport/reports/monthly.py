"""The monthly management report 月度客户关系报告: what changed in a calendar month, for whom,
against the previous period.

Every figure comes from a product function that already defines it; this module only
chooses the periods and snapshots and puts the figures side by side:

* **the month's snapshot** is the latest score snapshot dated inside the month, **the
  comparison snapshot** the latest one before the month starts (the nearest to the
  previous month's end; ``None`` when there is none). A month without a snapshot is
  refused with the months that have one;
* **metrics** (:data:`METRIC_IDS`) over the calendar month and over the previous calendar
  month, in the configured time zone (:func:`rapport.analyses.metric_values`; company-wide,
  as on the overview);
* **relationships**: the four degrees, the relationship index, the diamonds and the value
  at risk of both snapshots (:func:`rapport.reports.overview.snapshot_history`);
* **value tiers, lifecycle stages, RFM segments** of both snapshots
  (:func:`rapport.reports.snapshots.group_summary`) and who moved between them
  (:func:`rapport.reports.snapshots.movements`); the **diamonds gained and lost**
  (:func:`rapport.reports.movers.tier_mover_counts` and ``tier_movers``);
* **what changed**: the largest relative changes among all of these (:func:`what_changed`).

Snapshot figures are within the caller's :class:`~rapport.access.CustomerScope`. A figure
that cannot be measured (no snapshot to compare with, an empty denominator) is ``None``,
shown as "—", never 0. The renderers (HTML, PDF, XLSX) are :mod:`rapport.reports.monthly_render`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from rapport.access import CustomerScope
from rapport.analytics.periods import Period, to_utc
from rapport.config import Rules, Settings
from rapport.domain import ValueTier
from rapport.errors import NotFound, ValidationFailed
from rapport.reports import movers, snapshots
from rapport.reports.overview import HEADLINE, change, snapshot_history
from rapport.reports.snapshots import _float

#: The metrics of the report: the overview's headline metrics and the service figures.
METRIC_IDS = (
    *HEADLINE,
    "complaint_rate",
    "first_response_time",
    "resolution_time",
    "sla_attainment",
)
#: The snapshot figures compared (keys of :func:`snapshot_history`'s rows).
SNAPSHOT_KEYS = (
    "customers",
    "avg_satisfaction",
    "avg_loyalty",
    "avg_engagement",
    "avg_advocacy",
    "avg_relationship_index",
    "diamonds",
    "value_at_risk",
    "share",
    "at_risk",
    "at_risk_value",
)
#: Groupings of the snapshot compared, in the report's order.
GROUPINGS = ("value_tier", "lifecycle_stage", "rfm_segment")
#: Diamond customers named among those gained and lost.
LISTED = 10
#: Movements listed per grouping (the most customers first).
MOVEMENTS = 10
#: RFM segments "for whom" lists (those whose size changed most).
FOR_WHOM = 6
#: Items of "what changed".
CHANGES = 6
#: Customers a group must have in one of the snapshots to be among "what changed": a
#: group of three that becomes six is not news.
MIN_GROUP = 20

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """The first day of the month ``text`` (``YYYY-MM``) and of the month after it.

    Raises
    ------
    ValidationFailed
        When ``text`` is not a month like ``2026-11``.
    """
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ValidationFailed(
            "month {text!r}: expected a month like 2026-11",
            field="month",
            value=text,
            hint="give the year and the month, YYYY-MM",
            key="month_expected",
            params={"text": text},
        )
    start = dt.date(int(found[1]), int(found[2]), 1)
    return start, _next_month(start)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_before(day: dt.date) -> dt.date:
    return dt.date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def report_snapshots(dates: Sequence[dt.date], month: str) -> tuple[dt.date, dt.date | None]:
    """The month's snapshot (the latest dated inside ``month``) and the comparison
    snapshot (the latest before the month starts, ``None`` when there is none) among the
    snapshot ``dates``.

    Raises
    ------
    NotFound
        When there is no snapshot at all, or none dated in ``month``: the message names the
        months that have one.
    """
    start, end = parse_month(month)
    if not dates:
        raise NotFound(
            "no score snapshot",
            table="customer_scores",
            hint="run `rapport score` first",
            key="snapshot_none",
            hint_key="score_first",
        )
    inside = [d for d in dates if start <= d < end]
    if not inside:
        months = sorted({f"{d:%Y-%m}" for d in dates})
        raise NotFound(
            "no score snapshot in {month}",
            table="customer_scores",
            field="month",
            value=month,
            hint="snapshots exist in {months}; `rapport score --as-of` a day of {month} makes one",
            key="month_no_snapshot",
            params={"month": f"{start:%Y-%m}", "months": ", ".join(months)},
        )
    before = [d for d in dates if d < start]
    return max(inside), max(before) if before else None


def month_periods(month: str, tz: str | ZoneInfo) -> tuple[Period, Period]:
    """The calendar month ``month`` and the month before it, local midnights as naive UTC."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    start, end = parse_month(month)

    def utc(day: dt.date) -> dt.datetime:
        return to_utc(dt.datetime.combine(day, dt.time()), zone)

    return Period(utc(start), utc(end)), Period(utc(_month_before(start)), utc(start))


def month_metrics(
    settings: Settings, rules: Rules, month: str, engine: str | None = None
) -> dict[str, Any]:
    """:data:`METRIC_IDS` over the calendar month ``month`` and the month before it (the
    analytics engine; a server runs this in a worker process, :mod:`rapport.workers`).

    Returns
    -------
    dict
        ``engine``; ``current`` and ``previous`` (``start``, ``end``, naive UTC);
        ``values``: per metric id, ``value``, ``previous`` (null where not measured),
        ``change`` (``value - previous``; null when either is), and the month's
        ``numerator`` and ``denominator``.
    """
    from rapport.analyses import metric_values

    current, previous = month_periods(month, settings.tz)
    ids = list(METRIC_IDS)
    name, now = metric_values(settings, rules, ids, current, as_of=current.end, engine=engine)
    _, before = metric_values(settings, rules, ids, previous, as_of=previous.end, engine=engine)
    rows = {r["metric"]: r for r in now.to_pylist()}
    earlier = {r["metric"]: r for r in before.to_pylist()}
    values = {}
    for metric in ids:
        value = _float(rows.get(metric, {}).get("value"))
        last = _float(earlier.get(metric, {}).get("value"))
        values[metric] = {
            "value": value,
            "previous": last,
            "change": change(value, last),
            "numerator": _float(rows.get(metric, {}).get("numerator")),
            "denominator": _float(rows.get(metric, {}).get("denominator")),
        }
    return {
        "engine": name,
        "current": {"start": current.start, "end": current.end},
        "previous": {"start": previous.start, "end": previous.end},
        "values": values,
    }


def _groups(
    session: Session,
    *,
    by: str,
    day: dt.date,
    before: dt.date | None,
    rules: Rules,
    locale: str,
    scope: CustomerScope | None,
) -> list[dict[str, Any]]:
    """Per group of ``by``: its customers, shares and relationship index in both snapshots
    and their changes (the groups of either snapshot, in the snapshot reports' order)."""
    now = snapshots.group_summary(session, by=by, day=day, rules=rules, scope=scope)
    then = (
        []
        if before is None
        else snapshots.group_summary(session, by=by, day=before, rules=rules, scope=scope)
    )
    earlier = {g["group"]: g for g in then}
    seen = {g["group"] for g in now}
    rows = []
    for g in [*now, *(g for g in then if g["group"] not in seen)]:
        current = g if g["group"] in seen else {}
        last = earlier.get(g["group"], {})
        customers = current.get("customers", 0)
        previous_customers = last.get("customers", 0) if before is not None else None
        rows.append(
            {
                "group": g["group"],
                "label": snapshots.group_label(by, g["group"], locale),
                "customers": customers,
                "previous_customers": previous_customers,
                "customers_change": change(customers, previous_customers),
                "customer_share": current.get("customer_share"),
                "previous_customer_share": last.get("customer_share"),
                "revenue": current.get("revenue"),
                "revenue_share": current.get("revenue_share"),
                "relationship_index": current.get("avg_relationship_index"),
                "previous_relationship_index": last.get("avg_relationship_index"),
                "relationship_index_change": change(
                    current.get("avg_relationship_index"), last.get("avg_relationship_index")
                ),
            }
        )
    return rows


#: Figures that need customers with a churn risk and a predicted CLV (null without any:
#: a snapshot scored without the models has no value at risk, not a value at risk of 0).
VALUED = ("value_at_risk", "share", "at_risk", "at_risk_value")


def _figure(row: dict[str, Any], key: str) -> Any:
    """A snapshot figure of :func:`snapshot_history`'s ``row``: null when not measured."""
    if key == "customers":
        return row.get(key, 0)
    if key in VALUED and not row.get("valued"):
        return None
    return row.get(key)


def _relative(value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None or previous == 0:
        return None
    return (value - previous) / abs(previous)


def what_changed(report: dict[str, Any], limit: int = CHANGES) -> list[dict[str, Any]]:
    """The largest moves of the report, each with its numbers: the metrics, the snapshot
    figures and the groups' sizes, ranked by relative change ``|after - before| / |before|``
    (a figure not measured in both, or 0 before, is left out; groups need
    :data:`MIN_GROUP` customers in one of the snapshots).

    Returns
    -------
    list of dict
        At most ``limit`` items, largest first: ``kind`` (``metric``, ``snapshot`` or a
        grouping of :data:`GROUPINGS`), ``key`` (the metric id, figure key or group id),
        ``label`` (a group's label), ``before``, ``after``, ``change`` and ``relative``.
    """
    items: list[dict[str, Any]] = []
    for metric, v in (report.get("metrics") or {}).get("values", {}).items():
        items.append(
            {"kind": "metric", "key": metric, "before": v["previous"], "after": v["value"]}
        )
    rel = report["relationships"]
    for key in SNAPSHOT_KEYS:
        items.append(
            {
                "kind": "snapshot",
                "key": key,
                "before": rel[key]["previous"],
                "after": rel[key]["value"],
            }
        )
    for by in GROUPINGS:
        for g in report["groups"][by]:
            if max(g["customers"], g["previous_customers"] or 0) < MIN_GROUP:
                continue
            items.append(
                {
                    "kind": by,
                    "key": g["group"],
                    "label": g["label"],
                    "before": g["previous_customers"],
                    "after": g["customers"],
                }
            )
    ranked = []
    for item in items:
        relative = _relative(item["after"], item["before"])
        if relative is None or relative == 0:
            continue
        ranked.append(
            {
                "label": None,
                **item,
                "change": change(item["after"], item["before"]),
                "relative": relative,
            }
        )
    ranked.sort(key=lambda i: (-abs(i["relative"]), i["kind"], str(i["key"])))
    return ranked[:limit]


def monthly_report(
    session: Session,
    *,
    month: str,
    rules: Rules,
    locale: str,
    metrics: dict[str, Any] | None,
    scope: CustomerScope | None = None,
) -> dict[str, Any]:
    """The monthly management report of ``month`` (``YYYY-MM``) as plain data.

    Parameters
    ----------
    metrics
        :func:`month_metrics` of the same month (the caller runs the analytics engine, a
        server in a worker process); ``None`` leaves the metrics out.
    scope
        Whose customers the snapshot figures cover (``None``: every customer); lists of
        customers are masked for a masked scope.

    Returns
    -------
    dict
        ``month``, ``snapshot`` and ``previous_snapshot`` (dates; the latter ``None`` when
        there is nothing to compare with), ``scoped`` (whether the scope leaves customers
        out), ``masked``, ``metrics`` (as given);
        ``relationships``: per key of :data:`SNAPSHOT_KEYS`, ``value``, ``previous`` and
        ``change``; ``groups``: per grouping of :data:`GROUPINGS`, the rows of both
        snapshots side by side; ``diamonds``: ``gained`` and ``lost`` (counts) and
        ``movers`` (at most :data:`LISTED`, :func:`rapport.reports.movers.tier_movers`);
        ``movements``: per grouping, the pairs that moved (at most :data:`MOVEMENTS`);
        ``for_whom``: the RFM segments whose size changed most (:func:`for_whom`);
        ``changes``: :func:`what_changed`.

    Raises
    ------
    NotFound
        When ``month`` has no snapshot (the message names the months that have one).
    """
    from rapport.store.scores import snapshot_dates

    start, _ = parse_month(month)
    day, before = report_snapshots(snapshot_dates(session=session), month)
    history = {
        h["as_of"]: h
        for h in snapshot_history(
            session, scope=scope, days=[day] if before is None else [before, day]
        )
    }
    now, then = history.get(day, {}), history.get(before, {}) if before else {}
    relationships = {}
    for key in SNAPSHOT_KEYS:
        value = _figure(now, key)
        last = _figure(then, key) if before is not None else None
        relationships[key] = {"value": value, "previous": last, "change": change(value, last)}
    groups = {
        by: _groups(session, by=by, day=day, before=before, rules=rules, locale=locale, scope=scope)
        for by in GROUPINGS
    }
    diamonds: dict[str, Any] = {"gained": None, "lost": None, "movers": []}
    moved: dict[str, list[dict[str, Any]]] = {by: [] for by in GROUPINGS}
    if before is not None:
        counts = movers.tier_mover_counts(
            session, tier=ValueTier.DIAMOND, before=before, after=day, scope=scope
        )
        diamonds = {
            "gained": counts["in"],
            "lost": counts["out"],
            "movers": movers.tier_movers(
                session,
                tier=ValueTier.DIAMOND,
                before=before,
                after=day,
                rules=rules,
                locale=locale,
                scope=scope,
                limit=LISTED,
            ),
        }
        for by in GROUPINGS:
            rows = snapshots.movements(session, by=by, before=before, after=day, scope=scope)
            moved[by] = [
                {
                    **r,
                    "from_label": snapshots.group_label(by, r["from"], locale),
                    "to_label": snapshots.group_label(by, r["to"], locale),
                }
                for r in rows[:MOVEMENTS]
            ]
    report: dict[str, Any] = {
        "month": f"{start:%Y-%m}",
        "snapshot": day,
        "previous_snapshot": before,
        "scoped": bool(scope is not None and scope.clause() is not None),
        "masked": bool(scope is not None and scope.masked),
        "metrics": metrics,
        "relationships": relationships,
        "groups": groups,
        "diamonds": diamonds,
        "movements": moved,
    }
    report["for_whom"] = for_whom(groups["rfm_segment"])
    report["changes"] = what_changed(report)
    return report


def for_whom(rows: list[dict[str, Any]], limit: int = FOR_WHOM) -> list[dict[str, Any]]:
    """The groups of ``rows`` (:func:`monthly_report`'s rows of one grouping) whose number
    of customers changed most, largest absolute change first; none without a comparison."""
    changed = [r for r in rows if r["customers_change"]]
    changed.sort(key=lambda r: (-abs(r["customers_change"]), str(r["group"])))
    return changed[:limit]
