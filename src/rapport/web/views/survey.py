"""The customer's survey page (``/s/{token}``): what a survey link opens in a browser.

Staff create a link with ``POST /api/v1/survey-links`` and send its ``url``
(``/api/v1/public/surveys/{token}``); a browser opening it — ``Accept`` preferring
``text/html`` to JSON — is sent here (303) by the API's route, an API client gets the JSON
as before. No log-in: the secret in the address is the customer's only credential.

* ``GET /s/{token}`` — the form: the question of the link's survey kind
  (``survey.question.<kind>``) as radio buttons over the kind's scale
  (:data:`rapport.domain.SURVEY_SCALES`, each point a labelled button, the meaning of the
  two ends said in words) and an optional comment. Nothing about the customer is shown: the
  page knows the link's kind, scale and expiry, as ``GET /api/v1/public/surveys/{token}``.
* ``POST /s/{token}`` — the answer, recorded by :func:`rapport.store.survey_links.answer`
  (the function the JSON ``POST`` calls: the scale's check, the survey response, the link
  used up, in one transaction), then 303 to ``/s/{token}/thanks``. A missing score, a score
  outside the scale or a comment too long re-render the form (422) with the message next to
  the field and what was typed kept.
* A link used already or expired answers its own page with 410, an unknown or malformed
  secret with 404 — in the page's language, never a stack trace or JSON.

The language is the visitor's choice with the switch on the page (kept in the workspace's
session cookie, as for staff), else ``Accept-Language``, else zh-CN: the store holds no
language per customer. The form carries no CSRF token: a cross-site page cannot post an
answer without the link's secret, which only the customer holds, and a link takes one
answer — forging a post needs the secret, and with it the forger could answer anyway.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from rapport.errors import ValidationFailed
from rapport.i18n.errors import error_text
from rapport.store import survey_links
from rapport.store.survey_links import LinkState, SurveyLink
from rapport.web import render
from rapport.web.auth import writing

router = APIRouter(include_in_schema=False)
#: Where a survey link's page lives; the API's public route sends browsers to the route
#: named ``survey_page``.
PATH = "/s"
_TOKEN = re.compile(survey_links.TOKEN_PATTERN)
#: The page of each state of a link that cannot be answered, and its status.
_CLOSED = {
    None: ("unknown", 404),
    LinkState.USED: ("used", 410),
    LinkState.EXPIRED: ("expired", 410),
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _well_formed(token: str) -> bool:
    return (
        survey_links.TOKEN_MIN_LENGTH <= len(token) <= survey_links.TOKEN_MAX_LENGTH
        and _TOKEN.match(token) is not None
    )


def _find(session: Session, token: str, now: dt.datetime) -> SurveyLink | None:
    if not _well_formed(token):
        return None
    return survey_links.find(session=session, token=token, now=now)


def _load(request: Request, token: str) -> SurveyLink | None:
    with request.app.state.sessions() as session:
        return _find(session, token, _now())


def _point(value: float) -> str:
    return f"{value:g}"


def _closed(request: Request, state: LinkState | None) -> Response:
    """The page of a link that cannot be answered (unknown, used or expired)."""
    reason, status = _CLOSED[state]
    return render.page(request, "survey_closed.html", {"reason": reason}, status=status)


def _form(
    request: Request,
    token: str,
    link: SurveyLink,
    *,
    score: str | None = None,
    comment: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    low, high = link.scale
    points = [_point(low + step) for step in range(int(high - low) + 1)]
    context: dict[str, Any] = {
        "action": f"{PATH}/{token}",
        "kind": link.kind.value,
        "points": points,
        "low": _point(low),
        "high": _point(high),
        "expires_at": link.expires_at,
        "score": score,
        "comment": comment,
        "errors": errors or {},
        "max_comment": survey_links.COMMENT_MAX_LENGTH,
    }
    return render.page(request, "survey_form.html", context, status=status)


@router.get(PATH + "/{token}", name="survey_page")
def survey_page(request: Request, token: str) -> Response:
    """The form of a live link; the page of its state otherwise."""
    link = _load(request, token)
    if link is None or link.state is not LinkState.LIVE:
        return _closed(request, None if link is None else link.state)
    return _form(request, token, link)


def _score(value: str | None) -> float | None:
    """The score of the form's field, or ``None`` when none (or no number) was sent."""
    if value is None or not value.strip():
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@router.post(PATH + "/{token}")
def survey_answer(
    request: Request,
    token: str,
    score: Annotated[str | None, Form()] = None,
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Record the answer (:func:`rapport.store.survey_links.answer`), then the thank-you
    page; the form again, with the messages, when a field is refused."""
    fmt = render.formatter(request)
    number = _score(score)
    text = comment.strip()
    errors: dict[str, str] = {}
    if number is None:
        errors["score"] = fmt.t("survey.score_missing")
    if len(text) > survey_links.COMMENT_MAX_LENGTH:
        errors["comment"] = fmt.t(
            "survey.comment_too_long", count=fmt.number(survey_links.COMMENT_MAX_LENGTH)
        )
    kept = _point(number) if number is not None else None

    def work(session: Session) -> tuple[SurveyLink | None, bool]:
        now = _now()
        link = _find(session, token, now)
        if link is None or link.state is not LinkState.LIVE or number is None:
            return link, False
        try:
            survey_links.check_score(link.kind, number)
        except ValidationFailed as exc:
            message = error_text(exc, fmt.locale)
            errors["score"] = message[:1].upper() + message[1:]
        if errors:
            return link, False
        recorded = survey_links.answer(
            session=session, link=link, score=number, comment=text or None, now=now
        )
        return link, recorded

    link, recorded = writing(request, work)
    if recorded:
        return render.redirect(request, f"{PATH}/{token}/thanks")
    if link is None or link.state is not LinkState.LIVE:
        return _closed(request, None if link is None else link.state)
    if not errors:  # answered by another request meanwhile
        return _closed(request, LinkState.USED)
    return _form(request, token, link, score=kept, comment=comment, errors=errors, status=422)


@router.get(PATH + "/{token}/thanks")
def survey_thanks(request: Request, token: str) -> Response:
    """The thank-you page of an answered link (a live link goes back to its form)."""
    link = _load(request, token)
    if link is not None and link.state is LinkState.USED:
        return render.page(request, "survey_thanks.html")
    if link is not None and link.state is LinkState.LIVE:
        return render.redirect(request, f"{PATH}/{token}")
    return _closed(request, None if link is None else link.state)
