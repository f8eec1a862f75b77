"""The page 钻石客户 Diamonds (``/diamonds``): who the diamond customers are, why each is
diamond, the ones closest to losing the tier first, and who entered or left the tier
since the previous score snapshot.

* The list is :func:`rapport.reports.snapshots.diamonds` with ``order="churn_risk"`` (the
  highest churn risk first, then revenue), each row with the diamond checks it meets
  (:func:`rapport.reports.tiers.tier_reasons`). A diamond whose churn risk reaches half the
  diamond rule's ceiling (``[scores.tiers]`` ``max_churn_risk``, 50 % by default, so 25 %)
  is marked *at risk*, in words as well as colour: halfway to losing the tier on that
  check alone. The list shows :data:`PAGE_ROWS` rows and grows by as many (``limit``).
* The movements between the latest snapshot and the one before are
  :func:`rapport.reports.movers.tier_mover_counts` (how many entered and left: what
  ``rapport movements --by value_tier`` counts for diamond) and
  :func:`~rapport.reports.movers.tier_movers` (who, with the checks they now meet or fail).

Admins, managers, sales users and analysts open it, each within their
:class:`~rapport.access.CustomerScope` (a sales user sees their own diamonds, an analyst
every diamond with names and customer numbers masked); service agents get the forbidden
page — they work the ticket queue, value tiers are the owners' business. Unmasked views
are audited (``read_pii``, route ``web.diamonds``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access import CustomerScope, Principal
from rapport.domain import ValueTier
from rapport.reports import prepared
from rapport.reports import snapshot_cache as kept
from rapport.reports.movers import previous_snapshot
from rapport.reports.prepared import latest_snapshot
from rapport.web import render
from rapport.web.auth import audit_read, roles
from rapport.web.exports import export_links
from rapport.web.nav import NavEntry

ROLES = prepared.DIAMOND_ROLES
router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/diamonds", key="nav.diamonds", order=40, roles=frozenset(ROLES))
#: Diamonds a page shows, and how many more each "show more" adds.
PAGE_ROWS = prepared.DIAMOND_PAGE_ROWS
#: The most diamonds one page lists.
MAX_ROWS = 2000
#: Movers listed (the counts cover them all).
MOVER_ROWS = prepared.DIAMOND_MOVER_ROWS
#: The share of the diamond rule's churn ceiling from which a diamond is marked at risk.
AT_RISK_SHARE = 0.5

Staff = Annotated[Principal, Depends(roles(*ROLES))]


def at_risk_level(rules: Any) -> tuple[float, float]:
    """The churn risk from which a diamond is marked at risk, and the diamond rule's
    ceiling it is half of (1.0 when the rule has no churn check)."""
    ceiling = 1.0
    for rule in rules.scores.tiers.rules:
        if rule.tier is ValueTier.DIAMOND:
            ceiling = rule.max_churn_risk
    return AT_RISK_SHARE * ceiling, ceiling


def _limit(value: str | None) -> int:
    if value and value.isascii() and value.isdigit() and len(value) < 6:
        return max(PAGE_ROWS, min(int(value), MAX_ROWS))
    return PAGE_ROWS


@router.get("/diamonds")
def diamonds_page(request: Request, user: Staff) -> Response:
    rules = request.app.state.rules
    fmt = render.formatter(request)
    scope = CustomerScope(user)
    limit = _limit(request.query_params.get("limit"))
    list_only = _partial(request) and request.headers.get("hx-target") == "diamond-list"
    found = previous = None
    gained = lost = 0
    movers: list[dict[str, Any]] = []
    with request.app.state.sessions() as session:
        as_of = latest_snapshot(session)
        if as_of is not None:
            found = kept.diamonds(
                session,
                day=as_of,
                rules=rules,
                locale=fmt.locale,
                limit=limit,
                scope=scope,
                order="churn_risk",
            )
            previous = previous_snapshot(session, as_of)
        if as_of is not None and previous is not None and not list_only:
            counts, movers = prepared.diamond_page_moves(
                session,
                before=previous,
                after=as_of,
                rules=rules,
                locale=fmt.locale,
                scope=scope,
            )
            gained, lost = counts["in"], counts["out"]
    rows = found.rows if found is not None else []
    if not scope.masked:
        shown = [r["customer_id"] for r in rows] + [m["customer_id"] for m in movers]
        audit_read(request, user, list(dict.fromkeys(shown)), "web.diamonds")
    level, ceiling = at_risk_level(rules)
    total = found.total or 0 if found is not None else 0
    context = {
        "as_of": as_of,
        "previous": previous,
        "rows": rows,
        "total": total,
        "gained": gained,
        "lost": lost,
        "movers": movers,
        "movers_cut": len(movers) >= MOVER_ROWS,
        "masked": scope.masked,
        "level": level,
        "ceiling": ceiling,
        "more_url": f"/diamonds?limit={limit + PAGE_ROWS}"
        if len(rows) < total and limit < MAX_ROWS
        else None,
        "more_count": min(PAGE_ROWS, total - len(rows), MAX_ROWS - limit),
        "tier_label": lambda value: fmt.value("customer_scores", "value_tier", value),
        "export": export_links("diamonds", {}),
    }
    return render.page(request, "diamonds_list.html" if list_only else "diamonds.html", context)


def _partial(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )
