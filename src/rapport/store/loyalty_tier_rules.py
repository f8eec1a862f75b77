"""Programme tiers by rule: which tier a member holds, decided from the rolling basis, the
value-tier floor and the member's current state. Pure functions of their arguments; the
store's job (:mod:`rapport.store.loyalty_tiers`) reads the inputs and writes the result.

The rule (``[loyalty]`` of the business rules, docs/loyalty.md "Tiers"):

* The **basis** is ``tier_basis`` summed over the rolling window ``(at − tier_window_months,
  at]``: ``spend`` (net amount of the member's purchases) or ``points`` (points earned, less
  clawbacks). The **qualified** tier is the highest whose threshold (``min_spend`` or
  ``min_points``) the basis reaches. The **floor** is the tier ``[loyalty.value_tier_map]``
  gives the member's latest value tier (none when unmapped). The **target** is the higher
  of the two.
* A target above the member's tier is an **upgrade, at once** (reason ``mapping`` when the
  target is the floor, above what the basis gives).
* A target below the tier changes nothing until a **review date** (``tier_review``: the first
  day of each month, quarter or year, or every ``tier_review_months`` since the tier began).
  A member found below on or after a review date keeps the tier ``tier_grace_days`` more
  (``grace_until`` = that day + grace: an evaluation missed on the review day never shortens
  the grace); still below when the grace ends, they drop to the target then — as many tiers
  as the basis says, at once. Back at or above the tier during the grace, the grace is
  cleared.
* Deciding again with the state a decision returned, on the same day with the same inputs,
  changes nothing.

Dates are the business's local dates (``review_on``, ``grace_until``, ``since``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from rapport.config import LoyaltyRules, LoyaltyTierRule
from rapport.domain import TierChangeReason, ValueTier

#: Months of each calendar review period.
CALENDAR_REVIEW_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


@dataclass(frozen=True)
class TierState:
    """A member's programme tier: held since ``since``, next reviewed on ``review_on``;
    ``grace_until`` is set while the member is below the tier after a review."""

    tier: str
    since: dt.date
    review_on: dt.date
    grace_until: dt.date | None = None


@dataclass(frozen=True)
class TierChange:
    """One change of tier, for the history (``loyalty_tier_changes``)."""

    from_tier: str | None
    to_tier: str
    reason: TierChangeReason


@dataclass(frozen=True)
class Decision:
    """The state after a decision, the tier change it made (if any), and whether the state
    differs from the one given (a change, a review moved on, a grace started or cleared)."""

    state: TierState
    change: TierChange | None
    changed: bool


def threshold(rule: LoyaltyTierRule, rules: LoyaltyRules) -> Decimal:
    """The tier's threshold in the programme's basis."""
    value = rule.min_spend if rules.tier_basis == "spend" else rule.min_points
    return Decimal(str(value))


def ranked(rules: LoyaltyRules) -> list[LoyaltyTierRule]:
    """The configured tiers from the lowest threshold (in the basis) to the highest."""
    return sorted(rules.tiers, key=lambda t: threshold(t, rules))


def rank(code: str, rules: LoyaltyRules) -> int:
    """The tier's place from the bottom (0); -1 for a code no longer configured."""
    codes = [t.code for t in ranked(rules)]
    return codes.index(code) if code in codes else -1


def qualified(value: Decimal | int | float, rules: LoyaltyRules) -> str:
    """The highest tier whose threshold ``value`` reaches (the base tier below every
    threshold, e.g. a negative basis)."""
    amount = Decimal(str(value))
    tiers = ranked(rules)
    reached = [t for t in tiers if amount >= threshold(t, rules)]
    return (reached[-1] if reached else tiers[0]).code


def floor_tier(value_tier: ValueTier | str | None, rules: LoyaltyRules) -> str | None:
    """The lowest programme tier ``[loyalty.value_tier_map]`` gives a value tier."""
    if value_tier is None:
        return None
    return rules.value_tier_map.get(ValueTier(value_tier))


def next_tier(code: str, rules: LoyaltyRules) -> LoyaltyTierRule | None:
    """The tier above ``code`` (None at the top)."""
    tiers = ranked(rules)
    at = rank(code, rules)
    return tiers[at + 1] if at + 1 < len(tiers) else None


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, its day clipped to the month's last (31 Jan + 1 →
    28 or 29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def next_review(on: dt.date, since: dt.date, rules: LoyaltyRules) -> dt.date:
    """The first review date strictly after ``on``: the first day of the next month,
    quarter or year, or (``anniversary``) the next ``since`` + k × ``tier_review_months``."""
    if rules.tier_review == "anniversary":
        step = rules.tier_review_months
        k = max(1, ((on.year - since.year) * 12 + on.month - since.month) // step)
        while add_months(since, k * step) <= on:
            k += 1
        while k > 1 and add_months(since, (k - 1) * step) > on:
            k -= 1
        return add_months(since, k * step)
    months = CALENDAR_REVIEW_MONTHS[rules.tier_review]
    start = (on.month - 1) // months * months  # the period's first month, 0-based
    return add_months(dt.date(on.year, start + 1, 1), months)


def window_start(at: dt.datetime, tz: ZoneInfo, rules: LoyaltyRules) -> dt.datetime:
    """The start of the rolling window ending at ``at`` (aware): ``tier_window_months``
    earlier on the local calendar, as an aware UTC moment (excluded from the window)."""
    local = at.astimezone(tz)
    day = add_months(local.date(), -rules.tier_window_months)
    return dt.datetime.combine(day, local.timetz()).astimezone(dt.UTC)


def basis_value(
    history: Iterable[tuple[dt.datetime, Decimal | int]], start: dt.datetime, end: dt.datetime
) -> Decimal:
    """The sum of the amounts of ``history`` (moment, spend or points) in ``(start, end]``."""
    return sum((Decimal(v) for t, v in history if start < t <= end), Decimal(0))


def decide(
    state: TierState | None,
    *,
    value: Decimal | int | float,
    floor: str | None,
    on: dt.date,
    rules: LoyaltyRules,
) -> Decision:
    """The member's tier on the local date ``on``, given the basis ``value`` over the
    window, the value-tier ``floor`` (a tier code or None) and the current ``state`` (None:
    no tier yet). See the module's docstring for the rule."""
    by_basis = qualified(value, rules)
    target = by_basis
    if floor is not None and rank(floor, rules) > rank(target, rules):
        target = floor

    def begin(reason: TierChangeReason) -> Decision:
        new = TierState(tier=target, since=on, review_on=next_review(on, on, rules))
        change = TierChange(from_tier=state.tier if state else None, to_tier=target, reason=reason)
        return Decision(state=new, change=change, changed=True)

    if state is None or rank(state.tier, rules) < 0:
        return begin(TierChangeReason.INITIAL)
    held, wanted = rank(state.tier, rules), rank(target, rules)
    if wanted > held:
        lifted = target != by_basis  # the floor, above what the basis gives
        return begin(TierChangeReason.MAPPING if lifted else TierChangeReason.UPGRADE)
    new = state
    if wanted == held:
        new = replace(new, grace_until=None)
    else:
        if new.grace_until is None and on >= new.review_on:
            grace = dt.timedelta(days=rules.tier_grace_days)
            new = replace(new, grace_until=on + grace)
        if new.grace_until is not None and on >= new.grace_until:
            return begin(TierChangeReason.DOWNGRADE)
    if on >= new.review_on:
        new = replace(new, review_on=next_review(on, new.since, rules))
    return Decision(state=new, change=None, changed=new != state)


def evaluate(
    history: Iterable[tuple[dt.datetime, Decimal | int]],
    state: TierState | None,
    *,
    at: dt.datetime,
    tz: ZoneInfo,
    floor: str | None,
    rules: LoyaltyRules,
) -> Decision:
    """:func:`decide` at the moment ``at`` (aware) over the member's whole ``history`` of
    basis amounts (moment, spend or points): the window is summed here."""
    value = basis_value(history, window_start(at, tz, rules), at)
    return decide(state, value=value, floor=floor, on=at.astimezone(tz).date(), rules=rules)
