"""The 360 card's *next best action*: the playbooks the customer is eligible for now, ranked
by expected incremental value, each with its reason —
:func:`rapport.actions.next_best.next_best_in_session`, what ``GET
/api/v1/customers/{id}/next-best-actions`` answers, in the page's language.

The card asks for it once loaded (``/customers/{id}/next-best``, HTMX): working it out reads
the customer's scores and every enabled playbook's audience, which the card itself need not
wait for. The customer is read through the user's scope (another customer is the not-found
page); every role that opens the card sees it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rapport.access import CustomerScope
from rapport.actions.next_best import next_best_in_session
from rapport.errors import NotFound
from rapport.reports.worklist import local_today
from rapport.web import render
from rapport.web.auth import WebUser

router = APIRouter(include_in_schema=False)
#: Actions shown.
LIMIT = 3


@router.get("/customers/{customer_id}/next-best")
def next_best(request: Request, user: WebUser, customer_id: str) -> Response:
    """The card's next best actions, as a fragment."""
    scope = CustomerScope(user)
    fmt = render.formatter(request)
    settings = render.settings_of(request)
    try:
        number = render.customer_number(customer_id)
        with request.app.state.sessions() as session:
            customer = scope.get(session=session, id=number)
            actions = next_best_in_session(
                session=session,
                settings=settings.model_copy(update={"locale": fmt.locale}),
                customer_id=customer["id"],
                day=local_today(settings.tz),
                limit=LIMIT,
            )
    except NotFound:
        return render.not_found(request)
    return render.page(request, "customer_next_best.html", {"actions": actions})
