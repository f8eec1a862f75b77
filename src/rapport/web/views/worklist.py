"""The page 我的工作台 My worklist (``/worklist``): a salesperson's customers to act on today —
those at risk by value at risk, their diamonds (the highest churn risk first), the
birthdays of this week and those not contacted for N days.

Sales users land here and see their own customers; managers and admins see everyone in
their scope or pick one owner (:func:`rapport.reports.worklist.owned_by`, which keeps the
caller's scope). Service agents and analysts get the forbidden page: the worklist is about
owning customers, and its birthdays are personal data analysts do not see.

The parts are reports, rendered as they come: :func:`rapport.reports.snapshots.churn_warnings`
and :func:`~rapport.reports.snapshots.diamonds` on the latest score snapshot,
:func:`rapport.reports.worklist.birthdays` and :func:`~rapport.reports.worklist.not_contacted`
on today in the business time zone; above them the user's open tasks
(:mod:`rapport.web.views.worklist_tasks`). The two lists of today page by keyset
(``birthdays_after``, ``quiet_after``); HTMX swaps only the section whose next page is
asked for. Every customer shown is a read of personal data, audited as the customers page
audits it (``read_pii``, route ``web.worklist``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_date
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access import CustomerScope, Principal
from rapport.actions.next_best import next_best_for
from rapport.domain import Role
from rapport.errors import ValidationFailed
from rapport.reports import prepared, snapshot_cache
from rapport.reports import worklist as reports
from rapport.reports.prepared import latest_snapshot
from rapport.web import render
from rapport.web.auth import audit_read, roles
from rapport.web.customer_list import owners
from rapport.web.exports import export_links
from rapport.web.i18n import Formatter
from rapport.web.nav import NavEntry
from rapport.web.views.worklist_tasks import tasks_section

ROLES = prepared.WORKLIST_ROLES
router = APIRouter(include_in_schema=False)
NAV = NavEntry(
    path="/worklist",
    key="nav.worklist",
    order=20,
    roles=frozenset(ROLES),
    home_of=frozenset({Role.SALES}),
)
#: "Not contacted for N days" when the address does not say.
DEFAULT_DAYS = 30
#: Rows of the churn warnings and of the diamonds (each links to its full list).
TOP_ROWS = prepared.WORKLIST_TOP_ROWS
#: Rows of a page of birthdays or of customers not contacted.
PAGE_ROWS = 20
#: The churn risk from which a customer is a warning (the reports' and ``rapport at-risk``'s).
MIN_RISK = prepared.MIN_RISK
#: The sections HTMX may ask for alone, and the cursor parameter of each.
SECTIONS = {"birthdays": "birthdays_after", "quiet": "quiet_after"}

Staff = Annotated[Principal, Depends(roles(*ROLES))]


def parse_days(value: str | None) -> tuple[int, bool]:
    """N of "not contacted for N days" from the address, and whether the given value was
    refused (then N is :data:`DEFAULT_DAYS`)."""
    if value is None or not value.strip():
        return DEFAULT_DAYS, False
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) < 6:
        days = int(text)
        if 1 <= days <= reports.MAX_DAYS:
            return days, False
    return DEFAULT_DAYS, True


def _owner(value: str | None, choices: list[dict[str, Any]]) -> int | None:
    """The owner picked, when they are one of ``choices`` (else everyone in scope)."""
    picked = render.whole_number(value)
    if picked is not None and any(c["id"] == picked for c in choices):
        return picked
    return None


@router.get("/worklist")
def worklist_page(request: Request, user: Staff) -> Response:
    params = request.query_params
    days, days_refused = parse_days(params.get("days"))
    settings = render.settings_of(request)
    rules = request.app.state.rules
    fmt = render.formatter(request)
    scope = CustomerScope(user)
    today = reports.local_today(settings.tz)
    start = reports.week_of(today)
    wanted = request.headers.get("hx-target") if _partial(request) else None
    only = wanted if wanted in SECTIONS else None
    with request.app.state.sessions() as session:
        choices = owners(session, scope) if user.role is not Role.SALES else []
        owner_id = _owner(params.get("owner"), choices)
        mine = reports.owned_by(scope, owner_id)
        as_of = latest_snapshot(session)
        at_risk = diamonds = None
        if only is None and as_of is not None:
            at_risk = snapshot_cache.churn_warnings(
                session, day=as_of, limit=TOP_ROWS, min_risk=MIN_RISK, scope=mine
            )
            diamonds = snapshot_cache.diamonds(
                session,
                day=as_of,
                rules=rules,
                locale=fmt.locale,
                limit=TOP_ROWS,
                scope=mine,
                order="churn_risk",
            )
        # The next best action of each customer of the two short lists, in one pass.
        listed = [r["customer_id"] for part in (at_risk, diamonds) if part for r in part.rows]
        next_best = next_best_for(
            session=session,
            settings=settings.model_copy(update={"locale": fmt.locale}),
            customer_ids=listed,
            day=today,
            limit=1,
        )
        tasks = None
        if only is None:
            tasks = tasks_section(
                session, user, owner_id=owner_id, after=params.get("tasks_after"), fmt=fmt
            )
        birthdays = quiet = None
        if only in (None, "birthdays"):
            birthdays = _paged(
                lambda after: reports.birthdays(
                    session, start=start, as_of=as_of, scope=mine, limit=PAGE_ROWS, after=after
                ),
                params.get("birthdays_after"),
            )
        if only in (None, "quiet"):
            quiet = _paged(
                lambda after: reports.not_contacted(
                    session,
                    today=today,
                    days=days,
                    tz=settings.tz,
                    as_of=as_of,
                    scope=mine,
                    limit=PAGE_ROWS,
                    after=after,
                ),
                params.get("quiet_after"),
            )
    shown = [
        r["customer_id"]
        for part in (at_risk, diamonds, birthdays, quiet)
        if part is not None
        for r in part.rows
    ] + ([r["customer_id"] for r in tasks["rows"]] if tasks is not None else [])
    audit_read(request, user, list(dict.fromkeys(shown)), "web.worklist")
    kept: dict[str, Any] = {}
    if owner_id is not None:
        kept["owner"] = owner_id
    if params.get("days") and not days_refused:
        kept["days"] = days
    context = {
        "kept": kept,
        "owner_id": owner_id,
        "owner_names": {c["id"]: c["name"] for c in choices},
        "owners": choices,
        "days": days,
        "days_refused": days_refused,
        "max_days": reports.MAX_DAYS,
        "default_days": DEFAULT_DAYS,
        "today": today,
        "week_start": start,
        "week_end": start + dt.timedelta(days=6),
        "as_of": as_of,
        "min_risk": MIN_RISK,
        "at_risk": at_risk,
        "diamonds": diamonds,
        "next_best": next_best,
        "birthdays": birthdays,
        "quiet": quiet,
        "tasks": tasks,
        "weekday": lambda day: _weekday(day, fmt),
        "birthdays_next": _next_url(kept, "birthdays_after", birthdays),
        "quiet_next": _next_url(kept, "quiet_after", quiet),
        "birthdays_paged": bool(params.get("birthdays_after")),
        "quiet_paged": bool(params.get("quiet_after")),
        "here": _url(kept),
        "exports": {
            "birthdays": export_links("birthdays", kept),
            "quiet": export_links("not-contacted", kept),
            "at_risk": export_links("at-risk", kept),
            "diamonds": export_links("worklist-diamonds", kept),
        },
        "at_risk_url": "/customers?"
        + urlencode({"sort": "churn_risk", **({"owner": owner_id} if owner_id else {})}),
    }
    if only is not None:
        return render.page(request, f"worklist_{only}.html", context)
    return render.page(request, "worklist.html", context)


def _partial(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )


def _paged(read: Any, after: str | None) -> reports.WorkPage:
    """A page of ``read`` after the cursor ``after``; a cursor the report refuses (edited
    by hand, or of an older version) starts from the first page, as the customers page
    does."""
    if after:
        try:
            page: reports.WorkPage = read(after)
            return page
        except ValidationFailed:
            pass
    first: reports.WorkPage = read(None)
    return first


def _weekday(day: dt.date, fmt: Formatter) -> str:
    return format_date(day, "EEE", locale=fmt.babel)


def _url(kept: dict[str, Any], **extra: Any) -> str:
    query = {**kept, **extra}
    return "/worklist?" + urlencode(query) if query else "/worklist"


def _next_url(kept: dict[str, Any], name: str, part: reports.WorkPage | None) -> str | None:
    if part is None or part.next_cursor is None:
        return None
    return _url(kept, **{name: part.next_cursor})
