"""Why a customer is in their value tier, and what they lack for the next one up.

The tier itself is computed by :mod:`rapport.analytics.tiers` when a snapshot is scored; the
snapshot row keeps its inputs (``components``: the revenue rank, the next tier and the checks
of it that fail). This module reads them back for people: the checks of the tier that hold,
with the customer's values and the thresholds, and the checks of the next tier that fail.
Which checks a rule has at all is :func:`rapport.analytics.tiers.active` — the rule the
scoring applies.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from rapport.analytics.tiers import CHECKS, active
from rapport.config import Rules, TierRule
from rapport.domain import LifecycleStage, ValueTier
from rapport.i18n.enums import label
from rapport.i18n.labels import t
from rapport.store.components import expand


def components(row: dict[str, Any]) -> dict[str, Any]:
    """The ``components`` document of a snapshot row, keyed (read as stored, compact or as
    JSON text: :func:`rapport.store.components.expand`); ``{}`` without one."""
    return expand(row.get("components")) or {}


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.1f}"


def describe_check(check: str, rule: TierRule, value: Any, locale: str) -> str:
    """One check for people: its name, the customer's value and the threshold of ``rule``,
    e.g. ``loyalty: 72.5 (≥ 60)`` or ``revenue: P97.0 (≥ P90)``."""
    name = t(f"check.{check}", locale)
    if check == "revenue":  # as a percentile: 100 = the highest revenue of the window
        need = 100 * (1 - rule.revenue_top_share)
        shown = "—" if value is None else f"P{100 * value:.1f}"
        return f"{name}: {shown} (≥ P{need:g})"
    if check == "stage":
        excluded = ", ".join(label(s, locale) for s in rule.excluded_stages) or "—"
        shown = "—" if value is None else label(LifecycleStage(value), locale)
        return f"{name}: {shown} (∉ {excluded})"
    if check == "churn_risk":
        shown = "—" if value is None else f"{100 * value:.0f}%"
        return f"{name}: {shown} (≤ {100 * rule.max_churn_risk:g}%)"
    need = getattr(rule, f"min_{check}")
    return f"{name}: {_number(value)} (≥ {need:g})"


def tier_reasons(row: dict[str, Any], rules: Rules, locale: str) -> tuple[list[str], list[str]]:
    """Why a snapshot row is in its tier.

    Parameters
    ----------
    row
        A ``customer_scores`` row (or the part of it with ``value_tier``, the degrees,
        ``churn_risk``, ``lifecycle_stage`` and ``components``).
    rules
        The business rules (``[scores.tiers]``).
    locale
        ``zh_CN`` or ``en``.

    Returns
    -------
    tuple of list of str
        The active checks of the row's tier, each with the customer's value and the
        threshold (:func:`describe_check`); and the checks of the next tier up that the
        customer fails. Bronze and customers without a tier meet no check.
    """
    parts = components(row)
    values = {
        "revenue": (parts.get("rfm") or {}).get("revenue_rank"),
        "loyalty": row.get("loyalty"),
        "satisfaction": row.get("satisfaction"),
        "engagement": row.get("engagement"),
        "churn_risk": row.get("churn_risk"),
        "stage": row.get("lifecycle_stage"),
    }
    values["stage"] = (
        values["stage"].value if isinstance(values["stage"], StrEnum) else values["stage"]
    )
    by_tier = {rule.tier.value: rule for rule in rules.scores.tiers.rules}
    tier = row.get("value_tier")
    tier = tier.value if isinstance(tier, StrEnum) else tier
    met: list[str] = []
    if tier in by_tier:
        rule = by_tier[tier]
        met = [describe_check(c, rule, values[c], locale) for c in CHECKS if active(c, rule)]
    lacking: list[str] = []
    tier_parts = parts.get("value_tier") or {}
    following = tier_parts.get("next")
    if following in by_tier:
        rule = by_tier[following]
        lacking = [
            describe_check(c, rule, values[c], locale) for c in tier_parts.get("missing") or []
        ]
    return met, lacking


def next_tier(row: dict[str, Any]) -> ValueTier | None:
    """The value tier above a snapshot row's (the one whose failing checks
    :func:`tier_reasons` lists as lacking); ``None`` at the top tier or without a tier."""
    following = (components(row).get("value_tier") or {}).get("next")
    return ValueTier(following) if following else None
